package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/lint"
)

// reviseTests are the cases of Revise, of Finish's Version and of the
// review counters Create keeps.
var reviseTests = []storeTest{
	{"FinishAddsOneToVersion", testFinishVersion},
	{"CreateKeepsReviewCountersAndRound", testCreateReviewFields},
	{"ReviseDraftMovesCountersBetweenStatuses", testReviseDraft},
	{"ReviseReviewMovesApprovedAndRejected", testReviseReview},
	{"ReviseEditAndNoteKeepTheDraft", testReviseEdit},
	{"ReviseOtherVersionIsVersionMismatch", testReviseMismatch},
	{"RevisePendingEmailIsVersionMismatch", testRevisePending},
	{"ReviseMissingEmailIsNotFound", testReviseMissing},
	{"ReviseBadRevisionIsRefused", testReviseBad},
	{"ReviseRaceOfOneVersionHasOneWinner", testReviseRace},
}

// outcomeOf returns an outcome as a model call of tokens tokens would
// produce for status (failed has no email; skipped made no call).
func outcomeOf(status campaign.EmailStatus, subject string, tokens int) campaign.Outcome {
	u := email.Usage{PromptTokens: tokens - 1, CompletionTokens: 1, TotalTokens: tokens}
	switch status {
	case campaign.EmailSkipped:
		return campaign.Outcome{Error: "budget: " + subject}
	case campaign.EmailFailed:
		return campaign.Outcome{Usage: u, Error: "model refused: " + subject}
	case campaign.EmailNeedsReview:
		return campaign.Outcome{Subject: subject, Body: "Hello " + subject, Model: "gpt-x", Usage: u, Error: "lint: too long"}
	}
	return campaign.Outcome{Subject: subject, Body: "Hello " + subject, Model: "gpt-x", Usage: u}
}

// mustFinish finishes email index of campaign id with status and o at now.
func mustFinish(tb testing.TB, s campaign.Store, id string, index int, status campaign.EmailStatus, o campaign.Outcome, now time.Time) {
	tb.Helper()
	if err := s.Finish(context.Background(), id, index, status, o, now); err != nil {
		tb.Fatalf("Finish %s/%d: %v", id, index, err)
	}
}

// mustRevise revises email index at version and returns what Revise
// returned, after checking that Email returns the same.
func mustRevise(tb testing.TB, s campaign.Store, id string, index, version int, r campaign.Revision, now time.Time) *campaign.Email {
	tb.Helper()
	got, err := s.Revise(context.Background(), id, index, version, r, now)
	if err != nil {
		tb.Fatalf("Revise %s/%d at version %d: %v", id, index, version, err)
	}
	again := mustEmail(tb, s, id, index)
	EqualEmail(tb, got, again)
	return got
}

// mustEmail returns email index of campaign id.
func mustEmail(tb testing.TB, s campaign.Store, id string, index int) *campaign.Email {
	tb.Helper()
	e, err := s.Email(context.Background(), id, index)
	if err != nil {
		tb.Fatalf("Email %s/%d: %v", id, index, err)
	}
	return e
}

// mustGet returns the campaign c as the store has it now.
func mustGet(tb testing.TB, s campaign.Store, c *campaign.Campaign) *campaign.Campaign {
	tb.Helper()
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		tb.Fatalf("Get %s: %v", c.ID, err)
	}
	return got
}

// ms is t as a store keeps it: to the millisecond, in UTC.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// reviewPtr and stringPtr make a Revision's members.
func reviewPtr(r campaign.Review) *campaign.Review { return &r }
func stringPtr(s string) *string                   { return &s }

// anEdit is a reviewer's edit made at at, with a quality report that has a
// finding (so that its list round-trips as one).
func anEdit(subject string, at time.Time) *campaign.Edit {
	return &campaign.Edit{
		Subject:  subject,
		Body:     "Edited body of " + subject,
		Quality:  lint.Report{Score: 92, Findings: []lint.Finding{{Code: "long_subject", Severity: lint.SeverityWarning, Message: "subject is long"}}},
		EditedAt: at,
	}
}

func testFinishVersion(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 2)
	if v := mustEmail(t, s, c.ID, 0).Version; v != 0 {
		t.Errorf("Version of a new email = %d, want 0", v)
	}
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "a", 5), base)
	if v := mustEmail(t, s, c.ID, 0).Version; v != 1 {
		t.Errorf("Version after Finish = %d, want 1", v)
	}
	all, _ := AllItems(t, s, c.ID, 10)
	if all[0].Version != 1 || all[1].Version != 0 {
		t.Errorf("listed Versions = %d, %d; want 1, 0", all[0].Version, all[1].Version)
	}
	// A refused Finish changes nothing.
	if err := s.Finish(context.Background(), c.ID, 0, campaign.EmailFailed, campaign.Outcome{}, base); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Fatalf("second Finish: %v, want ErrAlreadyDone", err)
	}
	if v := mustEmail(t, s, c.ID, 0).Version; v != 1 {
		t.Errorf("Version after a refused Finish = %d, want 1", v)
	}
}

func testCreateReviewFields(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 5)
	c.Status = campaign.StatusRunning
	c.Succeeded, c.NeedsReview, c.Failed = 3, 1, 1
	c.Approved, c.Rejected, c.Round, c.Retrying = 2, 1, 3, true
	created := MustCreate(t, s, c, NewItems(c))
	EqualCampaign(t, created, c)
	EqualCampaign(t, mustGet(t, s, c), c)
	list, _, err := s.List(context.Background(), c.Tenant, campaign.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d campaigns, %v; want 1", len(list), err)
	}
	EqualCampaign(t, &list[0], c)
}

// testReviseDraft regenerates an email of each finished status into each
// other (a skipped one too, as a regenerate after the budget was raised):
// the counters move from the old status to the new, the new usage is
// added, and the review (which the draft clears) leaves its counter.
func testReviseDraft(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	statuses := []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailNeedsReview, campaign.EmailFailed}
	for _, from := range append(statuses, campaign.EmailSkipped) {
		for _, to := range statuses {
			t.Run(fmt.Sprintf("%sTo%s", from, to), func(t *testing.T) {
				c := NewCampaign("tenant-a", 2)
				items := NewItems(c)
				MustCreate(t, s, c, items)
				// Email 1 stays as it is, counted.
				bystander := outcomeOf(campaign.EmailSucceeded, "b", 3)
				mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, bystander, base)
				// Written through a Batch API; the draft partly.
				first := outcomeOf(from, "first", 10)
				first.Usage = first.Usage.AsBatch()
				mustFinish(t, s, c.ID, 0, from, first, base)
				version := 1
				if from == campaign.EmailSucceeded || from == campaign.EmailNeedsReview {
					// A reviewed and edited draft: the new one clears it all.
					decision := campaign.ReviewApproved
					if from == campaign.EmailNeedsReview {
						decision = campaign.ReviewRejected
					}
					mustRevise(t, s, c.ID, 0, 1, campaign.Revision{
						Review: reviewPtr(decision), Edit: anEdit("mine", base), Note: stringPtr("redo"),
					}, base.Add(time.Second))
					version = 2
				}

				draft := outcomeOf(to, "second", 100)
				draft.Usage.BatchPromptTokens = 50
				now := base.Add(time.Minute)
				got := mustRevise(t, s, c.ID, 0, version, campaign.Revision{Draft: &draft, Status: to}, now)

				want := items[0]
				want.Status = to
				stored := draft
				stored.Usage = first.Usage.Add(draft.Usage)
				want.Outcome = &stored
				want.Version = version + 1
				EqualEmail(t, got, &want)

				wantC := *c
				add := func(status campaign.EmailStatus) {
					tally, _, err := campaign.Finishing(status, campaign.Outcome{})
					if err != nil {
						t.Fatal(err)
					}
					wantC.Succeeded += tally.Succeeded
					wantC.NeedsReview += tally.NeedsReview
					wantC.Failed += tally.Failed
					wantC.Skipped += tally.Skipped
				}
				add(campaign.EmailSucceeded) // the bystander
				add(to)
				wantC.Usage = bystander.Usage.Add(first.Usage).Add(draft.Usage)
				wantC.UpdatedAt = now
				EqualCampaign(t, mustGet(t, s, c), &wantC)
				if _, err := s.Email(ctx, c.ID, 1); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func testReviseReview(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 3)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	first := outcomeOf(campaign.EmailNeedsReview, "a", 10)
	mustFinish(t, s, c.ID, 0, campaign.EmailNeedsReview, first, base)
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "b", 10), base)

	// Each step: the decision set, and the counters it leaves.
	version := 1
	for i, step := range []struct {
		review             campaign.Review
		approved, rejected int
	}{
		{campaign.ReviewApproved, 1, 0},
		{campaign.ReviewApproved, 1, 0}, // approving again counts once
		{campaign.ReviewRejected, 0, 1},
		{campaign.ReviewNone, 0, 0},
		{campaign.ReviewRejected, 0, 1},
	} {
		now := base.Add(time.Duration(i+1)*time.Second + 123456)
		got := mustRevise(t, s, c.ID, 0, version, campaign.Revision{Review: reviewPtr(step.review)}, now)
		version++
		want := items[0]
		want.Status, want.Outcome, want.Version = campaign.EmailNeedsReview, &first, version
		want.Review, want.ReviewedAt = step.review, ms(now)
		EqualEmail(t, got, &want)

		wantC := *c
		wantC.Succeeded, wantC.NeedsReview = 2, 1
		wantC.Usage = email.Usage{PromptTokens: 18, CompletionTokens: 2, TotalTokens: 20}
		wantC.Approved, wantC.Rejected = step.approved, step.rejected
		wantC.UpdatedAt = now
		EqualCampaign(t, mustGet(t, s, c), &wantC)
	}
	// The other email's decision counts beside it.
	mustRevise(t, s, c.ID, 1, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewRejected)}, base)
	if got := mustGet(t, s, c); got.Approved != 0 || got.Rejected != 2 {
		t.Errorf("approved, rejected = %d, %d; want 0, 2", got.Approved, got.Rejected)
	}
}

func testReviseEdit(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	first := outcomeOf(campaign.EmailSucceeded, "a", 10)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, first, base)

	edit := anEdit("edited", base.Add(time.Second+123456))
	got := mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Edit: edit, Note: stringPtr("shorter please")}, base.Add(time.Second))
	want := items[0]
	want.Status, want.Outcome, want.Version = campaign.EmailSucceeded, &first, 2
	wantEdit := *edit
	wantEdit.EditedAt = ms(edit.EditedAt)
	want.Edit, want.Note = &wantEdit, "shorter please"
	EqualEmail(t, got, &want)

	// A review leaves the edit and note; a note alone leaves the review.
	reviewed := base.Add(2 * time.Second)
	mustRevise(t, s, c.ID, 0, 2, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, reviewed)
	got = mustRevise(t, s, c.ID, 0, 3, campaign.Revision{Note: stringPtr("")}, base.Add(3*time.Second))
	want.Version, want.Note, want.Review, want.ReviewedAt = 4, "", campaign.ReviewApproved, ms(reviewed)
	EqualEmail(t, got, &want)

	wantC := *c
	wantC.Succeeded, wantC.Approved, wantC.Usage = 1, 1, first.Usage
	wantC.UpdatedAt = base.Add(3 * time.Second)
	EqualCampaign(t, mustGet(t, s, c), &wantC)
}

func testReviseMismatch(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "a", 10), base)
	beforeC, before := mustGet(t, s, c), mustEmail(t, s, c.ID, 0)
	draft := outcomeOf(campaign.EmailFailed, "b", 10)
	for _, version := range []int{0, 2, -1} {
		for name, r := range map[string]campaign.Revision{
			"Review": {Review: reviewPtr(campaign.ReviewApproved)},
			"Draft":  {Draft: &draft, Status: campaign.EmailFailed},
		} {
			_, err := s.Revise(ctx, c.ID, 0, version, r, base.Add(time.Hour))
			if !errors.Is(err, campaign.ErrVersionMismatch) {
				t.Errorf("Revise (%s) at version %d of an email at 1: %v, want ErrVersionMismatch", name, version, err)
			}
		}
	}
	EqualCampaign(t, mustGet(t, s, c), beforeC)
	EqualEmail(t, mustEmail(t, s, c.ID, 0), before)
}

func testRevisePending(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	before := mustEmail(t, s, c.ID, 0)
	draft := outcomeOf(campaign.EmailSucceeded, "b", 10)
	for _, version := range []int{0, 1} {
		for name, r := range map[string]campaign.Revision{
			"Review": {Review: reviewPtr(campaign.ReviewApproved)},
			"Draft":  {Draft: &draft, Status: campaign.EmailSucceeded},
		} {
			_, err := s.Revise(ctx, c.ID, 0, version, r, base.Add(time.Hour))
			if !errors.Is(err, campaign.ErrVersionMismatch) {
				t.Errorf("Revise (%s) at version %d of a pending email: %v, want ErrVersionMismatch", name, version, err)
			}
		}
	}
	EqualCampaign(t, mustGet(t, s, c), c)
	EqualEmail(t, mustEmail(t, s, c.ID, 0), before)
}

func testReviseMissing(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	mustBeNotFound(t, c, func(id string, index int) error {
		_, err := s.Revise(context.Background(), id, index, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, base)
		return err
	})
}

func testReviseBad(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 1)
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, outcomeOf(campaign.EmailSucceeded, "a", 10), base)
	beforeC, before := mustGet(t, s, c), mustEmail(t, s, c.ID, 0)
	draft := outcomeOf(campaign.EmailSucceeded, "b", 10)
	for name, r := range map[string]campaign.Revision{
		"DraftWithReview":     {Draft: &draft, Status: campaign.EmailSucceeded, Review: reviewPtr(campaign.ReviewApproved)},
		"DraftWithEdit":       {Draft: &draft, Status: campaign.EmailSucceeded, Edit: anEdit("x", base)},
		"DraftWithNote":       {Draft: &draft, Status: campaign.EmailSucceeded, Note: stringPtr("x")},
		"DraftStatusPending":  {Draft: &draft, Status: campaign.EmailPending},
		"DraftStatusMissing":  {Draft: &draft},
		"DraftStatusUnknown":  {Draft: &draft, Status: "sent"},
		"UnknownReview":       {Review: reviewPtr("maybe")},
		"StatusWithoutADraft": {Status: campaign.EmailFailed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Revise(ctx, c.ID, 0, 1, r, base.Add(time.Hour))
			if err == nil || errors.Is(err, campaign.ErrVersionMismatch) || errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Revise: %v, want an error that says what is wrong with the revision", err)
			}
		})
	}
	EqualCampaign(t, mustGet(t, s, c), beforeC)
	EqualEmail(t, mustEmail(t, s, c.ID, 0), before)
}

func testReviseRace(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	mustFinish(t, s, c.ID, 0, campaign.EmailNeedsReview, outcomeOf(campaign.EmailNeedsReview, "a", 10), base)
	mustHaveOneWinner(t, "Revise", 12, campaign.ErrVersionMismatch, func(g int) error {
		r := campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}
		switch g % 3 {
		case 1:
			r.Review = reviewPtr(campaign.ReviewRejected)
		case 2:
			draft := outcomeOf(campaign.EmailSucceeded, "new", 7)
			r = campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded}
		}
		_, err := s.Revise(context.Background(), c.ID, 0, 1, r, base.Add(time.Second))
		return err
	})
	got, e := mustGet(t, s, c), mustEmail(t, s, c.ID, 0)
	if e.Version != 2 {
		t.Errorf("Version = %d after one Revise, want 2", e.Version)
	}
	want := campaign.Campaign{Succeeded: 1, Usage: email.Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10}}
	switch {
	case e.Review == campaign.ReviewApproved:
		want.NeedsReview, want.Approved = 1, 1
	case e.Review == campaign.ReviewRejected:
		want.NeedsReview, want.Rejected = 1, 1
	case e.Status == campaign.EmailSucceeded:
		want.Usage = want.Usage.Add(email.Usage{PromptTokens: 6, CompletionTokens: 1, TotalTokens: 7})
	default:
		t.Fatalf("email after the race: %s, review %q", e.Status, e.Review)
	}
	if got.Succeeded != want.Succeeded || got.NeedsReview != want.NeedsReview || got.Approved != want.Approved ||
		got.Rejected != want.Rejected || got.Usage != want.Usage {
		t.Errorf("counters = %d succeeded (%d review), %d approved, %d rejected, %+v; want %d (%d), %d, %d, %+v",
			got.Succeeded, got.NeedsReview, got.Approved, got.Rejected, got.Usage,
			want.Succeeded, want.NeedsReview, want.Approved, want.Rejected, want.Usage)
	}
}
