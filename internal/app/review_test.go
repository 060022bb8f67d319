package app_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// reviewCampaign is the campaign view with the review counts.
type reviewCampaign struct {
	testprog.Campaign
	Approved   int `json:"approved"`
	Rejected   int `json:"rejected"`
	Unreviewed int `json:"unreviewed"`
	Retries    int `json:"retries"`
	Usage      struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

// reviewEmail is one email as GET .../emails/{index} shows it.
type reviewEmail struct {
	Index      int     `json:"index"`
	Status     string  `json:"status"`
	Subject    string  `json:"subject"`
	Body       string  `json:"body"`
	Version    int     `json:"version"`
	Review     *string `json:"review"`
	Note       string  `json:"note"`
	ReviewedAt *string `json:"reviewed_at"`
	Edited     bool    `json:"edited"`
	To         struct {
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
		JobTitle    string `json:"job_title"`
		CompanyName string `json:"company_name"`
	} `json:"to"`
	Quality *struct {
		Score int `json:"score"`
	} `json:"quality"`
	Draft *struct {
		Subject string `json:"subject"`
	} `json:"draft"`
	// Code is an error answer's code; "" for an email.
	Code string `json:"-"`
}

// flagged is a model answer the checks flag with an error (a
// placeholder), in the first call and its repair alike.
const flagged = `{"subject": "Idea for {{company}}", "body": "Hi {{first_name}},\n\nWe help teams like yours.\n\nWorth a chat?\n\nBest,"}`

// startReviewCampaign runs a five-prospect campaign on the local program
// whose model writes, in this order, one email it refuses (failed), one
// that stays flagged after its repair (needs_review) and three good ones:
// one worker, so the calls come in that order.
func startReviewCampaign(t *testing.T) (base, id string, up *openaitest.Server) {
	t.Helper()
	up = openaitest.New(t, openaitest.WithScript(openaitest.Status(http.StatusBadRequest),
		openaitest.Reply{Content: flagged}, openaitest.Reply{Content: flagged}))
	base = startLocal(t, up.URL, func(c *config.Config) { c.WorkerConcurrency = 1 })
	id = testprog.HTTP(base, testKey).Submit(t, map[string]any{"name": "review", "prospects": testprog.Prospects(5)})
	testprog.HTTP(base, testKey).WaitFor(t, id, 30*time.Second, testprog.Campaign.Final)
	return base, id, up
}

func getCampaign(t *testing.T, base, id string) reviewCampaign {
	t.Helper()
	status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id, testKey, nil)
	if status != http.StatusOK {
		t.Fatalf("GET campaign: %d %s", status, b)
	}
	return testprog.MustDecode[reviewCampaign](t, b)
}

// emailsWith lists the indexes of the campaign's emails that status
// filters in.
func emailsWith(t *testing.T, base, id, status string) []int {
	t.Helper()
	code, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails?status="+status, testKey, nil)
	if code != http.StatusOK {
		t.Fatalf("emails?status=%s: %d %s", status, code, b)
	}
	var out []int
	for _, e := range testprog.MustDecode[testprog.Emails](t, b).Emails {
		out = append(out, e.Index)
	}
	return out
}

// change sends a PATCH of email index with If-Match ifMatch ("" for
// none) and returns the status, the ETag and the email (or error).
func change(t *testing.T, base, id string, index int, ifMatch string, body any) (int, string, reviewEmail) {
	t.Helper()
	var hdr []string
	if ifMatch != "" {
		hdr = []string{"If-Match", ifMatch}
	}
	status, h, b := testprog.Do(t, "PATCH", fmt.Sprintf("%s/api/v1/campaigns/%s/emails/%d", base, id, index), testKey, body, hdr...)
	if status != http.StatusOK {
		return status, "", reviewEmail{Code: testprog.MustDecode[problemView](t, b).Error.Code}
	}
	return status, h.Get("ETag"), testprog.MustDecode[reviewEmail](t, b)
}

func getEmail(t *testing.T, base, id string, index int) (string, reviewEmail) {
	t.Helper()
	status, h, b := testprog.Do(t, "GET", fmt.Sprintf("%s/api/v1/campaigns/%s/emails/%d", base, id, index), testKey, nil)
	if status != http.StatusOK {
		t.Fatalf("GET email %d: %d %s", index, status, b)
	}
	return h.Get("ETag"), testprog.MustDecode[reviewEmail](t, b)
}

// TestLocalReview takes a campaign from its drafts to the approved CSV
// through the API of the local program, every answer held to the spec:
// the filter, one email with its ETag, an edit, a stale edit, decisions,
// a regenerate with instructions and a retry of the failed email.
func TestLocalReview(t *testing.T) {
	base, id, up := startReviewCampaign(t)
	c := getCampaign(t, base, id)
	if c.Status != "completed_with_errors" || c.Succeeded != 3 || c.NeedsReview != 1 || c.Failed != 1 || c.Pending != 0 {
		t.Fatalf("campaign %+v: want 3 succeeded, 1 needs_review, 1 failed, each counted once", c)
	}
	if c.Unreviewed != 4 || c.Approved != 0 || c.Rejected != 0 || c.Retries != 0 {
		t.Fatalf("campaign %+v: want 4 unreviewed drafts", c)
	}
	failed, flaggedOnes := emailsWith(t, base, id, "failed"), emailsWith(t, base, id, "needs_review")
	if len(failed) != 1 || len(flaggedOnes) != 1 {
		t.Fatalf("failed %v, needs_review %v: want one each", failed, flaggedOnes)
	}
	f, n := failed[0], flaggedOnes[0]
	good := emailsWith(t, base, id, "succeeded")
	if len(good) != 3 || len(emailsWith(t, base, id, "unreviewed")) != 4 || len(emailsWith(t, base, id, "needs_review,failed")) != 2 {
		t.Fatalf("succeeded %v: want 3, and 4 unreviewed, 2 needs_review or failed", good)
	}

	t.Run("ErrFilterUnknown", func(t *testing.T) {
		status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails?status=approved,sent", testKey, nil)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"status"}) {
			t.Fatalf("fields %v, want status", fields)
		}
	})
	t.Run("ErrIndex", func(t *testing.T) {
		status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails/first", testKey, nil)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"index"}) {
			t.Fatalf("fields %v, want index", fields)
		}
		if status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails/5", testKey, nil); status != http.StatusNotFound {
			t.Fatalf("index 5 of 5: %d %s, want 404", status, b)
		}
		if status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails/0", testKey+"-other", nil); status != http.StatusNotFound {
			t.Fatalf("another key: %d %s, want 404", status, b)
		}
	})

	t.Run("WrongMethodNamesPatch", func(t *testing.T) {
		status, h, b := testprog.Do(t, "PUT", base+"/api/v1/campaigns/"+id+"/emails/0", testKey, `{}`)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, PATCH" {
			t.Fatalf("PUT: %d, Allow %q, %s; want 405 naming GET and PATCH", status, h.Get("Allow"), b)
		}
	})

	etag, e := getEmail(t, base, id, n)
	if e.Status != "needs_review" || e.Review == nil || *e.Review != "unreviewed" || etag != fmt.Sprintf(`"%d"`, e.Version) || e.Version < 1 {
		t.Fatalf("flagged email %+v, ETag %s", e, etag)
	}
	// Whom it is to, so that a reviewer reads it against the person.
	if to := e.To; to.FirstName != fmt.Sprintf("Pat%d", n) || to.LastName != "Lee" || to.JobTitle != "Head of Sales" || to.CompanyName != fmt.Sprintf("Co%d Inc", n) {
		t.Fatalf("to %+v: want Pat%d Lee, Head of Sales at Co%d Inc", to, n, n)
	}

	t.Run("EditKeepsTheDraft", func(t *testing.T) {
		edited := fmt.Sprintf("Hi Pat%d,\n\nWe help sales teams at Co%d Inc write outreach that sounds like them.\n\nOpen to a quick chat?\n\nBest,", n, n)
		status, newTag, got := change(t, base, id, n, etag, map[string]any{"subject": "A quick idea", "body": edited})
		if status != http.StatusOK || !got.Edited || got.Subject != "A quick idea" || got.Body != edited ||
			got.Draft == nil || !strings.Contains(got.Draft.Subject, "{{company}}") || got.Quality == nil || got.Quality.Score < 70 {
			t.Fatalf("edit: %d %+v", status, got)
		}
		if newTag == etag || newTag != fmt.Sprintf(`"%d"`, got.Version) {
			t.Fatalf("ETag %s after the edit of %s", newTag, etag)
		}
		// The stale ETag: someone else changed it since.
		status, _, stale := change(t, base, id, n, etag, map[string]any{"review": "approved"})
		if status != http.StatusPreconditionFailed || stale.Code != "precondition_failed" {
			t.Fatalf("stale edit: %d %+v, want 412 precondition_failed", status, stale)
		}
		status, _, got = change(t, base, id, n, newTag, map[string]any{"review": "approved", "note": "fixed the placeholders"})
		if status != http.StatusOK || got.Review == nil || *got.Review != "approved" || got.Note != "fixed the placeholders" ||
			got.ReviewedAt == nil || got.Subject != "A quick idea" {
			t.Fatalf("approve: %d %+v", status, got)
		}
	})

	t.Run("ErrChange", func(t *testing.T) {
		status, _, got := change(t, base, id, f, "", map[string]any{"review": "approved"})
		if status != http.StatusConflict || got.Code != "wrong_state" {
			t.Fatalf("approving a failed email: %d %+v, want 409 wrong_state", status, got)
		}
		path := fmt.Sprintf("%s/api/v1/campaigns/%s/emails/%d", base, id, good[0])
		for name, body := range map[string]string{"Unknown": `{"reveiw": "approved"}`, "Empty": `{}`, "BadReview": `{"review": "ok"}`} {
			status, _, b := testprog.Do(t, "PATCH", path, testKey, body)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s, want 422", name, status, b)
			}
		}
		status, _, b := testprog.Do(t, "PATCH", path, testKey, `{"review": "approved"}`, "If-Match", `W/"1"`)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"If-Match"}) {
			t.Fatalf("weak If-Match: fields %v", fields)
		}
	})

	t.Run("RejectAndApprove", func(t *testing.T) {
		if status, _, got := change(t, base, id, good[0], "", map[string]any{"review": "rejected"}); status != http.StatusOK || *got.Review != "rejected" {
			t.Fatalf("reject: %d %+v", status, got)
		}
		c := getCampaign(t, base, id)
		if c.Approved != 1 || c.Rejected != 1 || c.Unreviewed != 2 {
			t.Fatalf("campaign %+v: want 1 approved, 1 rejected, 2 unreviewed", c)
		}
		if got := emailsWith(t, base, id, "approved"); !slices.Equal(got, []int{n}) {
			t.Fatalf("approved %v, want [%d]", got, n)
		}
	})

	t.Run("ApprovedCSV", func(t *testing.T) {
		status, _, b := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails?format=csv&status=approved", testKey, nil)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, b)
		}
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := rows[0]
		review := slices.Index(head, "review")
		if len(rows) != 2 || review < 0 {
			t.Fatalf("rows %q: want the header and the approved email", rows)
		}
		row := rows[1]
		if row[0] != testprog.Ref(n) || row[slices.Index(head, "subject")] != "A quick idea" || row[review] != "approved" {
			t.Fatalf("row %q: want the edit, approved", row)
		}
	})

	t.Run("Regenerate", func(t *testing.T) {
		calls, before := up.Count(), getCampaign(t, base, id)
		etag, e := getEmail(t, base, id, good[1])
		status, h, b := testprog.Do(t, "POST", fmt.Sprintf("%s/api/v1/campaigns/%s/emails/%d/regenerate", base, id, good[1]), testKey,
			map[string]any{"instructions": "make it shorter"}, "If-Match", etag)
		got := testprog.MustDecode[reviewEmail](t, b)
		if status != http.StatusOK || got.Version <= e.Version || h.Get("ETag") != fmt.Sprintf(`"%d"`, got.Version) || got.Subject == "" {
			t.Fatalf("regenerate: %d %s", status, b)
		}
		reqs := up.Requests()
		last := testprog.MustJSON(t, reqs[len(reqs)-1].Body)
		if up.Count() != calls+1 || !strings.Contains(string(last), "make it shorter") {
			t.Fatalf("%d model calls, the last %.300s; want one with the instructions", up.Count()-calls, last)
		}
		if after := getCampaign(t, base, id); after.Usage.TotalTokens <= before.Usage.TotalTokens {
			t.Errorf("usage %d after a regenerate, %d before: the call is not counted", after.Usage.TotalTokens, before.Usage.TotalTokens)
		}
		// The ETag it had is stale now.
		status, _, b = testprog.Do(t, "POST", fmt.Sprintf("%s/api/v1/campaigns/%s/emails/%d/regenerate", base, id, good[1]), testKey, nil, "If-Match", etag)
		if status != http.StatusPreconditionFailed {
			t.Fatalf("regenerate with a stale ETag: %d %s, want 412", status, b)
		}
		if up.Count() != calls+1 {
			t.Fatalf("a refused regenerate called the model")
		}
	})

	t.Run("Retry", func(t *testing.T) {
		calls := up.Count()
		status, h, b := testprog.Do(t, "POST", base+"/api/v1/campaigns/"+id+"/retry", testKey, nil)
		if status != http.StatusAccepted || h.Get("Location") != "/api/v1/campaigns/"+id {
			t.Fatalf("retry: %d %s", status, b)
		}
		if r := testprog.MustDecode[struct {
			Status  string `json:"status"`
			Retried int    `json:"retried"`
		}](t, b); r.Retried != 1 || r.Status != "running" {
			t.Fatalf("retry answered %s: want 1 email, running", b)
		}
		c := testprog.HTTP(base, testKey).WaitFor(t, id, 30*time.Second, testprog.Campaign.Final)
		after := getCampaign(t, base, id)
		if c.Status != "completed" || after.Failed != 0 || after.Succeeded+after.NeedsReview != 5 || after.Retries != 1 || after.Approved != 1 {
			t.Fatalf("after the retry %+v: want completed, nothing failed, one retry, the approval kept", after)
		}
		if up.Count() != calls+1 {
			t.Errorf("%d model calls for one retried email", up.Count()-calls)
		}
		// Nothing failed is left to retry.
		status, _, b = testprog.Do(t, "POST", base+"/api/v1/campaigns/"+id+"/retry", testKey, nil)
		if status != http.StatusConflict || !strings.Contains(string(b), `"wrong_state"`) {
			t.Fatalf("second retry: %d %s, want 409 wrong_state", status, b)
		}
		status, _, b = testprog.Do(t, "POST", base+"/api/v1/campaigns/"+id+"/retry?include=everything", testKey, nil)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"include"}) {
			t.Fatalf("include=everything: fields %v", fields)
		}
	})
}

// TestLocalConcurrentEditsOneWins: two reviewers change one email from the
// same read; with If-Match one change lands and the other is told (412),
// never silently overwritten.
func TestLocalConcurrentEditsOneWins(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)
	id := testprog.HTTP(base, testKey).Submit(t, map[string]any{"prospects": testprog.Prospects(1)})
	testprog.HTTP(base, testKey).WaitFor(t, id, 30*time.Second, testprog.Campaign.Final)
	etag, _ := getEmail(t, base, id, 0)
	const reviewers = 4
	statuses := make([]int, reviewers)
	var wg sync.WaitGroup
	for i := range reviewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = change(t, base, id, 0, etag, map[string]any{"note": fmt.Sprintf("reviewer %d", i)})
		}()
	}
	wg.Wait()
	won := slices.Index(statuses, http.StatusOK)
	if won < 0 || slices.ContainsFunc(statuses, func(s int) bool { return s != http.StatusOK && s != http.StatusPreconditionFailed }) ||
		len(slices.DeleteFunc(slices.Clone(statuses), func(s int) bool { return s != http.StatusOK })) != 1 {
		t.Fatalf("statuses %v: want one 200 and the rest 412", statuses)
	}
	if _, e := getEmail(t, base, id, 0); e.Note != fmt.Sprintf("reviewer %d", won) {
		t.Fatalf("note %q, want the winner's (reviewer %d)", e.Note, won)
	}
}
