package api

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

// invalidField returns the one field err names as invalid, or "".
func invalidField(err error) string {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.Invalid || len(fe.Fields) != 1 {
		return ""
	}
	return fe.Fields[0].Field
}

func TestFilterParam(t *testing.T) {
	for name, tc := range map[string]struct {
		query string
		want  campaign.EmailFilter
		field string // the invalid field; "" for none
	}{
		"OKNone":     {query: "", want: campaign.EmailFilter{}},
		"OKApproved": {query: "status=approved", want: campaign.EmailFilter{Reviews: []campaign.Review{campaign.ReviewApproved}}},
		"OKStatusesAndReviews": {query: "status=needs_review,unreviewed,failed", want: campaign.EmailFilter{
			Statuses: []campaign.EmailStatus{campaign.EmailNeedsReview, campaign.EmailFailed},
			Reviews:  []campaign.Review{campaign.ReviewNone}}},
		"OKRepeated": {query: "status=succeeded&status=rejected", want: campaign.EmailFilter{
			Statuses: []campaign.EmailStatus{campaign.EmailSucceeded}, Reviews: []campaign.Review{campaign.ReviewRejected}}},
		"ErrUnknown":    {query: "status=approved,sent", field: "status"},
		"ErrEmpty":      {query: "status=", field: "status"},
		"ErrEmptyItem":  {query: "status=approved,", field: "status"},
		"ErrCaseDiffer": {query: "status=Approved", field: "status"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := filterParam(httptest.NewRequest("GET", "/x?"+tc.query, nil))
			if tc.field != "" {
				if f := invalidField(err); f != tc.field {
					t.Fatalf("err %v, want one invalid field %s", err, tc.field)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestIfMatchHeader(t *testing.T) {
	for name, tc := range map[string]struct {
		values []string
		want   int
		ok     bool
	}{
		"OKNone":       {nil, campaign.AnyVersion, true},
		"OKVersion":    {[]string{`"3"`}, 3, true},
		"OKZero":       {[]string{`"0"`}, 0, true},
		"OKAny":        {[]string{`*`}, campaign.AnyVersion, true},
		"ErrUnquoted":  {[]string{`3`}, 0, false},
		"ErrWeak":      {[]string{`W/"3"`}, 0, false},
		"ErrNegative":  {[]string{`"-1"`}, 0, false},
		"ErrSigned":    {[]string{`"+3"`}, 0, false},
		"ErrMinusZero": {[]string{`"-0"`}, 0, false},
		"ErrList":      {[]string{`"3", "4"`}, 0, false},
		"ErrTwo":       {[]string{`"3"`, `"4"`}, 0, false},
		"ErrNotNumber": {[]string{`"abc"`}, 0, false},
		"ErrEmpty":     {[]string{``}, 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("PATCH", "/x", nil)
			for _, v := range tc.values {
				r.Header.Add("If-Match", v)
			}
			got, err := ifMatchHeader(r)
			if !tc.ok {
				if f := invalidField(err); f != "If-Match" {
					t.Fatalf("err %v, want one invalid field If-Match", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestIndexParam(t *testing.T) {
	for _, v := range []string{"0", "17"} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.SetPathValue("index", v)
		if n, err := indexParam(r); err != nil || n < 0 {
			t.Errorf("%q: %d, %v", v, n, err)
		}
	}
	for _, v := range []string{"-1", "+1", "-0", "x", "1.5", "1e3", "99999999999999999999", ""} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.SetPathValue("index", v)
		if _, err := indexParam(r); invalidField(err) != "index" {
			t.Errorf("%q: err %v, want one invalid field index", v, err)
		}
	}
}

// TestCampaignViewCountsEachProspectOnce: the store's Succeeded counts
// needs_review emails too; the view's succeeded does not, so that the
// statuses add up to total, and the review counts split the drafts.
func TestCampaignViewCountsEachProspectOnce(t *testing.T) {
	c := &campaign.Campaign{ID: "cmp_1", Status: campaign.StatusCompleted, Total: 12,
		Succeeded: 10, NeedsReview: 3, Failed: 2, Approved: 4, Rejected: 1, Round: 2}
	v := toCampaign(c)
	if v.Succeeded != 7 || v.NeedsReview != 3 || v.Failed != 2 || v.Pending != 0 {
		t.Errorf("succeeded %d, needs_review %d, failed %d, pending %d; want 7, 3, 2, 0", v.Succeeded, v.NeedsReview, v.Failed, v.Pending)
	}
	if v.Succeeded+v.NeedsReview+v.Failed+v.Pending != v.Total {
		t.Errorf("%+v: the statuses do not add up to total", v)
	}
	if v.Approved != 4 || v.Rejected != 1 || v.Unreviewed != 5 || v.Retries != 2 {
		t.Errorf("approved %d, rejected %d, unreviewed %d, retries %d; want 4, 1, 5, 2", v.Approved, v.Rejected, v.Unreviewed, v.Retries)
	}
}

// sequenceEmail is a two-email sequence's email, edited when edit.
func sequenceEmail(edit bool) *campaign.Email {
	day := 3
	e := &campaign.Email{Index: 4, Ref: "crm-4", Status: campaign.EmailNeedsReview, Version: 3,
		Request: email.Request{Prospect: email.Prospect{FirstName: "Sam"}, Company: email.Company{CompanyName: "Cobalt"}},
		Outcome: &campaign.Outcome{Subject: "Draft", Body: "Hi Sam, draft", Model: "m", Kind: email.RequestSequence,
			Emails: []email.Checked{
				{Subject: "Draft", Body: "Hi Sam, draft", Day: new(int), Quality: lint.Report{Score: 70, Findings: []lint.Finding{{Code: "invented_fact"}}}},
				{Subject: "Re: Draft", Body: "Following up", Day: &day, Quality: lint.Report{Score: 100, Findings: []lint.Finding{}}},
			}},
	}
	if edit {
		e.Edit = &campaign.Edit{Subject: "Edited", Body: "Hi Sam, edited", Quality: lint.Report{Score: 100, Findings: []lint.Finding{}}}
		e.Review = campaign.ReviewApproved
		e.Note = "fixed the number"
		e.ReviewedAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	}
	return e
}

func TestEmailView(t *testing.T) {
	t.Run("OKDraft", func(t *testing.T) {
		v := toEmailView(sequenceEmail(false), nil)
		if v.Review == nil || *v.Review != "unreviewed" || v.Edited || v.Draft != nil || v.ReviewedAt != nil || v.Version != 3 {
			t.Fatalf("%+v", v)
		}
		if v.Subject != "Draft" || v.Quality.Score != 70 || v.Sequence[0].Subject != "Draft" {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("OKEdited", func(t *testing.T) {
		e := sequenceEmail(true)
		v := toEmailView(e, nil)
		if !v.Edited || v.Subject != "Edited" || v.Body != "Hi Sam, edited" || v.Quality.Score != 100 {
			t.Fatalf("the view does not show the edit: %+v", v)
		}
		if v.Draft == nil || v.Draft.Subject != "Draft" || v.Draft.Body != "Hi Sam, draft" || v.Draft.Quality.Score != 70 {
			t.Fatalf("the draft is not kept beside the edit: %+v", v.Draft)
		}
		if v.Sequence[0].Subject != "Edited" || *v.Sequence[0].Day != 0 || v.Sequence[1].Subject != "Re: Draft" {
			t.Fatalf("the sequence does not show the edit in the first email's place: %+v", v.Sequence)
		}
		if e.Outcome.Emails[0].Subject != "Draft" {
			t.Fatal("the view changed the stored outcome")
		}
		if v.Review == nil || *v.Review != "approved" || v.Note != "fixed the number" || v.ReviewedAt == nil {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("OKNoDraftNoReview", func(t *testing.T) {
		for _, e := range []*campaign.Email{
			{Status: campaign.EmailPending},
			{Status: campaign.EmailFailed, Outcome: &campaign.Outcome{Error: "model failed"}},
		} {
			if v := toEmailView(e, nil); v.Review != nil {
				t.Errorf("%s email: review %q, want null", e.Status, *v.Review)
			}
		}
	})
}

// TestCSVRowsShowTheEditAndReview: the export sends what the reviewer
// made of the email, and says what they decided.
func TestCSVRowsShowTheEditAndReview(t *testing.T) {
	col := func(name string) int {
		for i, c := range CSVHeader {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, CSVHeader)
		return -1
	}
	if got := CSVHeader[len(CSVHeader)-2:]; got[0] != "review" || got[1] != "cost_usd" {
		t.Fatalf("header %v: review and cost_usd are not the last columns", CSVHeader)
	}
	rows := csvRows(sequenceEmail(true), nil, nil)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows {
		if len(row) != len(CSVHeader) || row[col("review")] != "approved" {
			t.Fatalf("row %q", row)
		}
	}
	if got := rows[0][col("subject")] + "|" + rows[0][col("body")] + "|" + rows[0][col("quality_score")]; got != "Edited|Hi Sam, edited|100" {
		t.Errorf("first row %q, want the edit", got)
	}
	if rows[1][col("subject")] != "Re: Draft" {
		t.Errorf("second row %q, want the follow-up", rows[1])
	}
	if row := csvRows(sequenceEmail(false), nil, nil)[0]; row[col("review")] != "unreviewed" || row[col("subject")] != "Draft" {
		t.Errorf("draft row %q", row)
	}
	if row := csvRows(&campaign.Email{Status: campaign.EmailPending}, nil, nil)[0]; row[col("review")] != "" {
		t.Errorf("pending row %q, want no review", row)
	}
	// One email without Emails (an old outcome): the edit still shows.
	old := &campaign.Email{Status: campaign.EmailSucceeded, Outcome: &campaign.Outcome{Subject: "Draft", Body: "b"},
		Edit: &campaign.Edit{Subject: "Edited", Body: "e"}}
	if row := csvRows(old, nil, nil)[0]; row[col("subject")] != "Edited" || !strings.HasPrefix(row[col("body")], "e") {
		t.Errorf("row %q, want the edit", row)
	}
}

func TestDecodeStrict(t *testing.T) {
	var req changeRequest
	if err := decodeStrict([]byte(`{"Review": "approved", "note": null}`), &req, false); err != nil || req.Review == nil || *req.Review != "approved" || req.Note != nil {
		t.Fatalf("%+v, %v: a member named but for case is the field, null is left out", req, err)
	}
	err := decodeStrict([]byte(`{"reveiw": "approved", "subject": 3}`), &changeRequest{}, false)
	var fe *fault.Error
	if !errors.As(err, &fe) || len(fe.Fields) != 2 {
		t.Fatalf("err %v, want subject's type and the unknown member named", err)
	}
	if err := decodeStrict(nil, &regenerateRequest{}, true); err != nil {
		t.Fatalf("an optional empty body: %v", err)
	}
	var syn *email.SyntaxError
	if err := decodeStrict(nil, &changeRequest{}, false); !errors.As(err, &syn) {
		t.Fatalf("a required empty body: %v, want a syntax error", err)
	}
}
