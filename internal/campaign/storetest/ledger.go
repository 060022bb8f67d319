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

// ledgerTests are the cases of the Ledger: holds on budgets, and the spend
// and usage that Finish, Revise and Spend book.
var ledgerTests = []storeTest{
	{"ReserveHoldsOnEmailCampaignAndMonth", testReserve},
	{"ReserveTwiceKeepsTheFirstHold", testReserveTwice},
	{"ReserveFinishedEmailIsAlreadyDone", testReserveFinished},
	{"ReserveMissingEmailIsNotFound", testReserveMissing},
	{"ReserveOverCampaignCapIsRefused", testReserveCampaignCap},
	{"ReserveOverKeyLimitIsRefused", testReserveKeyLimit},
	{"ReserveWithoutKeyLimitCountsInMonth", testReserveNoKeyLimit},
	{"FinishSettlesHoldAndBooksCost", testFinishSettles},
	{"FinishBooksInTheHoldsMonth", testFinishHoldMonth},
	{"FinishBooksUsageOfTheDay", testFinishUsage},
	{"UnreserveReleasesHold", testUnreserve},
	{"ReserveKeySpendAndReleaseKey", testKeyHold},
	{"UsageIsBoundedOrderedAndPerTenant", testUsageRange},
	{"MonthWithoutSpendIsZero", testMonthEmpty},
	{"ReviseDraftReleasesKeyHoldAndBooksUsage", testReviseBooks},
	{"ReserveRaceFillsCampaignCapExactly", testReserveRaceCampaign},
	{"ReserveRaceFillsKeyLimitExactly", testReserveRaceKey},
	{"ReserveAndFinishRaceStaysUnderCap", testReserveFinishRace},
}

// month is the budget month of base, where the ledger cases hold and book.
var month = campaign.MonthOf(base)

// unit is the estimate of one email's model call in the ledger cases.
const unit = 1000

// ledgerCampaign creates a campaign of total pending emails for tenant
// (a new one per case, so that its ledger starts empty on any store) with
// cap as its MaxCostMicroUSD.
func ledgerCampaign(tb testing.TB, s campaign.Store, tenant string, total int, cap int64) *campaign.Campaign {
	tb.Helper()
	c := NewCampaign(tenant, total)
	c.MaxCostMicroUSD = cap
	MustCreate(tb, s, c, NewItems(c))
	return c
}

func newTenant() string { return "tenant-" + NewID() }

// hold returns a hold of amount in month with limit as its KeyLimit.
func hold(amount int64, month string, limit int64) campaign.Reservation {
	return campaign.Reservation{Amount: amount, Month: month, KeyLimit: limit}
}

// held is r as stores keep it on an email: KeyLimit need not be stored.
func held(r campaign.Reservation) campaign.Reservation {
	r.KeyLimit = 0
	return r
}

// mustReserve takes h for email index of c and checks that Reserve
// returns it.
func mustReserve(tb testing.TB, s campaign.Store, c *campaign.Campaign, index int, h campaign.Reservation) {
	tb.Helper()
	got, err := s.Reserve(context.Background(), c.ID, index, c.Tenant, h, base)
	if err != nil {
		tb.Fatalf("Reserve %d of %d in %s: %v", index, h.Amount, h.Month, err)
	}
	if held(got) != held(h) {
		tb.Errorf("Reserve %d returned %+v, want %+v", index, got, h)
	}
}

// mustRefuse tries to take h for email index of c and checks that Reserve
// refuses it with want, changing nothing of the campaign, the email or the
// month of h.
func mustRefuse(t *testing.T, s campaign.Store, c *campaign.Campaign, index int, h campaign.Reservation, want error) {
	t.Helper()
	beforeC, before := mustGet(t, s, c), mustEmail(t, s, c.ID, index)
	beforeM := mustMonth(t, s, c.Tenant, h.Month)
	if _, err := s.Reserve(context.Background(), c.ID, index, c.Tenant, h, base); !errors.Is(err, want) {
		t.Errorf("Reserve %d of %d: %v, want %v", index, h.Amount, err, want)
	}
	EqualCampaign(t, mustGet(t, s, c), beforeC)
	after := mustEmail(t, s, c.ID, index)
	after.Reserved, before.Reserved = held(after.Reserved), held(before.Reserved)
	EqualEmail(t, after, before)
	if got := mustMonth(t, s, c.Tenant, h.Month); got != beforeM {
		t.Errorf("month after a refused Reserve = %+v, want %+v", got, beforeM)
	}
}

// mustMonth returns the tenant's spend in month m.
func mustMonth(tb testing.TB, s campaign.Store, tenant, m string) campaign.MonthSpend {
	tb.Helper()
	got, err := s.Month(context.Background(), tenant, m)
	if err != nil {
		tb.Fatalf("Month %s: %v", m, err)
	}
	return got
}

// checkMonth checks the tenant's spend in month m.
func checkMonth(tb testing.TB, s campaign.Store, tenant, m string, spent, reserved int64, unpriced int) {
	tb.Helper()
	want := campaign.MonthSpend{Month: m, SpentMicroUSD: spent, ReservedMicroUSD: reserved, Unpriced: unpriced}
	if got := mustMonth(tb, s, tenant, m); got != want {
		tb.Errorf("Month %s = %+v, want %+v", m, got, want)
	}
}

// checkHeld checks what c holds (its ReservedMicroUSD) and the cost it
// booked (its Usage.CostMicroUSD).
func checkHeld(tb testing.TB, s campaign.Store, c *campaign.Campaign, reserved, cost int64) {
	tb.Helper()
	got := mustGet(tb, s, c)
	if got.ReservedMicroUSD != reserved || got.Usage.CostMicroUSD != cost {
		tb.Errorf("campaign holds %d µ$ and booked %d µ$; want %d and %d", got.ReservedMicroUSD, got.Usage.CostMicroUSD, reserved, cost)
	}
}

// checkEmailHold checks the hold of email index of campaign id, as Email
// and Emails return it.
func checkEmailHold(tb testing.TB, s campaign.Store, id string, index int, want campaign.Reservation) {
	tb.Helper()
	if got := held(mustEmail(tb, s, id, index).Reserved); got != held(want) {
		tb.Errorf("email %d holds %+v, want %+v", index, got, held(want))
	}
	page, _, err := s.Emails(context.Background(), id, campaign.Page{Limit: 1000})
	if err != nil || len(page) <= index {
		tb.Fatalf("Emails = %d emails, %v", len(page), err)
	}
	if got := held(page[index].Reserved); got != held(want) {
		tb.Errorf("listed email %d holds %+v, want %+v", index, got, held(want))
	}
}

// mustUsage returns the tenant's usage records from through to.
func mustUsage(tb testing.TB, s campaign.Store, tenant, from, to string) []campaign.UsageRecord {
	tb.Helper()
	got, err := s.Usage(context.Background(), tenant, from, to)
	if err != nil {
		tb.Fatalf("Usage %s..%s: %v", from, to, err)
	}
	return got
}

// checkUsage checks the tenant's usage records from through to.
func checkUsage(tb testing.TB, s campaign.Store, tenant, from, to string, want ...campaign.UsageRecord) {
	tb.Helper()
	got := mustUsage(tb, s, tenant, from, to)
	if len(want) == 0 {
		if got == nil || len(got) != 0 {
			tb.Errorf("Usage %s..%s = %#v, want an empty slice", from, to, got)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("Usage %s..%s =\n%+v\nwant\n%+v", from, to, got, want)
	}
}

// costing returns a usage with every counter set, tokens and cents from
// n, that cost micro.
func costing(n int, micro int64) email.Usage {
	return email.Usage{
		PromptTokens: 10 * n, CompletionTokens: 3 * n, TotalTokens: 13 * n,
		BatchPromptTokens: 4 * n, BatchCompletionTokens: n, CachedPromptTokens: 2 * n,
		CostMicroUSD: micro,
	}
}

// settled returns an outcome of status whose calls cost micro.
func settled(status campaign.EmailStatus, micro int64) campaign.Outcome {
	o := outcomeOf(status, "x", 10)
	o.Usage.CostMicroUSD = micro
	return o
}

func testReserve(t *testing.T, s campaign.Store) {
	c := ledgerCampaign(t, s, newTenant(), 3, 10*unit)
	h := hold(unit, month, 50*unit)
	mustReserve(t, s, c, 1, h)
	checkEmailHold(t, s, c.ID, 1, h)
	checkEmailHold(t, s, c.ID, 0, campaign.Reservation{})
	checkHeld(t, s, c, unit, 0)
	checkMonth(t, s, c.Tenant, month, 0, unit, 0)
	// Another email holds beside it.
	h2 := hold(2*unit, month, 0)
	mustReserve(t, s, c, 2, h2)
	checkEmailHold(t, s, c.ID, 2, h2)
	checkHeld(t, s, c, 3*unit, 0)
	checkMonth(t, s, c.Tenant, month, 0, 3*unit, 0)
	// A hold changes nothing else of the campaign or the email.
	got := mustGet(t, s, c)
	if got.Status != c.Status || got.Succeeded+got.Failed != 0 || got.Usage != (email.Usage{}) || got.MaxCostMicroUSD != c.MaxCostMicroUSD {
		t.Errorf("campaign after Reserve = %+v", got)
	}
	if e := mustEmail(t, s, c.ID, 1); e.Status != campaign.EmailPending || e.Version != 0 || e.Outcome != nil {
		t.Errorf("email after Reserve = %s at version %d with outcome %+v; want pending at 0, none", e.Status, e.Version, e.Outcome)
	}
}

func testReserveTwice(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := ledgerCampaign(t, s, newTenant(), 2, 10*unit)
	first := hold(unit, month, 50*unit)
	mustReserve(t, s, c, 0, first)
	// A redelivery holds the same email again, even for another amount or
	// month: it keeps the first hold.
	for _, again := range []campaign.Reservation{first, hold(3*unit, month, 50*unit), hold(unit, "2026-04", 0)} {
		got, err := s.Reserve(ctx, c.ID, 0, c.Tenant, again, base.Add(time.Minute))
		if err != nil {
			t.Fatalf("Reserve again (%+v): %v", again, err)
		}
		if held(got) != held(first) {
			t.Errorf("Reserve again (%+v) returned %+v, want the first hold %+v", again, got, first)
		}
	}
	checkEmailHold(t, s, c.ID, 0, first)
	checkHeld(t, s, c, unit, 0)
	checkMonth(t, s, c.Tenant, month, 0, unit, 0)
	checkMonth(t, s, c.Tenant, "2026-04", 0, 0, 0)
}

func testReserveFinished(t *testing.T, s campaign.Store) {
	c := ledgerCampaign(t, s, newTenant(), 3, 0)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 300), base)
	mustFinish(t, s, c.ID, 1, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "b", 0), base)
	mustReserve(t, s, c, 2, hold(unit, month, 0))
	mustFinish(t, s, c.ID, 2, campaign.EmailFailed, settled(campaign.EmailFailed, 200), base)
	for i := range 3 {
		mustRefuse(t, s, c, i, hold(unit, month, 0), campaign.ErrAlreadyDone)
	}
	checkHeld(t, s, c, 0, 500)
	checkMonth(t, s, c.Tenant, month, 500, 0, 0)
}

func testReserveMissing(t *testing.T, s campaign.Store) {
	c := ledgerCampaign(t, s, newTenant(), 2, 0)
	mustBeNotFound(t, c, func(id string, index int) error {
		_, err := s.Reserve(context.Background(), id, index, c.Tenant, hold(unit, month, 0), base)
		return err
	})
	checkHeld(t, s, c, 0, 0)
	checkMonth(t, s, c.Tenant, month, 0, 0, 0)
}

// testReserveCampaignCap fills a campaign's cap with cost that Finish
// booked and with holds: a hold that would pass it is refused, one that
// fits exactly is taken.
func testReserveCampaignCap(t *testing.T, s campaign.Store) {
	const cap = 10 * unit
	c := ledgerCampaign(t, s, newTenant(), 6, cap)
	// Booked without a hold, then held: 3000 + 4000.
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 3000), base)
	mustReserve(t, s, c, 1, hold(4000, month, 0))
	mustRefuse(t, s, c, 2, hold(3001, month, 0), campaign.ErrCampaignBudget)
	// Exactly the cap.
	mustReserve(t, s, c, 2, hold(3000, month, 0))
	checkHeld(t, s, c, 7000, 3000)
	mustRefuse(t, s, c, 3, hold(1, month, 0), campaign.ErrCampaignBudget)
	// Email 1 cost less than it held: the difference is room again.
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 3500), base)
	checkHeld(t, s, c, 3000, 6500)
	mustRefuse(t, s, c, 3, hold(501, month, 0), campaign.ErrCampaignBudget)
	mustReserve(t, s, c, 3, hold(500, month, 0))
	// Email 2 cost more than it held: with email 3's hold the cap is
	// passed, and nothing more fits.
	mustFinish(t, s, c.ID, 2, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 3200), base)
	checkHeld(t, s, c, 500, 9700)
	mustRefuse(t, s, c, 4, hold(1, month, 0), campaign.ErrCampaignBudget)
	mustFinish(t, s, c.ID, 3, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 100), base)
	checkHeld(t, s, c, 0, 9800)
	mustRefuse(t, s, c, 4, hold(201, month, 0), campaign.ErrCampaignBudget)
	mustReserve(t, s, c, 4, hold(200, month, 0))
	checkHeld(t, s, c, 200, 9800)
	checkMonth(t, s, c.Tenant, month, 9800, 200, 0)
	// Booked past the cap, by a call that cost more than it held.
	mustFinish(t, s, c.ID, 4, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 1000), base)
	mustRefuse(t, s, c, 5, hold(1, month, 0), campaign.ErrCampaignBudget)
	checkHeld(t, s, c, 0, 10_800)
}

// testReserveKeyLimit fills a tenant's monthly limit with the spend and
// holds of two campaigns and of calls outside them: a hold that would pass
// it is refused, one that fits exactly is taken, and other months and
// tenants do not count.
func testReserveKeyLimit(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	const limit = 10 * unit
	tenant := newTenant()
	x := ledgerCampaign(t, s, tenant, 3, 0)
	y := ledgerCampaign(t, s, tenant, 3, 0)
	// Neither another month nor another tenant counts.
	if err := s.ReserveKey(ctx, tenant, hold(50*unit, "2026-02", 0), base); err != nil {
		t.Fatalf("ReserveKey in another month: %v", err)
	}
	other := ledgerCampaign(t, s, newTenant(), 1, 0)
	mustFinish(t, s, other.ID, 0, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 9*unit), base)

	// Spent 2000, held 1500 by a call outside campaigns and 3000 by x.
	mustFinish(t, s, x.ID, 0, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 2000), base)
	if err := s.ReserveKey(ctx, tenant, hold(1500, month, limit), base); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	mustReserve(t, s, x, 1, hold(3000, month, limit))
	checkMonth(t, s, tenant, month, 2000, 4500, 0)

	mustRefuse(t, s, y, 0, hold(3501, month, limit), campaign.ErrKeyBudget)
	mustReserve(t, s, y, 0, hold(3500, month, limit))
	checkMonth(t, s, tenant, month, 2000, 8000, 0)
	checkHeld(t, s, y, 3500, 0)
	mustRefuse(t, s, y, 1, hold(1, month, limit), campaign.ErrKeyBudget)
	if err := s.ReserveKey(ctx, tenant, hold(1, month, limit), base); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Errorf("ReserveKey over the limit: %v, want ErrKeyBudget", err)
	}
	checkMonth(t, s, tenant, month, 2000, 8000, 0)
	// The same hold in another month fits.
	mustReserve(t, s, y, 1, hold(1, "2026-04", limit))
	checkMonth(t, s, tenant, "2026-04", 0, 1, 0)
	checkMonth(t, s, tenant, "2026-02", 0, 50*unit, 0)
	checkMonth(t, s, other.Tenant, month, 9*unit, 0, 0)
}

func testReserveNoKeyLimit(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := ledgerCampaign(t, s, newTenant(), 3, 0)
	mustReserve(t, s, c, 0, hold(5000, month, 0))
	checkMonth(t, s, c.Tenant, month, 0, 5000, 0)
	// Without a limit anything fits; it still counts against a hold
	// that has one.
	if err := s.ReserveKey(ctx, c.Tenant, hold(1_000_000, month, 0), base); err != nil {
		t.Fatalf("ReserveKey without a limit: %v", err)
	}
	checkMonth(t, s, c.Tenant, month, 0, 1_005_000, 0)
	mustRefuse(t, s, c, 1, hold(1, month, 1_005_000), campaign.ErrKeyBudget)
	mustReserve(t, s, c, 1, hold(1, month, 1_005_001))
	checkMonth(t, s, c.Tenant, month, 0, 1_005_001, 0)
}

func testFinishSettles(t *testing.T, s campaign.Store) {
	c := ledgerCampaign(t, s, newTenant(), 3, 10*unit)
	mustReserve(t, s, c, 0, hold(unit, month, 0))
	mustReserve(t, s, c, 1, hold(unit, month, 0))
	mustReserve(t, s, c, 2, hold(unit, month, 0))
	checkHeld(t, s, c, 3*unit, 0)

	// Cost more than held, less, and nothing (a model without a price).
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 1200), base)
	checkHeld(t, s, c, 2*unit, 1200)
	checkMonth(t, s, c.Tenant, month, 1200, 2*unit, 0)
	checkEmailHold(t, s, c.ID, 0, campaign.Reservation{})
	mustFinish(t, s, c.ID, 1, campaign.EmailNeedsReview, settled(campaign.EmailNeedsReview, 700), base)
	unpriced := settled(campaign.EmailFailed, 0)
	unpriced.Usage.Unpriced = 1
	mustFinish(t, s, c.ID, 2, campaign.EmailFailed, unpriced, base)
	checkHeld(t, s, c, 0, 1900)
	checkMonth(t, s, c.Tenant, month, 1900, 0, 1)
	for i := range 3 {
		checkEmailHold(t, s, c.ID, i, campaign.Reservation{})
	}
	if got := mustGet(t, s, c); got.Usage.Unpriced != 1 {
		t.Errorf("campaign's Unpriced = %d, want 1", got.Usage.Unpriced)
	}
}

// testFinishHoldMonth finishes a call that held in the last second of
// February after midnight: its cost is booked in February, where it held,
// and its usage on the day it finished.
func testFinishHoldMonth(t *testing.T, s campaign.Store) {
	tenant := newTenant()
	c := NewCampaign(tenant, 2)
	c.CreatedAt = time.Date(2026, 2, 28, 23, 0, 0, 123456, time.UTC)
	c.UpdatedAt = c.CreatedAt
	MustCreate(t, s, c, NewItems(c))
	at := time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC)
	h := hold(unit, campaign.MonthOf(at), 0)
	if _, err := s.Reserve(context.Background(), c.ID, 0, tenant, h, at); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	finished := time.Date(2026, 3, 1, 0, 0, 1, 0, time.UTC)
	o := settled(campaign.EmailSucceeded, 1100)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, o, finished)
	checkMonth(t, s, tenant, "2026-02", 1100, 0, 0)
	checkMonth(t, s, tenant, "2026-03", 0, 0, 0)
	checkUsage(t, s, tenant, "2026-02-01", "2026-03-31",
		campaign.UsageRecord{Day: "2026-03-01", CampaignID: c.ID, Emails: 1, Usage: o.Usage})
	// Without a hold, the month of the Finish.
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 900), finished)
	checkMonth(t, s, tenant, "2026-02", 1100, 0, 0)
	checkMonth(t, s, tenant, "2026-03", 900, 0, 0)
}

// testFinishUsage finishes emails of every status on two days: each day's
// record of a campaign counts the emails written (succeeded and
// needs_review) and sums every usage counter, with a hold or without.
func testFinishUsage(t *testing.T, s campaign.Store) {
	tenant := newTenant()
	x := ledgerCampaign(t, s, tenant, 5, 0)
	y := ledgerCampaign(t, s, tenant, 1, 0)
	day1, day2 := base, base.Add(24*time.Hour)
	outcome := func(status campaign.EmailStatus, u email.Usage) campaign.Outcome {
		o := outcomeOf(status, "x", 1)
		o.Usage = u
		return o
	}
	u0, u1, u2, u4, uy := costing(1, 100), costing(2, 200), costing(3, 300), costing(4, 400), costing(5, 500)
	u1.Unpriced = 1
	mustReserve(t, s, x, 0, hold(unit, month, 0))
	mustFinish(t, s, x.ID, 0, campaign.EmailSucceeded, outcome(campaign.EmailSucceeded, u0), day1)
	mustFinish(t, s, x.ID, 1, campaign.EmailNeedsReview, outcome(campaign.EmailNeedsReview, u1), day1)
	mustFinish(t, s, x.ID, 2, campaign.EmailFailed, outcome(campaign.EmailFailed, u2), day1)
	mustFinish(t, s, x.ID, 3, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "x", 0), day1.Add(time.Hour))
	mustReserve(t, s, x, 4, hold(unit, month, 0))
	mustFinish(t, s, x.ID, 4, campaign.EmailSucceeded, outcome(campaign.EmailSucceeded, u4), day2)
	mustFinish(t, s, y.ID, 0, campaign.EmailFailed, outcome(campaign.EmailFailed, uy), day1)

	d1, d2 := campaign.DayOf(day1), campaign.DayOf(day2)
	first := []campaign.UsageRecord{
		{Day: d1, CampaignID: x.ID, Emails: 2, Usage: u0.Add(u1).Add(u2)},
		{Day: d1, CampaignID: y.ID, Emails: 0, Usage: uy},
	}
	if y.ID < x.ID {
		first[0], first[1] = first[1], first[0]
	}
	checkUsage(t, s, tenant, d1, d2, append(first, campaign.UsageRecord{Day: d2, CampaignID: x.ID, Emails: 1, Usage: u4})...)
	checkMonth(t, s, tenant, month, 1500, 0, 1)
}

func testUnreserve(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := ledgerCampaign(t, s, newTenant(), 3, 10*unit)
	mustFinish(t, s, c.ID, 2, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, 400), base)
	mustReserve(t, s, c, 0, hold(700, month, 0))
	mustReserve(t, s, c, 1, hold(300, month, 0))
	if err := s.Unreserve(ctx, c.ID, 0, c.Tenant); err != nil {
		t.Fatalf("Unreserve: %v", err)
	}
	checkEmailHold(t, s, c.ID, 0, campaign.Reservation{})
	checkEmailHold(t, s, c.ID, 1, hold(300, month, 0))
	checkHeld(t, s, c, 300, 400)
	checkMonth(t, s, c.Tenant, month, 400, 300, 0)
	if e := mustEmail(t, s, c.ID, 0); e.Status != campaign.EmailPending {
		t.Errorf("email after Unreserve is %s, want pending", e.Status)
	}
	// Again, and of a finished email: nothing to release.
	for _, index := range []int{0, 2} {
		if err := s.Unreserve(ctx, c.ID, index, c.Tenant); err != nil {
			t.Errorf("Unreserve %d without a hold: %v", index, err)
		}
	}
	checkHeld(t, s, c, 300, 400)
	checkMonth(t, s, c.Tenant, month, 400, 300, 0)
	// The email may hold again.
	mustReserve(t, s, c, 0, hold(900, month, 0))
	checkHeld(t, s, c, 1200, 400)
	mustBeNotFound(t, c, func(id string, index int) error {
		return s.Unreserve(ctx, id, index, c.Tenant)
	})
}

func testKeyHold(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	tenant := newTenant()
	const limit = 5000
	if err := s.ReserveKey(ctx, tenant, hold(2000, month, limit), base); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	checkMonth(t, s, tenant, month, 0, 2000, 0)
	if err := s.ReserveKey(ctx, tenant, hold(3001, month, limit), base); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Errorf("ReserveKey over the limit: %v, want ErrKeyBudget", err)
	}
	checkMonth(t, s, tenant, month, 0, 2000, 0)
	if err := s.ReserveKey(ctx, tenant, hold(3000, month, limit), base); err != nil {
		t.Fatalf("ReserveKey of exactly the limit: %v", err)
	}
	checkMonth(t, s, tenant, month, 0, 5000, 0)

	// The first call costs 1800 of its 2000; the second fails and is
	// released.
	u := costing(1, 1800)
	if err := s.Spend(ctx, tenant, hold(2000, month, limit), 1, u, "call-1", base); err != nil {
		t.Fatalf("Spend: %v", err)
	}
	checkMonth(t, s, tenant, month, 1800, 3000, 0)
	if err := s.ReleaseKey(ctx, tenant, hold(3000, month, limit)); err != nil {
		t.Fatalf("ReleaseKey: %v", err)
	}
	checkMonth(t, s, tenant, month, 1800, 0, 0)
	// Room for 3200 more.
	if err := s.ReserveKey(ctx, tenant, hold(3201, month, limit), base); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Errorf("ReserveKey over what was spent: %v, want ErrKeyBudget", err)
	}

	// A call without a hold books in the month of now; an unpriced one
	// counts.
	u2 := costing(2, 0)
	u2.Unpriced = 1
	if err := s.Spend(ctx, tenant, campaign.Reservation{}, 1, u2, "call-2", base.Add(time.Hour)); err != nil {
		t.Fatalf("Spend without a hold: %v", err)
	}
	checkMonth(t, s, tenant, month, 1800, 0, 1)
	// A call that held in February books there, on the day it ended.
	if err := s.ReserveKey(ctx, tenant, hold(100, "2026-02", 0), base); err != nil {
		t.Fatalf("ReserveKey in February: %v", err)
	}
	u3 := costing(3, 90)
	if err := s.Spend(ctx, tenant, hold(100, "2026-02", 0), 2, u3, "call-3", base); err != nil {
		t.Fatalf("Spend in February: %v", err)
	}
	checkMonth(t, s, tenant, "2026-02", 90, 0, 0)
	checkMonth(t, s, tenant, month, 1800, 0, 1)
	checkUsage(t, s, tenant, campaign.DayOf(base), campaign.DayOf(base),
		campaign.UsageRecord{Day: campaign.DayOf(base), Emails: 4, Usage: u.Add(u2).Add(u3)})
}

// testUsageRange books usage on three days for two tenants and reads
// ranges of it: from and to are inclusive, records come by day and then
// campaign (generate-email calls, CampaignID "", first), and another
// tenant's never show.
func testUsageRange(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	tenant, other := newTenant(), newTenant()
	c := ledgerCampaign(t, s, tenant, 1, 0)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	spend := func(tenant string, d int, u email.Usage) {
		t.Helper()
		if err := s.Spend(ctx, tenant, campaign.Reservation{}, 1, u, NewID(), day(d)); err != nil {
			t.Fatalf("Spend: %v", err)
		}
	}
	spend(tenant, 1, costing(1, 10))
	spend(tenant, 2, costing(2, 20))
	spend(tenant, 3, costing(3, 30))
	spend(other, 2, costing(9, 90))
	o := settled(campaign.EmailSucceeded, 40)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, o, day(2))

	r1 := campaign.UsageRecord{Day: "2026-03-01", Emails: 1, Usage: costing(1, 10)}
	r2 := campaign.UsageRecord{Day: "2026-03-02", Emails: 1, Usage: costing(2, 20)}
	r2c := campaign.UsageRecord{Day: "2026-03-02", CampaignID: c.ID, Emails: 1, Usage: o.Usage}
	r3 := campaign.UsageRecord{Day: "2026-03-03", Emails: 1, Usage: costing(3, 30)}
	checkUsage(t, s, tenant, "2026-03-01", "2026-03-03", r1, r2, r2c, r3)
	checkUsage(t, s, tenant, "2026-02-01", "2026-03-31", r1, r2, r2c, r3)
	checkUsage(t, s, tenant, "2026-03-02", "2026-03-02", r2, r2c)
	checkUsage(t, s, tenant, "2026-03-02", "2026-03-03", r2, r2c, r3)
	checkUsage(t, s, tenant, "2026-03-01", "2026-03-01", r1)
	checkUsage(t, s, tenant, "2026-03-04", "2026-03-31")
	checkUsage(t, s, tenant, "2026-02-01", "2026-02-28")
	checkUsage(t, s, other, "2026-03-01", "2026-03-03",
		campaign.UsageRecord{Day: "2026-03-02", Emails: 1, Usage: costing(9, 90)})
	checkUsage(t, s, newTenant(), "2026-03-01", "2026-03-03")
	checkMonth(t, s, tenant, month, 100, 0, 0)
	checkMonth(t, s, other, month, 90, 0, 0)
}

func testMonthEmpty(t *testing.T, s campaign.Store) {
	tenant := newTenant()
	checkMonth(t, s, tenant, "2031-07", 0, 0, 0)
	// Another month's spend leaves it so.
	if err := s.Spend(context.Background(), tenant, campaign.Reservation{}, 1, costing(1, 10), "call", base); err != nil {
		t.Fatalf("Spend: %v", err)
	}
	checkMonth(t, s, tenant, "2031-07", 0, 0, 0)
	checkMonth(t, s, tenant, month, 10, 0, 0)
}

// testReviseBooks regenerates a finished email with calls that held the
// key's budget: the Revise releases the hold and books the draft's usage,
// or, refused, changes nothing.
func testReviseBooks(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := ledgerCampaign(t, s, newTenant(), 1, 0)
	first := settled(campaign.EmailNeedsReview, 100)
	mustFinish(t, s, c.ID, 0, campaign.EmailNeedsReview, first, base)
	checkMonth(t, s, c.Tenant, month, 100, 0, 0)

	h := hold(500, month, 10*unit)
	if err := s.ReserveKey(ctx, c.Tenant, h, base); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	draft := settled(campaign.EmailSucceeded, 450)
	draft.Usage = costing(2, 450)
	// A stale version changes nothing: the hold stays.
	if _, err := s.Revise(ctx, c.ID, 0, 7, campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded, Reserved: h}, base); !errors.Is(err, campaign.ErrVersionMismatch) {
		t.Fatalf("Revise at a stale version: %v, want ErrVersionMismatch", err)
	}
	checkMonth(t, s, c.Tenant, month, 100, 500, 0)

	now := base.Add(time.Hour)
	mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded, Reserved: h}, now)
	checkMonth(t, s, c.Tenant, month, 550, 0, 0)
	checkHeld(t, s, c, 0, 550)
	day := campaign.DayOf(base)
	checkUsage(t, s, c.Tenant, day, day,
		campaign.UsageRecord{Day: day, CampaignID: c.ID, Emails: 2, Usage: first.Usage.Add(draft.Usage)})

	// A review books nothing.
	mustRevise(t, s, c.ID, 0, 2, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, now)
	// A draft that failed costs, and writes no email; one without a hold
	// books in the month of now, the next day.
	failed := settled(campaign.EmailFailed, 250)
	next := base.Add(24 * time.Hour)
	mustRevise(t, s, c.ID, 0, 3, campaign.Revision{Draft: &failed, Status: campaign.EmailFailed}, next)
	checkMonth(t, s, c.Tenant, month, 800, 0, 0)
	checkUsage(t, s, c.Tenant, day, campaign.DayOf(next),
		campaign.UsageRecord{Day: day, CampaignID: c.ID, Emails: 2, Usage: first.Usage.Add(draft.Usage)},
		campaign.UsageRecord{Day: campaign.DayOf(next), CampaignID: c.ID, Emails: 0, Usage: failed.Usage})

	// A hold of February is released there, and the cost booked there.
	feb := hold(300, "2026-02", 0)
	if err := s.ReserveKey(ctx, c.Tenant, feb, base); err != nil {
		t.Fatalf("ReserveKey in February: %v", err)
	}
	again := settled(campaign.EmailSucceeded, 280)
	mustRevise(t, s, c.ID, 0, 4, campaign.Revision{Draft: &again, Status: campaign.EmailSucceeded, Reserved: feb}, next)
	checkMonth(t, s, c.Tenant, "2026-02", 280, 0, 0)
	checkMonth(t, s, c.Tenant, month, 800, 0, 0)
	checkHeld(t, s, c, 0, 1080)
}
