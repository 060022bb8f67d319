package openai

import (
	"context"
	"math"
	"sync"
	"time"
)

// increaseAfter is how many successes in a row raise the concurrency limit
// by one.
const increaseAfter = 10

// outcome is what an attempt tells the governor.
type outcome int

const (
	neutral     outcome = iota // neither success nor 429: says nothing about load
	succeeded                  // the provider answered
	rateLimited                // the provider said 429
)

// governor paces every call of one Writer, which the bulk worker runs many
// at once:
//   - a 429 pauses all calls until its Retry-After, so a campaign slows
//     down instead of hammering the provider;
//   - RPM and TPM token buckets space requests before they are sent;
//   - an AIMD limit on calls in flight halves on a 429 and grows by one
//     after increaseAfter successes, between 1 and the ceiling.
//
// It is safe for concurrent use.
type governor struct {
	ceiling int // 0 = none

	mu          sync.Mutex
	pausedUntil time.Time
	rpm, tpm    bucket
	limit       int // calls allowed in flight; 0 = no limit
	inFlight    int
	successes   int
	// epoch counts decreases. An attempt remembers the epoch it started
	// in; a 429 from an attempt that started before the last decrease
	// belongs to the congestion already answered, so many calls failing
	// at once halve the limit once, not once each.
	epoch   uint64
	waiting int
	wake    chan struct{}
}

func newGovernor(cfg Config, now time.Time) *governor {
	g := &governor{ceiling: cfg.MaxConcurrency, limit: cfg.MaxConcurrency, wake: make(chan struct{})}
	g.rpm = newBucket(float64(cfg.RPM), now)
	g.tpm = newBucket(float64(cfg.TPM), now)
	return g
}

// pauseLeft returns how long the pause has to run at now.
func (g *governor) pauseLeft(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pausedUntil.Sub(now)
}

// pause holds every call until until, or later if a pause already runs
// longer.
func (g *governor) pause(until time.Time) {
	g.mu.Lock()
	if until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
	g.mu.Unlock()
}

// reserve takes one request and tokens from the buckets and returns how
// long to wait before sending.
func (g *governor) reserve(now time.Time, tokens int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(g.rpm.take(now, 1), g.tpm.take(now, float64(tokens)))
}

// unreserve gives back what reserve took, for a call that will not wait.
func (g *governor) unreserve(tokens int) {
	g.mu.Lock()
	g.rpm.give(1)
	g.tpm.give(float64(tokens))
	g.mu.Unlock()
}

// acquire waits for a place among the calls in flight and returns the
// epoch to hand back to release.
func (g *governor) acquire(ctx context.Context) (uint64, error) {
	g.mu.Lock()
	for g.limit > 0 && g.inFlight >= g.limit {
		wake := g.wake
		g.waiting++
		g.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
			return 0, ctx.Err()
		}
		g.mu.Lock()
		g.waiting--
	}
	g.inFlight++
	epoch := g.epoch
	g.mu.Unlock()
	return epoch, nil
}

// release gives back the place and adapts the limit to the outcome.
func (g *governor) release(epoch uint64, o outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch o {
	case rateLimited:
		if epoch == g.epoch {
			if g.limit == 0 {
				// No limit yet: start from what was in flight.
				g.limit = g.inFlight
			}
			g.limit = max(1, g.limit/2)
			g.successes = 0
			g.epoch++
		}
	case succeeded:
		if g.limit > 0 && (g.ceiling == 0 || g.limit < g.ceiling) {
			g.successes++
			if g.successes >= increaseAfter {
				g.limit++
				g.successes = 0
			}
		}
	}
	g.inFlight--
	if g.waiting > 0 {
		close(g.wake)
		g.wake = make(chan struct{})
	}
}

// concurrency returns the current limit on calls in flight (0: none).
func (g *governor) concurrency() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

// bucket is a token bucket that lends. A take waits until the bucket
// holds the tokens asked for (or is full, when asking for more than it
// holds), then takes them all, into debt if need be: later takes wait for
// the debt, so requests queue in order and one larger than the bucket
// still goes. The zero bucket (rate 0) never waits. Its owner holds the
// lock.
type bucket struct {
	perSecond, capacity, tokens float64
	at                          time.Time
}

// newBucket holds a second's worth of a per-minute rate, at least one.
func newBucket(perMinute float64, now time.Time) bucket {
	if perMinute <= 0 {
		return bucket{}
	}
	c := math.Max(1, perMinute/60)
	return bucket{perSecond: perMinute / 60, capacity: c, tokens: c, at: now}
}

// take takes n tokens and returns how long to wait before using them.
func (b *bucket) take(now time.Time, n float64) time.Duration {
	if b.perSecond == 0 {
		return 0
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(b.capacity, b.tokens+el.Seconds()*b.perSecond)
		b.at = now
	}
	var wait time.Duration
	if need := math.Min(n, b.capacity); b.tokens < need {
		wait = time.Duration(math.Ceil((need - b.tokens) / b.perSecond * float64(time.Second)))
	}
	b.tokens -= n
	return wait
}

// give returns n tokens that a take will not use.
func (b *bucket) give(n float64) {
	if b.perSecond != 0 {
		b.tokens = math.Min(b.capacity, b.tokens+n)
	}
}
