// Package storetest is the conformance suite of campaign.Store: every
// implementation passes Run, and a new backend is done when it does.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// Run runs the suite. newStore returns an empty store for one subtest whose
// clock is now (it decides which campaigns have expired); it stops what it
// starts with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) campaign.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s campaign.Store)
	}{
		{"CreateThenGetReturnsAllFields", testCreateGet},
		{"CreateReturnsWhatGetReturns", testCreateReturnsStored},
		{"GetOtherTenantIsNotFound", testGetOtherTenant},
		{"GetUnknownIsNotFound", testGetUnknown},
		{"CreateWithUsedIdempotencyKeyReturnsExisting", testIdempotencyKey},
		{"IdempotencyKeyIsPerTenant", testIdempotencyKeyPerTenant},
		{"CreateWithUsedIDIsConflict", testCreateUsedID},
		{"CreateWithWrongEmailsIsRejected", testCreateWrongItems},
		{"ListNewestFirstAcrossPages", testList},
		{"ListOfTenantWithoutCampaignsIsEmpty", testListEmpty},
		{"EmailsPageInIndexOrder", testEmailsPaging},
		{"ItemsPagesThousandItems", testEmailsThousand},
		{"EmailsOfUnknownCampaignIsEmpty", testEmailsUnknown},
		{"BadCursorIsErrBadCursor", testBadCursor},
		{"EmailReturnsOneEmail", testEmail},
		{"EmailUnknownIsNotFound", testEmailUnknown},
		{"FinishRecordsOutcomeAndCounts", testFinish},
		{"FinishTwiceIsAlreadyDone", testFinishTwice},
		{"FinishMissingEmailIsNotFound", testFinishMissing},
		{"FinishWithPendingStatusIsRejected", testFinishPendingStatus},
		{"FinishSameEmailConcurrentlyCountsOnce", testFinishSameEmailConcurrently},
		{"FinishAllEmailsConcurrentlyCountsEach", testFinishAllConcurrently},
		{"ClaimHoldsOffOtherOwnersUntilExpiry", testClaim},
		{"ClaimReleasedIsFree", testClaimRelease},
		{"ClaimRaceHasOneWinner", testClaimRace},
		{"ClaimsAreEmailsOwn", testClaimPerEmail},
		{"LeasesAreInvisibleAndStopAtFinish", testClaimInvisible},
		{"TransitionFromAllowedState", testTransitionAllowed},
		{"TransitionFromOtherStateIsConflict", testTransitionDisallowed},
		{"TransitionUnknownIsNotFound", testTransitionUnknown},
		{"TransitionRaceHasOneWinner", testTransitionRace},
		{"TransitionToFinalSetsCompletedAt", testTransitionCompletedAt},
		{"CreateTenThousandEmails", testCreateTenThousand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t, Now))
		})
	}
	for _, tc := range expiryTests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(base)
			tc.run(t, newStore(t, clock.Now), clock)
		})
	}
	runTasks(t, newStore)
}

// base is the suite's clock: a time with sub-millisecond digits, so that the
// store's rounding shows.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// Now is the suite's clock for a store built outside Run: it reads the time
// NewCampaign creates campaigns at, so that they have not expired.
func Now() time.Time { return base }

func testCreateGet(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 3)
	c.Name = "Q3 outbound"
	c.WebhookURL = "https://example.com/hook"
	c.IdempotencyKey = "key-" + NewID()
	c.RequestHash = "sha256:abc"
	c.Status = campaign.StatusRunning
	c.ExpiresAt = c.CreatedAt.Add(30 * 24 * time.Hour)
	items := NewItems(c)
	MustCreate(t, s, c, items)

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)

	for _, want := range items {
		got, err := s.Email(ctx, c.ID, want.Index)
		if err != nil {
			t.Fatalf("Item %d: %v", want.Index, err)
		}
		EqualEmail(t, got, &want)
	}
	// The extra fields are the ones a schema change would lose.
	it, err := s.Email(ctx, c.ID, 1)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if string(it.Request.Prospect.Extra["favourite_tool"]) != `"Figma"` ||
		string(it.Request.Company.Extra["offices"]) != `{"hq":"Lisbon","count":[1,2]}` {
		t.Errorf("extra fields lost: prospect %v, company %v", it.Request.Prospect.Extra, it.Request.Company.Extra)
	}
}

func testCreateReturnsStored(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 2)
	c.ExpiresAt = time.Time{} // the store's choice
	created := MustCreate(t, s, c, NewItems(c))
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(normal(*got), normal(*created)) {
		t.Errorf("Get = %+v\nCreate returned %+v", *got, *created)
	}
}

func testGetOtherTenant(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	_, err := s.Get(context.Background(), "tenant-b", c.ID)
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get from another tenant: err = %v, want ErrNotFound", err)
	}
}

func testGetUnknown(t *testing.T, s campaign.Store) {
	_, err := s.Get(context.Background(), "tenant-a", NewID())
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
	}
}

func testIdempotencyKey(t *testing.T, s campaign.Store) {
	for _, tc := range []struct {
		name string
		hash string
	}{
		{"SameRequestHash", "sha256:first"},
		{"OtherRequestHash", "sha256:second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tenant := "tenant-" + NewID()
			first := NewCampaign(tenant, 3)
			first.IdempotencyKey = "key-1"
			first.RequestHash = "sha256:first"
			MustCreate(t, s, first, NewItems(first))

			again := NewCampaign(tenant, 5)
			again.IdempotencyKey = "key-1"
			again.RequestHash = tc.hash
			again.CreatedAt = first.CreatedAt.Add(time.Second)
			got, err := s.Create(ctx, again, NewItems(again))
			if !errors.Is(err, campaign.ErrConflict) {
				t.Fatalf("Create with used key: err = %v, want ErrConflict", err)
			}
			if got == nil {
				t.Fatal("Create with used key returned no campaign")
			}
			EqualCampaign(t, got, first)

			if _, err := s.Get(ctx, tenant, again.ID); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Get of the refused campaign: err = %v, want ErrNotFound", err)
			}
			if items, _, err := s.Emails(ctx, again.ID, campaign.Page{Limit: 10}); err != nil || len(items) != 0 {
				t.Errorf("Items of the refused campaign = %d items, %v; want none", len(items), err)
			}
			list, _, err := s.List(ctx, tenant, campaign.Page{Limit: 10})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(list) != 1 || list[0].ID != first.ID {
				t.Errorf("List = %v, want only %s", ids(list), first.ID)
			}
		})
	}
}

func testIdempotencyKeyPerTenant(t *testing.T, s campaign.Store) {
	key := "key-" + NewID()
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		c := NewCampaign(tenant, 1)
		c.IdempotencyKey = key
		MustCreate(t, s, c, NewItems(c))
	}
}

func testCreateUsedID(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	first := NewCampaign("tenant-a", 2)
	MustCreate(t, s, first, NewItems(first))

	again := NewCampaign("tenant-a", 3)
	again.ID = first.ID
	items := NewItems(again)
	for i := range items {
		items[i].Ref = "overwritten"
	}
	if _, err := s.Create(ctx, again, items); !errors.Is(err, campaign.ErrConflict) {
		t.Fatalf("Create with a used id: err = %v, want ErrConflict", err)
	}
	got, err := s.Get(ctx, first.Tenant, first.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, first)
	it, err := s.Email(ctx, first.ID, 0)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if it.Ref == "overwritten" {
		t.Error("Create with a used id overwrote the existing items")
	}
}

func testCreateWrongItems(t *testing.T, s campaign.Store) {
	for _, tc := range []struct {
		name  string
		items func(c *campaign.Campaign) []campaign.Email
	}{
		{"TooFew", func(c *campaign.Campaign) []campaign.Email { return NewItems(c)[1:] }},
		{"IndexOutOfOrder", func(c *campaign.Campaign) []campaign.Email {
			items := NewItems(c)
			items[0].Index, items[1].Index = 1, 0
			return items
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCampaign("tenant-a", 3)
			if _, err := s.Create(context.Background(), c, tc.items(c)); err == nil {
				t.Fatal("Create succeeded")
			}
			if _, err := s.Get(context.Background(), c.Tenant, c.ID); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Get after a refused Create: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func testList(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	tenant, other := "tenant-"+NewID(), "tenant-"+NewID()
	var want []string // newest first
	for i := range 7 {
		c := NewCampaign(tenant, 1)
		c.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if i == 6 {
			// Two campaigns in the same millisecond still both list.
			c.CreatedAt = base.Add(5 * time.Minute)
		}
		c.UpdatedAt = c.CreatedAt
		MustCreate(t, s, c, NewItems(c))
		want = append([]string{c.ID}, want...)
	}
	// Campaigns 5 and 6 share a time: their order is the store's, but both
	// come before 4.
	for range 2 {
		c := NewCampaign(other, 1)
		MustCreate(t, s, c, NewItems(c))
	}

	var got []campaign.Campaign
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("List never ends")
		}
		list, next, err := s.List(ctx, tenant, campaign.Page{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("List page %d: %v", page, err)
		}
		sizes = append(sizes, len(list))
		got = append(got, list...)
		if next == "" {
			break
		}
		cursor = next
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 1}) {
		t.Errorf("page sizes = %v, want [3 3 1]", sizes)
	}
	gotIDs := ids(got)
	if len(gotIDs) == len(want) && gotIDs[0] == want[1] && gotIDs[1] == want[0] {
		gotIDs[0], gotIDs[1] = gotIDs[1], gotIDs[0]
	}
	if !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("List = %v\nwant   %v", ids(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].CreatedAt.After(got[i-1].CreatedAt) {
			t.Errorf("List not newest first at %d: %v after %v", i, got[i].CreatedAt, got[i-1].CreatedAt)
		}
	}
	for _, c := range got {
		if c.Tenant != tenant {
			t.Errorf("List returned %s of tenant %q", c.ID, c.Tenant)
		}
	}

	list, next, err := s.List(ctx, other, campaign.Page{Limit: 10})
	if err != nil || len(list) != 2 || next != "" {
		t.Errorf("List of the other tenant = %d campaigns, cursor %q, %v; want 2, \"\"", len(list), next, err)
	}
}

func testListEmpty(t *testing.T, s campaign.Store) {
	list, next, err := s.List(context.Background(), "tenant-"+NewID(), campaign.Page{Limit: 10})
	if err != nil || len(list) != 0 || next != "" {
		t.Errorf("List = %d campaigns, cursor %q, %v; want none", len(list), next, err)
	}
}

func testEmailsPaging(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 25)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	got, sizes := AllItems(t, s, c.ID, 10)
	if !reflect.DeepEqual(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes = %v, want [10 10 5]", sizes)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		EqualEmail(t, &got[i], &items[i])
	}
}

func testEmailsThousand(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1000)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	for _, limit := range []int{100, 1000} {
		got, sizes := AllItems(t, s, c.ID, limit)
		if len(got) != len(items) {
			t.Fatalf("limit %d: got %d items, want %d", limit, len(got), len(items))
		}
		if want := 1000 / limit; len(sizes) != want {
			t.Errorf("limit %d: %d pages, want %d", limit, len(sizes), want)
		}
		for i := range items {
			EqualEmail(t, &got[i], &items[i])
		}
	}
}

func testEmailsUnknown(t *testing.T, s campaign.Store) {
	items, next, err := s.Emails(context.Background(), NewID(), campaign.Page{Limit: 10})
	if err != nil || len(items) != 0 || next != "" {
		t.Errorf("Items = %d items, cursor %q, %v; want none", len(items), next, err)
	}
}

func testBadCursor(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 2)
	MustCreate(t, s, c, NewItems(c))
	_, _, err := s.Emails(context.Background(), c.ID, campaign.Page{Limit: 10, Cursor: "not a cursor!"})
	if !errors.Is(err, campaign.ErrBadCursor) {
		t.Errorf("Emails with a bad cursor: err = %v, want ErrBadCursor", err)
	}
	_, _, err = s.List(context.Background(), c.Tenant, campaign.Page{Limit: 10, Cursor: "not a cursor!"})
	if !errors.Is(err, campaign.ErrBadCursor) {
		t.Errorf("List with a bad cursor: err = %v, want ErrBadCursor", err)
	}
}

func testEmail(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 3)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	got, err := s.Email(context.Background(), c.ID, 2)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	EqualEmail(t, got, &items[2])
}

func testEmailUnknown(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 3)
	MustCreate(t, s, c, NewItems(c))
	for _, tc := range []struct {
		name  string
		id    string
		index int
	}{
		{"IndexPastEnd", c.ID, 3},
		{"UnknownCampaign", NewID(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Email(context.Background(), tc.id, tc.index)
			if !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func testFinish(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 5)
	MustCreate(t, s, c, NewItems(c))

	outcomes := []struct {
		index  int
		status campaign.EmailStatus
		result campaign.Outcome
	}{
		{0, campaign.EmailSucceeded, campaign.Outcome{Subject: "Hi Ada", Body: "Hello", Model: "gpt-x", Usage: email.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}}},
		{1, campaign.EmailNeedsReview, campaign.Outcome{Subject: "Hi Bob", Body: "Hello!!", Model: "gpt-x", Usage: email.Usage{PromptTokens: 90, CompletionTokens: 30, TotalTokens: 120}, Error: "lint: too long"}},
		{3, campaign.EmailFailed, campaign.Outcome{Usage: email.Usage{PromptTokens: 5, TotalTokens: 5}, Error: "model refused"}},
	}
	var now time.Time
	for i, o := range outcomes {
		now = base.Add(time.Duration(i+1) * time.Second)
		if err := s.Finish(ctx, c.ID, o.index, o.status, o.result, now); err != nil {
			t.Fatalf("Finish %d: %v", o.index, err)
		}
	}

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := *c
	want.Succeeded, want.NeedsReview, want.Failed = 2, 1, 1
	want.Usage = email.Usage{PromptTokens: 195, CompletionTokens: 50, TotalTokens: 245}
	want.UpdatedAt = now
	EqualCampaign(t, got, &want)
	if got.Pending() != 2 || got.Done() {
		t.Errorf("Pending = %d, Done = %v; want 2, false", got.Pending(), got.Done())
	}

	for _, o := range outcomes {
		it, err := s.Email(ctx, c.ID, o.index)
		if err != nil {
			t.Fatalf("Item %d: %v", o.index, err)
		}
		if it.Status != o.status || it.Outcome == nil || !reflect.DeepEqual(*it.Outcome, o.result) {
			t.Errorf("item %d = %s %+v, want %s %+v", o.index, it.Status, it.Outcome, o.status, o.result)
		}
	}
	it, err := s.Email(ctx, c.ID, 2)
	if err != nil {
		t.Fatalf("Item 2: %v", err)
	}
	if it.Status != campaign.EmailPending || it.Outcome != nil {
		t.Errorf("untouched item = %s %+v, want pending, no result", it.Status, it.Outcome)
	}
}

func testFinishTwice(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 2)
	MustCreate(t, s, c, NewItems(c))
	first := campaign.Outcome{Subject: "first", Body: "b", Usage: email.Usage{TotalTokens: 10}}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, first, base.Add(time.Second)); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	before, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	for _, status := range []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailFailed} {
		err := s.Finish(ctx, c.ID, 0, status, campaign.Outcome{Subject: "second", Usage: email.Usage{TotalTokens: 99}}, base.Add(time.Hour))
		if !errors.Is(err, campaign.ErrAlreadyDone) {
			t.Errorf("second Finish (%s): err = %v, want ErrAlreadyDone", status, err)
		}
	}
	after, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, after, before)
	it, err := s.Email(ctx, c.ID, 0)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if it.Status != campaign.EmailSucceeded || it.Outcome == nil || !reflect.DeepEqual(*it.Outcome, first) {
		t.Errorf("item = %s %+v, want the first outcome", it.Status, it.Outcome)
	}
}

func testFinishMissing(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 2)
	MustCreate(t, s, c, NewItems(c))
	for _, tc := range []struct {
		name  string
		id    string
		index int
	}{
		{"IndexPastEnd", c.ID, 2},
		{"UnknownCampaign", NewID(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Finish(context.Background(), tc.id, tc.index, campaign.EmailSucceeded, campaign.Outcome{}, base)
			if !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
}

func testFinishPendingStatus(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	if err := s.Finish(context.Background(), c.ID, 0, campaign.EmailPending, campaign.Outcome{}, base); err == nil {
		t.Error("Finish with status pending succeeded")
	}
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
}

func testFinishSameEmailConcurrently(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 3)
	MustCreate(t, s, c, NewItems(c))
	const n = 20
	var wins, done atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Go(func() {
			r := campaign.Outcome{Subject: fmt.Sprint("from ", g), Usage: email.Usage{TotalTokens: 7}}
			switch err := s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, r, base.Add(time.Second)); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, campaign.ErrAlreadyDone):
				done.Add(1)
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Finish: %v", err)
	}
	if wins.Load() != 1 || done.Load() != n-1 {
		t.Errorf("%d Finish calls succeeded and %d were already done, want 1 and %d", wins.Load(), done.Load(), n-1)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Succeeded != 1 || got.Failed != 0 || got.Usage.TotalTokens != 7 {
		t.Errorf("counters = %d succeeded, %d failed, %d tokens; want 1, 0, 7", got.Succeeded, got.Failed, got.Usage.TotalTokens)
	}
}

func testFinishAllConcurrently(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	const total, workers = 200, 16
	c := NewCampaign("tenant-a", total)
	MustCreate(t, s, c, NewItems(c))

	indexes := make(chan int)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range indexes {
				status, r := campaign.EmailSucceeded, campaign.Outcome{Subject: "s", Body: "b", Usage: email.Usage{PromptTokens: 2, CompletionTokens: 1, TotalTokens: 3}}
				switch i % 10 {
				case 3:
					status, r = campaign.EmailFailed, campaign.Outcome{Error: "boom", Usage: email.Usage{PromptTokens: 2, TotalTokens: 2}}
				case 7:
					status = campaign.EmailNeedsReview
				}
				if err := s.Finish(ctx, c.ID, i, status, r, base.Add(time.Minute)); err != nil {
					errs <- fmt.Errorf("finish %d: %w", i, err)
				}
			}
		})
	}
	for i := range total {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("finished %d items with %d goroutines in %v (%.0f/s)", total, workers, elapsed, total/elapsed.Seconds())

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Succeeded != 180 || got.Failed != 20 || got.NeedsReview != 20 || got.Succeeded+got.Failed != got.Total || !got.Done() {
		t.Errorf("counters = %d succeeded (%d review), %d failed of %d; want 180 (20), 20 of 200",
			got.Succeeded, got.NeedsReview, got.Failed, got.Total)
	}
	if want := (email.Usage{PromptTokens: 400, CompletionTokens: 180, TotalTokens: 580}); got.Usage != want {
		t.Errorf("usage = %+v, want %+v", got.Usage, want)
	}
	all, _ := AllItems(t, s, c.ID, 100)
	for _, it := range all {
		if it.Status == campaign.EmailPending || it.Outcome == nil {
			t.Errorf("item %d still %s", it.Index, it.Status)
		}
	}
}

// mustBeClaimed checks that err is a *campaign.ClaimedError until until (to
// the millisecond).
func mustBeClaimed(t *testing.T, err error, until time.Time) {
	t.Helper()
	var held *campaign.ClaimedError
	if !errors.As(err, &held) || !errors.Is(err, campaign.ErrClaimed) {
		t.Fatalf("err = %v, want a *ClaimedError", err)
	}
	if want := until.Truncate(time.Millisecond); !held.Until.Equal(want) {
		t.Errorf("ClaimedError.Until = %v, want %v", held.Until, want)
	}
}

// mustBeDone checks that err, a Claim's of a finished email (when says
// which), is ErrAlreadyDone.
func mustBeDone(t *testing.T, err error, when string) {
	t.Helper()
	if !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("Claim of a finished item %s: %v, want ErrAlreadyDone", when, err)
	}
}

func testClaim(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 2)
	MustCreate(t, s, c, NewItems(c))
	until := base.Add(time.Minute)
	if err := s.Claim(ctx, c.ID, 1, "a", base, until); err != nil {
		t.Fatalf("first Claim: %v", err)
	}
	// Another owner, before the lease ends (and at the last moment).
	for _, now := range []time.Time{base, until.Add(-time.Millisecond)} {
		mustBeClaimed(t, s.Claim(ctx, c.ID, 1, "b", now, now.Add(time.Minute)), until)
	}
	// The holder extends its own lease.
	later := base.Add(2 * time.Minute)
	if err := s.Claim(ctx, c.ID, 1, "a", base.Add(time.Second), later); err != nil {
		t.Fatalf("holder's Claim again: %v", err)
	}
	mustBeClaimed(t, s.Claim(ctx, c.ID, 1, "b", until, until.Add(time.Minute)), later)
	// Once it has ended, anyone may take it.
	if err := s.Claim(ctx, c.ID, 1, "b", later, later.Add(time.Minute)); err != nil {
		t.Fatalf("Claim of an expired lease: %v", err)
	}
	mustBeClaimed(t, s.Claim(ctx, c.ID, 1, "a", later, later.Add(time.Hour)), later.Add(time.Minute))
}

func testClaimRelease(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	until := base.Add(time.Minute)
	if err := s.Release(ctx, c.ID, 0, "a"); err != nil {
		t.Fatalf("Release without a lease: %v", err)
	}
	if err := s.Claim(ctx, c.ID, 0, "a", base, until); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	// Only the holder's release counts.
	if err := s.Release(ctx, c.ID, 0, "b"); err != nil {
		t.Fatalf("Release by another owner: %v", err)
	}
	mustBeClaimed(t, s.Claim(ctx, c.ID, 0, "b", base, until), until)
	if err := s.Release(ctx, c.ID, 0, "a"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := s.Claim(ctx, c.ID, 0, "b", base, until); err != nil {
		t.Fatalf("Claim after release: %v", err)
	}
}

func testClaimRace(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	const n = 12
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Claim(ctx, c.ID, 0, fmt.Sprintf("owner-%d", i), base, base.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, campaign.ErrClaimed):
				t.Errorf("Claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Errorf("%d of %d racing Claims won, want 1", got, n)
	}
}

func testClaimPerEmail(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 2)
	other := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	MustCreate(t, s, other, NewItems(other))
	for _, k := range []struct {
		id    string
		index int
	}{{c.ID, 0}, {c.ID, 1}, {other.ID, 0}} {
		if err := s.Claim(ctx, k.id, k.index, k.id+"/"+strconv.Itoa(k.index), base, base.Add(time.Minute)); err != nil {
			t.Errorf("Claim %s/%d: %v", k.id, k.index, err)
		}
	}
}

// testClaimInvisible checks that leases change nothing a reader sees and
// that a finished email cannot be claimed, whatever became of its lease.
func testClaimInvisible(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 3)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	for i := range 3 {
		if err := s.Claim(ctx, c.ID, i, "a", base, base.Add(time.Minute)); err != nil {
			t.Fatalf("Claim %d: %v", i, err)
		}
	}
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, campaign.Outcome{Subject: "s"}, base); err != nil {
		t.Fatalf("Finish of a claimed item: %v", err)
	}
	got, _ := AllItems(t, s, c.ID, 2)
	if len(got) != 3 {
		t.Fatalf("Items: %d items, want 3", len(got))
	}
	for i, it := range got {
		want := campaign.EmailPending
		if i == 1 {
			want = campaign.EmailSucceeded
		}
		if it.Index != i || it.Status != want {
			t.Errorf("item %d: index %d status %s, want %s", i, it.Index, it.Status, want)
		}
	}
	one, err := s.Email(ctx, c.ID, 2)
	if err != nil || one.Status != campaign.EmailPending {
		t.Fatalf("Item 2: %+v, %v", one, err)
	}
	// A delivery that read the email while it was pending is told it is
	// done, whether the holder's lease stands, has ended, or was released.
	for _, now := range []time.Time{base.Add(time.Second), base.Add(2 * time.Minute)} {
		mustBeDone(t, s.Claim(ctx, c.ID, 1, "b", now, now.Add(time.Minute)), fmt.Sprintf("at +%v", now.Sub(base)))
	}
	if err := s.Release(ctx, c.ID, 1, "a"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	mustBeDone(t, s.Claim(ctx, c.ID, 1, "b", base, base.Add(time.Minute)), "after its release")
	// The pending emails' leases are untouched.
	mustBeClaimed(t, s.Claim(ctx, c.ID, 2, "b", base, base.Add(time.Hour)), base.Add(time.Minute))
}

func testTransitionAllowed(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	now := base.Add(time.Hour)
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusCompleted, campaign.StatusQueued}, campaign.StatusRunning, now); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := *c
	want.Status = campaign.StatusRunning
	want.UpdatedAt = now
	EqualCampaign(t, got, &want)
}

func testTransitionDisallowed(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	for _, tc := range []struct {
		name string
		from []campaign.Status
	}{
		{"OtherState", []campaign.Status{campaign.StatusRunning}},
		{"NoState", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Transition(ctx, c.ID, tc.from, campaign.StatusCompleted, base.Add(time.Hour))
			if !errors.Is(err, campaign.ErrConflict) {
				t.Errorf("err = %v, want ErrConflict", err)
			}
		})
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
}

func testTransitionUnknown(t *testing.T, s campaign.Store) {
	err := s.Transition(context.Background(), NewID(), []campaign.Status{campaign.StatusQueued}, campaign.StatusRunning, base)
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func testTransitionRace(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	c.Status = campaign.StatusRunning
	MustCreate(t, s, c, NewItems(c))
	const n = 10
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		to := campaign.StatusCompleted
		if g%2 == 1 {
			to = campaign.StatusCancelled
		}
		wg.Go(func() {
			switch err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued, campaign.StatusRunning}, to, base.Add(time.Minute)); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, campaign.ErrConflict):
				conflicts.Add(1)
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Transition: %v", err)
	}
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("%d transitions won and %d conflicted, want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !got.Status.Final() {
		t.Errorf("status = %s, want a final one", got.Status)
	}
}

func testTransitionCompletedAt(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 1)
	MustCreate(t, s, c, NewItems(c))
	running := base.Add(time.Minute)
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued}, campaign.StatusRunning, running); err != nil {
		t.Fatalf("Transition to running: %v", err)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !got.CompletedAt.IsZero() {
		t.Errorf("CompletedAt = %v while running, want zero", got.CompletedAt)
	}
	done := base.Add(time.Hour + 123456789)
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusRunning}, campaign.StatusCompletedWithErrors, done); err != nil {
		t.Fatalf("Transition to completed: %v", err)
	}
	got, err = s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := *c
	want.Status = campaign.StatusCompletedWithErrors
	want.UpdatedAt = done
	want.CompletedAt = done
	EqualCampaign(t, got, &want)
}

func testCreateTenThousand(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	const total = 10_000
	c := NewCampaign("tenant-a", total)
	items := NewItems(c)
	start := time.Now()
	if _, err := s.Create(ctx, c, items); err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Logf("created a campaign of %d items in %v", total, time.Since(start))

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Total != total {
		t.Errorf("Total = %d, want %d", got.Total, total)
	}
	all, _ := AllItems(t, s, c.ID, 1000)
	if len(all) != total {
		t.Fatalf("Items = %d, want %d", len(all), total)
	}
	EqualEmail(t, &all[total-1], &items[total-1])
}

// NewID returns a random id.
func NewID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewCampaign returns a queued campaign of total emails with every field that
// Create stores set, and times with sub-millisecond digits.
func NewCampaign(tenant string, total int) *campaign.Campaign {
	return &campaign.Campaign{
		ID:        NewID(),
		Tenant:    tenant,
		Name:      "campaign",
		Status:    campaign.StatusQueued,
		Total:     total,
		CreatedAt: base,
		UpdatedAt: base,
		ExpiresAt: base.Add(7 * 24 * time.Hour),
	}
}

// NewItems returns c.Total pending emails numbered from 0, with requests that
// use every kind of field, extra fields included.
func NewItems(c *campaign.Campaign) []campaign.Email {
	tenure, employees, temp := 18, 250, 0.7
	items := make([]campaign.Email, c.Total)
	for i := range items {
		items[i] = campaign.Email{
			CampaignID: c.ID,
			Index:      i,
			Ref:        fmt.Sprintf("crm-%d", i),
			Status:     campaign.EmailPending,
			Request: email.Request{
				Prospect: email.Prospect{
					FirstName:    fmt.Sprintf("Ada %d", i),
					LastName:     "Lovelace",
					Email:        fmt.Sprintf("ada%d@example.com", i),
					JobTitle:     "VP Engineering",
					TenureMonths: &tenure,
					Extra: map[string]json.RawMessage{
						"favourite_tool": json.RawMessage(`"Figma"`),
						"score":          json.RawMessage(fmt.Sprint(i)),
					},
				},
				Company: email.Company{
					CompanyName:   "Analytical Engines",
					Industry:      "Computing",
					EmployeeCount: &employees,
					Extra: map[string]json.RawMessage{
						"offices": json.RawMessage(`{"hq":"Lisbon","count":[1,2]}`),
					},
				},
				CTA:     email.CTA{Ask: "15 minutes next week?", CalendarLink: "https://cal.example.com/x"},
				Sender:  email.Sender{Name: "Grace", Title: "AE", Company: "Ingren", ValueProposition: "better emails"},
				Options: email.Options{Tone: "friendly", MaxWords: 120, Language: "English", Temperature: &temp},
			},
		}
	}
	return items
}

// MustCreate creates c and its emails and returns what Create returned.
func MustCreate(tb testing.TB, s campaign.Store, c *campaign.Campaign, items []campaign.Email) *campaign.Campaign {
	tb.Helper()
	got, err := s.Create(context.Background(), c, items)
	if err != nil {
		tb.Fatalf("Create: %v", err)
	}
	if got == nil {
		tb.Fatal("Create returned no campaign")
	}
	return got
}

// AllItems pages through a campaign's emails, limit at a time, and returns
// them with each page's size. It fails the test when the cursor runs on.
func AllItems(tb testing.TB, s campaign.Store, id string, limit int) ([]campaign.Email, []int) {
	tb.Helper()
	var all []campaign.Email
	var sizes []int
	cursor := ""
	for {
		if len(sizes) > 100_000/limit {
			tb.Fatal("Items never ends")
		}
		items, next, err := s.Emails(context.Background(), id, campaign.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			tb.Fatalf("Items after %d: %v", len(all), err)
		}
		sizes = append(sizes, len(items))
		all = append(all, items...)
		if next == "" {
			return all, sizes
		}
		cursor = next
	}
}

// EqualCampaign fails the test unless got is want as a store keeps it:
// times to the millisecond, ExpiresAt to the second.
func EqualCampaign(tb testing.TB, got, want *campaign.Campaign) {
	tb.Helper()
	if g, w := normal(*got), normal(*want); !reflect.DeepEqual(g, w) {
		tb.Errorf("campaign =\n%+v\nwant\n%+v", g, w)
	}
}

// EqualEmail fails the test unless got is want.
func EqualEmail(tb testing.TB, got, want *campaign.Email) {
	tb.Helper()
	if !reflect.DeepEqual(*got, *want) {
		tb.Errorf("item %d =\n%+v\nwant\n%+v", want.Index, *got, *want)
	}
}

func normal(c campaign.Campaign) campaign.Campaign {
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }
	c.CreatedAt, c.UpdatedAt, c.CompletedAt = ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.CompletedAt)
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second).UTC()
	return c
}

func ids(list []campaign.Campaign) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}
