package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
	"github.com/ingren/ingren/prompts"
)

// afterFinish is a Store that runs after once each Finish has committed,
// and returns its error as Finish's: the moment between an email's write
// and the campaign's completion, where a client's poll or a crash lands.
type afterFinish struct {
	campaign.Store
	after func(ctx context.Context, campaignID string, index int) error
}

func (s *afterFinish) Finish(ctx context.Context, id string, index int, st campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	if err := s.Store.Finish(ctx, id, index, st, r, now); err != nil {
		return err
	}
	return s.after(ctx, id, index)
}

// TestWebhookOnceAtTheEdges checks that a finished campaign's webhook is
// sent exactly once even when something happens right after the last
// email's write: a client reads the campaign (Service.Get, which finishes a
// campaign whose emails are all done), or the worker dies before it
// completes the campaign and the message comes back.
func TestWebhookOnceAtTheEdges(t *testing.T) {
	const n, tenant = 4, "tenant-chaos"
	for _, tc := range []struct {
		name  string
		after func(svc *campaign.Service, died *atomic.Bool) func(ctx context.Context, id string, index int) error
	}{
		{"ClientPollsAfterTheLastWrite", func(svc *campaign.Service, _ *atomic.Bool) func(context.Context, string, int) error {
			return func(ctx context.Context, id string, _ int) error {
				_, err := svc.Get(ctx, tenant, id)
				return err
			}
		}},
		{"WorkerDiesAfterTheLastWrite", func(_ *campaign.Service, died *atomic.Bool) func(context.Context, string, int) error {
			return func(_ context.Context, _ string, index int) error {
				if index == n-1 && died.CompareAndSwap(false, true) {
					return errors.New("the worker died after its write")
				}
				return nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var hooks []webhook.Payload
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				var p webhook.Payload
				_ = json.Unmarshal(b, &p)
				mu.Lock()
				hooks = append(hooks, p)
				mu.Unlock()
			}))
			t.Cleanup(hook.Close)
			store, queue := testprog.LocalParts(t, time.Minute)
			set, err := prompt.Load(prompts.FS)
			if err != nil {
				t.Fatal(err)
			}
			svc := &campaign.Service{Store: store, Queue: queue}
			var died atomic.Bool
			racy := &afterFinish{Store: store, after: tc.after(svc, &died)}
			// One email at a time, so that the last index is the last write.
			worker := &campaign.Worker{Store: racy, Queue: queue, Composer: &email.Composer{Writer: offline.New(), Prompts: set},
				Notifier: webhook.New(webhook.Options{AllowPrivate: true}), Concurrency: 1, Log: slog.New(slog.DiscardHandler)}
			poller := &campaign.Poller{Queue: queue, Worker: worker, Concurrency: 1, Wait: 50 * time.Millisecond,
				RetryDelay: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
			testprog.RunPoller(t, poller)

			ctx := t.Context()
			body, _ := json.Marshal(map[string]any{"prospects": testprog.Prospects(n), "webhook_url": hook.URL})
			sub, err := svc.Submit(ctx, tenant, "", body)
			if err != nil {
				t.Fatal(err)
			}
			id := sub.Campaign.ID
			// Read the store, not Service.Get, whose finishing is under test.
			deadline := time.Now().Add(10 * time.Second)
			for {
				c, err := store.Get(ctx, tenant, id)
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				got := len(hooks)
				mu.Unlock()
				if c.Status == campaign.StatusCompleted && got > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s: campaign %s with %d/%d done, %d webhook calls; want completed and notified",
						c.Status, c.Succeeded+c.Failed, c.Total, got)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// A second call would need a second winner of the final
			// transition, which the store rules out; one is what to expect.
			mu.Lock()
			defer mu.Unlock()
			if len(hooks) != 1 || hooks[0].CampaignID != id || hooks[0].Status != string(campaign.StatusCompleted) {
				t.Fatalf("webhook calls %+v, want one for %s", hooks, id)
			}
		})
	}
}
