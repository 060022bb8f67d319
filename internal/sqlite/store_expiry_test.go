package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/sqlite"
)

// TestDeleteExpiredRemovesEveryRow checks what the conformance suite cannot
// see through reads: that DeleteExpired really deletes an expired
// campaign's rows (campaign, emails, leases, holds, batches, and so its
// idempotency key), in calls of at most limit rows, and no row of a live campaign.
func TestDeleteExpiredRemovesEveryRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ingren.db")
	s := MustStore(t, path)
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	now := storetest.Now()

	var expired []string
	for _, total := range []int{7, 1, 3} {
		c := storetest.NewCampaign("tenant-a", total)
		c.IdempotencyKey = "key-" + c.ID
		c.ExpiresAt = now.Add(-time.Second)
		storetest.MustCreate(t, s, c, storetest.NewItems(c))
		expired = append(expired, c.ID)
	}
	live := storetest.NewCampaign("tenant-a", 4)
	storetest.MustCreate(t, s, live, storetest.NewItems(live))
	for _, id := range append(expired, live.ID) {
		if err := s.Claim(ctx, id, 0, "worker", now, now.Add(time.Minute)); err != nil {
			t.Fatalf("Claim: %v", err)
		}
	}
	// Holds cascade with their emails, uncounted. An expired campaign's
	// email cannot be held any more: its hold is one a request took
	// before.
	for _, id := range append(expired, live.ID) {
		if _, err := db.Exec(`INSERT INTO item_holds (campaign_id, idx, owner, until) VALUES (?, 0, 'request', ?)`,
			id, now.Add(time.Minute).UnixMilli()); err != nil {
			t.Fatalf("hold: %v", err)
		}
	}
	// Batches, two a campaign, as AddBatch stored them before the
	// campaigns expired.
	for _, id := range append(expired, live.ID) {
		for _, key := range []string{"a", "b"} {
			if _, err := db.Exec(`INSERT INTO campaign_batches (campaign_id, batch_key, attempt, indexes, status, version, created_at, updated_at)
				VALUES (?, ?, 1, '0', 'preparing', 1, 0, 0)`, id, key); err != nil {
				t.Fatalf("batch: %v", err)
			}
		}
	}
	// 3 campaigns, 11 emails, 3 leases, 6 batches.
	const rows, limit = 3 + 11 + 3 + 6, 4

	removed, calls := 0, 0
	for {
		n, err := s.DeleteExpired(ctx, now, limit)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n > limit {
			t.Fatalf("DeleteExpired removed %d rows, over its limit of %d", n, limit)
		}
		if n == 0 {
			break
		}
		removed += n
		if calls++; calls > rows {
			t.Fatal("DeleteExpired never returns 0")
		}
	}
	if removed != rows {
		t.Errorf("DeleteExpired removed %d rows in all, want %d", removed, rows)
	}
	for _, table := range []string{"campaigns", "campaign_items", "item_leases", "item_holds", "campaign_batches"} {
		col := "campaign_id"
		if table == "campaigns" {
			col = "id"
		}
		var left, kept int
		if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+col+` IN (?, ?, ?)`, expired[0], expired[1], expired[2]).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+col+` = ?`, live.ID).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%s: %d rows of expired campaigns left", table, left)
		}
		if want := map[string]int{"campaigns": 1, "campaign_items": 4, "item_leases": 1, "item_holds": 1, "campaign_batches": 2}[table]; kept != want {
			t.Errorf("%s: %d rows of the live campaign, want %d", table, kept, want)
		}
	}
	if _, err := s.Get(ctx, "tenant-a", live.ID); err != nil {
		t.Errorf("Get of the live campaign: %v", err)
	}
	if _, err := s.DeleteExpired(ctx, now, 0); err == nil {
		t.Error("DeleteExpired with limit 0 succeeded, want an error")
	}
}

// TestMoveTenant moves a tenant's campaigns, idempotency keys included,
// and leaves another tenant's alone.
func TestMoveTenant(t *testing.T) {
	s := MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
	ctx := context.Background()
	create := func(tenant, key string) *campaign.Campaign {
		c := storetest.NewCampaign(tenant, 1)
		c.IdempotencyKey = key
		return storetest.MustCreate(t, s, c, storetest.NewItems(c))
	}
	moved := create("old", "key-1")
	clash := create("old", "key-2")
	kept := create("new", "key-2")
	other := create("other", "key-1")

	n, err := s.MoveTenant(ctx, "old", "new")
	if err != nil || n != 2 {
		t.Fatalf("MoveTenant = %d, %v; want 2", n, err)
	}
	for _, c := range []*campaign.Campaign{moved, clash, kept} {
		if _, err := s.Get(ctx, "new", c.ID); err != nil {
			t.Errorf("Get %s as the new tenant: %v", c.ID, err)
		}
	}
	if _, err := s.Get(ctx, "other", other.ID); err != nil {
		t.Errorf("Get of another tenant's campaign: %v", err)
	}
	// key-1 moved with its campaign; key-2 stayed with the new tenant's own.
	for key, want := range map[string]string{"key-1": moved.ID, "key-2": kept.ID} {
		c := storetest.NewCampaign("new", 1)
		c.IdempotencyKey = key
		got, err := s.Create(ctx, c, storetest.NewItems(c))
		if err == nil || got == nil || got.ID != want {
			t.Errorf("Create with %s as the new tenant = %v, %v; want %s", key, got, err, want)
		}
	}
	if n, err := s.MoveTenant(ctx, "old", "new"); err != nil || n != 0 {
		t.Errorf("MoveTenant again = %d, %v; want 0", n, err)
	}
}
