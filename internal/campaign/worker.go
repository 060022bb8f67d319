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

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/email"
)

// Composer writes one email; *email.Composer is one.
type Composer interface {
	Compose(ctx context.Context, req *email.Request) (email.Result, error)
}

// Notifier tells a campaign's owner it finished (a webhook). Notify makes
// one attempt; the worker retries a failed one through the queue, unless
// its error wraps ErrUndeliverable.
type Notifier interface {
	Notify(ctx context.Context, c *Campaign) error
}

// ErrUndeliverable marks a Notifier's failure that no later attempt can
// fix (the receiver refused the call, or its address is not allowed): the
// worker gives the webhook up at once.
var ErrUndeliverable = errors.New("notification undeliverable")

// Worker works queue messages: it expands a campaign into one message per
// email, writes each email exactly once, and calls a finished
// campaign's webhook. DeadLetter settles the messages the queue gave up on.
type Worker struct {
	Store    Store
	Queue    Queue
	Composer Composer
	// Prices counts what each email cost (nil: no model has a price).
	Prices Prices
	// Notifier is told when a campaign finishes; nil for none. It is
	// called apart from the model work: completing a campaign enqueues a
	// notify message, which Process and the Poller work outside the
	// Concurrency slots, NotifyConcurrency at a time, one attempt per
	// delivery, each bounded by NotifyTimeout.
	Notifier Notifier
	// Observer is told of every email finished; nil for none.
	Observer Observer
	// KeyBudgets gives each tenant's monthly budget; nil for none.
	KeyBudgets KeyBudgets
	// Model is the model a request that names none is written with (the
	// Writer's), for the expected cost a budget holds.
	Model string
	// Notices is the queue notify messages go to; nil means Queue. The
	// local program gives them a queue of their own (Poller.Notices).
	Notices Queue
	// Concurrency bounds parallel emails per Process call (default 16).
	Concurrency int
	// NotifyConcurrency bounds parallel webhook calls per Process call or
	// Poller (default 4).
	NotifyConcurrency int
	// NotifyTimeout bounds one webhook call (default 10 s).
	NotifyTimeout time.Duration
	// MaxReceive is the queue's redrive count: on that receive a transient
	// failure fails the email ("retries exhausted") instead of sending the
	// message to the dead-letter queue, and a failed webhook call is given
	// up (default 5). A dead letter's reason names it.
	MaxReceive int
	// RetryDelay is the first backoff of a failed message, doubled per
	// receive up to 5 minutes (default 10 s).
	RetryDelay time.Duration
	// Lease is how long a delivery holds an email it works when its context
	// has no deadline (default 2 minutes). With a deadline, as in a Lambda
	// invocation, the lease ends with the deadline: a worker that dies or
	// times out frees its emails for the next delivery.
	Lease time.Duration
	// Batches is the provider's Batch API for batch-mode campaigns; nil
	// (offline mode) makes them fall back to realtime. The Composer must
	// then be a BatchComposer too.
	Batches Batches
	// BatchPollInterval is how often a batch's status is checked
	// (default 1 minute, at most 15).
	BatchPollInterval time.Duration
	// BatchMaxRequests and BatchMaxBytes bound one batch input file
	// (defaults: OpenAI's 50,000 lines, and 190 MB of its 200).
	BatchMaxRequests int
	BatchMaxBytes    int
	Now              func() time.Time
	Log              *slog.Logger

	holds holdMemo
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// log is Log with LogHandler, so that every line says which message,
// campaign and prospect it is about.
func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	if _, ok := w.Log.Handler().(*logHandler); ok {
		return w.Log // the programs' loggers are wrapped already
	}
	return slog.New(LogHandler(w.Log.Handler()))
}

func (w *Worker) concurrency() int {
	if w.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return w.Concurrency
}

func (w *Worker) notifyConcurrency() int {
	if w.NotifyConcurrency <= 0 {
		return 4
	}
	return w.NotifyConcurrency
}

func (w *Worker) notifyTimeout() time.Duration {
	if w.NotifyTimeout <= 0 {
		return 10 * time.Second
	}
	return w.NotifyTimeout
}

func (w *Worker) notices() Queue {
	if w.Notices != nil {
		return w.Notices
	}
	return w.Queue
}

// errRetry marks a message to come back later.
var errRetry = errors.New("retry later")

// Process works msgs and returns the IDs of the messages to deliver again:
// transient failures only. Everything else is done (or recorded as failed)
// and may be deleted. Emails and expansions take Concurrency slots; notify
// messages (webhook calls) take NotifyConcurrency slots of their own, so
// that no webhook, however slow its receiver, holds up an email.
func (w *Worker) Process(ctx context.Context, msgs []Delivery) []string {
	var work, notices []Delivery
	for _, m := range msgs {
		if msg, ok := decode(m); ok && msg.Type == msgNotify {
			notices = append(notices, m)
		} else {
			work = append(work, m)
		}
	}
	handle := func(ctx context.Context, m Delivery) error {
		err := w.Handle(ctx, m)
		if err != nil {
			w.retryLater(ctx, m, err)
		}
		return err
	}
	var (
		wg            sync.WaitGroup
		noticesFailed []string
		workFailed    []string
	)
	wg.Go(func() { noticesFailed = each(ctx, notices, w.notifyConcurrency(), handle) })
	workFailed = each(ctx, work, w.concurrency(), handle)
	wg.Wait()
	return append(workFailed, noticesFailed...)
}

// ProcessDeadLetters settles msgs, messages from the dead-letter queue,
// with DeadLetter, and returns the IDs of those to deliver again (their
// outcome could not be recorded). They come back after the dead-letter
// queue's visibility timeout.
func (w *Worker) ProcessDeadLetters(ctx context.Context, msgs []Delivery) []string {
	return each(ctx, msgs, w.concurrency(), w.DeadLetter)
}

// each calls handle for every message, limit at a time, and returns the IDs
// of those it failed.
func each(ctx context.Context, msgs []Delivery, limit int, handle func(context.Context, Delivery) error) []string {
	var (
		mu     sync.Mutex
		failed []string
		g      errgroup.Group
	)
	g.SetLimit(limit)
	for _, m := range msgs {
		g.Go(func() error {
			if err := handle(ctx, m); err != nil {
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
func (w *Worker) retryLater(ctx context.Context, m Delivery, err error) {
	if w.Queue == nil || m.Handle == "" {
		return
	}
	d := w.RetryDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	d = backoff.Exponential(d, m.ReceiveCount-1, MaxRetryDelay)
	if ra, ok := errors.AsType[*retryAfter](err); ok {
		d = min(max(ra.d, time.Second), maxLease)
	}
	if err := w.Queue.Extend(context.WithoutCancel(ctx), m.Handle, d); err != nil {
		w.log().WarnContext(messageContext(ctx, m), "could not shorten a failed message's visibility", slog.String("error", err.Error()))
	}
}

// Handle works one message. A non-nil error means: deliver it again.
func (w *Worker) Handle(ctx context.Context, m Delivery) error {
	msg, ok := decode(m)
	if !ok {
		// Undecodable: it comes back until the queue gives up on it, and
		// DeadLetter drops it.
		w.log().ErrorContext(ctx, "undecodable message", slog.String("message_id", m.ID), slog.Int("receive_count", m.ReceiveCount))
		return fmt.Errorf("undecodable message %s", m.ID)
	}
	ctx = msg.logContext(ctx, m)
	var err error
	switch msg.Type {
	case msgExpand:
		err = w.expand(ctx, msg)
	case msgEmail:
		err = w.writeEmail(ctx, m, msg)
	case msgNotify:
		err = w.notify(ctx, m, msg)
	case msgRetry:
		err = w.retry(ctx, m, msg)
	case msgBatch:
		err = w.handleBatch(ctx, m, msg)
	default:
		w.log().ErrorContext(ctx, "unknown message type", slog.String("type", msg.Type))
		return fmt.Errorf("unknown message type %q", msg.Type)
	}
	if err != nil {
		if _, ok := errors.AsType[*retryAfter](err); !ok && !errors.Is(err, errRetry) {
			// Transient model failures and leases held elsewhere were
			// logged where they happened; this is the rest, such as a
			// store that failed or throttled.
			w.log().WarnContext(ctx, "message failed; it will be delivered again",
				slog.Int("receive_count", m.ReceiveCount), slog.String("error", err.Error()))
		}
	}
	return err
}

// decode reads a message body; ok is false for one that is not a message
// of this package.
func decode(m Delivery) (msg message, ok bool) {
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.CampaignID == "" {
		return message{}, false
	}
	return msg, true
}

// messageContext returns ctx whose log lines name m and, when it can be
// read, what it is about.
func messageContext(ctx context.Context, m Delivery) context.Context {
	if msg, ok := decode(m); ok {
		return msg.logContext(ctx, m)
	}
	return withLog(ctx, slog.String("message_id", m.ID))
}

// logContext returns ctx whose log lines name the message and what it is
// about.
func (msg message) logContext(ctx context.Context, m Delivery) context.Context {
	attrs := []slog.Attr{slog.String("message_id", m.ID), slog.String("campaign_id", msg.CampaignID), slog.String("tenant", msg.Tenant)}
	switch msg.Type {
	case msgEmail:
		attrs = append(attrs, slog.Int("index", msg.Index))
	case msgRetry:
		attrs = append(attrs, slog.Int("round", msg.Round))
	case msgBatch:
		attrs = append(attrs, slog.String("batch", msg.Key))
	}
	return withLog(ctx, attrs...)
}

// expand sends one message per email. A redelivered expand sends them again;
// emails already done are skipped when worked.
func (w *Worker) expand(ctx context.Context, msg message) error {
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		w.log().WarnContext(ctx, "expand: campaign gone")
		return nil
	}
	if err != nil {
		return err
	}
	if c.Status.Final() {
		return nil
	}
	if c.Mode == ModeBatch {
		return w.expandBatch(ctx, c)
	}
	if err := w.sendEmails(ctx, c, everyEmail(c), nil); err != nil {
		return fmt.Errorf("expand: %w", err)
	}
	w.log().InfoContext(ctx, "campaign expanded", slog.Int("total", c.Total))
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

// newOwner names one delivery's claim on an email: the message, for a person
// reading the table, and a random part, since SQS may deliver one message
// twice at once.
func newOwner(m Delivery) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return m.ID + "#" + hex.EncodeToString(b[:])
}

// writeEmail writes one prospect's email. Several deliveries of the same
// email (SQS delivers at least once, and a redelivered expand message sends
// every email again) may run at once: the one that claims the email calls
// the model; the others come back when its lease ends, by when the email is
// normally done and they are deleted. Claim also refuses an email finished
// since it was read, whatever became of its holder's lease. Finish's
// condition keeps the count exact even when a lease expires mid-call.
//
// A delivery that finds the email claimed on its last allowed receive also
// waits, so it goes to the dead-letter queue; that only happens when the
// holder outlives maxReceive leases, which a healthy holder does not.
func (w *Worker) writeEmail(ctx context.Context, m Delivery, msg message) (err error) {
	log := w.log()
	it, err := w.Store.Email(ctx, msg.CampaignID, msg.Index)
	if errors.Is(err, ErrNotFound) {
		log.WarnContext(ctx, "email gone")
		return nil
	}
	if err != nil {
		return err
	}
	if it.Status != EmailPending {
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
			log.InfoContext(ctx, "email is being worked by another delivery; checking back when its lease ends",
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
			log.WarnContext(ctx, "could not release an email's lease", slog.String("error", rerr.Error()))
		}
	}()

	if msg.Answer == nil {
		// A batch's answer was paid for when its batch was sent, and held
		// for then (renderBatch).
		skip, err := w.reserve(ctx, c, it, false)
		if errors.Is(err, ErrAlreadyDone) {
			return w.completeRedelivered(ctx, msg.Tenant, c.ID)
		}
		if err != nil {
			return err
		}
		if skip != "" {
			return w.skipEmail(ctx, c, it, skip)
		}
	}
	var res email.Result
	if msg.Answer != nil {
		res, err = w.composeAnswered(ctx, &it.Request, *msg.Answer)
	} else {
		res, err = w.Composer.Compose(ctx, &it.Request)
	}
	var (
		status EmailStatus
		result Outcome
	)
	switch {
	case err == nil:
		status, result = outcomeOf(res, it.Request.Options.Kind())
	case email.IsTransient(err) && m.ReceiveCount < w.maxReceive():
		log.WarnContext(ctx, "transient failure; will retry", slog.Int("receive_count", m.ReceiveCount), slog.String("error", err.Error()))
		return errRetry
	case email.IsTransient(err):
		status, result = EmailFailed, Outcome{Error: "retries exhausted: " + reason(err)}
	default:
		status, result = EmailFailed, Outcome{Error: reason(err)}
	}
	if status == EmailFailed {
		log.WarnContext(ctx, "email failed", slog.String("error", err.Error()))
	}
	result.Usage = priced(w.Prices, result.Model, result.Usage)
	err = w.Store.Finish(ctx, c.ID, it.Index, status, result, w.now())
	if errors.Is(err, ErrAlreadyDone) {
		// Another delivery won the race; it counted, and may have died
		// before completing the campaign.
		return w.completeRedelivered(ctx, msg.Tenant, c.ID)
	}
	if err != nil {
		return fmt.Errorf("finish email %d: %w", it.Index, err)
	}
	if w.Observer != nil {
		w.Observer.EmailFinished(status, result.Model, result.Usage)
	}
	return w.complete(ctx, msg.Tenant, c.ID)
}

// complete finishes the campaign if every email is done and no retry is
// still making emails pending again (the retry completes it once it
// has). It enqueues the
// campaign's notify message first, when there is a webhook to call, so
// that the webhook is sent whoever wins the final transition, even if the
// winner dies right after it (TaskNotify makes it sent once however many
// notify messages there are). Exactly one caller wins the transition.
func (w *Worker) complete(ctx context.Context, tenant, id string) error {
	c, err := w.Store.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	if c.Status.Final() || !c.Done() || c.Retrying {
		return nil
	}
	if w.Notifier != nil && c.WebhookURL != "" {
		b, err := json.Marshal(message{Type: msgNotify, Tenant: c.Tenant, CampaignID: c.ID})
		if err != nil {
			return err
		}
		if err := w.notices().Send(ctx, [][]byte{b}); err != nil {
			return fmt.Errorf("enqueue the webhook of campaign %s: %w", c.ID, err)
		}
	}
	return w.finish(ctx, c)
}

// finish moves c, whose emails are all done, to its final status, unless
// another caller did.
func (w *Worker) finish(ctx context.Context, c *Campaign) error {
	to := finalStatus(c)
	err := w.Store.Transition(ctx, c.ID, []Status{StatusQueued, StatusRunning}, to, w.now())
	if errors.Is(err, ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	w.log().InfoContext(ctx, "campaign finished",
		slog.String("status", string(to)), slog.Int("succeeded", c.Succeeded), slog.Int("failed", c.Failed))
	w.cleanUp(ctx, c)
	return nil
}

// notify calls the campaign's webhook: one attempt per delivery, bounded by
// NotifyTimeout. A failure that another attempt may fix comes back with
// the queue's backoff, up to MaxReceive deliveries. Of several notify
// messages of one campaign (two completers, or a duplicate delivery) the
// one that claims TaskNotify calls; the others come back when its lease
// ends, and are dropped once the task is done.
func (w *Worker) notify(ctx context.Context, m Delivery, msg message) error {
	if w.Notifier == nil {
		return nil
	}
	c, err := w.Store.Get(ctx, msg.Tenant, msg.CampaignID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.Status.Final() {
		if !c.Done() || c.Retrying {
			// Not a message complete sent, or one sent before a retry
			// reopened the campaign: the retry's completion sends its own.
			return nil
		}
		// Its completer enqueued this and died before the transition.
		if err := w.finish(ctx, c); err != nil {
			return err
		}
		if c, err = w.Store.Get(ctx, msg.Tenant, msg.CampaignID); err != nil {
			return err
		}
	}
	if c.Status == StatusCancelled || c.WebhookURL == "" {
		return nil
	}
	now, owner, timeout := w.now(), newOwner(m), w.notifyTimeout()
	if err := w.Store.ClaimTask(ctx, c.ID, TaskNotify, owner, now, now.Add(timeout+time.Second)); err != nil {
		if errors.Is(err, ErrAlreadyDone) {
			return nil
		}
		if held, ok := errors.AsType[*ClaimedError](err); ok {
			// Another delivery is calling, or died calling: this one
			// takes over if the task is not done when its lease ends.
			w.log().InfoContext(ctx, "webhook is being sent by another delivery; checking back when its lease ends",
				slog.Time("lease_until", held.Until))
			return &retryAfter{d: held.Until.Sub(now) + time.Second}
		}
		return err
	}
	nctx, cancel := context.WithTimeout(ctx, timeout)
	err = w.Notifier.Notify(nctx, c)
	cancel()
	if err == nil {
		w.log().InfoContext(ctx, "webhook sent")
		w.finishTask(ctx, c.ID, TaskNotify)
		return nil
	}
	retry := !errors.Is(err, ErrUndeliverable) && m.ReceiveCount < w.maxReceive()
	w.log().WarnContext(ctx, "webhook failed", slog.Bool("will_retry", retry),
		slog.Int("receive_count", m.ReceiveCount), slog.String("error", err.Error()))
	if !retry {
		w.finishTask(ctx, c.ID, TaskNotify)
		return nil
	}
	// Give the task up, so that the retry need not wait for this lease.
	if now := w.now(); w.Store.ClaimTask(context.WithoutCancel(ctx), c.ID, TaskNotify, owner, now, now) != nil {
		w.log().DebugContext(ctx, "could not give up the webhook's lease; the retry waits for it to end")
	}
	return errRetry
}

// finishTask marks a task done, best effort: if it fails, a duplicate
// notify message may call the webhook again.
func (w *Worker) finishTask(ctx context.Context, id string, task Task) {
	if err := w.Store.FinishTask(context.WithoutCancel(ctx), id, task); err != nil {
		w.log().WarnContext(ctx, "could not record a task as done", slog.String("task", string(task)), slog.String("error", err.Error()))
	}
}

// completeRedelivered is complete for a delivery whose email was already
// done: a campaign that is gone by now is no reason to deliver it again.
func (w *Worker) completeRedelivered(ctx context.Context, tenant, id string) error {
	if err := w.complete(ctx, tenant, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func (w *Worker) maxReceive() int {
	if w.MaxReceive <= 0 {
		return DefaultMaxReceive
	}
	return w.MaxReceive
}

// reason is the text a client sees for a failed email: the kind of failure,
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
