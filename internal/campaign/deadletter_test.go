package campaign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
)

// refuseFinish is a Store that refuses to record email index, as a
// store failing on every delivery's write would; a failure it records.
type refuseFinish struct {
	campaign.Store
	index int
}

func (s refuseFinish) Finish(ctx context.Context, id string, index int, st campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	if index == s.index && st != campaign.EmailFailed {
		return errors.New("the store refused the write")
	}
	return s.Store.Finish(ctx, id, index, st, r, now)
}

// noEmailSends is a Queue that refuses to send email messages, so that every
// expansion fails.
type noEmailSends struct{ campaign.Queue }

func (q noEmailSends) Send(ctx context.Context, bodies [][]byte) error {
	for _, b := range bodies {
		if bytes.Contains(b, []byte(`"type":"item"`)) {
			return errors.New("the queue refused the emails")
		}
	}
	return q.Queue.Send(ctx, bodies)
}

// hookCounter is a webhook receiver that counts its calls.
func hookCounter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// waitFinal polls the store until the campaign has a final status and the
// webhook, if any, was called; it fails the test after 30 s.
func waitFinal(t *testing.T, store campaign.Store, id string, hooks *atomic.Int32) *campaign.Campaign {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := store.Get(context.Background(), "t", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status.Final() && (hooks == nil || hooks.Load() > 0) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: campaign %s with %d of %d done", c.Status, c.Succeeded+c.Failed, c.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeadLettersEndTheirCampaign makes messages reach the local queue's
// dead letters, as a store failing on every delivery or an expansion that
// keeps failing would, and checks that the poller settles them: their
// prospects fail with a reason, the campaign completes with errors and its
// webhook is called once, and the model is not called for them (issue 9,
// A3: they stayed pending and the campaign running for ever).
func TestDeadLettersEndTheirCampaign(t *testing.T) {
	ctx := context.Background()
	body := func(hook string) []byte {
		b, _ := json.Marshal(map[string]any{"webhook_url": hook, "prospects": []map[string]any{
			{"prospect": map[string]any{"first_name": "A"}, "company": map[string]any{"company_name": "X"}},
			{"prospect": map[string]any{"first_name": "B"}, "company": map[string]any{"company_name": "Y"}},
			{"prospect": map[string]any{"first_name": "C"}, "company": map[string]any{"company_name": "Z"}},
		}})
		return b
	}
	t.Run("EmailWhoseWriteFailsEveryTime", func(t *testing.T) {
		store, queue := testprog.LocalParts(t, time.Minute)
		hook, hooks := hookCounter(t)
		model := &gatedComposer{started: make(chan struct{}, 100), release: make(chan struct{})}
		close(model.release)
		worker := &campaign.Worker{Store: refuseFinish{Store: store, index: 1}, Queue: queue, Composer: model,
			Notifier: webhook.New(webhook.Options{AllowPrivate: true}), MaxReceive: 5}
		testprog.RunPoller(t, &campaign.Poller{Queue: queue, Worker: worker, Concurrency: 4, Wait: 50 * time.Millisecond,
			RetryDelay: 10 * time.Millisecond, DeadLetterInterval: 50 * time.Millisecond})
		sub, err := (&campaign.Service{Store: store, Queue: queue}).Submit(ctx, "t", "", body(hook.URL))
		if err != nil {
			t.Fatal(err)
		}
		c := waitFinal(t, store, sub.Campaign.ID, hooks)
		if c.Status != campaign.StatusCompletedWithErrors || c.Succeeded != 2 || c.Failed != 1 {
			t.Fatalf("campaign %+v, want completed_with_errors with 2 succeeded, 1 failed", c)
		}
		it, err := store.Email(ctx, c.ID, 1)
		if err != nil || it.Status != campaign.EmailFailed || it.Outcome.Error != "gave up after 5 deliveries" {
			t.Fatalf("email 1: %+v, %v; want failed: gave up after 5 deliveries", it, err)
		}
		// One call per delivery of the refused email, none to settle it.
		if n := model.calls.Load(); n != 2+5 {
			t.Errorf("model calls %d, want 7", n)
		}
		checkHookOnce(t, hooks)
	})
	t.Run("ExpansionThatFailsEveryTime", func(t *testing.T) {
		store, queue := testprog.LocalParts(t, time.Minute)
		hook, hooks := hookCounter(t)
		model := &gatedComposer{started: make(chan struct{}, 100), release: make(chan struct{})}
		close(model.release)
		worker := &campaign.Worker{Store: store, Queue: noEmailSends{queue}, Composer: model,
			Notifier: webhook.New(webhook.Options{AllowPrivate: true}), MaxReceive: 5}
		testprog.RunPoller(t, &campaign.Poller{Queue: queue, Worker: worker, Concurrency: 4, Wait: 50 * time.Millisecond,
			RetryDelay: 10 * time.Millisecond, DeadLetterInterval: 50 * time.Millisecond})
		sub, err := (&campaign.Service{Store: store, Queue: queue}).Submit(ctx, "t", "", body(hook.URL))
		if err != nil {
			t.Fatal(err)
		}
		c := waitFinal(t, store, sub.Campaign.ID, hooks)
		if c.Status != campaign.StatusCompletedWithErrors || c.Failed != 3 {
			t.Fatalf("campaign %+v, want completed_with_errors with 3 failed", c)
		}
		for i := range 3 {
			it, err := store.Email(ctx, c.ID, i)
			if err != nil || it.Status != campaign.EmailFailed || it.Outcome.Error != "the campaign could not be expanded (gave up after 5 deliveries)" {
				t.Fatalf("email %d: %+v, %v; want failed as not expanded", i, it, err)
			}
		}
		if n := model.calls.Load(); n != 0 {
			t.Errorf("model calls %d, want none", n)
		}
		checkHookOnce(t, hooks)
	})
	t.Run("SettledAtStart", func(t *testing.T) {
		store, queue := testprog.LocalParts(t, time.Minute)
		id, msgs := oneEmail(t, store, queue)
		// The email's message is received as often as the queue allows and
		// never deleted: a dead letter before the poller starts.
		for msgs[0].ReceiveCount < 5 {
			if err := queue.Extend(ctx, msgs[0].Handle, 0); err != nil {
				t.Fatal(err)
			}
			var err error
			if msgs, err = queue.Receive(ctx, 1, time.Second); err != nil || len(msgs) != 1 {
				t.Fatalf("receive: %d messages, %v", len(msgs), err)
			}
		}
		if err := queue.Extend(ctx, msgs[0].Handle, 0); err != nil {
			t.Fatal(err)
		}
		model := &gatedComposer{started: make(chan struct{}, 1), release: make(chan struct{})}
		worker := &campaign.Worker{Store: store, Queue: queue, Composer: model}
		testprog.RunPoller(t, &campaign.Poller{Queue: queue, Worker: worker, Wait: 50 * time.Millisecond, DeadLetterInterval: time.Hour})
		c := waitFinal(t, store, id, nil)
		if c.Status != campaign.StatusCompletedWithErrors || c.Failed != 1 || model.calls.Load() != 0 {
			t.Fatalf("campaign %+v after %d model calls; want completed_with_errors, no call", c, model.calls.Load())
		}
	})
}

// checkHookOnce checks that the webhook was called once.
func checkHookOnce(t *testing.T, hooks *atomic.Int32) {
	t.Helper()
	if n := hooks.Load(); n != 1 {
		t.Errorf("webhook called %d times, want once", n)
	}
}

// TestDeadLetterTwiceChangesNothing settles an email's and an expansion's
// dead letter twice: the second changes nothing, sends nothing and calls
// no model.
func TestDeadLetterTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"item", "expand"} {
		t.Run(kind, func(t *testing.T) {
			store, queue := testprog.LocalParts(t, time.Hour)
			id, msgs := oneEmail(t, store, queue)
			if kind == "expand" {
				msgs[0].Body = []byte(`{"type":"expand","tenant":"t","campaign_id":"` + id + `","total":1}`)
			}
			model := &gatedComposer{started: make(chan struct{}, 1), release: make(chan struct{})}
			var logs bytes.Buffer
			worker := &campaign.Worker{Store: store, Queue: queue, Composer: model,
				Notifier: webhook.New(webhook.Options{}), Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			if err := worker.DeadLetter(ctx, msgs[0]); err != nil {
				t.Fatalf("first: %v", err)
			}
			first, err := store.Get(ctx, "t", id)
			if err != nil || first.Status != campaign.StatusCompletedWithErrors || first.Failed != 1 {
				t.Fatalf("after the first: %+v, %v", first, err)
			}
			if err := worker.DeadLetter(ctx, msgs[0]); err != nil {
				t.Fatalf("second: %v", err)
			}
			second, _ := store.Get(ctx, "t", id)
			if !reflect.DeepEqual(second, first) {
				t.Errorf("the second changed the campaign:\n%+v\n%+v", first, second)
			}
			it, _ := store.Email(ctx, id, 0)
			if it.Status != campaign.EmailFailed || !strings.Contains(it.Outcome.Error, "gave up after 5 deliveries") {
				t.Errorf("email %+v", it)
			}
			if model.calls.Load() != 0 {
				t.Errorf("model called %d times", model.calls.Load())
			}
			// The campaign has no webhook: nothing was enqueued.
			if left, err := queue.Receive(ctx, 10, 0); err != nil || len(left) != 0 {
				t.Errorf("%d messages enqueued, %v", len(left), err)
			}
			if strings.Count(logs.String(), `"msg":"campaign finished"`) != 1 {
				t.Errorf("want one \"campaign finished\" line:\n%s", logs.String())
			}
		})
	}
}
