package campaign_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testenv"
	"github.com/ingren/ingren/internal/testprog"
)

// replayBody is the submit every replay repeats.
var replayBody = []byte(`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}},
	{"prospect": {"first_name": "B"}, "company": {"company_name": "Y"}}]}`)

// replayStores are the stores the replay tests run on; DynamoDB's needs the
// emulator and skips without it.
var replayStores = []struct {
	name string
	new  func(t *testing.T) campaign.Store
}{
	{"SQLite", func(t *testing.T) campaign.Store {
		store, _ := testprog.LocalParts(t, time.Hour)
		return store
	}},
	{"DynamoDB", func(t *testing.T) campaign.Store {
		client := testenv.DynamoDB(t)
		return dynamo.New(client, testenv.CreateTable(t, client), 0)
	}},
}

// replay submits replayBody with key n times at once and returns how many
// were answered with the campaign and how many with
// ErrIdempotencyInProgress; any other outcome fails the test.
func replay(t *testing.T, svc *campaign.Service, key string, n int) (ok, inProgress int) {
	t.Helper()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			sub, err := svc.Submit(context.Background(), "t", key, replayBody)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && sub.Replayed:
				ok++
			case errors.Is(err, campaign.ErrIdempotencyInProgress):
				inProgress++
			default:
				t.Errorf("replay: %+v, %v", sub, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return ok, inProgress
}

// expandMessages receives everything in queue and counts the expand
// messages.
func expandMessages(t *testing.T, queue *sqlite.Queue) int {
	t.Helper()
	n := 0
	for {
		msgs, err := queue.Receive(context.Background(), 10, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return n
		}
		for _, m := range msgs {
			var body struct{ Type string }
			if err := json.Unmarshal(m.Body, &body); err != nil || body.Type != "expand" {
				t.Fatalf("unexpected message %s", m.Body)
			}
			n++
		}
	}
}

// createUnqueued stores the campaign of replayBody under key as Submit
// does, and nothing else: a first submit that died before it enqueued.
func createUnqueued(t *testing.T, store campaign.Store, key string, now time.Time) *campaign.Campaign {
	t.Helper()
	sub, reqs, _, err := campaign.DecodeSubmission(replayBody, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(replayBody)
	c := &campaign.Campaign{ID: campaign.NewID(now), Tenant: "t", Status: campaign.StatusQueued, Total: len(reqs),
		IdempotencyKey: key, RequestHash: hex.EncodeToString(sum[:]), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
	emails := make([]campaign.Email, len(reqs))
	for i := range reqs {
		emails[i] = campaign.Email{CampaignID: c.ID, Index: i, Ref: sub.Prospects[i].Ref, Request: reqs[i], Status: campaign.EmailPending}
	}
	if _, err := store.Create(context.Background(), c, emails); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReplaysEnqueueTheExpansionOnce replays a submit 20 times at once
// while its campaign is queued. Its expansion is enqueued once in all: by
// the first submit, or, when that died before enqueueing, by one replay
// (issue 9, C9: 20 racing replays enqueued it 15 more times).
func TestReplaysEnqueueTheExpansionOnce(t *testing.T) {
	const n = 20
	for _, st := range replayStores {
		t.Run(st.name, func(t *testing.T) {
			t.Run("AfterTheFirstSubmit", func(t *testing.T) {
				store := st.new(t)
				_, queue := testprog.LocalParts(t, time.Hour)
				svc := &campaign.Service{Store: store, Queue: queue}
				if _, err := svc.Submit(context.Background(), "t", "key-1", replayBody); err != nil {
					t.Fatal(err)
				}
				if ok, busy := replay(t, svc, "key-1", n); ok != n {
					t.Errorf("%d replays answered with the campaign, %d in progress; want all %d answered", ok, busy, n)
				}
				if got := expandMessages(t, queue); got != 1 {
					t.Fatalf("%d expand messages, want 1", got)
				}
			})
			t.Run("AfterAFirstSubmitDiedBeforeEnqueueing", func(t *testing.T) {
				store := st.new(t)
				_, queue := testprog.LocalParts(t, time.Hour)
				svc := &campaign.Service{Store: store, Queue: queue}
				createUnqueued(t, store, "key-1", time.Now())
				if ok, _ := replay(t, svc, "key-1", n); ok == 0 {
					t.Errorf("no replay was answered with the campaign")
				}
				if got := expandMessages(t, queue); got != 1 {
					t.Fatalf("%d expand messages, want 1", got)
				}
			})
			t.Run("AfterAFirstSubmitDiedEnqueueing", func(t *testing.T) {
				store := st.new(t)
				_, queue := testprog.LocalParts(t, time.Hour)
				now := time.Now()
				svc := &campaign.Service{Store: store, Queue: queue, Now: func() time.Time { return now }}
				c := createUnqueued(t, store, "key-1", now)
				// It died holding TaskExpand: until its lease ends, replays
				// are told to retry shortly, and enqueue nothing.
				if err := store.ClaimTask(context.Background(), c.ID, campaign.TaskExpand, "dead submit", now, now.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				if ok, busy := replay(t, svc, "key-1", n); busy != n {
					t.Errorf("during the lease: %d replays answered, %d in progress; want all in progress", ok, busy)
				}
				if got := expandMessages(t, queue); got != 0 {
					t.Fatalf("during the lease: %d expand messages, want none", got)
				}
				now = now.Add(time.Minute)
				if ok, _ := replay(t, svc, "key-1", n); ok == 0 {
					t.Errorf("after the lease: no replay was answered with the campaign")
				}
				if got := expandMessages(t, queue); got != 1 {
					t.Fatalf("after the lease: %d expand messages, want 1", got)
				}
			})
		})
	}
}
