package campaign_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/prompts"
)

// A transient failure comes back after the worker's backoff, not after the
// queue's visibility timeout (an hour here; 12 minutes on AWS).
func TestProcessRetriesTransientFailuresAfterBackoff(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.NewStore(db)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := sqlite.NewQueue(db, "work", time.Hour, 5)
	if err != nil {
		t.Fatal(err)
	}
	up := openaitest.New(t, openaitest.WithFailRate(1))
	set, _ := prompt.Load(prompts.FS)
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, MaxRetries: -1}, set)
	if err != nil {
		t.Fatal(err)
	}
	svc := &campaign.Service{Store: store, Queue: queue}
	if _, err := svc.Submit(ctx, "t", "", []byte(`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}]}`)); err != nil {
		t.Fatal(err)
	}
	worker := &campaign.Worker{Store: store, Queue: queue, Composer: &email.Composer{Writer: w}, RetryDelay: 300 * time.Millisecond}

	// The expand message, then the item message, which fails (500).
	for step := 0; step < 2; step++ {
		msgs, err := queue.Receive(ctx, 10, time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("step %d: %d messages, %v", step, len(msgs), err)
		}
		failed := worker.Process(ctx, msgs)
		if step == 0 {
			if len(failed) != 0 {
				t.Fatalf("expand failed: %v", failed)
			}
			_ = queue.Delete(ctx, []string{msgs[0].Handle})
			continue
		}
		if len(failed) != 1 || failed[0] != msgs[0].ID {
			t.Fatalf("a 500 must be reported as a batch item failure: %v", failed)
		}
	}
	start := time.Now()
	msgs, err := queue.Receive(ctx, 10, 5*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != 2 {
		t.Fatalf("the failed message did not come back within 5 s: %d messages, %v", len(msgs), err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("came back after %v", waited)
	}
}
