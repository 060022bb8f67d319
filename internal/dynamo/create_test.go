package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/testenv"
)

func newStore(t *testing.T, ttl time.Duration) (*Store, *dynamodb.Client, string) {
	client := testenv.DynamoDB(t)
	table := testenv.CreateTable(t, client)
	s := New(client, table, ttl)
	s.Now = storetest.Now
	return s, client, table
}

// dieHalfway does what a Create does before it dies: claim the key and
// write some of the emails, but not the campaign record.
func dieHalfway(t *testing.T, s *Store, c *campaign.Campaign, items []campaign.Email) {
	t.Helper()
	ctx := context.Background()
	out := s.stored(c)
	if _, _, err := s.claimKey(ctx, out); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := s.putItems(ctx, out, items); err != nil {
		t.Fatalf("putItems: %v", err)
	}
}

func withKey(c *campaign.Campaign, key, hash string) *campaign.Campaign {
	c.IdempotencyKey, c.RequestHash = key, hash
	return c
}

func TestCreateCompletesADeadCreate(t *testing.T) {
	s, _, _ := newStore(t, 0)
	ctx := context.Background()
	first := withKey(storetest.NewCampaign("tenant-a", 3), "key", "hash")
	dieHalfway(t, s, first, storetest.NewItems(first)[:2])

	again := withKey(storetest.NewCampaign("tenant-a", 3), "key", "hash")
	again.CreatedAt = first.CreatedAt.Add(staleClaim)
	got, err := s.Create(ctx, again, storetest.NewItems(again))
	if !errors.Is(err, campaign.ErrConflict) || got == nil {
		t.Fatalf("Create = %v, %v; want the completed campaign and ErrConflict", got, err)
	}
	if got.ID != first.ID || got.Total != 3 {
		t.Errorf("Create returned %s of %d items, want %s of 3", got.ID, got.Total, first.ID)
	}
	if _, err := s.Get(ctx, "tenant-a", first.ID); err != nil {
		t.Errorf("Get of the completed campaign: %v", err)
	}
	items, _ := storetest.AllItems(t, s, first.ID, 10)
	if len(items) != 3 {
		t.Errorf("completed campaign has %d items, want 3", len(items))
	}
	if _, err := s.Get(ctx, "tenant-a", again.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get of the new id: err = %v, want ErrNotFound", err)
	}
}

func TestCreateWithKeyOfARunningCreateIsConflict(t *testing.T) {
	s, _, _ := newStore(t, 0)
	s.claimWait = 200 * time.Millisecond
	first := withKey(storetest.NewCampaign("tenant-a", 2), "key", "hash")
	dieHalfway(t, s, first, nil)

	again := withKey(storetest.NewCampaign("tenant-a", 2), "key", "hash")
	again.CreatedAt = first.CreatedAt.Add(time.Second)
	got, err := s.Create(context.Background(), again, storetest.NewItems(again))
	if !errors.Is(err, campaign.ErrConflict) || got != nil {
		t.Fatalf("Create = %v, %v; want no campaign and ErrConflict", got, err)
	}
}

func TestCreateWithKeyOfADeadCreateOfAnotherBodyIsConflict(t *testing.T) {
	s, _, _ := newStore(t, 0)
	first := withKey(storetest.NewCampaign("tenant-a", 2), "key", "hash")
	dieHalfway(t, s, first, nil)

	again := withKey(storetest.NewCampaign("tenant-a", 2), "key", "other hash")
	got, err := s.Create(context.Background(), again, storetest.NewItems(again))
	if !errors.Is(err, campaign.ErrConflict) || got == nil {
		t.Fatalf("Create = %v, %v; want a campaign and ErrConflict", got, err)
	}
	if got.ID != first.ID || got.RequestHash != "hash" {
		t.Errorf("Create returned %s with hash %q, want %s with %q", got.ID, got.RequestHash, first.ID, "hash")
	}
}

func TestFailedCreateReleasesItsKey(t *testing.T) {
	s, _, _ := newStore(t, 0)
	ctx := context.Background()
	c := withKey(storetest.NewCampaign("tenant-a", 2), "key", "hash")
	items := storetest.NewItems(c)
	// Over DynamoDB's 400 KB item limit.
	items[1].Request.Prospect.Extra["notes"] = json.RawMessage(strconv.Quote(strings.Repeat("x", 500_000)))
	if _, err := s.Create(ctx, c, items); err == nil {
		t.Fatal("Create of an item over 400 KB succeeded")
	}

	again := withKey(storetest.NewCampaign("tenant-a", 2), "key", "hash")
	if _, err := s.Create(ctx, again, storetest.NewItems(again)); err != nil {
		t.Fatalf("Create after a failed one with the same key: %v", err)
	}
}
