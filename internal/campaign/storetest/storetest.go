// Package storetest is the conformance suite of campaign.Store: every
// implementation passes Run, and a new backend is done when it does.
//
// Run is the one entry point. Its cases live one file per part of the port
// (create.go, read.go, finish.go, claim.go, transition.go, tasks.go,
// expiry.go; revise.go, hold.go, retry.go and filter.go for review and
// retry; batch.go for batch mode; ledger.go and ledger_race.go for
// budgets and the spend they book); helpers.go has what they and the
// stores' own tests share.
package storetest

import (
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// Run runs the suite. newStore returns an empty store for one subtest whose
// clock is now (it decides which campaigns have expired); it stops what it
// starts with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) campaign.Store) {
	for _, tests := range [][]storeTest{createTests, readTests, finishTests, costTests, claimTests, transitionTests, taskTests,
		reviseTests, holdTests, retryTests, filterTests, batchTests, ledgerTests} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.run(t, newStore(t, Now))
			})
		}
	}
	for _, tc := range expiryTests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(base)
			tc.run(t, newStore(t, clock.Now), clock)
		})
	}
}

// storeTest is one case of the suite, run on a new store whose clock is Now.
type storeTest struct {
	name string
	run  func(t *testing.T, s campaign.Store)
}

// base is the suite's clock: a time with sub-millisecond digits, so that the
// store's rounding shows.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// Now is the suite's clock for a store built outside Run: it reads the time
// NewCampaign creates campaigns at, so that they have not expired.
func Now() time.Time { return base }
