package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// holdTests are the cases of Hold.
var holdTests = []storeTest{
	{"HoldHoldsOffOtherOwnersUntilExpiry", testHold},
	{"HoldGivenUpIsFree", testHoldGiveUp},
	{"HoldOfOtherVersionIsVersionMismatch", testHoldMismatch},
	{"HoldRaceHasOneWinner", testHoldRace},
	{"HoldIsInvisibleAndApartFromClaim", testHoldApart},
	{"ReviseReleasesHold", testHoldReleasedByRevise},
	{"HoldMissingEmailIsNotFound", testHoldMissing},
}

// finishedNew creates a campaign of total emails and finishes email 0 as
// succeeded (Version 1).
func finishedNew(tb testing.TB, s campaign.Store, total int) *campaign.Campaign {
	tb.Helper()
	c := mustCreateNew(tb, s, total)
	mustFinish(tb, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "a", 10), base)
	return c
}

func testHold(t *testing.T, s campaign.Store) {
	c := finishedNew(t, s, 1)
	checkLease(t, "Hold", func(owner string, now, until time.Time) error {
		return s.Hold(context.Background(), c.ID, 0, 1, owner, now, until)
	})
}

func testHoldGiveUp(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedNew(t, s, 1)
	if err := s.Hold(ctx, c.ID, 0, 1, "a", base, base.Add(time.Hour)); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	now := base.Add(time.Second)
	if err := s.Hold(ctx, c.ID, 0, 1, "a", now, now); err != nil {
		t.Fatalf("giving the hold up: %v", err)
	}
	if err := s.Hold(ctx, c.ID, 0, 1, "b", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("Hold of an email given up: %v", err)
	}
}

func testHoldMismatch(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedNew(t, s, 2)
	for _, version := range []int{0, 2} {
		if err := s.Hold(ctx, c.ID, 0, version, "a", base, base.Add(time.Minute)); !errors.Is(err, campaign.ErrVersionMismatch) {
			t.Errorf("Hold at version %d of an email at 1: %v, want ErrVersionMismatch", version, err)
		}
	}
	// A pending email has nothing to regenerate, whatever the version.
	for _, version := range []int{0, 1} {
		if err := s.Hold(ctx, c.ID, 1, version, "a", base, base.Add(time.Minute)); !errors.Is(err, campaign.ErrVersionMismatch) {
			t.Errorf("Hold at version %d of a pending email: %v, want ErrVersionMismatch", version, err)
		}
	}
	// The refused holds took nothing.
	if err := s.Hold(ctx, c.ID, 0, 1, "b", base, base.Add(time.Minute)); err != nil {
		t.Errorf("Hold after refused ones: %v", err)
	}
}

func testHoldRace(t *testing.T, s campaign.Store) {
	c := finishedNew(t, s, 1)
	mustHaveOneWinner(t, "Hold", 12, campaign.ErrClaimed, func(g int) error {
		return s.Hold(context.Background(), c.ID, 0, 1, fmt.Sprintf("owner-%d", g), base, base.Add(time.Minute))
	})
}

// testHoldApart checks that a hold changes nothing a reader sees, that the
// worker's Claim lease a finished email keeps does not stop it, and that
// it stops no Revise (which is conditional on the version alone).
func testHoldApart(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	if err := s.Claim(ctx, c.ID, 0, "worker", base, base.Add(time.Hour)); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "a", 10), base)
	beforeC, before := mustGet(t, s, c), mustEmail(t, s, c.ID, 0)
	if err := s.Hold(ctx, c.ID, 0, 1, "reviewer", base, base.Add(time.Minute)); err != nil {
		t.Fatalf("Hold of an email with a Claim lease: %v", err)
	}
	EqualCampaign(t, mustGet(t, s, c), beforeC)
	EqualEmail(t, mustEmail(t, s, c.ID, 0), before)
	mustBeDone(t, s.Claim(ctx, c.ID, 0, "other", base, base.Add(time.Minute)), "while held")
	mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, base)
}

func testHoldReleasedByRevise(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedNew(t, s, 1)
	until := base.Add(time.Hour)
	if err := s.Hold(ctx, c.ID, 0, 1, "a", base, until); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	mustBeClaimed(t, s.Hold(ctx, c.ID, 0, 1, "b", base, base.Add(time.Minute)), until)
	draft := outcomeOf(campaign.EmailSucceeded, "b", 10)
	mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded}, base)
	if err := s.Hold(ctx, c.ID, 0, 2, "b", base, base.Add(time.Minute)); err != nil {
		t.Errorf("Hold after Revise: %v, want the hold released", err)
	}
}

func testHoldMissing(t *testing.T, s campaign.Store) {
	c := finishedNew(t, s, 1)
	mustBeNotFound(t, c, func(id string, index int) error {
		return s.Hold(context.Background(), id, index, 1, "a", base, base.Add(time.Minute))
	})
}
