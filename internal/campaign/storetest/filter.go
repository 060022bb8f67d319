package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// filterTests are the cases of Emails with a Page.Filter.
var filterTests = []storeTest{
	{"EmailsFilterMatchesEmailFilterMatch", testFilter},
	{"EmailsFilterFillsPagesOfSparseMatches", testFilterSparse},
	{"EmailsFilterBadCursorIsErrBadCursor", testFilterBadCursor},
	{"EmailsFilterSkipped", testFilterSkipped},
}

// testFilterSkipped filters on status skipped, which is a status of its
// own: failed does not match it, nor any review.
func testFilterSkipped(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 7)
	// 0 and 6 pending; 1, 3 and 5 skipped; 2 failed; 4 succeeded.
	for i, status := range map[int]campaign.EmailStatus{
		1: campaign.EmailSkipped, 2: campaign.EmailFailed, 3: campaign.EmailSkipped,
		4: campaign.EmailSucceeded, 5: campaign.EmailSkipped,
	} {
		mustFinish(t, s, c.ID, i, status, outcomeOf(status, fmt.Sprint(i), 10), base)
	}
	all, _ := AllItems(t, s, c.ID, 100)
	skipped, failed := campaign.EmailSkipped, campaign.EmailFailed
	for _, tc := range []struct {
		name   string
		filter campaign.EmailFilter
		want   []int
	}{
		{"Skipped", campaign.EmailFilter{Statuses: []campaign.EmailStatus{skipped}}, []int{1, 3, 5}},
		{"Failed", campaign.EmailFilter{Statuses: []campaign.EmailStatus{failed}}, []int{2}},
		{"FailedOrSkipped", campaign.EmailFilter{Statuses: []campaign.EmailStatus{failed, skipped}}, []int{1, 2, 3, 5}},
		{"SkippedUnreviewed", campaign.EmailFilter{Statuses: []campaign.EmailStatus{skipped}, Reviews: []campaign.Review{campaign.ReviewNone}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 100} {
				checkFiltered(t, s, c.ID, all, tc.filter, limit)
			}
			got, _ := filtered(t, s, c.ID, tc.filter, 100)
			if fmt.Sprint(indexes(got)) != fmt.Sprint(append([]int{}, tc.want...)) {
				t.Errorf("emails = %v, want %v", indexes(got), tc.want)
			}
		})
	}
}

// reviewedCampaign creates a campaign of total emails where email i is,
// by i%8: pending; succeeded; succeeded approved; succeeded rejected;
// needs_review; needs_review approved; needs_review rejected; failed.
func reviewedCampaign(tb testing.TB, s campaign.Store, total int) *campaign.Campaign {
	tb.Helper()
	c := mustCreateNew(tb, s, total)
	for i := range total {
		var status campaign.EmailStatus
		var review campaign.Review
		switch i % 8 {
		case 0:
			continue
		case 1, 2, 3:
			status = campaign.EmailSucceeded
		case 4, 5, 6:
			status = campaign.EmailNeedsReview
		case 7:
			status = campaign.EmailFailed
		}
		switch i % 8 {
		case 2, 5:
			review = campaign.ReviewApproved
		case 3, 6:
			review = campaign.ReviewRejected
		}
		mustFinish(tb, s, c.ID, i, status, outcomeOf(status, fmt.Sprint(i), 10), base)
		if review != campaign.ReviewNone {
			mustRevise(tb, s, c.ID, i, 1, campaign.Revision{Review: reviewPtr(review)}, base)
		}
	}
	return c
}

// filtered pages through the campaign's emails that pass f, limit at a
// time, and returns them with each page's size.
func filtered(tb testing.TB, s campaign.Store, id string, f campaign.EmailFilter, limit int) ([]campaign.Email, []int) {
	tb.Helper()
	var all []campaign.Email
	var sizes []int
	cursor := ""
	for {
		if len(sizes) > 100_000/limit {
			tb.Fatal("Emails never ends")
		}
		page, next, err := s.Emails(context.Background(), id, campaign.Page{Limit: limit, Cursor: cursor, Filter: f})
		if err != nil {
			tb.Fatalf("Emails %+v after %d: %v", f, len(all), err)
		}
		sizes = append(sizes, len(page))
		all = append(all, page...)
		if next == "" {
			return all, sizes
		}
		cursor = next
	}
}

// checkFiltered checks that the store's listing of the emails that pass f,
// limit at a time, is every email (of all, the unfiltered listing) that
// f.Match passes, in index order, in pages of limit but the last.
func checkFiltered(t *testing.T, s campaign.Store, id string, all []campaign.Email, f campaign.EmailFilter, limit int) {
	t.Helper()
	var want []campaign.Email
	for i := range all {
		if f.Match(&all[i]) {
			want = append(want, all[i])
		}
	}
	got, sizes := filtered(t, s, id, f, limit)
	if len(got) != len(want) {
		t.Errorf("%d emails, want %d: %v", len(got), len(want), indexes(got))
	} else {
		for i := range want {
			EqualEmail(t, &got[i], &want[i])
		}
	}
	for i, n := range sizes {
		// The last page may be short, or empty after a full one.
		if n > limit || (i < len(sizes)-1 && n != limit) {
			t.Errorf("page sizes = %v with a limit of %d: every page but the last must be full", sizes, limit)
			break
		}
	}
}

func indexes(list []campaign.Email) []int {
	out := make([]int, len(list))
	for i, e := range list {
		out[i] = e.Index
	}
	return out
}

func testFilter(t *testing.T, s campaign.Store) {
	c := reviewedCampaign(t, s, 40)
	all, _ := AllItems(t, s, c.ID, 100)
	var (
		pending     = campaign.EmailPending
		succeeded   = campaign.EmailSucceeded
		needsReview = campaign.EmailNeedsReview
		failed      = campaign.EmailFailed
		none        = campaign.ReviewNone
		approved    = campaign.ReviewApproved
		rejected    = campaign.ReviewRejected
	)
	st := func(list ...campaign.EmailStatus) []campaign.EmailStatus { return list }
	rv := func(list ...campaign.Review) []campaign.Review { return list }
	for _, tc := range []struct {
		name   string
		filter campaign.EmailFilter
		count  int // of the 40 emails, to check Match as well
	}{
		{"None", campaign.EmailFilter{}, 40},
		{"Pending", campaign.EmailFilter{Statuses: st(pending)}, 5},
		{"Succeeded", campaign.EmailFilter{Statuses: st(succeeded)}, 15},
		{"NeedsReview", campaign.EmailFilter{Statuses: st(needsReview)}, 15},
		{"Failed", campaign.EmailFilter{Statuses: st(failed)}, 5},
		{"FailedOrNeedsReview", campaign.EmailFilter{Statuses: st(failed, needsReview)}, 20},
		{"EveryStatus", campaign.EmailFilter{Statuses: st(pending, succeeded, needsReview, failed)}, 40},
		{"Unreviewed", campaign.EmailFilter{Reviews: rv(none)}, 10},
		{"Approved", campaign.EmailFilter{Reviews: rv(approved)}, 10},
		{"Rejected", campaign.EmailFilter{Reviews: rv(rejected)}, 10},
		{"ApprovedOrUnreviewed", campaign.EmailFilter{Reviews: rv(approved, none)}, 20},
		{"EveryReview", campaign.EmailFilter{Reviews: rv(none, approved, rejected)}, 30},
		{"NeedsReviewApproved", campaign.EmailFilter{Statuses: st(needsReview), Reviews: rv(approved)}, 5},
		{"SucceededUnreviewed", campaign.EmailFilter{Statuses: st(succeeded), Reviews: rv(none)}, 5},
		{"FailedUnreviewed", campaign.EmailFilter{Statuses: st(failed), Reviews: rv(none)}, 0},
		{"PendingOrFailedApproved", campaign.EmailFilter{Statuses: st(pending, failed), Reviews: rv(approved)}, 0},
		{"DraftsRejectedOrUnreviewed", campaign.EmailFilter{Statuses: st(succeeded, needsReview, failed), Reviews: rv(rejected, none)}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for i := range all {
				if tc.filter.Match(&all[i]) {
					n++
				}
			}
			if n != tc.count {
				t.Fatalf("EmailFilter.Match passes %d emails, want %d", n, tc.count)
			}
			for _, limit := range []int{3, 5, 100} {
				checkFiltered(t, s, c.ID, all, tc.filter, limit)
			}
		})
	}
}

// testFilterSparse pages through a few matches spread over many emails: a
// store that filters a page after reading it must read on until the page
// is full.
func testFilterSparse(t *testing.T, s campaign.Store) {
	const total = 300
	c := mustCreateNew(t, s, total)
	for i := range total {
		status := campaign.EmailSucceeded
		if i == total-1 {
			status = campaign.EmailFailed
		}
		mustFinish(t, s, c.ID, i, status, outcomeOf(status, "x", 1), base)
		if i%37 == 5 {
			mustRevise(t, s, c.ID, i, 1, campaign.Revision{Review: reviewPtr(campaign.ReviewApproved)}, base.Add(time.Second))
		}
	}
	all, _ := AllItems(t, s, c.ID, 100)
	approved := campaign.EmailFilter{Reviews: []campaign.Review{campaign.ReviewApproved}}
	for _, limit := range []int{1, 2, 3} {
		checkFiltered(t, s, c.ID, all, approved, limit)
	}
	got, sizes := filtered(t, s, c.ID, approved, 2)
	if len(got) != 8 || sizes[0] != 2 {
		t.Errorf("approved emails = %v in pages %v, want 8 in pages of 2", indexes(got), sizes)
	}
	// The one match is the last email.
	failed := campaign.EmailFilter{Statuses: []campaign.EmailStatus{campaign.EmailFailed}}
	checkFiltered(t, s, c.ID, all, failed, 2)
	got, _ = filtered(t, s, c.ID, failed, 2)
	if len(got) != 1 || got[0].Index != total-1 {
		t.Errorf("failed emails = %v, want [%d]", indexes(got), total-1)
	}
	// No match at all: one empty page.
	none := campaign.EmailFilter{Statuses: []campaign.EmailStatus{campaign.EmailPending}}
	page, next, err := s.Emails(context.Background(), c.ID, campaign.Page{Limit: 10, Filter: none})
	if err != nil || len(page) != 0 || next != "" {
		t.Errorf("Emails of no match = %d emails, cursor %q, %v; want none", len(page), next, err)
	}
	// Limit 0 is 100, filtered too.
	page, _, err = s.Emails(context.Background(), c.ID, campaign.Page{Filter: campaign.EmailFilter{Statuses: []campaign.EmailStatus{campaign.EmailSucceeded}}})
	if err != nil || len(page) != 100 {
		t.Errorf("Emails with limit 0 = %d emails, %v; want 100", len(page), err)
	}
}

func testFilterBadCursor(t *testing.T, s campaign.Store) {
	c := reviewedCampaign(t, s, 8)
	f := campaign.EmailFilter{Statuses: []campaign.EmailStatus{campaign.EmailFailed}, Reviews: []campaign.Review{campaign.ReviewNone}}
	for _, cursor := range []string{"not a cursor!", "%%%", "eyJ4Ijp9"} {
		_, _, err := s.Emails(context.Background(), c.ID, campaign.Page{Limit: 2, Cursor: cursor, Filter: f})
		if !errors.Is(err, campaign.ErrBadCursor) {
			t.Errorf("Emails with cursor %q: err = %v, want ErrBadCursor", cursor, err)
		}
	}
}
