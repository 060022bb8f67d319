package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// expiryTests are the cases that move the store's clock.
var expiryTests = []struct {
	name string
	run  func(t *testing.T, s campaign.Store, clock *Clock)
}{
	{"ExpiredCampaignReadsAsGone", testExpiredReadsAsGone},
	{"ExpiredIdempotencyKeyIsFree", testExpiredKeyIsFree},
	{"DeleteExpiredKeepsLiveCampaigns", testDeleteExpired},
	{"ExpiredCampaignRefusesReviewAndRetry", testExpiredReviewWrites},
	{"ExpiredCampaignsBatchesReadAsGone", testExpiredBatches},
	{"LedgerOutlivesExpiredCampaigns", testLedgerOutlivesExpiry},
}

// testLedgerOutlivesExpiry books spend for a campaign that then expires
// and is deleted: the tenant's usage and monthly spend stay, as they are
// the tenant's bill, not the campaign's.
func testLedgerOutlivesExpiry(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	tenant := "tenant-" + NewID()
	c := expiring(tenant, 2, expiry)
	MustCreate(t, s, c, NewItems(c))
	if _, err := s.Reserve(ctx, c.ID, 0, tenant, campaign.Reservation{Amount: 500, Month: campaign.MonthOf(base)}, base); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	o := outcomeOf(campaign.EmailSucceeded, "a", 10)
	o.Usage.CostMicroUSD = 400
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, o, base)
	u := email.Usage{PromptTokens: 7, TotalTokens: 7, CostMicroUSD: 30}
	if err := s.Spend(ctx, tenant, campaign.Reservation{}, 1, u, "call", base); err != nil {
		t.Fatalf("Spend: %v", err)
	}
	day := campaign.DayOf(base)
	want := []campaign.UsageRecord{
		{Day: day, Emails: 1, Usage: u},
		{Day: day, CampaignID: c.ID, Emails: 1, Usage: o.Usage},
	}
	wantMonth := campaign.MonthSpend{Month: campaign.MonthOf(base), SpentMicroUSD: 430}

	clock.Set(expiry.Add(time.Hour))
	for range 100 {
		n, err := s.DeleteExpired(ctx, clock.Now(), 1)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n == 0 {
			break
		}
	}
	if _, err := s.Get(ctx, tenant, c.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("Get of the expired campaign: %v, want ErrNotFound", err)
	}
	if got := mustUsage(t, s, tenant, day, day); !reflect.DeepEqual(got, want) {
		t.Errorf("Usage after the campaign expired =\n%+v\nwant\n%+v", got, want)
	}
	if got := mustMonth(t, s, tenant, campaign.MonthOf(base)); got != wantMonth {
		t.Errorf("Month after the campaign expired = %+v, want %+v", got, wantMonth)
	}
}

// expiring returns a campaign of total emails that expires at exp, a whole
// second (stores keep ExpiresAt to the second).
func expiring(tenant string, total int, exp time.Time) *campaign.Campaign {
	c := NewCampaign(tenant, total)
	c.ExpiresAt = exp
	return c
}

// expiry is when the expiry tests' campaigns expire: a whole second after
// base.
var expiry = base.Truncate(time.Second).Add(time.Hour)

func testExpiredReadsAsGone(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	tenant := "tenant-" + NewID()
	old := expiring(tenant, 3, expiry)
	old.CreatedAt, old.UpdatedAt = base.Add(time.Second), base.Add(time.Second) // lists first
	live := expiring(tenant, 2, expiry.Add(time.Hour))
	MustCreate(t, s, old, NewItems(old))
	liveItems := NewItems(live)
	MustCreate(t, s, live, liveItems)

	// At the last moment it is still there, then it is gone, with no
	// record deleted in between.
	for _, tc := range []struct {
		name    string
		now     time.Time
		visible bool
	}{
		{"BeforeExpiry", expiry.Add(-time.Millisecond), true},
		{"AtExpiry", expiry, false},
		{"AfterExpiry", expiry.Add(30 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(tc.now)
			_, err := s.Get(ctx, tenant, old.ID)
			if tc.visible && err != nil {
				t.Errorf("Get: %v, want the campaign", err)
			}
			if !tc.visible && !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Get: err = %v, want ErrNotFound", err)
			}
			want := []string{live.ID}
			if tc.visible {
				want = []string{old.ID, live.ID}
			}
			list, _, err := s.List(ctx, tenant, campaign.Page{Limit: 10})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !reflect.DeepEqual(ids(list), want) {
				t.Errorf("List = %v, want %v", ids(list), want)
			}
			// A page of one must skip the expired campaign too, and still
			// say no page follows the last.
			first, next, err := s.List(ctx, tenant, campaign.Page{Limit: 1})
			if err != nil || len(first) != 1 || first[0].ID != want[0] || (next == "") != (len(want) == 1) {
				t.Errorf("List of 1 = %v, cursor %q, %v; want [%s] and a cursor only if more follow", ids(first), next, err, want[0])
			}
			wantItems := 0
			if tc.visible {
				wantItems = old.Total
			}
			items, _, err := s.Emails(ctx, old.ID, campaign.Page{Limit: 10})
			if err != nil || len(items) != wantItems {
				t.Errorf("Items = %d items, %v; want %d", len(items), err, wantItems)
			}
			_, err = s.Email(ctx, old.ID, 0)
			if tc.visible && err != nil {
				t.Errorf("Item: %v, want the item", err)
			}
			if !tc.visible && !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Item: err = %v, want ErrNotFound", err)
			}
			// The live campaign is untouched.
			if _, err := s.Get(ctx, tenant, live.ID); err != nil {
				t.Errorf("Get of the live campaign: %v", err)
			}
			got, _ := AllItems(t, s, live.ID, 10)
			if len(got) != len(liveItems) {
				t.Fatalf("Items of the live campaign: %d, want %d", len(got), len(liveItems))
			}
		})
	}
}

func testExpiredKeyIsFree(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	tenant := "tenant-" + NewID()
	first := expiring(tenant, 2, expiry)
	first.IdempotencyKey, first.RequestHash = "key-1", "sha256:same"
	MustCreate(t, s, first, NewItems(first))

	replay := func(at time.Time) (*campaign.Campaign, *campaign.Campaign, error) {
		clock.Set(at)
		c := expiring(tenant, 2, at.Add(time.Hour).Truncate(time.Second))
		c.IdempotencyKey, c.RequestHash = "key-1", "sha256:same"
		c.CreatedAt, c.UpdatedAt = at, at
		got, err := s.Create(ctx, c, NewItems(c))
		return c, got, err
	}
	_, got, err := replay(expiry.Add(-time.Millisecond))
	if !errors.Is(err, campaign.ErrConflict) || got == nil || got.ID != first.ID {
		t.Fatalf("Create with the key before expiry = %v, %v; want %s and ErrConflict", got, err, first.ID)
	}
	second, got, err := replay(expiry)
	if err != nil {
		t.Fatalf("Create with the key of an expired campaign: %v, want a new campaign", err)
	}
	if got.ID != second.ID {
		t.Fatalf("Create returned %s, want the new campaign %s", got.ID, second.ID)
	}
	if _, err := s.Get(ctx, tenant, second.ID); err != nil {
		t.Fatalf("Get of the new campaign: %v", err)
	}
	// The key now binds to the new campaign.
	_, got, err = replay(expiry.Add(time.Minute))
	if !errors.Is(err, campaign.ErrConflict) || got == nil || got.ID != second.ID {
		t.Errorf("Create with the key again = %v, %v; want %s and ErrConflict", got, err, second.ID)
	}
}

func testDeleteExpired(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	tenant := "tenant-" + NewID()
	var expired []*campaign.Campaign
	for i, total := range []int{5, 2} {
		c := expiring(tenant, total, expiry.Add(time.Duration(i)*time.Second))
		c.IdempotencyKey = "key-" + NewID()
		MustCreate(t, s, c, NewItems(c))
		if err := s.Claim(ctx, c.ID, 0, "a", base, base.Add(time.Minute)); err != nil {
			t.Fatalf("Claim: %v", err)
		}
		mustAddBatch(t, s, c.ID, newBatch("k", 0, 1), base)
		expired = append(expired, c)
	}
	live := expiring(tenant, 3, expiry.Add(time.Hour))
	liveItems := NewItems(live)
	MustCreate(t, s, live, liveItems)
	until := expiry.Add(2 * time.Hour)
	if err := s.Claim(ctx, live.ID, 1, "a", base, until); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	liveBatch := newBatch("k", 0, 2)
	mustAddBatch(t, s, live.ID, liveBatch, base)

	if n, err := s.DeleteExpired(ctx, expiry.Add(-time.Millisecond), 3); err != nil || n != 0 {
		t.Fatalf("DeleteExpired before any expiry = %d, %v; want 0", n, err)
	}
	now := expiry.Add(time.Minute)
	clock.Set(now)
	const limit = 3
	for calls := 0; ; calls++ {
		if calls > 20 {
			t.Fatal("DeleteExpired never returns 0")
		}
		n, err := s.DeleteExpired(ctx, now, limit)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n > limit {
			t.Fatalf("DeleteExpired removed %d records, over its limit of %d", n, limit)
		}
		if n == 0 {
			break
		}
	}
	for _, c := range expired {
		if _, err := s.Get(ctx, tenant, c.ID); !errors.Is(err, campaign.ErrNotFound) {
			t.Errorf("Get of an expired campaign: err = %v, want ErrNotFound", err)
		}
	}
	// The live campaign keeps everything: fields, emails and lease.
	got, err := s.Get(ctx, tenant, live.ID)
	if err != nil {
		t.Fatalf("Get of the live campaign: %v", err)
	}
	EqualCampaign(t, got, live)
	items, _ := AllItems(t, s, live.ID, 10)
	if len(items) != len(liveItems) {
		t.Fatalf("Items of the live campaign: %d, want %d", len(items), len(liveItems))
	}
	for i := range items {
		EqualEmail(t, &items[i], &liveItems[i])
	}
	mustBeClaimed(t, s.Claim(ctx, live.ID, 1, "b", now, now.Add(time.Minute)), until)
	equalBatch(t, mustBatch(t, s, live.ID, liveBatch.Key), liveBatch)
	// An expired campaign's idempotency key is free.
	again := expiring(tenant, 1, expiry.Add(time.Hour))
	again.IdempotencyKey = expired[0].IdempotencyKey
	if _, err := s.Create(ctx, again, NewItems(again)); err != nil {
		t.Errorf("Create with a deleted campaign's key: %v", err)
	}
}

// testExpiredReviewWrites checks that the writes of review and retry see
// an expired campaign as gone, as Email does, and change nothing.
func testExpiredReviewWrites(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	c := expiring("tenant-"+NewID(), 2, expiry)
	MustCreate(t, s, c, NewItems(c))
	for _, to := range []campaign.Status{campaign.StatusRunning, campaign.StatusCompletedWithErrors} {
		if err := s.Transition(ctx, c.ID, []campaign.Status{c.Status, campaign.StatusRunning}, to, base); err != nil {
			t.Fatalf("Transition to %s: %v", to, err)
		}
	}
	for i, status := range []campaign.EmailStatus{campaign.EmailFailed, campaign.EmailSucceeded} {
		if err := s.Finish(ctx, c.ID, i, status, campaign.Outcome{Subject: "s"}, base); err != nil {
			t.Fatalf("Finish %d: %v", i, err)
		}
	}
	clock.Set(expiry)
	approve := campaign.ReviewApproved
	draft := campaign.Outcome{Subject: "new"}
	for name, op := range map[string]func() error{
		"ReviseReview": func() error {
			_, err := s.Revise(ctx, c.ID, 1, 1, campaign.Revision{Review: &approve}, expiry)
			return err
		},
		"ReviseDraft": func() error {
			_, err := s.Revise(ctx, c.ID, 0, 1, campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded}, expiry)
			return err
		},
		"Hold":   func() error { return s.Hold(ctx, c.ID, 1, 1, "a", expiry, expiry.Add(time.Minute)) },
		"Reopen": func() error { return s.Reopen(ctx, c.ID, 0, expiry) },
		"Reset": func() error {
			return s.Reset(ctx, c.ID, 0, []campaign.EmailStatus{campaign.EmailFailed}, 1, expiry)
		},
		"EndRetry": func() error { return s.EndRetry(ctx, c.ID, 0, expiry) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	// Nothing changed: seen from before the expiry.
	clock.Set(expiry.Add(-time.Millisecond))
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Status != campaign.StatusCompletedWithErrors || got.Round != 0 || got.Failed != 1 || got.Succeeded != 1 || got.Approved != 0 {
		t.Errorf("campaign changed after expiry: %+v", got)
	}
	for i := range 2 {
		e, err := s.Email(ctx, c.ID, i)
		if err != nil || e.Version != 1 || e.Status == campaign.EmailPending || e.Review != campaign.ReviewNone {
			t.Errorf("email %d changed after expiry: %+v, %v", i, e, err)
		}
	}
}

// testExpiredBatches checks that an expired campaign's batches read as
// gone, as its emails do, and that the batch writes see it as gone too
// and change nothing.
func testExpiredBatches(t *testing.T, s campaign.Store, clock *Clock) {
	ctx := context.Background()
	c := expiring("tenant-"+NewID(), 3, expiry)
	c.Mode = campaign.ModeBatch
	MustCreate(t, s, c, NewItems(c))
	b := newBatch("k", 0, 1, 2)
	mustAddBatch(t, s, c.ID, b, base)
	clock.Set(expiry.Add(-time.Millisecond))
	equalBatch(t, mustBatch(t, s, c.ID, b.Key), b)

	clock.Set(expiry)
	if _, err := s.Batch(ctx, c.ID, b.Key); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Batch: %v, want ErrNotFound", err)
	}
	if list, err := s.Batches(ctx, c.ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Batches = %#v, %v; want an empty slice", list, err)
	}
	for name, op := range map[string]func() error{
		"AddBatch": func() error { return s.AddBatch(ctx, c.ID, newBatch("other", 0), expiry) },
		"UpdateBatch": func() error {
			u := *b
			u.Status = campaign.BatchFailed
			return s.UpdateBatch(ctx, c.ID, &u, expiry)
		},
		"SwitchMode": func() error {
			return s.SwitchMode(ctx, c.ID, campaign.ModeBatch, campaign.ModeRealtime, "w", expiry)
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	// Nothing changed: seen from before the expiry.
	clock.Set(expiry.Add(-time.Millisecond))
	list, err := s.Batches(ctx, c.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("Batches before the expiry = %+v, %v; want the one batch", list, err)
	}
	equalBatch(t, &list[0], b)
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil || got.Mode != campaign.ModeBatch || got.Warnings != nil {
		t.Errorf("campaign changed after expiry: %+v, %v", got, err)
	}
}
