package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
