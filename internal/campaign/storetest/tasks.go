package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// taskTests are the cases of ClaimTask and FinishTask.
var taskTests = []storeTest{
	{"ClaimTaskHoldsOffOtherOwnersUntilExpiry", testClaimTask},
	{"ClaimTaskGivenUpIsFree", testClaimTaskGiveUp},
	{"ClaimTaskRaceHasOneWinner", testClaimTaskRace},
	{"FinishTaskEndsEveryClaim", testFinishTask},
	{"TasksAreCampaignsOwnAndInvisible", testTasksPerCampaign},
	{"TaskOfUnknownCampaignIsNotFound", testTaskUnknown},
	{"UnknownTaskIsRejected", testTaskInvalid},
}

func testClaimTask(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	checkLease(t, "ClaimTask", func(owner string, now, until time.Time) error {
		return s.ClaimTask(context.Background(), c.ID, campaign.TaskExpand, owner, now, until)
	})
}

func testClaimTaskGiveUp(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "a", base, base.Add(time.Hour)); err != nil {
		t.Fatalf("ClaimTask: %v", err)
	}
	// The holder moves its lease to now: given up.
	now := base.Add(time.Second)
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "a", now, now); err != nil {
		t.Fatalf("giving the task up: %v", err)
	}
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "b", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("ClaimTask of a task given up: %v", err)
	}
}

func testClaimTaskRace(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	mustHaveOneWinner(t, "ClaimTask", 12, campaign.ErrClaimed, func(g int) error {
		return s.ClaimTask(context.Background(), c.ID, campaign.TaskExpand, fmt.Sprintf("owner-%d", g), base, base.Add(time.Minute))
	})
}

func testFinishTask(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskExpand, "a", base, base.Add(time.Minute)); err != nil {
		t.Fatalf("ClaimTask: %v", err)
	}
	if err := s.FinishTask(ctx, c.ID, campaign.TaskExpand); err != nil {
		t.Fatalf("FinishTask: %v", err)
	}
	if err := s.FinishTask(ctx, c.ID, campaign.TaskExpand); err != nil {
		t.Fatalf("FinishTask again: %v", err)
	}
	// Neither the holder, nor another owner, nor anyone after the lease.
	later := base.Add(time.Hour)
	for _, k := range []struct {
		owner string
		now   time.Time
	}{{"a", base}, {"b", base}, {"b", later}} {
		if err := s.ClaimTask(ctx, c.ID, campaign.TaskExpand, k.owner, k.now, k.now.Add(time.Minute)); !errors.Is(err, campaign.ErrAlreadyDone) {
			t.Errorf("ClaimTask by %s at %v of a finished task: %v, want ErrAlreadyDone", k.owner, k.now, err)
		}
	}
	// A task never claimed can be finished too.
	if err := s.FinishTask(ctx, c.ID, campaign.TaskNotify); err != nil {
		t.Fatalf("FinishTask of an unclaimed task: %v", err)
	}
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "a", base, later); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("ClaimTask of a task finished unclaimed: %v, want ErrAlreadyDone", err)
	}
}

func testTasksPerCampaign(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 2)
	other := NewCampaign("tenant-a", 1)
	want := MustCreate(t, s, c, NewItems(c))
	MustCreate(t, s, other, NewItems(other))
	for _, k := range []struct {
		id   string
		task campaign.Task
	}{{c.ID, campaign.TaskExpand}, {c.ID, campaign.TaskNotify}, {other.ID, campaign.TaskExpand}} {
		if err := s.ClaimTask(ctx, k.id, k.task, k.id+"/"+string(k.task), base, base.Add(time.Minute)); err != nil {
			t.Errorf("ClaimTask %s/%s: %v", k.id, k.task, err)
		}
	}
	if err := s.FinishTask(ctx, c.ID, campaign.TaskExpand); err != nil {
		t.Fatal(err)
	}
	mustBeClaimed(t, s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "x", base, base), base.Add(time.Minute))
	mustBeClaimed(t, s.ClaimTask(ctx, other.ID, campaign.TaskExpand, "x", base, base), base.Add(time.Minute))
	// Tasks change nothing a reader of the campaign sees, and the
	// campaign's own writes leave them be.
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	EqualCampaign(t, got, want)
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued}, campaign.StatusRunning, base); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailFailed, campaign.Outcome{Error: "x"}, base); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskExpand, "x", base, base); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("ClaimTask of a finished task after the campaign's writes: %v, want ErrAlreadyDone", err)
	}
	mustBeClaimed(t, s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "x", base, base), base.Add(time.Minute))
}

func testTaskUnknown(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	if err := s.ClaimTask(ctx, "no-such-campaign", campaign.TaskExpand, "a", base, base.Add(time.Minute)); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("ClaimTask: %v, want ErrNotFound", err)
	}
	if err := s.FinishTask(ctx, "no-such-campaign", campaign.TaskExpand); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("FinishTask: %v, want ErrNotFound", err)
	}
}

func testTaskInvalid(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	for _, task := range []campaign.Task{"", "status", "expand_until"} {
		if err := s.ClaimTask(ctx, c.ID, task, "a", base, base.Add(time.Minute)); err == nil {
			t.Errorf("ClaimTask of task %q: no error", task)
		}
		if err := s.FinishTask(ctx, c.ID, task); err == nil {
			t.Errorf("FinishTask of task %q: no error", task)
		}
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil || got.Status != campaign.StatusQueued {
		t.Fatalf("after refused tasks: %+v, %v", got, err)
	}
}
