package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// retryTests are the cases of Reopen, Reset and EndRetry.
var retryTests = []storeTest{
	{"ReopenStartsNextRoundAndUndoesNotify", testReopen},
	{"ReopenOfOtherStatusOrRoundIsConflict", testReopenConflict},
	{"ReopenRaceHasOneWinner", testReopenRace},
	{"ReopenUnknownIsNotFound", testReopenUnknown},
	{"EndRetryEndsOnlyItsRound", testEndRetry},
	{"ResetMakesEmailPendingAndMovesCounters", testReset},
	{"ResetRefusesWhatIsNotToRetry", testResetRefused},
	{"ResetRaceHasOneWinner", testResetRace},
	{"ResetMissingEmailIsNotFound", testResetMissing},
	{"ResetFromSkippedMovesSkippedBack", testResetSkipped},
}

// testResetSkipped retries emails a budget skipped: Reset takes a skipped
// email only when skipped is in from (it is not failed), and moves the
// campaign's skipped counter back with its failed one.
func testResetSkipped(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 3, campaign.StatusCompletedWithErrors)
	items := NewItems(c)
	mustFinish(t, s, c.ID, 0, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "a", 0), base)
	failed := outcomeOf(campaign.EmailFailed, "b", 10)
	mustFinish(t, s, c.ID, 1, campaign.EmailFailed, failed, base)
	mustFinish(t, s, c.ID, 2, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "c", 0), base)
	if err := s.Reopen(ctx, c.ID, 0, base.Add(time.Second)); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if got := mustGet(t, s, c); got.Failed != 3 || got.Skipped != 2 {
		t.Fatalf("before Reset: %d failed, %d skipped; want 3, 2", got.Failed, got.Skipped)
	}

	now := base.Add(time.Minute)
	onlyFailed := []campaign.EmailStatus{campaign.EmailFailed}
	if err := s.Reset(ctx, c.ID, 0, onlyFailed, 1, now); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("Reset of a skipped email from failed: %v, want ErrAlreadyDone", err)
	}
	if err := s.Reset(ctx, c.ID, 0, []campaign.EmailStatus{campaign.EmailSkipped}, 1, now); err != nil {
		t.Fatalf("Reset 0 from skipped: %v", err)
	}
	want := mustGet(t, s, c)
	if want.Failed != 2 || want.Skipped != 1 || want.Pending() != 1 {
		t.Errorf("after Reset of a skipped email: %d failed, %d skipped, %d pending; want 2, 1, 1", want.Failed, want.Skipped, want.Pending())
	}
	if err := s.Reset(ctx, c.ID, 1, onlyFailed, 1, now); err != nil {
		t.Fatalf("Reset 1 from failed: %v", err)
	}
	if err := s.Reset(ctx, c.ID, 2, []campaign.EmailStatus{campaign.EmailFailed, campaign.EmailSkipped}, 1, now); err != nil {
		t.Fatalf("Reset 2 from failed or skipped: %v", err)
	}
	got := mustGet(t, s, c)
	if got.Failed != 0 || got.Skipped != 0 || got.Pending() != 3 || got.Usage != failed.Usage {
		t.Errorf("after every Reset: %d failed, %d skipped, %d pending, usage %+v; want 0, 0, 3, %+v",
			got.Failed, got.Skipped, got.Pending(), got.Usage, failed.Usage)
	}
	for _, i := range []int{0, 2} {
		want := items[i]
		want.Round, want.Version = 1, 2
		EqualEmail(t, mustEmail(t, s, c.ID, i), &want)
	}
	// Worked again, it counts as any email does.
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "d", 10), now)
	mustFinish(t, s, c.ID, 2, campaign.EmailSkipped, outcomeOf(campaign.EmailSkipped, "e", 0), now)
	if got := mustGet(t, s, c); got.Succeeded != 1 || got.Failed != 1 || got.Skipped != 1 {
		t.Errorf("after Finish: %d succeeded, %d failed, %d skipped; want 1, 1, 1", got.Succeeded, got.Failed, got.Skipped)
	}
}

var (
	fromRunning = []campaign.Status{campaign.StatusRunning}
	fromQueued  = []campaign.Status{campaign.StatusQueued}
)

// finishedCampaign creates a campaign of total emails, runs it and moves
// it to status (a final one) at base: its emails stay as they are, for the
// test to finish.
func finishedCampaign(tb testing.TB, s campaign.Store, total int, status campaign.Status) *campaign.Campaign {
	tb.Helper()
	ctx := context.Background()
	c := mustCreateNew(tb, s, total)
	if err := s.Transition(ctx, c.ID, fromQueued, campaign.StatusRunning, base); err != nil {
		tb.Fatalf("Transition to running: %v", err)
	}
	if err := s.Transition(ctx, c.ID, fromRunning, status, base); err != nil {
		tb.Fatalf("Transition to %s: %v", status, err)
	}
	return c
}

func testReopen(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 1, campaign.StatusCompletedWithErrors)
	for _, task := range []campaign.Task{campaign.TaskExpand, campaign.TaskNotify} {
		if err := s.FinishTask(ctx, c.ID, task); err != nil {
			t.Fatalf("FinishTask %s: %v", task, err)
		}
	}
	before := mustGet(t, s, c)
	now := base.Add(time.Hour + 123456)
	if err := s.Reopen(ctx, c.ID, 0, now); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	want := *before
	want.Status, want.Round, want.Retrying = campaign.StatusRunning, 1, true
	want.CompletedAt, want.UpdatedAt = time.Time{}, now
	EqualCampaign(t, mustGet(t, s, c), &want)
	// The webhook is called again once the campaign finishes again; the
	// expansion is not done again.
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "a", now, now.Add(time.Minute)); err != nil {
		t.Errorf("ClaimTask notify after Reopen: %v, want the task undone", err)
	}
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskExpand, "a", now, now.Add(time.Minute)); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("ClaimTask expand after Reopen: %v, want ErrAlreadyDone", err)
	}

	// The second round, from completed.
	if err := s.EndRetry(ctx, c.ID, 1, now); err != nil {
		t.Fatalf("EndRetry: %v", err)
	}
	done := now.Add(time.Minute)
	if err := s.Transition(ctx, c.ID, fromRunning, campaign.StatusCompleted, done); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	if err := s.FinishTask(ctx, c.ID, campaign.TaskNotify); err != nil {
		t.Fatalf("FinishTask: %v", err)
	}
	later := done.Add(time.Minute)
	if err := s.Reopen(ctx, c.ID, 1, later); err != nil {
		t.Fatalf("Reopen of round 1: %v", err)
	}
	want.Round, want.UpdatedAt = 2, later
	EqualCampaign(t, mustGet(t, s, c), &want)
	if err := s.ClaimTask(ctx, c.ID, campaign.TaskNotify, "b", later, later.Add(time.Minute)); err != nil {
		t.Errorf("ClaimTask notify after the second Reopen: %v, want the task undone", err)
	}
}

func testReopenConflict(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status campaign.Status
		round  int
	}{
		{"Queued", campaign.StatusQueued, 0},
		{"Running", campaign.StatusRunning, 0},
		{"Cancelled", campaign.StatusCancelled, 0},
		{"RoundPassed", campaign.StatusCompleted, 1},
		{"RoundAhead", campaign.StatusCompleted, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCampaign("tenant-a", 1)
			c.Status, c.Round = tc.status, 1
			if tc.status.Final() {
				c.CompletedAt = base
			}
			MustCreate(t, s, c, NewItems(c))
			if err := s.Reopen(ctx, c.ID, c.Round+tc.round, base.Add(time.Hour)); !errors.Is(err, campaign.ErrConflict) {
				t.Errorf("Reopen: %v, want ErrConflict", err)
			}
			EqualCampaign(t, mustGet(t, s, c), c)
		})
	}
}

func testReopenRace(t *testing.T, s campaign.Store) {
	c := finishedCampaign(t, s, 1, campaign.StatusCompleted)
	mustHaveOneWinner(t, "Reopen", 10, campaign.ErrConflict, func(g int) error {
		return s.Reopen(context.Background(), c.ID, 0, base.Add(time.Minute))
	})
	if got := mustGet(t, s, c); got.Round != 1 || !got.Retrying || got.Status != campaign.StatusRunning {
		t.Errorf("after the race: round %d, retrying %v, %s; want 1, true, running", got.Round, got.Retrying, got.Status)
	}
}

func testReopenUnknown(t *testing.T, s campaign.Store) {
	if err := s.Reopen(context.Background(), NewID(), 0, base); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Reopen: %v, want ErrNotFound", err)
	}
	if err := s.EndRetry(context.Background(), NewID(), 1, base); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("EndRetry: %v, want ErrNotFound", err)
	}
}

func testEndRetry(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 1, campaign.StatusCompleted)
	reopened := base.Add(time.Minute)
	if err := s.Reopen(ctx, c.ID, 0, reopened); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	before := mustGet(t, s, c)
	// Another round's EndRetry (an old delivery's, or one from the future)
	// changes nothing.
	for _, round := range []int{0, 2} {
		if err := s.EndRetry(ctx, c.ID, round, base.Add(time.Hour)); err != nil {
			t.Errorf("EndRetry of round %d: %v", round, err)
		}
		EqualCampaign(t, mustGet(t, s, c), before)
	}
	now := base.Add(2 * time.Minute)
	if err := s.EndRetry(ctx, c.ID, 1, now); err != nil {
		t.Fatalf("EndRetry: %v", err)
	}
	want := *before
	want.Retrying, want.UpdatedAt = false, now
	EqualCampaign(t, mustGet(t, s, c), &want)
	// Again, as a redelivered message does.
	if err := s.EndRetry(ctx, c.ID, 1, now); err != nil {
		t.Fatalf("EndRetry again: %v", err)
	}
	EqualCampaign(t, mustGet(t, s, c), &want)
}

// testReset resets emails of every kind that a retry takes: their
// outcome, review and leases go, the campaign's counters (not its usage)
// move back, and the email is worked again.
func testReset(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 4, campaign.StatusCompletedWithErrors)
	items := NewItems(c)
	for i := range 4 {
		if err := s.Claim(ctx, c.ID, i, "worker", base, base.Add(time.Hour)); err != nil {
			t.Fatalf("Claim %d: %v", i, err)
		}
	}
	// 0 failed; 1 needs_review, edited, noted and held; 2 succeeded and
	// rejected; 3 succeeded, stays.
	mustFinish(t, s, c.ID, 0, campaign.EmailFailed, outcomeOf(campaign.EmailFailed, "a", 10), base)
	// Written through a Batch API: its batch usage stays too.
	batched := outcomeOf(campaign.EmailNeedsReview, "b", 10)
	batched.Usage = batched.Usage.AsBatch()
	mustFinish(t, s, c.ID, 1, campaign.EmailNeedsReview, batched, base)
	mustFinish(t, s, c.ID, 2, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "c", 10), base)
	mustFinish(t, s, c.ID, 3, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "d", 10), base)
	mustRevise(t, s, c.ID, 1, 1, campaign.Revision{Edit: anEdit("mine", base), Note: stringPtr("n")}, base)
	mustRevise(t, s, c.ID, 2, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewRejected), Note: stringPtr("no")}, base)
	if err := s.Hold(ctx, c.ID, 1, 2, "reviewer", base, base.Add(time.Hour)); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := s.Reopen(ctx, c.ID, 0, base.Add(time.Second)); err != nil {
		t.Fatalf("Reopen: %v", err)
	}

	now := base.Add(time.Minute)
	for _, r := range []struct {
		index int
		from  []campaign.EmailStatus
	}{
		{0, []campaign.EmailStatus{campaign.EmailFailed}},
		{1, []campaign.EmailStatus{campaign.EmailFailed, campaign.EmailNeedsReview}},
		{2, []campaign.EmailStatus{campaign.EmailSucceeded}},
	} {
		version := mustEmail(t, s, c.ID, r.index).Version
		if err := s.Reset(ctx, c.ID, r.index, r.from, 1, now); err != nil {
			t.Fatalf("Reset %d: %v", r.index, err)
		}
		want := items[r.index]
		want.Round, want.Version = 1, version+1
		EqualEmail(t, mustEmail(t, s, c.ID, r.index), &want)
	}
	want := *c
	want.Status, want.Round, want.Retrying = campaign.StatusRunning, 1, true
	want.Succeeded = 1
	want.Usage = email.Usage{PromptTokens: 36, CompletionTokens: 4, TotalTokens: 40, BatchPromptTokens: 9, BatchCompletionTokens: 1}
	want.CreatedAt, want.UpdatedAt = c.CreatedAt, now
	EqualCampaign(t, mustGet(t, s, c), &want)

	// Worked again: the leases and the hold are gone, and Finish counts.
	for i := range 3 {
		if err := s.Claim(ctx, c.ID, i, "worker-2", now, now.Add(time.Minute)); err != nil {
			t.Errorf("Claim %d after Reset: %v, want its lease released", i, err)
		}
	}
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "e", 10), now)
	if err := s.Hold(ctx, c.ID, 1, 4, "another", now, now.Add(time.Minute)); err != nil {
		t.Errorf("Hold after Reset and Finish: %v, want the old hold released", err)
	}
	if got := mustGet(t, s, c); got.Succeeded != 2 || got.Failed != 0 || got.NeedsReview != 0 || got.Pending() != 2 {
		t.Errorf("after Finish: %d succeeded (%d review), %d failed, %d pending; want 2 (0), 0, 2",
			got.Succeeded, got.NeedsReview, got.Failed, got.Pending())
	}
}

func testResetRefused(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 4, campaign.StatusCompletedWithErrors)
	// 0 needs_review approved; 1 succeeded; 2 pending; 3 failed, reset in
	// round 1 and failed again.
	mustFinish(t, s, c.ID, 0, campaign.EmailNeedsReview, outcomeOf(campaign.EmailNeedsReview, "a", 10), base)
	mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, base)
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "b", 10), base)
	mustFinish(t, s, c.ID, 3, campaign.EmailFailed, outcomeOf(campaign.EmailFailed, "c", 10), base)
	if err := s.Reopen(ctx, c.ID, 0, base); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if err := s.Reset(ctx, c.ID, 3, []campaign.EmailStatus{campaign.EmailFailed}, 1, base); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	mustFinish(t, s, c.ID, 3, campaign.EmailFailed, outcomeOf(campaign.EmailFailed, "c", 10), base)

	all := []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailNeedsReview, campaign.EmailFailed}
	beforeC := mustGet(t, s, c)
	before, _ := AllItems(t, s, c.ID, 10)
	for _, tc := range []struct {
		name  string
		index int
		from  []campaign.EmailStatus
		round int
	}{
		{"Approved", 0, all, 1},
		{"StatusNotInFrom", 1, []campaign.EmailStatus{campaign.EmailFailed, campaign.EmailNeedsReview}, 1},
		{"NoStatuses", 1, nil, 1},
		{"Pending", 2, all, 1},
		{"PendingInFrom", 2, append([]campaign.EmailStatus{campaign.EmailPending}, all...), 1},
		{"RoundReached", 3, all, 1},
		{"RoundPassed", 3, all, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Reset(ctx, c.ID, tc.index, tc.from, tc.round, base.Add(time.Hour)); !errors.Is(err, campaign.ErrAlreadyDone) {
				t.Errorf("Reset: %v, want ErrAlreadyDone", err)
			}
		})
	}
	EqualCampaign(t, mustGet(t, s, c), beforeC)
	after, _ := AllItems(t, s, c.ID, 10)
	for i := range before {
		EqualEmail(t, &after[i], &before[i])
	}
	// The next round takes the email that failed again.
	if err := s.Reset(ctx, c.ID, 3, all, 2, base); err != nil {
		t.Errorf("Reset in round 2: %v", err)
	}
}

func testResetRace(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := finishedCampaign(t, s, 1, campaign.StatusCompletedWithErrors)
	mustFinish(t, s, c.ID, 0, campaign.EmailFailed, outcomeOf(campaign.EmailFailed, "a", 10), base)
	if err := s.Reopen(ctx, c.ID, 0, base); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	mustHaveOneWinner(t, "Reset", 10, campaign.ErrAlreadyDone, func(g int) error {
		return s.Reset(ctx, c.ID, 0, []campaign.EmailStatus{campaign.EmailFailed}, 1, base.Add(time.Duration(g)*time.Millisecond))
	})
	if got := mustGet(t, s, c); got.Failed != 0 || got.Pending() != 1 {
		t.Errorf("after the race: %d failed, %d pending; want 0, 1", got.Failed, got.Pending())
	}
	if e := mustEmail(t, s, c.ID, 0); e.Version != 2 || e.Status != campaign.EmailPending {
		t.Errorf("email after the race: %s at version %d, want pending at 2", e.Status, e.Version)
	}
}

func testResetMissing(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	mustBeNotFound(t, c, func(id string, index int) error {
		return s.Reset(context.Background(), id, index, []campaign.EmailStatus{campaign.EmailFailed}, 1, base)
	})
}
