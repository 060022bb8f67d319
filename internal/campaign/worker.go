package campaign

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/email"
)

// Composer writes one email; *email.Composer is one.
type Composer interface {
	Compose(ctx context.Context, req *email.Request) (email.Result, error)
}

// Notifier tells a campaign's owner it finished (a webhook).
type Notifier interface {
	Notify(ctx context.Context, c *Campaign) error
}

// Worker works queue messages: it expands a campaign into one message per
// item, and writes each item's email exactly once.
type Worker struct {
	Store    Store
	Queue    Queue
	Composer Composer
	// Notifier is told when a campaign finishes; nil for none.
	Notifier Notifier
	// Concurrency bounds parallel items per Process call (default 16).
	Concurrency int
	// MaxReceive is the queue's redrive count: on that receive a transient
	// failure fails the item ("retries exhausted") instead of losing the
	// message to the dead-letter queue (default 5).
	MaxReceive int
	// RetryDelay is the first backoff of a failed message, doubled per
	// receive up to 5 minutes (default 10 s).
	RetryDelay time.Duration
	// Lease is how long a delivery holds an item it works when its context
	// has no deadline (default 2 minutes). With a deadline, as in a Lambda
	// invocation, the lease ends with the deadline: a worker that dies or
	// times out frees its items for the next delivery.
	Lease time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

// errRetry marks a message to come back later.
var errRetry = errors.New("retry later")

// Process works msgs with bounded concurrency and returns the IDs of the
// messages to deliver again: transient failures only. Everything else is
// done (or recorded as failed) and may be deleted.
func (w *Worker) Process(ctx context.Context, msgs []Message) []string {
	limit := w.Concurrency
	if limit <= 0 {
		limit = 16
	}
	var (
		mu     sync.Mutex
		failed []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, m := range msgs {
		g.Go(func() error {
			if err := w.Handle(gctx, m); err != nil {
				if _, ok := errors.AsType[*retryAfter](err); !ok && !errors.Is(err, errRetry) {
					// Transient model failures and leases held elsewhere
					// were logged where they happened; this is the rest,
					// such as a store that failed or throttled.
					w.log().WarnContext(ctx, "message failed; it will be delivered again",
						slog.String("message_id", m.ID), slog.Int("receive_count", m.ReceiveCount), slog.String("error", err.Error()))
				}
				w.retryLater(gctx, m, err)
				mu.Lock()
				failed = append(failed, m.ID)
				mu.Unlock()
			}
			return nil // one message's failure must not cancel the others
		})
	}
	_ = g.Wait()
	return failed
}

// retryAfter is Handle's error for a message that should come back after d
// rather than after the usual backoff.
type retryAfter struct{ d time.Duration }

func (e *retryAfter) Error() string { return "retry after " + e.d.String() }

// retryLater shortens a failed message's visibility timeout to a backoff
// that doubles per receive (RetryDelay, 2×, … at most 5 min), or to the
// delay a *retryAfter asks for. The queue's own timeout is sized for the
// worker's (6× on AWS, 12 minutes by default), which would make every retry
// of a rate-limited prospect wait that long. Best effort: without it the
// message still comes back.
func (w *Worker) retryLater(ctx context.Context, m Message, err error) {
	if w.Queue == nil || m.Handle == "" {
		return
	}
	d := w.RetryDelay
	if d <= 0 {
		d = 10 * time.Second
	}
	d = min(backoff(d, m.ReceiveCount, 5*time.Minute), 5*time.Minute)
	if ra, ok := errors.AsType[*retryAfter](err); ok {
		d = min(max(ra.d, time.Second), maxLease)
	}
	if err := w.Queue.Extend(context.WithoutCancel(ctx), m.Handle, d); err != nil {
		w.log().WarnContext(ctx, "could not shorten a failed message's visibility", slog.String("message_id", m.ID), slog.String("error", err.Error()))
	}
}

// backoff doubles first once per earlier receive of a message, stopping
// once it reaches limit.
func backoff(first time.Duration, receives int, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < receives && d < limit; i++ {
		d *= 2
	}
	return d
}

// Handle works one message. A non-nil error means: deliver it again.
func (w *Worker) Handle(ctx context.Context, m Message) error {
	var msg message
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.CampaignID == "" {
		// Undecodable: it comes back until the queue moves it to the
		// dead-letter queue, where a person can look at it.
		w.log().ErrorContext(ctx, "undecodable message", slog.String("message_id", m.ID), slog.Int("receive_count", m.ReceiveCount))
		return fmt.Errorf("undecodable message %s", m.ID)
	}
	switch msg.Type {
	case msgExpand:
		return w.expand(ctx, msg)
	case msgItem:
		return w.item(ctx, m, msg)
	}
	w.log().ErrorContext(ctx, "unknown message type", slog.String("message_id", m.ID), slog.String("type", msg.Type))
	return fmt.Errorf("unknown message type %q", msg.Type)
}

// expand sends one message per item. A redelivered expand sends them again;
// items already done are skipped when worked.
func (w *Worker) expand(ctx context.Context, msg message) error {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		w.log().WarnContext(ctx, "expand: campaign gone", slog.String("campaign_id", msg.CampaignID))
		return nil
	}
	if err != nil {
		return err
	}
	if c.Status.Final() {
		return nil
	}
	bodies := make([][]byte, c.Total)
	for i := range bodies {
		b, err := json.Marshal(message{Type: msgItem, Tenant: c.Tenant, CampaignID: c.ID, Index: i})
		if err != nil {
			return err
		}
		bodies[i] = b
	}
	if err := w.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("expand campaign %s: %w", c.ID, err)
	}
	w.log().InfoContext(ctx, "campaign expanded", slog.String("campaign_id", c.ID), slog.String("tenant", c.Tenant), slog.Int("total", c.Total))
	return nil
}

// maxLease bounds how long a delivery waits for another's lease: Lambda's
// longest invocation.
const maxLease = 15 * time.Minute

// leaseEnd is when a lease taken now by a delivery running under ctx ends.
func (w *Worker) leaseEnd(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	if w.Lease > 0 {
		return now.Add(w.Lease)
	}
	return now.Add(2 * time.Minute)
}

// newOwner names one delivery's claim on an item: the message, for a person
// reading the table, and a random part, since SQS may deliver one message
// twice at once.
func newOwner(m Message) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return m.ID + "#" + hex.EncodeToString(b[:])
}

// item writes one prospect's email. Several deliveries of the same item
// (SQS delivers at least once, and a redelivered expand message sends
// every item again) may run at once: the one that claims the item calls
// the model; the others come back when its lease ends, by when the item is
// normally done and they are deleted. Claim also refuses an item finished
// since it was read, whatever became of its holder's lease. Finish's
// condition keeps the count exact even when a lease expires mid-call.
//
// A delivery that finds the item claimed on its last allowed receive also
// waits, so it goes to the dead-letter queue; that only happens when the
// holder outlives maxReceive leases, which a healthy holder does not.
func (w *Worker) item(ctx context.Context, m Message, msg message) (err error) {
	log := w.log().With(slog.String("campaign_id", msg.CampaignID), slog.String("tenant", msg.Tenant), slog.Int("index", msg.Index))
	it, err := w.Store.Item(ctx, msg.CampaignID, msg.Index)
	if errors.Is(err, ErrNotFound) {
		log.WarnContext(ctx, "item gone")
		return nil
	}
	if err != nil {
		return err
	}
	if it.Status != ItemPending {
		// Done already: a redelivery. The delivery that wrote it may have
		// died before completing the campaign.
		return w.completeRedelivered(ctx, msg.Tenant, msg.CampaignID)
	}
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if c.Status == StatusCancelled {
		return nil
	}
	if c.Status == StatusQueued {
		if err := w.Store.Transition(ctx, c.ID, []Status{StatusQueued}, StatusRunning, w.now()); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}

	now := w.now()
	owner := newOwner(m)
	if err := w.Store.Claim(ctx, c.ID, it.Index, owner, now, w.leaseEnd(ctx, now)); err != nil {
		if errors.Is(err, ErrAlreadyDone) {
			// Finished since it was read above, by a delivery whose lease
			// has ended (with the campaign, or released when what
			// followed its write failed).
			return w.completeRedelivered(ctx, msg.Tenant, c.ID)
		}
		if held, ok := errors.AsType[*ClaimedError](err); ok {
			log.InfoContext(ctx, "item is being worked by another delivery; checking back when its lease ends",
				slog.Time("lease_until", held.Until))
			return &retryAfter{d: held.Until.Sub(now) + time.Second}
		}
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		// The message comes back: its next delivery need not wait for
		// this lease to end. Best effort; the lease ends anyway.
		if rerr := w.Store.Release(context.WithoutCancel(ctx), c.ID, it.Index, owner); rerr != nil {
			log.WarnContext(ctx, "could not release an item's lease", slog.String("error", rerr.Error()))
		}
	}()

	res, err := w.Composer.Compose(ctx, &it.Request)
	status, result := ItemSucceeded, Result{}
	switch {
	case err == nil:
		result = Result{Subject: res.Emails[0].Subject, Body: res.Emails[0].Body, Model: res.Model, Usage: res.Usage,
			Emails: res.Emails, Kind: it.Request.Options.Kind()}
		if res.NeedsReview {
			status = ItemNeedsReview
		}
	case email.IsTransient(err) && m.ReceiveCount < w.maxReceive():
		log.WarnContext(ctx, "transient failure; will retry", slog.Int("receive_count", m.ReceiveCount), slog.String("error", err.Error()))
		return errRetry
	case email.IsTransient(err):
		status, result = ItemFailed, Result{Error: "retries exhausted: " + reason(err)}
	default:
		status, result = ItemFailed, Result{Error: reason(err)}
	}
	if status == ItemFailed {
		log.WarnContext(ctx, "item failed", slog.String("error", err.Error()))
	}
	err = w.Store.Finish(ctx, c.ID, it.Index, status, result, w.now())
	if errors.Is(err, ErrAlreadyDone) {
		// Another delivery won the race; it counted, and may have died
		// before completing the campaign.
		return w.completeRedelivered(ctx, msg.Tenant, c.ID)
	}
	if err != nil {
		return fmt.Errorf("finish item %d: %w", it.Index, err)
	}
	return w.complete(ctx, msg.Tenant, c.ID)
}

// complete finishes the campaign if every item is done. Exactly one caller
// wins the transition and sends the notification.
func (w *Worker) complete(ctx context.Context, tenant, id string) error {
	c, err := w.Store.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	if c.Status.Final() || !c.Done() {
		return nil
	}
	err = w.Store.Transition(ctx, id, []Status{StatusQueued, StatusRunning}, finalStatus(c), w.now())
	if errors.Is(err, ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err = w.Store.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	w.log().InfoContext(ctx, "campaign finished", slog.String("campaign_id", id), slog.String("tenant", tenant),
		slog.String("status", string(c.Status)), slog.Int("succeeded", c.Succeeded), slog.Int("failed", c.Failed))
	if w.Notifier != nil && c.WebhookURL != "" {
		if err := w.Notifier.Notify(ctx, c); err != nil {
			// The campaign is done either way; the poller of the status sees it.
			w.log().WarnContext(ctx, "webhook failed", slog.String("campaign_id", id), slog.String("error", err.Error()))
		}
	}
	return nil
}

// completeRedelivered is complete for a delivery whose item was already
// done: a campaign that is gone by now is no reason to deliver it again.
func (w *Worker) completeRedelivered(ctx context.Context, tenant, id string) error {
	if err := w.complete(ctx, tenant, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func (w *Worker) maxReceive() int {
	if w.MaxReceive <= 0 {
		return 5
	}
	return w.MaxReceive
}

// reason is the text a client sees for a failed item: the kind of failure,
// never internal detail.
func reason(err error) string {
	var e *email.Error
	if errors.As(err, &e) {
		return e.Kind.String()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return email.KindTimeout.String()
	}
	return "internal error"
}
