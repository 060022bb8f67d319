package campaign

import (
	"context"
	"log/slog"
	"time"
)

// Poller feeds a Worker from a Queue the way Lambda's SQS event source
// mapping does, for the local program: it keeps up to Concurrency messages
// in flight, deletes what succeeded and lets the rest come back.
type Poller struct {
	Queue  Queue
	Worker *Worker
	// Concurrency bounds messages in flight (default 16).
	Concurrency int
	// Wait is the long-poll wait (default 1 s).
	Wait time.Duration
	// RetryDelay is how long a failed message stays hidden before it comes
	// back, doubled per receive (default 1 s).
	RetryDelay time.Duration
	Log        *slog.Logger
}

// Run polls until ctx ends, then waits for the messages in flight.
func (p *Poller) Run(ctx context.Context) error {
	n := p.Concurrency
	if n <= 0 {
		n = 16
	}
	wait := p.Wait
	if wait <= 0 {
		wait = time.Second
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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
			return nil
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
		msgs, err := p.Queue.Receive(ctx, free, wait)
		if err != nil {
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return nil
			}
			log.ErrorContext(ctx, "receive failed", slog.String("error", err.Error()))
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		for range free - len(msgs) {
			<-slots
		}
		for _, m := range msgs {
			go func() {
				defer func() { <-slots }()
				p.work(ctx, m, log)
			}()
		}
	}
}

func (p *Poller) work(ctx context.Context, m Message, log *slog.Logger) {
	// Finish what was started even while shutting down, within a bound.
	wctx := context.WithoutCancel(ctx)
	err := p.Worker.Handle(wctx, m)
	if err == nil {
		if err := p.Queue.Delete(wctx, []string{m.Handle}); err != nil {
			log.WarnContext(ctx, "delete failed", slog.String("message_id", m.ID), slog.String("error", err.Error()))
		}
		return
	}
	// A failure comes back after a delay that doubles per receive, as a
	// visibility timeout would bring it back on SQS.
	delay := p.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	if err := p.Queue.Extend(wctx, m.Handle, backoff(delay, m.ReceiveCount, time.Minute)); err != nil {
		log.WarnContext(ctx, "extend failed", slog.String("message_id", m.ID), slog.String("error", err.Error()))
	}
}
