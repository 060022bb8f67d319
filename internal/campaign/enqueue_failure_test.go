package campaign_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

var errSend = errors.New("queue unavailable")

// failingQueue is a SQLite queue whose Send fails while fail is set.
type failingQueue struct {
	*sqlite.Queue
	fail bool
}

func (q *failingQueue) Send(ctx context.Context, bodies [][]byte) error {
	if q.fail {
		return errSend
	}
	return q.Queue.Send(ctx, bodies)
}

// failingTransition is a store whose Transition fails.
type failingTransition struct{ campaign.Store }

func (failingTransition) Transition(context.Context, string, []campaign.Status, campaign.Status, time.Time) error {
	return errors.New("store unavailable")
}

// onlyCampaign returns tenant "t"'s one campaign.
func onlyCampaign(t *testing.T, store campaign.Store) campaign.Campaign {
	t.Helper()
	cs, _, err := store.List(context.Background(), "t", campaign.Page{})
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns %+v, %v; want one", cs, err)
	}
	return cs[0]
}

// TestSubmitWhenEnqueueFails submits while the queue refuses messages. The
// submit fails and cancels its campaign, so that no queued campaign waits
// for an expansion nobody sent; a replay with the same Idempotency-Key then
// answers with the cancelled campaign and enqueues nothing. Only when the
// cancel fails too does the campaign stay queued, and then a replay
// enqueues its expansion at once: the failed submit gave up TaskExpand.
func TestSubmitWhenEnqueueFails(t *testing.T) {
	ctx := context.Background()
	t.Run("OKCancelledAndReplayedAsCancelled", func(t *testing.T) {
		store, q := testprog.LocalParts(t, time.Hour)
		queue := &failingQueue{Queue: q, fail: true}
		svc := &campaign.Service{Store: store, Queue: queue}
		if sub, err := svc.Submit(ctx, "t", "key-1", replayBody); !errors.Is(err, errSend) {
			t.Fatalf("Submit = %+v, %v; want %v", sub, err, errSend)
		}
		c := onlyCampaign(t, store)
		if c.Status != campaign.StatusCancelled {
			t.Fatalf("status %s, want %s", c.Status, campaign.StatusCancelled)
		}

		queue.fail = false
		sub, err := svc.Submit(ctx, "t", "key-1", replayBody)
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Replayed || sub.Campaign.ID != c.ID || sub.Campaign.Status != campaign.StatusCancelled {
			t.Fatalf("replay: replayed %t, campaign %s %s; want the cancelled %s replayed",
				sub.Replayed, sub.Campaign.ID, sub.Campaign.Status, c.ID)
		}
		if got := expandMessages(t, q); got != 0 {
			t.Fatalf("%d expand messages, want none", got)
		}
	})
	t.Run("OKQueuedWhenCancelFailsAndReplayEnqueues", func(t *testing.T) {
		sqliteStore, q := testprog.LocalParts(t, time.Hour)
		store := failingTransition{sqliteStore}
		queue := &failingQueue{Queue: q, fail: true}
		svc := &campaign.Service{Store: store, Queue: queue}
		if sub, err := svc.Submit(ctx, "t", "key-1", replayBody); !errors.Is(err, errSend) {
			t.Fatalf("Submit = %+v, %v; want %v", sub, err, errSend)
		}
		if c := onlyCampaign(t, store); c.Status != campaign.StatusQueued {
			t.Fatalf("status %s, want %s", c.Status, campaign.StatusQueued)
		}

		queue.fail = false
		sub, err := svc.Submit(ctx, "t", "key-1", replayBody)
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Replayed {
			t.Fatalf("replay not marked replayed")
		}
		if got := expandMessages(t, q); got != 1 {
			t.Fatalf("%d expand messages, want 1", got)
		}
	})
}
