package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// transitionTests are the cases of Transition.
var transitionTests = []storeTest{
	{"TransitionFromAllowedState", testTransitionAllowed},
	{"TransitionFromOtherStateIsConflict", testTransitionDisallowed},
	{"TransitionUnknownIsNotFound", testTransitionUnknown},
	{"TransitionRaceHasOneWinner", testTransitionRace},
	{"TransitionToFinalSetsCompletedAt", testTransitionCompletedAt},
}

func testTransitionAllowed(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
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
	c := mustCreateNew(t, s, 1)
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
	mustHaveOneWinner(t, "Transition", 10, campaign.ErrConflict, func(g int) error {
		to := campaign.StatusCompleted
		if g%2 == 1 {
			to = campaign.StatusCancelled
		}
		return s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued, campaign.StatusRunning}, to, base.Add(time.Minute))
	})
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
	c := mustCreateNew(t, s, 1)
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
