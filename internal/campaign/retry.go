package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sync/errgroup"
)

// retryPage is how many emails a retry reads, resets and queues at once.
const retryPage = 500

// retry works a retry message (Service.Retry): it makes the round's
// emails pending again (Store.Reset), queues one message per email it
// reset, ends the round (Store.EndRetry) and completes the campaign if
// those emails are all done by then.
//
// A message comes before its round starts: one whose round the campaign
// has not reached comes back until it has, and is dropped on its last
// receive (its Retry died before Reopen). One of a past round is
// dropped; one of a round whose emails were all queued already (a
// duplicate, or a redelivery after a worker died past EndRetry) only
// completes the campaign if it is done. A delivery that dies midway leaves the round's emails reset
// so far pending: the next delivery queues them again (their messages
// are idempotent) and resets the rest, so no email is left behind.
func (w *Worker) retry(ctx context.Context, m Delivery, msg message) error {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		w.log().WarnContext(ctx, "retry: campaign gone")
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case c.Round < msg.Round && m.ReceiveCount >= w.maxReceive():
		w.log().WarnContext(ctx, "retry dropped: its round never started", slog.Int("campaign_round", c.Round))
		return nil
	case c.Round < msg.Round:
		return errRetry // Reopen is not visible yet
	case c.Round > msg.Round:
		return nil // a past round's
	case !c.Retrying:
		// A duplicate, or a redelivery of one that died after EndRetry:
		// the campaign may be left to complete.
		return w.completeRedelivered(ctx, c.Tenant, c.ID)
	case c.Status == StatusCancelled:
		// Cancelled while reopened: nothing is to be worked.
		return w.Store.EndRetry(ctx, c.ID, msg.Round, w.now())
	}
	reset, err := w.resetRound(ctx, c, msg)
	if err != nil {
		return err
	}
	if err := w.Store.EndRetry(ctx, c.ID, msg.Round, w.now()); err != nil {
		return fmt.Errorf("end retry round %d: %w", msg.Round, err)
	}
	w.log().InfoContext(ctx, "campaign retried", slog.Int("queued", reset))
	return w.complete(ctx, c.Tenant, c.ID)
}

// resetRound resets msg's round's emails of c, page by page, and sends
// each page's item messages; it returns how many messages it had sent. An email this round reset already (an earlier delivery) and
// still pending is sent again.
func (w *Worker) resetRound(ctx context.Context, c *Campaign, msg message) (int, error) {
	// Pending ones too: those an earlier delivery reset, and, since an
	// email stays in the listing as it is reset, the cursor stays valid.
	filter := EmailFilter{Statuses: append([]EmailStatus{EmailPending}, msg.Statuses...)}
	sent := 0
	for cursor := ""; ; {
		emails, next, err := w.Store.Emails(ctx, c.ID, Page{Limit: retryPage, Cursor: cursor, Filter: filter})
		if err != nil {
			return sent, fmt.Errorf("list the emails to retry: %w", err)
		}
		var (
			mu      sync.Mutex
			indexes []int
			g       errgroup.Group
		)
		g.SetLimit(w.concurrency())
		for _, e := range emails {
			g.Go(func() error {
				ok, err := w.resetOne(ctx, c.ID, &e, msg)
				if ok {
					mu.Lock()
					indexes = append(indexes, e.Index)
					mu.Unlock()
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return sent, err
		}
		if len(indexes) > 0 {
			if err := w.sendEmails(ctx, c, indexes, nil); err != nil {
				return sent, fmt.Errorf("queue the retried emails: %w", err)
			}
		}
		sent += len(indexes)
		if cursor = next; cursor == "" {
			return sent, nil
		}
	}
}

// resetOne makes e pending for msg's round and reports whether its
// message is to be sent: it was reset now, or by an earlier delivery of
// this round and is still pending.
func (w *Worker) resetOne(ctx context.Context, id string, e *Email, msg message) (bool, error) {
	if e.Status == EmailPending {
		return e.Round == msg.Round, nil
	}
	if e.Review == ReviewApproved {
		return false, nil // an approved draft stays
	}
	err := w.Store.Reset(ctx, id, e.Index, msg.Statuses, msg.Round, w.now())
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrAlreadyDone) {
		return false, fmt.Errorf("reset email %d: %w", e.Index, err)
	}
	// Changed since it was listed: reset by a concurrent delivery, or
	// approved.
	now, err := w.Store.Email(ctx, id, e.Index)
	if err != nil {
		return false, fmt.Errorf("read email %d: %w", e.Index, err)
	}
	return now.Status == EmailPending && now.Round == msg.Round, nil
}

// deadRetry settles a retry message the queue gave up on: it resets no
// more emails, queues again those of its round it made pending (it cannot
// tell which of them it had queued; their messages are idempotent), ends
// the round and completes the campaign as usual. It never calls the model.
func (w *Worker) deadRetry(ctx context.Context, msg message) error {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Round != msg.Round || !c.Retrying {
		return nil // never started, a past round's, or settled
	}
	pending := msg
	pending.Statuses = nil
	queued, err := w.resetRound(ctx, c, pending)
	if err != nil {
		return err
	}
	if err := w.Store.EndRetry(ctx, c.ID, msg.Round, w.now()); err != nil {
		return err
	}
	w.log().WarnContext(ctx, "retry cut short: its message was dead-lettered", slog.Int("queued_again", queued))
	return w.complete(ctx, c.Tenant, c.ID)
}
