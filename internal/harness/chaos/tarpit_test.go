package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
	"github.com/ingren/ingren/prompts"
)

// tarpit is a webhook receiver that answers nothing until released: it
// counts the calls that came in and those that left.
type tarpit struct {
	*httptest.Server
	entered, left atomic.Int32
	release       chan struct{}
}

func newTarpit(t *testing.T) *tarpit {
	tp := &tarpit{release: make(chan struct{})}
	tp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		tp.entered.Add(1)
		defer tp.left.Add(1)
		select {
		case <-tp.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(tp.Close)
	return tp
}

// open lets every call through, now and later.
func (tp *tarpit) open() {
	select {
	case <-tp.release:
	default:
		close(tp.release)
	}
}

// waitEntered waits until n calls are in the tarpit.
func (tp *tarpit) waitEntered(t *testing.T, n int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for tp.entered.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d webhook calls in the tarpit, want %d", tp.entered.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tarpitWorld is the local program's worker as app.NewLocal wires it: a
// work queue and a queue of notices in one SQLite file, worked by one
// Poller. Webhook calls wait up to an hour, so that they hang for as long
// as the test needs.
type tarpitWorld struct {
	store   *sqlite.Store
	queue   *sqlite.Queue
	notices *sqlite.Queue
	worker  *campaign.Worker
	svc     *campaign.Service
}

func newTarpitWorld(t *testing.T, concurrency, notify int) *tarpitWorld {
	t.Helper()
	db := testprog.MustOpen(t, filepath.Join(t.TempDir(), "ingren.db"))
	store := testprog.MustStore(t, db)
	queue := testprog.MustQueue(t, db, "work", time.Minute, campaign.DefaultMaxReceive)
	notices := testprog.MustQueue(t, db, "notify", time.Minute, campaign.DefaultMaxReceive)
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	worker := &campaign.Worker{Store: store, Queue: queue, Notices: notices,
		Composer:    &email.Composer{Writer: offline.New(), Prompts: set},
		Notifier:    webhook.New(webhook.Options{AllowPrivate: true, Timeout: time.Hour}),
		Concurrency: concurrency, NotifyConcurrency: notify, NotifyTimeout: time.Hour, Log: slog.New(slog.DiscardHandler)}
	return &tarpitWorld{store: store, queue: queue, notices: notices, worker: worker,
		svc: &campaign.Service{Store: store, Queue: queue}}
}

func (w *tarpitWorld) submit(t *testing.T, n int, hook string) string {
	t.Helper()
	body := map[string]any{"prospects": testprog.Prospects(n)}
	if hook != "" {
		body["webhook_url"] = hook
	}
	b, _ := json.Marshal(body)
	sub, err := w.svc.Submit(context.Background(), "t", "", b)
	if err != nil {
		t.Fatal(err)
	}
	return sub.Campaign.ID
}

// waitCompleted waits for the campaign to complete; the deadline only
// bounds a broken run.
func (w *tarpitWorld) waitCompleted(t *testing.T, id string, why string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := w.store.Get(context.Background(), "t", id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == campaign.StatusCompleted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, campaign %s with %d of %d done %s", c.Status, c.Succeeded+c.Failed, c.Total, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTarpitWebhooksDoNotDelayEmails has campaigns whose webhook never
// answers, more of them than the worker has model slots, and checks that
// another campaign's emails are written and it completes while every one
// of those webhook calls still hangs: webhooks are called apart from the
// model work, so that receivers that never answer cannot hold every slot
// and stall all campaign work.
func TestTarpitWebhooksDoNotDelayEmails(t *testing.T) {
	const slots, hooks = 2, 4
	t.Run("LocalPoller", func(t *testing.T) {
		tp := newTarpit(t)
		w := newTarpitWorld(t, slots, hooks)
		testprog.RunPoller(t, &campaign.Poller{Queue: w.queue, Notices: w.notices, Worker: w.worker, Concurrency: slots,
			Wait: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
		t.Cleanup(tp.open) // runs first: the poller stops once the webhooks it waits on return

		for range hooks {
			w.submit(t, 1, tp.URL)
		}
		// As many hang as there are model slots, at least; then the other
		// campaign comes.
		tp.waitEntered(t, slots)
		w.waitCompleted(t, w.submit(t, 5, ""), "while webhooks hang")
		tp.waitEntered(t, hooks)
		if in, left := tp.entered.Load(), tp.left.Load(); in != hooks || left != 0 {
			t.Fatalf("%d webhook calls came in and %d left; want all %d still hanging", in, left, hooks)
		}
	})
	t.Run("LambdaBatch", func(t *testing.T) {
		// One invocation's batch holds the notify messages of campaigns
		// whose webhook hangs and the email messages of another campaign.
		tp := newTarpit(t)
		t.Cleanup(tp.open)
		w := newTarpitWorld(t, 1, hooks)
		w.worker.Notices = nil // on AWS they share the work queue
		// The deadline only bounds a broken run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for range hooks {
			w.submit(t, 1, tp.URL)
		}
		other := w.submit(t, 3, "")
		// Expand every campaign and work the hanging ones' emails: their
		// completion enqueues their notify messages.
		var batch []campaign.Delivery
		for {
			msgs, err := w.queue.Receive(ctx, 10, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				var body struct {
					Type       string `json:"type"`
					CampaignID string `json:"campaign_id"`
				}
				_ = json.Unmarshal(m.Body, &body)
				// An email's message keeps the stored type "item", which
				// messages already in a queue carry.
				if body.Type == "notify" || body.CampaignID == other && body.Type == "item" {
					batch = append(batch, m)
					continue
				}
				if failed := w.worker.Process(ctx, []campaign.Delivery{m}); len(failed) != 0 {
					t.Fatalf("%s failed", m.Body)
				}
			}
		}
		if len(batch) != hooks+3 {
			t.Fatalf("batch of %d messages, want %d notify messages and 3 emails", len(batch), hooks)
		}
		done := make(chan []string, 1)
		go func() { done <- w.worker.Process(ctx, batch) }()
		tp.waitEntered(t, hooks)
		w.waitCompleted(t, other, fmt.Sprintf("while %d webhooks of its batch hang", hooks))
		select {
		case failed := <-done:
			t.Fatalf("the batch returned (failed %v) while its webhooks hung", failed)
		default:
		}
		if in, left := tp.entered.Load(), tp.left.Load(); in != hooks || left != 0 {
			t.Fatalf("%d webhook calls came in and %d left; want all %d still hanging", in, left, hooks)
		}
		tp.open()
		if failed := <-done; len(failed) != 0 {
			t.Fatalf("released, the webhooks failed: %v", failed)
		}
	})
}
