package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/lint"
)

// reviewServer is the API as the local program assembles it (with cfg),
// with the offline writer, over a campaign of three emails: 0 and 1
// written, 2 failed. It returns the handler and the campaign's id.
func reviewServer(f testing.TB, cfg api.Config) (http.Handler, string) {
	f.Helper()
	svc, composer := offlineService(f)
	store := svc.Store
	ctx := context.Background()
	body := `{"prospects": [` +
		`{"prospect": {"first_name": "Pat"}, "company": {"company_name": "Acme"}},` +
		`{"prospect": {"first_name": "Sam"}, "company": {"company_name": "Globex"}},` +
		`{"prospect": {"first_name": "Ann"}, "company": {"company_name": "Initech"}}]}`
	sub, err := svc.Submit(ctx, "t", "", []byte(body))
	if err != nil {
		f.Fatal(err)
	}
	id := sub.Campaign.ID
	now := time.Now()
	for i := range 2 {
		out := campaign.Outcome{Subject: "Idea", Body: "Hi,\n\nBest,", Model: "offline",
			Emails: []email.Checked{{Subject: "Idea", Body: "Hi,\n\nBest,", Quality: lint.Report{Score: 100, Findings: []lint.Finding{}}}}}
		if err := store.Finish(ctx, id, i, campaign.EmailSucceeded, out, now); err != nil {
			f.Fatal(err)
		}
	}
	if err := store.Finish(ctx, id, 2, campaign.EmailFailed, campaign.Outcome{Error: "refused"}, now); err != nil {
		f.Fatal(err)
	}
	// The campaign is tenant t's: the fuzz key is t.
	return api.NewServer(cfg, fixedTenant("t"), composer, svc, slog.New(slog.DiscardHandler)), id
}

// fixedTenant takes the fuzz key as tenant t.
type fixedTenant string

func (t fixedTenant) Tenant(r *http.Request) (string, error) {
	if r.Header.Get("x-api-key") != fuzzKey {
		return "", api.ErrUnauthorized
	}
	return string(t), nil
}

// FuzzReviewHandlers sends any PATCH or regenerate body, with any If-Match
// and any index, to a campaign's emails: never a 5xx or a panic, every
// answer held to the contract, and an email answered 200 carries the ETag
// of its version, which reading it again finds.
func FuzzReviewHandlers(f *testing.F) {
	for _, s := range []struct {
		regenerate     bool
		index, ifMatch string
		body           string
	}{
		{false, "0", `"1"`, `{"review": "approved"}`},
		{false, "1", ``, `{"subject": "New", "body": "Hi Sam,\n\nA new body.\n\nBest,", "note": "n"}`},
		{false, "2", ``, `{"review": "rejected"}`},
		{false, "0", `"9"`, `{"review": "unreviewed"}`},
		{false, "0", `*`, `{"Review": "approved", "note": null}`},
		{false, "0", `W/"1"`, `{"reveiw": "approved"}`},
		{false, "7", ``, `{}`},
		{false, "-1", ``, `[]`},
		{false, "x", ``, `{"subject": ""}`},
		{true, "0", ``, `{"instructions": "shorter"}`},
		{true, "1", `"1"`, ``},
		{true, "2", ``, `{"instructions": 3}`},
	} {
		f.Add(s.regenerate, s.index, s.ifMatch, []byte(s.body))
	}
	h, id := reviewServer(f, api.Config{})
	f.Fuzz(func(t *testing.T, regenerate bool, index, ifMatch string, body []byte) {
		if !validHeaderValue(ifMatch) || len(index) > 20 || index == "" || index == "." || index == ".." {
			return // not a request net/http routes as it is (ServeMux cleans dots)
		}
		path := "/api/v1/campaigns/" + id + "/emails/" + index
		for _, r := range index {
			if r <= ' ' || r == '/' || r == '?' || r == '#' || r == '%' || r > 0x7e {
				return // not one path segment
			}
		}
		method := "PATCH"
		if regenerate {
			method, path = "POST", path+"/regenerate"
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", fuzzKey)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rec, out := serve(t, h, req)
		if rec.Code != http.StatusOK {
			return
		}
		v, _ := out["version"].(float64)
		if tag := rec.Header().Get("ETag"); tag != fmt.Sprintf(`"%d"`, int(v)) {
			t.Fatalf("ETag %q for version %v", tag, v)
		}
		get := httptest.NewRequest("GET", "/api/v1/campaigns/"+id+"/emails/"+index, nil)
		get.Header.Set("x-api-key", fuzzKey)
		if _, again := serve(t, h, get); again["version"] != out["version"] {
			t.Fatalf("answered version %v, read back %v", out["version"], again["version"])
		}
	})
}

// TestCSVChunksKeepTheFilter: an export cut into chunks (AWS) names the
// next chunk with the same filter, so that following the chunks gives the
// filtered emails alone.
func TestCSVChunksKeepTheFilter(t *testing.T) {
	h, id := reviewServer(t, api.Config{MaxListBytes: 200})
	target := "/api/v1/campaigns/" + id + "/emails?format=csv&status=succeeded"
	var rows [][]string
	chunks := 0
	for ; target != ""; chunks++ {
		if chunks > 5 {
			t.Fatal("more chunks than emails")
		}
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("x-api-key", fuzzKey)
		rec := httptest.NewRecorder()
		contract.Handler(t, h).ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		got, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, got...)
		target = ""
		if link := rec.Header().Get("Link"); link != "" {
			if !strings.Contains(link, "status=succeeded") {
				t.Fatalf("Link %q drops the filter", link)
			}
			target = strings.TrimPrefix(strings.Split(link, ">")[0], "<")
		}
	}
	if chunks < 2 {
		t.Fatalf("%d chunk: the bound did not cut the export", chunks)
	}
	if len(rows) != 3 || rows[0][0] != "ref" || rows[1][8] != "succeeded" || rows[2][8] != "succeeded" {
		t.Fatalf("rows %q: want the header and the 2 succeeded emails", rows)
	}
}
