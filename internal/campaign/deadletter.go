package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// DeadLetter settles a message the queue gave up on after MaxReceive
// deliveries (SQS moved it to the dead-letter queue; the local queue stopped
// delivering it): the store failed on its last delivery, another delivery
// held its prospect throughout, or its expansion kept failing. Without this
// its prospects would stay pending and its campaign running for ever.
//
// An email message's prospect, or for an expand message every prospect
// still pending, is recorded as failed with a reason, and the campaign
// completes as usual, webhook included. A retry message's round ends
// with the emails it made pending queued again (see deadRetry). A prospect another delivery holds
// is left to that delivery, whose own message settles it. DeadLetter never
// calls the model, and settling a dead letter twice changes nothing the
// second time. A message it cannot read is dropped with an error line. A
// non-nil error means: deliver it again.
func (w *Worker) DeadLetter(ctx context.Context, m Delivery) error {
	msg, ok := decode(m)
	if !ok {
		w.log().ErrorContext(ctx, "dead letter: undecodable message dropped", slog.String("message_id", m.ID), slog.Int("bytes", len(m.Body)))
		return nil
	}
	ctx = msg.logContext(ctx, m)
	var err error
	switch msg.Type {
	case msgEmail:
		err = w.deadEmail(ctx, m, msg)
	case msgExpand:
		err = w.deadExpand(ctx, m, msg)
	case msgRetry:
		err = w.deadRetry(ctx, msg)
	case msgBatch:
		err = w.deadBatch(ctx, msg)
	case msgNotify:
		w.log().WarnContext(ctx, "webhook given up: its message was dead-lettered")
	default:
		w.log().ErrorContext(ctx, "dead letter: unknown message type dropped", slog.String("type", msg.Type))
	}
	if err != nil {
		w.log().WarnContext(ctx, "dead letter not settled; it will be delivered again", slog.String("error", err.Error()))
	}
	return err
}

// gaveUp is the reason a dead-lettered prospect failed.
func (w *Worker) gaveUp() string {
	return fmt.Sprintf("gave up after %d deliveries", w.maxReceive())
}

// liveCampaign returns msg's campaign and whether a dead letter of it has
// anything to settle: not when the campaign is gone, nor when it is final
// (a cancelled campaign's pending emails stay pending).
func (w *Worker) liveCampaign(ctx context.Context, msg message) (*Campaign, bool, error) {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return c, !c.Status.Final(), nil
}

func (w *Worker) deadEmail(ctx context.Context, m Delivery, msg message) error {
	c, live, err := w.liveCampaign(ctx, msg)
	if err != nil || !live {
		return err
	}
	it, err := w.Store.Email(ctx, c.ID, msg.Index)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if it.Status == EmailPending {
		failed, err := w.failEmail(ctx, newOwner(m), c.ID, it.Index, w.gaveUp())
		if err != nil {
			return err
		}
		if failed {
			w.log().WarnContext(ctx, "email failed: its message was dead-lettered", slog.String("reason", w.gaveUp()))
		}
	}
	return w.completeRedelivered(ctx, c.Tenant, c.ID)
}

// deadExpand fails every prospect still pending of a campaign that could
// not be expanded. Some email messages may have been sent before the
// expansion failed: a prospect one of them holds is left to it, and one
// whose message comes later finds its prospect done.
func (w *Worker) deadExpand(ctx context.Context, m Delivery, msg message) error {
	c, live, err := w.liveCampaign(ctx, msg)
	if err != nil || !live {
		return err
	}
	why := fmt.Sprintf("the campaign could not be expanded (%s)", w.gaveUp())
	owner := newOwner(m)
	var failed atomic.Int64
	for cursor := ""; ; {
		emails, next, err := w.Store.Emails(ctx, c.ID, Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		var g errgroup.Group
		g.SetLimit(w.concurrency())
		for _, it := range emails {
			if it.Status != EmailPending {
				continue
			}
			g.Go(func() error {
				ok, err := w.failEmail(withLog(ctx, slog.Int("index", it.Index)), owner, c.ID, it.Index, why)
				if ok {
					failed.Add(1)
				}
				if errors.Is(err, ErrClaimed) {
					return nil
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	w.log().WarnContext(ctx, "campaign could not be expanded: its message was dead-lettered", slog.Int64("failed", failed.Load()))
	return w.complete(ctx, c.Tenant, c.ID)
}

// failEmail records a pending prospect as failed for why, having leased it
// so that no delivery is calling the model for it meanwhile, and reports
// whether it did. An email done already is not an error; one another
// delivery holds is ErrClaimed.
func (w *Worker) failEmail(ctx context.Context, owner, id string, index int, why string) (bool, error) {
	now := w.now()
	err := w.Store.Claim(ctx, id, index, owner, now, w.leaseEnd(ctx, now))
	if errors.Is(err, ErrAlreadyDone) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim email %d: %w", index, err)
	}
	err = w.Store.Finish(ctx, id, index, EmailFailed, Outcome{Error: why}, w.now())
	if errors.Is(err, ErrAlreadyDone) {
		return false, nil
	}
	if err != nil {
		if rerr := w.Store.Release(context.WithoutCancel(ctx), id, index, owner); rerr != nil {
			w.log().WarnContext(ctx, "could not release an email's lease", slog.String("error", rerr.Error()))
		}
		return false, fmt.Errorf("finish email %d: %w", index, err)
	}
	return true, nil
}
