package campaign

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ingren/ingren/internal/backoff"
)

// Poller feeds a Worker from a Queue the way Lambda's SQS event source
// mapping does, for the local program: it keeps up to Concurrency messages
// in flight, deletes what succeeded and lets the rest come back. The dead
// letters of a queue that keeps them (a DeadLetterQueue) it settles with
// Worker.DeadLetter, as the mapping of the dead-letter queue does on AWS.
type Poller struct {
	Queue  Queue
	Worker *Worker
	// Notices is the queue of the Worker's notify messages (Worker.Notices)
	// when they have one of their own. It is worked apart from Queue, with
	// Worker.NotifyConcurrency messages in flight, so that no webhook takes
	// a model slot. When Run is stopped, the notices waiting once the model
	// work in flight is done are worked before it returns, for at most
	// Worker.NotifyTimeout more.
	Notices Queue
	// Concurrency bounds messages of Queue in flight (default 16).
	Concurrency int
	// Wait is the long-poll wait (default 1 s).
	Wait time.Duration
	// RetryDelay is how long a failed message stays hidden before it comes
	// back, doubled per receive (default 1 s).
	RetryDelay time.Duration
	// DeadLetterInterval is how often dead letters are settled, besides
	// once when Run starts (default 1 minute).
	DeadLetterInterval time.Duration
	Log                *slog.Logger
}

// Run polls until ctx ends, then waits for the messages in flight.
func (p *Poller) Run(ctx context.Context) error {
	n := p.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	log := slog.New(slog.DiscardHandler)
	if p.Log != nil {
		log = slog.New(LogHandler(p.Log.Handler()))
	}
	notices := p.Notices
	if notices == p.Queue {
		notices = nil
	}
	var wg sync.WaitGroup
	for _, q := range []Queue{p.Queue, notices} {
		if dq, ok := q.(DeadLetterQueue); ok {
			wg.Go(func() { p.settleDeadLetters(ctx, dq, log) })
		}
	}
	// The notices outlive the model work, which completes campaigns.
	nctx, stopNotices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNotices()
	if notices != nil {
		wg.Go(func() { p.poll(nctx, notices, p.Worker.notifyConcurrency(), log) })
	}
	p.poll(ctx, p.Queue, n, log)
	stopNotices()
	wg.Wait()
	if notices != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.Worker.notifyTimeout())
		defer cancel()
		p.drain(dctx, notices, p.Worker.notifyConcurrency(), log)
	}
	return nil
}

// poll works q, n messages at a time, until ctx ends, then waits for the
// messages in flight.
func (p *Poller) poll(ctx context.Context, q Queue, n int, log *slog.Logger) {
	wait := p.Wait
	if wait <= 0 {
		wait = time.Second
	}
	slots := make(chan struct{}, n)
	defer func() {
		// Wait for every message in flight: fill all the slots.
		for range n {
			slots <- struct{}{}
		}
	}()
	for {
		// Take one slot before asking, so that no message is received
		// without a worker for it.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < min(n, 10) {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		msgs, err := q.Receive(ctx, free, wait)
		if err != nil {
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return
			}
			log.ErrorContext(ctx, "receive failed", slog.String("error", err.Error()))
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		for range free - len(msgs) {
			<-slots
		}
		for _, m := range msgs {
			go func() {
				defer func() { <-slots }()
				p.work(ctx, q, m, log)
			}()
		}
	}
}

// drain works the messages of q visible now, n at a time, until none is
// left or ctx ends.
func (p *Poller) drain(ctx context.Context, q Queue, n int, log *slog.Logger) {
	for ctx.Err() == nil {
		msgs, err := q.Receive(ctx, min(n, 10), 0)
		if err != nil || len(msgs) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, m := range msgs {
			wg.Go(func() { p.work(ctx, q, m, log) })
		}
		wg.Wait()
	}
}

func (p *Poller) work(ctx context.Context, q Queue, m Delivery, log *slog.Logger) {
	// Finish what was started even while shutting down, within a bound.
	wctx := context.WithoutCancel(ctx)
	err := p.Worker.Handle(wctx, m)
	if err == nil {
		if err := q.Delete(wctx, []string{m.Handle}); err != nil {
			log.WarnContext(messageContext(ctx, m), "delete failed", slog.String("error", err.Error()))
		}
		return
	}
	// A failure comes back after a delay that doubles per receive, as a
	// visibility timeout would bring it back on SQS.
	delay := p.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	if err := q.Extend(wctx, m.Handle, backoff.Exponential(delay, m.ReceiveCount-1, time.Minute)); err != nil {
		log.WarnContext(messageContext(ctx, m), "extend failed", slog.String("error", err.Error()))
	}
}

// settleDeadLetters settles q's dead letters now and every
// DeadLetterInterval until ctx ends.
func (p *Poller) settleDeadLetters(ctx context.Context, q DeadLetterQueue, log *slog.Logger) {
	every := p.DeadLetterInterval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p.settle(ctx, q, log)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// settle settles the dead letters q holds now, one at a time: they are
// rare, and one may be a whole campaign's expansion. One that cannot be
// settled is hidden for the queue's visibility timeout and tried at a later
// round.
func (p *Poller) settle(ctx context.Context, q DeadLetterQueue, log *slog.Logger) {
	for ctx.Err() == nil {
		msgs, err := q.ReceiveDead(ctx, 10)
		if err != nil {
			if ctx.Err() == nil {
				log.ErrorContext(ctx, "receive dead letters failed", slog.String("error", err.Error()))
			}
			return
		}
		if len(msgs) == 0 {
			return
		}
		wctx := context.WithoutCancel(ctx)
		for _, m := range msgs {
			if p.Worker.DeadLetter(wctx, m) != nil {
				continue // logged by DeadLetter
			}
			if err := q.Delete(wctx, []string{m.Handle}); err != nil {
				log.WarnContext(messageContext(ctx, m), "delete failed", slog.String("error", err.Error()))
			}
		}
	}
}
