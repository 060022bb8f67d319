package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
)

// raceHolds takes hold h for every email of every campaign in cs, each
// from its own goroutine, all at once, and returns how many Reserves
// succeeded; every other must fail with lose.
func raceHolds(t *testing.T, s campaign.Store, cs []*campaign.Campaign, h campaign.Reservation, lose error) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range cs {
		for i := range c.Total {
			wg.Go(func() {
				<-start
				switch _, err := s.Reserve(context.Background(), c.ID, i, c.Tenant, h, base); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, lose):
				default:
					t.Errorf("Reserve %d: %v, want nil or %v", i, err, lose)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

// heldEmails counts the emails of c that hold unit, failing the test for
// one that holds something else.
func heldEmails(t *testing.T, s campaign.Store, c *campaign.Campaign) int64 {
	t.Helper()
	all, _ := AllItems(t, s, c.ID, 100)
	var n int64
	for _, e := range all {
		switch held(e.Reserved) {
		case hold(unit, month, 0):
			n++
		case campaign.Reservation{}:
		default:
			t.Errorf("email %d holds %+v", e.Index, e.Reserved)
		}
	}
	return n
}

// testReserveRaceCampaign races 32 emails' Reserves against a campaign cap
// of 20 of them: exactly 20 hold.
func testReserveRaceCampaign(t *testing.T, s campaign.Store) {
	c := ledgerCampaign(t, s, newTenant(), 32, 20*unit)
	if n := raceHolds(t, s, []*campaign.Campaign{c}, hold(unit, month, 0), campaign.ErrCampaignBudget); n != 20 {
		t.Errorf("%d of 32 racing Reserves held under a cap of 20, want 20", n)
	}
	checkHeld(t, s, c, 20*unit, 0)
	checkMonth(t, s, c.Tenant, month, 0, 20*unit, 0)
	if n := heldEmails(t, s, c); n != 20 {
		t.Errorf("%d emails hold, want 20", n)
	}
}

// testReserveRaceKey races the Reserves of two campaigns of 16 emails,
// without caps of their own, against their tenant's monthly limit of 20 of
// them: exactly 20 hold.
func testReserveRaceKey(t *testing.T, s campaign.Store) {
	tenant := newTenant()
	x, y := ledgerCampaign(t, s, tenant, 16, 0), ledgerCampaign(t, s, tenant, 16, 0)
	if n := raceHolds(t, s, []*campaign.Campaign{x, y}, hold(unit, month, 20*unit), campaign.ErrKeyBudget); n != 20 {
		t.Errorf("%d of 32 racing Reserves held under a key limit of 20, want 20", n)
	}
	checkMonth(t, s, tenant, month, 0, 20*unit, 0)
	nx, ny := heldEmails(t, s, x), heldEmails(t, s, y)
	if nx+ny != 20 {
		t.Errorf("%d and %d emails hold, want 20 in all", nx, ny)
	}
	checkHeld(t, s, x, nx*unit, 0)
	checkHeld(t, s, y, ny*unit, 0)
}

// testReserveFinishRace works 60 emails from 8 workers as the worker does,
// under a cap of 20 emails' estimate: each holds the estimate, then
// finishes with a real cost that differs from it by up to a fifth, or, refused,
// finishes skipped. After every settle a reader checks that what the
// campaign and the month booked and hold passes the cap by no more than
// the settles seen so far cost above their holds; at the end nothing is
// held and every cost is booked once.
func testReserveFinishRace(t *testing.T, s campaign.Store) {
	const total, workers, cap = 60, 8, 20 * unit
	ctx := context.Background()
	c := ledgerCampaign(t, s, newTenant(), total, cap)
	cost := func(i int) int64 { return unit + int64(i%5-2)*unit/10 } // 800..1200

	var (
		over      atomic.Int64 // what settles cost above their holds, added before each settle
		spent     atomic.Int64 // what the successful settles cost
		taken     atomic.Int32
		refused   atomic.Int32
		settles   = make(chan struct{}, total)
		indexes   = make(chan int)
		wg, check sync.WaitGroup
	)
	check.Go(func() {
		for range settles {
			// Read the store first, then the bound: a settle the read saw
			// has added its excess before.
			got, err := s.Get(ctx, c.Tenant, c.ID)
			if err != nil {
				t.Errorf("Get: %v", err)
				continue
			}
			m, err := s.Month(ctx, c.Tenant, month)
			if err != nil {
				t.Errorf("Month: %v", err)
				continue
			}
			bound := cap + over.Load()
			if b := got.Usage.CostMicroUSD + got.ReservedMicroUSD; b > bound {
				t.Errorf("campaign booked %d µ$ and holds %d: %d past a cap of %d plus %d over estimates",
					got.Usage.CostMicroUSD, got.ReservedMicroUSD, b-cap, cap, bound-cap)
			}
			if b := m.SpentMicroUSD + m.ReservedMicroUSD; b > bound {
				t.Errorf("month spent %d µ$ and holds %d: %d past a cap of %d plus %d over estimates",
					m.SpentMicroUSD, m.ReservedMicroUSD, b-cap, cap, bound-cap)
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for i := range indexes {
				_, err := s.Reserve(ctx, c.ID, i, c.Tenant, hold(unit, month, 0), base)
				switch {
				case errors.Is(err, campaign.ErrCampaignBudget):
					refused.Add(1)
					if err := s.Finish(ctx, c.ID, i, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "x", 0), base); err != nil {
						t.Errorf("Finish %d skipped: %v", i, err)
					}
					continue
				case err != nil:
					t.Errorf("Reserve %d: %v", i, err)
					continue
				}
				taken.Add(1)
				over.Add(max(0, cost(i)-unit))
				if err := s.Finish(ctx, c.ID, i, campaign.EmailSucceeded, settled(campaign.EmailSucceeded, cost(i)), base); err != nil {
					t.Errorf("Finish %d: %v", i, err)
					continue
				}
				spent.Add(cost(i))
				settles <- struct{}{}
			}
		})
	}
	for i := range total {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
	close(settles)
	check.Wait()

	got := mustGet(t, s, c)
	t.Logf("%d held, %d refused; booked %d µ$ under a cap of %d", taken.Load(), refused.Load(), got.Usage.CostMicroUSD, cap)
	if got.ReservedMicroUSD != 0 || got.Usage.CostMicroUSD != spent.Load() {
		t.Errorf("campaign holds %d µ$ and booked %d; want 0 and %d", got.ReservedMicroUSD, got.Usage.CostMicroUSD, spent.Load())
	}
	if got.Usage.CostMicroUSD > cap+over.Load() {
		t.Errorf("booked %d µ$, past the cap of %d by more than the %d the calls cost over their holds", got.Usage.CostMicroUSD, cap, over.Load())
	}
	checkMonth(t, s, c.Tenant, month, spent.Load(), 0, 0)
	if int(taken.Load()) != got.Succeeded || int(refused.Load()) != got.Skipped || got.Skipped != got.Failed || got.Pending() != 0 {
		t.Errorf("%d succeeded, %d failed, %d skipped, %d pending; want %d, %d, %d, 0",
			got.Succeeded, got.Failed, got.Skipped, got.Pending(), taken.Load(), refused.Load(), refused.Load())
	}
	// A refusal means the booked and held cost was past 19 estimates;
	// what was held then cost at least 4/5 of its estimate of at most 20,
	// so at least 15 estimates were booked, at most 6/5 of one each.
	if refused.Load() == 0 || taken.Load() < 13 {
		t.Errorf("%d held and %d refused: a cap of 20 estimates must refuse some of 60 and take at least 13", taken.Load(), refused.Load())
	}
}
