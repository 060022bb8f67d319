package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// finishTests are the cases of Finish.
var finishTests = []storeTest{
	{"FinishRecordsOutcomeAndCounts", testFinish},
	{"FinishTwiceIsAlreadyDone", testFinishTwice},
	{"FinishMissingEmailIsNotFound", testFinishMissing},
	{"FinishWithPendingStatusIsRejected", testFinishPendingStatus},
	{"FinishSameEmailConcurrentlyCountsOnce", testFinishSameEmailConcurrently},
	{"FinishAllEmailsConcurrentlyCountsEach", testFinishAllConcurrently},
	{"FinishSkippedCountsAsFailedAndSkipped", testFinishSkipped},
}

// testFinishSkipped finishes emails that a budget skipped: each counts as
// failed and as skipped, keeps the reason in Outcome.Error, and is done.
func testFinishSkipped(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 4)
	skipped := campaign.Outcome{Error: campaign.ErrCampaignBudget.Message}
	now := base.Add(time.Second)
	mustFinish(t, s, c.ID, 0, campaign.EmailSkipped, skipped, now)
	want := *c
	want.Failed, want.Skipped, want.UpdatedAt = 1, 1, now
	EqualCampaign(t, mustGet(t, s, c), &want)

	// A failure and another skip beside it.
	failed := outcomeOf(campaign.EmailFailed, "a", 10)
	mustFinish(t, s, c.ID, 1, campaign.EmailFailed, failed, now)
	keySkipped := campaign.Outcome{Error: campaign.ErrKeyBudget.Message}
	now = base.Add(2 * time.Second)
	mustFinish(t, s, c.ID, 3, campaign.EmailSkipped, keySkipped, now)
	want.Failed, want.Skipped, want.Usage, want.UpdatedAt = 3, 2, failed.Usage, now
	got := mustGet(t, s, c)
	EqualCampaign(t, got, &want)
	if got.Unskipped() != 1 || got.Pending() != 1 {
		t.Errorf("Unskipped = %d, Pending = %d; want 1, 1", got.Unskipped(), got.Pending())
	}

	for index, o := range map[int]campaign.Outcome{0: skipped, 3: keySkipped} {
		e := mustEmail(t, s, c.ID, index)
		if e.Status != campaign.EmailSkipped || e.Outcome == nil || !reflect.DeepEqual(*e.Outcome, o) || e.Version != 1 {
			t.Errorf("email %d = %s %+v at version %d, want skipped %+v at 1", index, e.Status, e.Outcome, e.Version, o)
		}
	}
	all, _ := AllItems(t, s, c.ID, 10)
	if all[0].Status != campaign.EmailSkipped || all[3].Status != campaign.EmailSkipped {
		t.Errorf("listed statuses = %s, %s; want skipped, skipped", all[0].Status, all[3].Status)
	}
	// Skipped is final, as failed is.
	for _, status := range []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailSkipped} {
		if err := s.Finish(ctx, c.ID, 0, status, outcomeOf(status, "b", 5), base.Add(time.Hour)); !errors.Is(err, campaign.ErrAlreadyDone) {
			t.Errorf("Finish (%s) of a skipped email: %v, want ErrAlreadyDone", status, err)
		}
	}
	EqualCampaign(t, mustGet(t, s, c), &want)
}

func testFinish(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 5)

	outcomes := []struct {
		index  int
		status campaign.EmailStatus
		result campaign.Outcome
	}{
		{0, campaign.EmailSucceeded, campaign.Outcome{Subject: "Hi Ada", Body: "Hello", Model: "gpt-x", Usage: email.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, BatchPromptTokens: 100, BatchCompletionTokens: 20}}},
		{1, campaign.EmailNeedsReview, campaign.Outcome{Subject: "Hi Bob", Body: "Hello!!", Model: "gpt-x", Usage: email.Usage{PromptTokens: 90, CompletionTokens: 30, TotalTokens: 120}, Error: "lint: too long"}},
		{3, campaign.EmailFailed, campaign.Outcome{Usage: email.Usage{PromptTokens: 5, TotalTokens: 5, BatchPromptTokens: 5}, Error: "model refused"}},
	}
	var now time.Time
	for i, o := range outcomes {
		now = base.Add(time.Duration(i+1) * time.Second)
		if err := s.Finish(ctx, c.ID, o.index, o.status, o.result, now); err != nil {
			t.Fatalf("Finish %d: %v", o.index, err)
		}
	}

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := *c
	want.Succeeded, want.NeedsReview, want.Failed = 2, 1, 1
	want.Usage = email.Usage{PromptTokens: 195, CompletionTokens: 50, TotalTokens: 245, BatchPromptTokens: 105, BatchCompletionTokens: 20}
	want.UpdatedAt = now
	EqualCampaign(t, got, &want)
	if got.Pending() != 2 || got.Done() {
		t.Errorf("Pending = %d, Done = %v; want 2, false", got.Pending(), got.Done())
	}

	for _, o := range outcomes {
		it, err := s.Email(ctx, c.ID, o.index)
		if err != nil {
			t.Fatalf("Item %d: %v", o.index, err)
		}
		if it.Status != o.status || it.Outcome == nil || !reflect.DeepEqual(*it.Outcome, o.result) {
			t.Errorf("item %d = %s %+v, want %s %+v", o.index, it.Status, it.Outcome, o.status, o.result)
		}
	}
	it, err := s.Email(ctx, c.ID, 2)
	if err != nil {
		t.Fatalf("Item 2: %v", err)
	}
	if it.Status != campaign.EmailPending || it.Outcome != nil {
		t.Errorf("untouched item = %s %+v, want pending, no result", it.Status, it.Outcome)
	}
}

func testFinishTwice(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 2)
	first := campaign.Outcome{Subject: "first", Body: "b", Usage: email.Usage{TotalTokens: 10}}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, first, base.Add(time.Second)); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	before, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	for _, status := range []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailFailed} {
		err := s.Finish(ctx, c.ID, 0, status, campaign.Outcome{Subject: "second", Usage: email.Usage{TotalTokens: 99}}, base.Add(time.Hour))
		if !errors.Is(err, campaign.ErrAlreadyDone) {
			t.Errorf("second Finish (%s): err = %v, want ErrAlreadyDone", status, err)
		}
	}
	after, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, after, before)
	it, err := s.Email(ctx, c.ID, 0)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if it.Status != campaign.EmailSucceeded || it.Outcome == nil || !reflect.DeepEqual(*it.Outcome, first) {
		t.Errorf("item = %s %+v, want the first outcome", it.Status, it.Outcome)
	}
}

func testFinishMissing(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 2)
	mustBeNotFound(t, c, func(id string, index int) error {
		return s.Finish(context.Background(), id, index, campaign.EmailSucceeded, campaign.Outcome{}, base)
	})
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
}

func testFinishPendingStatus(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	if err := s.Finish(context.Background(), c.ID, 0, campaign.EmailPending, campaign.Outcome{}, base); err == nil {
		t.Error("Finish with status pending succeeded")
	}
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
}

func testFinishSameEmailConcurrently(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 3)
	mustHaveOneWinner(t, "Finish", 20, campaign.ErrAlreadyDone, func(g int) error {
		r := campaign.Outcome{Subject: fmt.Sprint("from ", g), Usage: email.Usage{TotalTokens: 7}}
		return s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, r, base.Add(time.Second))
	})
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Succeeded != 1 || got.Failed != 0 || got.Usage.TotalTokens != 7 {
		t.Errorf("counters = %d succeeded, %d failed, %d tokens; want 1, 0, 7", got.Succeeded, got.Failed, got.Usage.TotalTokens)
	}
}

func testFinishAllConcurrently(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	const total, workers = 200, 16
	c := mustCreateNew(t, s, total)

	indexes := make(chan int)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range indexes {
				status, r := campaign.EmailSucceeded, campaign.Outcome{Subject: "s", Body: "b", Usage: email.Usage{PromptTokens: 2, CompletionTokens: 1, TotalTokens: 3}}
				switch i % 10 {
				case 3:
					status, r = campaign.EmailFailed, campaign.Outcome{Error: "boom", Usage: email.Usage{PromptTokens: 2, TotalTokens: 2}}
				case 7:
					status = campaign.EmailNeedsReview
				}
				if err := s.Finish(ctx, c.ID, i, status, r, base.Add(time.Minute)); err != nil {
					errs <- fmt.Errorf("finish %d: %w", i, err)
				}
			}
		})
	}
	for i := range total {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("finished %d items with %d goroutines in %v (%.0f/s)", total, workers, elapsed, total/elapsed.Seconds())

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Succeeded != 180 || got.Failed != 20 || got.NeedsReview != 20 || got.Succeeded+got.Failed != got.Total || !got.Done() {
		t.Errorf("counters = %d succeeded (%d review), %d failed of %d; want 180 (20), 20 of 200",
			got.Succeeded, got.NeedsReview, got.Failed, got.Total)
	}
	if want := (email.Usage{PromptTokens: 400, CompletionTokens: 180, TotalTokens: 580}); got.Usage != want {
		t.Errorf("usage = %+v, want %+v", got.Usage, want)
	}
	all, _ := AllItems(t, s, c.ID, 100)
	for _, it := range all {
		if it.Status == campaign.EmailPending || it.Outcome == nil {
			t.Errorf("item %d still %s", it.Index, it.Status)
		}
	}
}
