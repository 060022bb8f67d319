package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

// ledgerNow is a time in March 2026, the month of storetest's clock.
var ledgerNow = storetest.Now()

const march = "2026-03"

func newLedgerStore(t *testing.T) *sqlite.Store {
	t.Helper()
	return MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
}

// createCapped stores a campaign of total pending emails with the cap.
func createCapped(t *testing.T, s *sqlite.Store, tenant string, total int, capped int64) *campaign.Campaign {
	t.Helper()
	c := storetest.NewCampaign(tenant, total)
	c.MaxCostMicroUSD = capped
	return storetest.MustCreate(t, s, c, storetest.NewItems(c))
}

func mustMonth(t *testing.T, s *sqlite.Store, tenant, month string) campaign.MonthSpend {
	t.Helper()
	m, err := s.Month(context.Background(), tenant, month)
	if err != nil {
		t.Fatalf("Month: %v", err)
	}
	return m
}

func mustCampaign(t *testing.T, s *sqlite.Store, c *campaign.Campaign) *campaign.Campaign {
	t.Helper()
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

// Reserve checks the campaign's cap and the key's limit with the spend
// and the holds so far, refuses without changing anything, keeps an
// email's one hold, and Finish releases it and books the real cost in the
// hold's month and the day's record, in the same transaction.
func TestReserveHoldsAndFinishSettles(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	c := createCapped(t, s, "t1", 4, 1000)

	h := campaign.Reservation{Amount: 400, Month: march, KeyLimit: 900}
	got, err := s.Reserve(ctx, c.ID, 0, "t1", h, ledgerNow)
	if err != nil || got.Amount != 400 || got.Month != march {
		t.Fatalf("Reserve = %+v, %v; want 400 µ$ of %s", got, err, march)
	}
	// A redelivery keeps its hold, whatever it asks for now.
	if again, err := s.Reserve(ctx, c.ID, 0, "t1", campaign.Reservation{Amount: 999, Month: march}, ledgerNow); err != nil || again != got {
		t.Fatalf("Reserve again = %+v, %v; want the hold %+v kept", again, err, got)
	}
	if e, err := s.Email(ctx, c.ID, 0); err != nil || e.Reserved != (campaign.Reservation{Amount: 400, Month: march}) {
		t.Fatalf("Email = %+v, %v; want Reserved 400 µ$ of %s", e, err, march)
	}
	if m := mustMonth(t, s, "t1", march); m.ReservedMicroUSD != 400 || m.SpentMicroUSD != 0 {
		t.Fatalf("Month = %+v; want 400 held, 0 spent", m)
	}
	// 400 + 500 fits the key's 900 and the campaign's 1000.
	if _, err := s.Reserve(ctx, c.ID, 1, "t1", campaign.Reservation{Amount: 500, Month: march, KeyLimit: 900}, ledgerNow); err != nil {
		t.Fatalf("Reserve 500: %v", err)
	}
	// 900 + 1 passes the key's limit; 900 + 101 the campaign's cap.
	if _, err := s.Reserve(ctx, c.ID, 2, "t1", campaign.Reservation{Amount: 1, Month: march, KeyLimit: 900}, ledgerNow); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Fatalf("Reserve over the key's limit: %v, want ErrKeyBudget", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 2, "t1", campaign.Reservation{Amount: 101, Month: march}, ledgerNow); !errors.Is(err, campaign.ErrCampaignBudget) {
		t.Fatalf("Reserve over the campaign's cap: %v, want ErrCampaignBudget", err)
	}
	if e, _ := s.Email(ctx, c.ID, 2); e.Reserved != (campaign.Reservation{}) {
		t.Fatalf("a refused email holds %+v", e.Reserved)
	}
	if got := mustCampaign(t, s, c); got.ReservedMicroUSD != 900 || got.MaxCostMicroUSD != 1000 {
		t.Fatalf("campaign holds %d of %d µ$; want 900 of 1000", got.ReservedMicroUSD, got.MaxCostMicroUSD)
	}

	// The call ran past the month's end: its cost is booked in the month
	// it held, its usage on the day it finished.
	april := time.Date(2026, 4, 1, 0, 0, 1, 0, time.UTC)
	u := email.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, CachedPromptTokens: 2, CostMicroUSD: 450}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, campaign.Outcome{Subject: "s", Usage: u}, april); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m.ReservedMicroUSD != 500 || m.SpentMicroUSD != 450 {
		t.Fatalf("March after Finish = %+v; want 500 held, 450 spent", m)
	}
	if m := mustMonth(t, s, "t1", "2026-04"); m != (campaign.MonthSpend{Month: "2026-04"}) {
		t.Fatalf("April = %+v; want nothing", m)
	}
	if got := mustCampaign(t, s, c); got.ReservedMicroUSD != 500 || got.Usage.CostMicroUSD != 450 {
		t.Fatalf("campaign holds %d µ$ and spent %d; want 500, 450", got.ReservedMicroUSD, got.Usage.CostMicroUSD)
	}
	if e, _ := s.Email(ctx, c.ID, 0); e.Reserved != (campaign.Reservation{}) {
		t.Fatalf("a finished email holds %+v", e.Reserved)
	}
	// 450 spent + 500 held + 51 passes the cap of 1000; 50 fits.
	if _, err := s.Reserve(ctx, c.ID, 2, "t1", campaign.Reservation{Amount: 51, Month: march}, ledgerNow); !errors.Is(err, campaign.ErrCampaignBudget) {
		t.Fatalf("Reserve past spend and holds: %v, want ErrCampaignBudget", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 2, "t1", campaign.Reservation{Amount: 50, Month: march}, ledgerNow); err != nil {
		t.Fatalf("Reserve 50: %v", err)
	}

	// Unreserve releases the campaign's and the month's hold; a second
	// one, or one of a finished email, changes nothing.
	for range 2 {
		if err := s.Unreserve(ctx, c.ID, 1, "t1"); err != nil {
			t.Fatalf("Unreserve: %v", err)
		}
	}
	if err := s.Unreserve(ctx, c.ID, 0, "t1"); err != nil {
		t.Fatalf("Unreserve of a finished email: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m.ReservedMicroUSD != 50 || m.SpentMicroUSD != 450 {
		t.Fatalf("March after Unreserve = %+v; want 50 held, 450 spent", m)
	}
	if got := mustCampaign(t, s, c); got.ReservedMicroUSD != 50 {
		t.Fatalf("campaign holds %d µ$ after Unreserve; want 50", got.ReservedMicroUSD)
	}

	// A skipped email finished without a hold books nothing; a failed
	// one that cost something books its cost but no email.
	if err := s.Finish(ctx, c.ID, 3, campaign.EmailSkipped, campaign.Outcome{Error: "no room"}, april); err != nil {
		t.Fatalf("Finish skipped: %v", err)
	}
	failed := email.Usage{PromptTokens: 3, TotalTokens: 3, CostMicroUSD: 7, Unpriced: 1}
	if err := s.Finish(ctx, c.ID, 2, campaign.EmailFailed, campaign.Outcome{Error: "bad", Usage: failed}, april); err != nil {
		t.Fatalf("Finish failed: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march, SpentMicroUSD: 457, Unpriced: 1}) {
		t.Fatalf("March at the end = %+v; want 457 spent, 1 unpriced, nothing held", m)
	}
	recs, err := s.Usage(ctx, "t1", "2026-03-01", "2026-04-30")
	want := []campaign.UsageRecord{{Day: "2026-04-01", CampaignID: c.ID, Emails: 1, Usage: u.Add(failed)}}
	if err != nil || !reflect.DeepEqual(recs, want) {
		t.Fatalf("Usage = %+v, %v; want %+v", recs, err, want)
	}
	if got := mustCampaign(t, s, c); got.Skipped != 1 || got.Failed != 2 || got.ReservedMicroUSD != 0 {
		t.Fatalf("campaign: skipped %d, failed %d, holds %d; want 1, 2, 0", got.Skipped, got.Failed, got.ReservedMicroUSD)
	}
}

// Reserve refuses what it cannot hold: a finished email, one of another
// tenant's campaign, a missing one, and a malformed hold, changing nothing.
func TestReserveRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	c := createCapped(t, s, "t1", 2, 0)
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailFailed, campaign.Outcome{Error: "x"}, ledgerNow); err != nil {
		t.Fatal(err)
	}
	h := campaign.Reservation{Amount: 1, Month: march}
	for _, tc := range []struct {
		name   string
		id     string
		index  int
		tenant string
		h      campaign.Reservation
		want   error
	}{
		{"finished", c.ID, 1, "t1", h, campaign.ErrAlreadyDone},
		{"other tenant", c.ID, 0, "t2", h, campaign.ErrNotFound},
		{"no campaign", "nope", 0, "t1", h, campaign.ErrNotFound},
		{"no email", c.ID, 5, "t1", h, campaign.ErrNotFound},
		{"negative", c.ID, 0, "t1", campaign.Reservation{Amount: -1, Month: march}, nil},
		{"negative limit", c.ID, 0, "t1", campaign.Reservation{Amount: 1, Month: march, KeyLimit: -1}, nil},
		{"bad month", c.ID, 0, "t1", campaign.Reservation{Amount: 1, Month: "2026-3"}, nil},
		{"no tenant", c.ID, 0, "", h, nil},
	} {
		_, err := s.Reserve(ctx, tc.id, tc.index, tc.tenant, tc.h, ledgerNow)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Reserve = %v, want %v", tc.name, err, tc.want)
		}
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march}) {
		t.Errorf("refused holds left %+v", m)
	}
	// An empty month is the month of now.
	got, err := s.Reserve(ctx, c.ID, 0, "t1", campaign.Reservation{Amount: 3}, ledgerNow)
	if err != nil || got.Month != march {
		t.Errorf("Reserve without a month = %+v, %v; want %s", got, err, march)
	}
	if err := s.Unreserve(ctx, c.ID, 0, "t2"); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Unreserve by another tenant = %v, want ErrNotFound", err)
	}
}

// Of 32 Reserves racing for a cap that fits 20, exactly 20 succeed, and
// so for a key's limit.
func TestReserveRaceFitsExactlyTheCap(t *testing.T) {
	for _, key := range []bool{false, true} {
		name := map[bool]string{false: "campaign cap", true: "key limit"}[key]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newLedgerStore(t)
			const n, fit, amount = 32, 20, 1000
			capped, limit := int64(fit*amount), int64(0)
			if key {
				capped, limit = 0, fit*amount
			}
			c := createCapped(t, s, "t1", n, capped)
			var ok, refused atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := s.Reserve(ctx, c.ID, i, "t1", campaign.Reservation{Amount: amount, Month: march, KeyLimit: limit}, ledgerNow)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, campaign.ErrCampaignBudget) || errors.Is(err, campaign.ErrKeyBudget):
						refused.Add(1)
					default:
						t.Errorf("Reserve %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != fit || refused.Load() != n-fit {
				t.Fatalf("%d Reserves succeeded and %d were refused; want %d and %d", ok.Load(), refused.Load(), fit, n-fit)
			}
			if m := mustMonth(t, s, "t1", march); m.ReservedMicroUSD != fit*amount {
				t.Errorf("month holds %d µ$, want %d", m.ReservedMicroUSD, fit*amount)
			}
			if got := mustCampaign(t, s, c); got.ReservedMicroUSD != fit*amount {
				t.Errorf("campaign holds %d µ$, want %d", got.ReservedMicroUSD, fit*amount)
			}
		})
	}
}

// Workers that each reserve and then settle at a cost above their
// estimate, racing, never spend past the cap by more than the holds that
// were outstanding: every settled email had a hold that fit.
func TestReserveFinishRaceStaysUnderCap(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	const n, estimate, cost, capped = 40, 100, 130, 2000
	c := createCapped(t, s, "t1", n, capped)
	var wg sync.WaitGroup
	var settled atomic.Int32
	for i := range n {
		wg.Go(func() {
			_, err := s.Reserve(ctx, c.ID, i, "t1", campaign.Reservation{Amount: estimate, Month: march, KeyLimit: capped}, ledgerNow)
			status, u := campaign.EmailSucceeded, email.Usage{TotalTokens: 1, CostMicroUSD: cost}
			if errors.Is(err, campaign.ErrCampaignBudget) || errors.Is(err, campaign.ErrKeyBudget) {
				status, u = campaign.EmailSkipped, email.Usage{}
			} else if err != nil {
				t.Errorf("Reserve %d: %v", i, err)
				return
			} else {
				settled.Add(1)
			}
			if err := s.Finish(ctx, c.ID, i, status, campaign.Outcome{Usage: u}, ledgerNow); err != nil {
				t.Errorf("Finish %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := mustCampaign(t, s, c)
	m := mustMonth(t, s, "t1", march)
	// Each hold fit under the cap with the spend and holds before it: at
	// most capped/estimate at once, each overshooting by cost-estimate.
	if maxSpend := int64(capped + capped/estimate*(cost-estimate)); got.Usage.CostMicroUSD > maxSpend || m.SpentMicroUSD != got.Usage.CostMicroUSD {
		t.Fatalf("spent %d µ$ (month %d) against a cap of %d; want at most %d, equal", got.Usage.CostMicroUSD, m.SpentMicroUSD, capped, maxSpend)
	}
	if got.Usage.CostMicroUSD != int64(settled.Load())*cost || got.Skipped != n-int(settled.Load()) {
		t.Errorf("spent %d µ$ and skipped %d; want %d, %d", got.Usage.CostMicroUSD, got.Skipped, settled.Load()*cost, n-settled.Load())
	}
	if got.ReservedMicroUSD != 0 || m.ReservedMicroUSD != 0 {
		t.Errorf("left held: campaign %d µ$, month %d µ$; want 0", got.ReservedMicroUSD, m.ReservedMicroUSD)
	}
	if settled.Load() < capped/cost {
		t.Errorf("only %d emails settled under a cap that fits %d", settled.Load(), capped/cost)
	}
}

// Revise with a draft releases the regenerate's key hold and books the
// draft's usage in the hold's month and the campaign's record of the day,
// as an email written when the draft has one.
func TestReviseBooksTheDraft(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	c := createCapped(t, s, "t1", 1, 0)
	first := email.Usage{TotalTokens: 5, CostMicroUSD: 10}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, campaign.Outcome{Subject: "a", Usage: first}, ledgerNow); err != nil {
		t.Fatal(err)
	}
	h := campaign.Reservation{Amount: 300, Month: march, KeyLimit: 1000}
	if err := s.ReserveKey(ctx, "t1", h, ledgerNow); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	draft := campaign.Outcome{Subject: "b", Usage: email.Usage{TotalTokens: 7, CostMicroUSD: 20}}
	if _, err := s.Revise(ctx, c.ID, 0, 1, campaign.Revision{Draft: &draft, Status: campaign.EmailNeedsReview, Reserved: h}, ledgerNow); err != nil {
		t.Fatalf("Revise: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march, SpentMicroUSD: 30}) {
		t.Fatalf("month = %+v; want 30 spent, nothing held", m)
	}
	// A failed draft books its cost and no email.
	bad := campaign.Outcome{Error: "x", Usage: email.Usage{TotalTokens: 1, CostMicroUSD: 1}}
	if _, err := s.Revise(ctx, c.ID, 0, 2, campaign.Revision{Draft: &bad, Status: campaign.EmailFailed}, ledgerNow); err != nil {
		t.Fatalf("Revise failed: %v", err)
	}
	recs, err := s.Usage(ctx, "t1", "2026-03-14", "2026-03-14")
	want := []campaign.UsageRecord{{Day: "2026-03-14", CampaignID: c.ID, Emails: 2,
		Usage: first.Add(draft.Usage).Add(bad.Usage)}}
	if err != nil || !reflect.DeepEqual(recs, want) {
		t.Fatalf("Usage = %+v, %v; want %+v", recs, err, want)
	}
	// A hold without a draft is a mistake, refused whole.
	note := "n"
	if _, err := s.Revise(ctx, c.ID, 0, 3, campaign.Revision{Note: &note, Reserved: h}, ledgerNow); err == nil {
		t.Fatal("Revise with a hold and no draft succeeded")
	}
}

// The key's ledger outside campaigns: ReserveKey checks the month's limit
// with spend and holds, Spend releases and books, ReleaseKey releases, and
// Usage lists the days in order.
func TestKeyLedger(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	h := campaign.Reservation{Amount: 600, Month: march, KeyLimit: 1000}
	if err := s.ReserveKey(ctx, "t1", h, ledgerNow); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	if err := s.ReserveKey(ctx, "t1", h, ledgerNow); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Fatalf("ReserveKey past the limit = %v, want ErrKeyBudget", err)
	}
	// Another tenant's month is its own; no limit holds anything.
	if err := s.ReserveKey(ctx, "t2", campaign.Reservation{Amount: 5000, Month: march}, ledgerNow); err != nil {
		t.Fatalf("ReserveKey without a limit: %v", err)
	}
	u := email.Usage{PromptTokens: 4, TotalTokens: 4, CostMicroUSD: 650}
	if err := s.Spend(ctx, "t1", h, 1, u, "call-1", ledgerNow); err != nil {
		t.Fatalf("Spend: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march, SpentMicroUSD: 650}) {
		t.Fatalf("month after Spend = %+v; want 650 spent", m)
	}
	if err := s.ReserveKey(ctx, "t1", campaign.Reservation{Amount: 351, Month: march, KeyLimit: 1000}, ledgerNow); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Fatalf("ReserveKey past the spend = %v, want ErrKeyBudget", err)
	}
	small := campaign.Reservation{Amount: 350, Month: march, KeyLimit: 1000}
	if err := s.ReserveKey(ctx, "t1", small, ledgerNow); err != nil {
		t.Fatalf("ReserveKey: %v", err)
	}
	if err := s.ReleaseKey(ctx, "t1", small); err != nil {
		t.Fatalf("ReleaseKey: %v", err)
	}
	// Released twice, it frees nothing that another call holds.
	if err := s.ReleaseKey(ctx, "t1", small); err != nil {
		t.Fatalf("ReleaseKey again: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march, SpentMicroUSD: 650}) {
		t.Fatalf("month after ReleaseKey = %+v; want 650 spent, nothing held", m)
	}
	// A call without a hold books in the month of now.
	next := ledgerNow.AddDate(0, 0, 1)
	if err := s.Spend(ctx, "t1", campaign.Reservation{}, 1, email.Usage{TotalTokens: 2, Unpriced: 1}, "call-2", next); err != nil {
		t.Fatalf("Spend without a hold: %v", err)
	}
	c := createCapped(t, s, "t1", 1, 0)
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, campaign.Outcome{Usage: email.Usage{TotalTokens: 9}}, ledgerNow); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Usage(ctx, "t1", "2026-03-14", "2026-03-15")
	want := []campaign.UsageRecord{
		{Day: "2026-03-14", CampaignID: "", Emails: 1, Usage: u},
		{Day: "2026-03-14", CampaignID: c.ID, Emails: 1, Usage: email.Usage{TotalTokens: 9}},
		{Day: "2026-03-15", CampaignID: "", Emails: 1, Usage: email.Usage{TotalTokens: 2, Unpriced: 1}},
	}
	if err != nil || !reflect.DeepEqual(recs, want) {
		t.Fatalf("Usage = %+v, %v; want %+v", recs, err, want)
	}
	if m := mustMonth(t, s, "t1", march); m.Unpriced != 1 {
		t.Errorf("month = %+v; want 1 unpriced", m)
	}
	if recs, err := s.Usage(ctx, "t1", "2026-03-16", "2026-03-31"); err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("Usage of days without any = %#v, %v; want an empty slice", recs, err)
	}
	for _, bad := range [][2]string{{"2026-3-14", "2026-03-15"}, {"2026-03-14", ""}, {"2026-03-15", "2026-03-14"}} {
		if _, err := s.Usage(ctx, "t1", bad[0], bad[1]); err == nil {
			t.Errorf("Usage(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if _, err := s.Month(ctx, "t1", "March"); err == nil {
		t.Error("Month of a malformed month succeeded")
	}
	if err := s.Spend(ctx, "t1", campaign.Reservation{}, -1, email.Usage{}, "", ledgerNow); err == nil {
		t.Error("Spend of -1 emails succeeded")
	}
	if err := s.ReleaseKey(ctx, "t1", campaign.Reservation{Amount: 5}); err == nil {
		t.Error("ReleaseKey without a month succeeded")
	}
}

// Ledger records outlive their campaigns: DeleteExpired leaves them, and
// releases what the expired campaign's pending emails still held of the
// tenant's month, which no Finish will now release.
func TestDeleteExpiredKeepsTheLedger(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	c := storetest.NewCampaign("t1", 3)
	c.ExpiresAt = ledgerNow.Add(time.Hour)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, campaign.Outcome{Usage: email.Usage{TotalTokens: 3, CostMicroUSD: 30}}, ledgerNow); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if _, err := s.Reserve(ctx, c.ID, i, "t1", campaign.Reservation{Amount: 100, Month: march}, ledgerNow); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReserveKey(ctx, "t1", campaign.Reservation{Amount: 7, Month: march}, ledgerNow); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := s.DeleteExpired(ctx, ledgerNow.Add(2*time.Hour), 2)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n == 0 {
			break
		}
	}
	if _, err := s.Get(ctx, "t1", c.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("Get after DeleteExpired: %v", err)
	}
	if m := mustMonth(t, s, "t1", march); m != (campaign.MonthSpend{Month: march, SpentMicroUSD: 30, ReservedMicroUSD: 7}) {
		t.Errorf("month = %+v; want 30 spent and only ReserveKey's 7 held", m)
	}
	recs, err := s.Usage(ctx, "t1", "2026-03-01", "2026-03-31")
	if err != nil || len(recs) != 1 || recs[0].CampaignID != c.ID || recs[0].Emails != 1 {
		t.Errorf("Usage = %+v, %v; want the deleted campaign's record", recs, err)
	}
}

// A database made before budgets (no skipped, max_cost_micro_usd,
// reserved_micro_usd, reserved_amount, reserved_month columns, no ledger
// tables) opens: its campaigns read with no cap, nothing skipped or held,
// and budgets work on them.
func TestStoreOpensDatabaseWithoutBudgetColumns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ingren.db")
	s := MustStore(t, path)
	old := storetest.NewCampaign("t1", 2)
	storetest.MustCreate(t, s, old, storetest.NewItems(old))
	db := testprog.MustOpen(t, path)
	for _, stmt := range []string{
		"ALTER TABLE campaigns DROP COLUMN skipped", "ALTER TABLE campaigns DROP COLUMN max_cost_micro_usd",
		"ALTER TABLE campaigns DROP COLUMN reserved_micro_usd",
		"ALTER TABLE campaign_items DROP COLUMN reserved_amount", "ALTER TABLE campaign_items DROP COLUMN reserved_month",
		"DROP TABLE ledger_months", "DROP TABLE ledger_days",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	s = MustStore(t, path)
	got, err := s.Get(ctx, old.Tenant, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.EqualCampaign(t, got, old)
	if e, err := s.Email(ctx, old.ID, 0); err != nil || e.Reserved != (campaign.Reservation{}) {
		t.Fatalf("Email = %+v, %v; want no hold", e, err)
	}
	if _, err := s.Reserve(ctx, old.ID, 0, "t1", campaign.Reservation{Amount: 5, Month: march, KeyLimit: 10}, ledgerNow); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if err := s.Finish(ctx, old.ID, 1, campaign.EmailSkipped, campaign.Outcome{Error: "no room"}, ledgerNow); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	got, err = s.Get(ctx, old.Tenant, old.ID)
	if err != nil || got.Skipped != 1 || got.ReservedMicroUSD != 5 || got.MaxCostMicroUSD != 0 {
		t.Fatalf("Get = %+v, %v; want 1 skipped, 5 µ$ held, no cap", got, err)
	}
	if m := mustMonth(t, s, "t1", march); m.ReservedMicroUSD != 5 {
		t.Fatalf("month = %+v; want 5 held", m)
	}
}

// Create refuses a negative cap and a campaign or email that claims to
// hold budget already: only Reserve takes holds, against the ledger.
func TestCreateRefusesHeldBudget(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t)
	for name, change := range map[string]func(c *campaign.Campaign, items []campaign.Email){
		"negative cap":  func(c *campaign.Campaign, _ []campaign.Email) { c.MaxCostMicroUSD = -1 },
		"campaign held": func(c *campaign.Campaign, _ []campaign.Email) { c.ReservedMicroUSD = 5 },
		"email held":    func(_ *campaign.Campaign, items []campaign.Email) { items[0].Reserved.Amount = 5 },
	} {
		c := storetest.NewCampaign("t1", 1)
		items := storetest.NewItems(c)
		change(c, items)
		if _, err := s.Create(ctx, c, items); err == nil {
			t.Errorf("%s: Create succeeded", name)
		}
	}
}
