package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ingren/ingren/internal/client"
)

// plainEvery is how often, at most, watch prints a progress line when
// stderr is not a terminal (a log file, CI): often enough to show life,
// seldom enough to keep a 10,000-prospect log short.
const plainEvery = 10 * time.Second

// maxWatchFailures is how many reads in a row watch lets fail (the
// network, the API's 5xx or 429) before it gives up.
const maxWatchFailures = 5

// watch reads the campaign id every env.Poll, showing its progress, until
// its status is final, and returns it as it ended. It returns ctx's error
// once ctx ends: Ctrl-C stops the watching, never the campaign.
func watch(ctx context.Context, c *client.Client, id string, env Env) (*client.Campaign, error) {
	var show func(*client.Campaign)
	var done func()
	if env.Terminal {
		show, done = barProgress(env)
	} else {
		show, done = plainProgress(env)
	}
	defer done()
	t := time.NewTicker(env.Poll)
	defer t.Stop()
	failures := 0
	for {
		cmp, err := c.Campaign(ctx, id)
		switch {
		case err == nil:
			failures = 0
			show(cmp)
			if cmp.Final() {
				return cmp, nil
			}
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case client.IsStatus(err, 400, 401, 403, 404) || failures >= maxWatchFailures:
			return nil, err
		default:
			// A dropped connection, a 5xx or a 429: the campaign goes on
			// without us, so read it again at the next tick.
			failures++
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// barProgress draws a progress bar on the terminal: emails done of the
// total, failed ones, rate and time left.
func barProgress(env Env) (show func(*client.Campaign), done func()) {
	var bar *progressbar.ProgressBar
	show = func(c *client.Campaign) {
		if bar == nil {
			bar = progressbar.NewOptions(c.Total,
				progressbar.OptionSetWriter(env.Stderr),
				progressbar.OptionSetDescription("writing emails"),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("emails"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionShowElapsedTimeOnFinish(),
			)
		}
		_ = bar.Set(c.Done())
		bar.Describe(fmt.Sprintf("%s, %d failed%s%s", c.Status, c.Failed, skippedProgress(c), batchProgress(c)))
	}
	done = func() {
		if bar != nil {
			_ = bar.Finish()
			fmt.Fprintln(env.Stderr)
		}
	}
	return show, done
}

// plainProgress prints a line when the campaign starts, at most every
// plainEvery while it runs, and when it ends.
func plainProgress(env Env) (show func(*client.Campaign), done func()) {
	var last time.Time
	start := time.Now()
	show = func(c *client.Campaign) {
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < plainEvery && !c.Final() {
			return
		}
		last = now
		n := c.Done()
		line := fmt.Sprintf("%s: %d/%d done, %d failed, %d need review%s%s", c.Status, n, c.Total, c.Failed, c.NeedsReview, skippedProgress(c), batchProgress(c))
		// A batch campaign's emails come all at once when a batch ends:
		// its rate says nothing of the time left.
		if secs := now.Sub(start).Seconds(); n > 0 && secs >= 1 && !c.Final() && c.Mode != client.ModeBatch {
			rate := float64(n) / secs
			eta := time.Duration(float64(c.Total-n) / rate * float64(time.Second)).Round(time.Second)
			line += fmt.Sprintf(", %.1f emails/s, about %v left", rate, eta)
		}
		fmt.Fprintln(env.Stderr, line)
	}
	return show, func() {}
}

// batchProgress is a batch campaign's progress at the provider, to follow
// a progress line: how many of its batches' requests were answered. ""
// for a realtime campaign, and before the worker split the campaign.
func batchProgress(c *client.Campaign) string {
	if c.Mode != client.ModeBatch || len(c.Batches) == 0 {
		return ""
	}
	answered, total := 0, 0
	for _, b := range c.Batches {
		answered += b.Completed
		total += b.Total
	}
	return fmt.Sprintf("; batch: %d/%d requests answered in %d batch(es)", answered, total, len(c.Batches))
}

// skippedProgress is ", N skipped" when a budget skipped prospects.
func skippedProgress(c *client.Campaign) string {
	if c.Skipped == 0 {
		return ""
	}
	return fmt.Sprintf(", %d skipped", c.Skipped)
}
