package chaos_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
	"github.com/ingren/ingren/prompts"
)

// twice is a Queue that delivers every message two times: once when it is
// received, and again at the next Receive, usually while the first
// delivery is still being worked. This is SQS's at-least-once delivery at
// its worst.
type twice struct {
	campaign.Queue
	mu        sync.Mutex
	again     []campaign.Delivery
	delivered int // deliveries handed out, duplicates included
	dups      int
	settled   int // deliveries deleted or extended: their work is over
	// idle: the last Receive found the queue empty and had no duplicate
	// left to deliver.
	idle bool
}

func (q *twice) Receive(ctx context.Context, max int, wait time.Duration) ([]campaign.Delivery, error) {
	q.mu.Lock()
	k := min(len(q.again), max)
	out := append([]campaign.Delivery(nil), q.again[:k]...)
	q.again = q.again[k:]
	q.mu.Unlock()
	if len(out) < max {
		if len(out) > 0 {
			wait = 0
		}
		msgs, err := q.Queue.Receive(ctx, max-len(out), wait)
		if err != nil && len(out) == 0 {
			return nil, err
		}
		out = append(out, msgs...)
		q.mu.Lock()
		q.again = append(q.again, msgs...)
		q.mu.Unlock()
	}
	q.mu.Lock()
	q.delivered += len(out)
	q.dups += k
	q.idle = len(out) == 0
	q.mu.Unlock()
	return out, nil
}

func (q *twice) Delete(ctx context.Context, handles []string) error {
	q.mu.Lock()
	q.settled += len(handles)
	q.mu.Unlock()
	return q.Queue.Delete(ctx, handles)
}

func (q *twice) Extend(ctx context.Context, handle string, d time.Duration) error {
	q.mu.Lock()
	q.settled++
	q.mu.Unlock()
	return q.Queue.Extend(ctx, handle, d)
}

// drained reports whether every message was delivered twice and every
// delivery worked: nothing is in flight and the queue was found empty.
// (Nothing here fails, so no message hides for a retry.)
func (q *twice) drained() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.idle && len(q.again) == 0 && q.settled == q.delivered
}

// TestDuplicateDeliveryLocal is TestAWSDuplicateDelivery (internal/app) for
// the local program's path: the real SQLite store and goqite queue, the
// Poller and Worker, with every message (the campaign's expand message and
// each email's) delivered twice. Each prospect costs one model call, is
// counted once, and the webhook fires once.
func TestDuplicateDeliveryLocal(t *testing.T) {
	n := pick(200, 3000)
	up := openaitest.New(t, openaitest.WithLatency(20*time.Millisecond, 10*time.Millisecond))
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hooks.Add(1)
	}))
	t.Cleanup(hook.Close)

	store, queue := testprog.LocalParts(t, time.Minute)
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := openai.New(openai.Config{APIKey: "sk-chaos-test", BaseURL: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Warnings are failures, and a failure after the model call redoes
	// its prospect legitimately; nothing else may.
	warnings := &testprog.Buffer{}
	log := slog.New(slog.NewJSONHandler(warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))
	composer := &email.Composer{Writer: writer, Prompts: set}
	svc := &campaign.Service{Store: store, Queue: queue}
	worker := &campaign.Worker{Store: store, Queue: queue, Composer: composer,
		Notifier: webhook.New(webhook.Options{AllowPrivate: true}), Concurrency: 8, MaxReceive: 5, Log: log}
	dup := &twice{Queue: queue}
	poller := &campaign.Poller{Queue: dup, Worker: worker, Concurrency: 8, Wait: 100 * time.Millisecond, Log: log}
	testprog.RunPoller(t, poller)
	srv := httptest.NewServer(contract.Handler(t, api.NewServer(api.Config{}, api.KeyAuth{Keys: apikey.New([]string{testKey})}, composer, svc, log)))
	t.Cleanup(srv.Close)
	call := testprog.HTTP(srv.URL, testKey)

	start := time.Now()
	id := submit(t, call, n, map[string]any{"webhook_url": hook.URL})
	c := call.WaitFor(t, id, pick(60*time.Second, 5*time.Minute), testprog.Campaign.Final)
	wall := time.Since(start)
	if c.Status != "completed" || c.Succeeded != n || c.Failed != 0 {
		t.Fatalf("campaign %+v, want completed with %d succeeded", c, n)
	}
	byStatus := checkExactlyOnce(t, call, c)

	// Once every duplicate has been worked, nothing more can happen.
	drain := pick(30*time.Second, 5*time.Minute)
	deadline := time.Now().Add(drain)
	for !dup.drained() {
		if time.Now().After(deadline) {
			t.Fatalf("the duplicates were not all worked within %v", drain)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := hooks.Load(); got != 1 {
		t.Errorf("webhook called %d times, want exactly once", got)
	}
	if again := call.Campaign(t, id); again != c {
		t.Errorf("the duplicates changed the finished campaign: %+v, then %+v", c, again)
	}
	first := firstCalls(t, up, n)
	dup.mu.Lock()
	delivered, dups := dup.delivered, dup.dups
	dup.mu.Unlock()
	// A duplicate that finds its email claimed waits for the holder's lease
	// (two minutes here) instead of calling the model, and one that claims
	// it after it was finished is told so: no prospect costs two calls
	// unless something failed.
	failures := strings.Count(warnings.String(), "\n")
	if first.redone > failures {
		t.Errorf("%d prospects were written twice, with %d failures logged: a duplicate called the model", first.redone, failures)
	}
	if failures > 0 {
		t.Logf("%d failures logged (each may redo a prospect):\n%s", failures, warnings)
	}
	t.Logf("%d prospects completed in %v: statuses %v; %d deliveries (%d of them duplicates); %d first model calls",
		n, wall.Round(time.Millisecond), byStatus, delivered, dups, first.calls)
}
