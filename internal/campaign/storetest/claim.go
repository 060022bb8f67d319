package storetest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// claimTests are the cases of Claim and Release.
var claimTests = []storeTest{
	{"ClaimHoldsOffOtherOwnersUntilExpiry", testClaim},
	{"ClaimReleasedIsFree", testClaimRelease},
	{"ClaimRaceHasOneWinner", testClaimRace},
	{"ClaimsAreEmailsOwn", testClaimPerEmail},
	{"LeasesAreInvisibleAndStopAtFinish", testClaimInvisible},
}

func testClaim(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 2)
	checkLease(t, "Claim", func(owner string, now, until time.Time) error {
		return s.Claim(context.Background(), c.ID, 1, owner, now, until)
	})
}

func testClaimRelease(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
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
	c := mustCreateNew(t, s, 1)
	mustHaveOneWinner(t, "Claim", 12, campaign.ErrClaimed, func(g int) error {
		return s.Claim(context.Background(), c.ID, 0, fmt.Sprintf("owner-%d", g), base, base.Add(time.Minute))
	})
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
