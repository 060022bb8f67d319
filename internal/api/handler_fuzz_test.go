package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/prompts"
)

const fuzzKey = "fuzz-key-0123456789abcdef"

// fuzzServer is the API as the local program assembles it, with the
// offline writer (no network) and SQLite in a temporary directory. No
// worker runs: a submitted campaign stays queued.
func fuzzServer(f *testing.F) http.Handler {
	f.Helper()
	svc, composer := offlineService(f)
	return api.NewServer(api.Config{}, api.KeyAuth{Keys: apikey.New([]string{fuzzKey})}, composer, svc,
		slog.New(slog.DiscardHandler))
}

// offlineService is the campaign service as the local program assembles
// it, with the offline writer (no network), on SQLite in a temporary
// directory, and the composer it renders and lints with.
func offlineService(tb testing.TB) (*campaign.Service, *email.Composer) {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "ingren.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	store, err := sqlite.NewStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	queue, err := sqlite.NewQueue(db, "work", time.Minute, 5)
	if err != nil {
		tb.Fatal(err)
	}
	composer := &email.Composer{Writer: offline.New(), Prompts: set}
	return &campaign.Service{Store: store, Queue: queue, Composer: composer, Checker: composer, MaxProspects: 20}, composer
}

// serve sends one request straight to the handler, so a panic fails the
// fuzz run instead of being swallowed by net/http, and checks what every
// answer must be: below 500, JSON, and, for an error, a code and message;
// and the request and answer against the contract.
func serve(t *testing.T, h http.Handler, req *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	contract.Handler(t, h).ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d for client input: %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: %d with Content-Type %q", req.Method, req.URL, rec.Code, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d, not a JSON object: %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		e, _ := out["error"].(map[string]any)
		if e == nil || e["code"] == "" || e["message"] == "" {
			t.Fatalf("%s %s: %d without an error code and message: %s", req.Method, req.URL, rec.Code, rec.Body)
		}
	}
	return rec, out
}

func fuzzPost(path string, body []byte) *http.Request {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", fuzzKey)
	return req
}

// FuzzGenerateEmailHandler posts any body to /api/v1/generate-email: the
// answer is never a 5xx or a panic, and a 200 holds an email.
func FuzzGenerateEmailHandler(f *testing.F) {
	sarah, err := os.ReadFile("../../testdata/requests/sarah.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sarah)
	for _, s := range []string{
		`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"variants": 3}}`,
		// An explicit 0 is the default, as leaving the option out is.
		`{"prospect": {"first_name": "A", "email": ""}, "company": {"company_name": "B"}, "options": {"variants": 0, "max_words": 0, "model": ""}}`,
		`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"sequence": {"follow_ups": 4}}}`,
		`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"sequence": {"follow_ups": 2, "days": [5, 1]}}}`,
		`{"prospect": {"first_name": " ", "tenure_months": -1}, "company": {"company_name": "B", "employee_count": 1e20}}`,
		`{"prospect": {"first_name": "=cmd"}, "company": {"company_name": "\u0000"}, "cta": {"ask": "{{.}}"}}`,
		`{}`, `[]`, `null`, ``, `{"prospect":`,
		// A repeated object member merges into the first, as encoding/json reads it.
		`{"prospeCt": {"first_nAme": "0"}, "prospeCt": {}, "CompAnY": {"CompAnY_nAme": "0"}}`,
	} {
		f.Add([]byte(s))
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec, out := serve(t, h, fuzzPost("/api/v1/generate-email", body))
		if rec.Code == http.StatusOK && (out["subject"] == "" || out["body"] == "") {
			t.Fatalf("200 without an email: %s", rec.Body)
		}
	})
}

// FuzzCreateCampaignHandler posts any body, with any Idempotency-Key, to
// /api/v1/campaigns: never a 5xx or a panic, and an accepted campaign can
// be read back with the number of prospects it was accepted with.
func FuzzCreateCampaignHandler(f *testing.F) {
	entry := `{"ref": "r1", "prospect": {"first_name": "Pat"}, "company": {"company_name": "Acme"}}`
	for _, s := range []struct{ body, key string }{
		{`{"name": "Q4", "prospects": [` + entry + `]}`, ""},
		{`{"name": "Q4", "prospects": [` + entry + `, ` + entry + `], "webhook_url": "https://example.com/h"}`, "key-1"},
		{`{"prospects": [` + entry + `], "defaults": {"options": {"variants": 2, "sequence": {"follow_ups": 1}}}}`, "key-2"},
		{`{"prospects": [{}]}`, strings.Repeat("k", 201)},
		{`{"prospects": []}`, "key-1"},
		{`{"prospects": "x"}`, ""},
		{`[]`, ""},
	} {
		f.Add([]byte(s.body), s.key)
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		req := fuzzPost("/api/v1/campaigns", body)
		if key != "" {
			if !validHeaderValue(key) {
				return // net/http would refuse to send it
			}
			req.Header.Set("Idempotency-Key", key)
		}
		rec, out := serve(t, h, req)
		if rec.Code != http.StatusAccepted {
			return
		}
		id, _ := out["campaign_id"].(string)
		get := httptest.NewRequest("GET", "/api/v1/campaigns/"+id, nil)
		get.Header.Set("x-api-key", fuzzKey)
		_, c := serve(t, h, get)
		if c["total"] != out["total"] || c["campaign_id"] != id {
			t.Fatalf("accepted %v, read back %v", out, c)
		}
	})
}

// validHeaderValue reports whether net/http would send v as a header
// value (RFC 9110 field-value: no control characters but tab).
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// FuzzCreateCSVCampaignHandler posts any body as text/csv, with any query,
// to /api/v1/campaigns: never a 5xx or a panic, and an accepted campaign
// holds at least one prospect.
func FuzzCreateCSVCampaignHandler(f *testing.F) {
	for _, s := range []struct{ body, query string }{
		{"First Name,Company\nAda,Acme\n", "name=Q4"},
		{"\xEF\xBB\xBFFirst Name;Company;# Employees\r\nAda;Acme;1,200\r\n;;\r\n", "skip_invalid=true"},
		{"First Name,Company\n,Acme\nBo,\n", "skip_invalid=true&mode=realtime"},
		{"\xFF\xFEF\x00i\x00r\x00s\x00t\x00", "mode=batch"},
		{"Name,Org\n\"a\nb\",c\n", "webhook_url=ftp://x"},
		{"First Name\nAda\n", "skip_invalid&mode="},
		{"First Name,Company\nAda,Acme\n", "dry_run=true&mode=batch"},
		{"First Name,Company\nAda,\n", "dry_run=1&skip_invalid=true"},
		{"First Name\nAda\n", "dry_run="},
		{"", ""},
	} {
		f.Add([]byte(s.body), s.query)
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		req := fuzzPost("/api/v1/campaigns?"+url.PathEscape(query), body)
		req.Header.Set("Content-Type", "text/csv")
		rec, out := serve(t, h, req)
		if rec.Code == http.StatusAccepted {
			if n, _ := out["total"].(float64); n < 1 {
				t.Fatalf("accepted an empty campaign: %s", rec.Body)
			}
		}
	})
}

// FuzzLintHandler posts any body to /api/v1/lint: never a 5xx or a panic,
// and a 200's report is consistent: a score from 0 to 100, lowered by each
// finding, and needs_review exactly when a finding is an error.
func FuzzLintHandler(f *testing.F) {
	b, err := os.ReadFile("../../testdata/requests/lint-sarah.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, s := range []string{
		`{"subject": "Hi", "body": "Hi [First Name], **bold** 99% of teams! http://a.b http://c.d"}`,
		`{"subject": "a\nb", "body": "Hi Bob,\n\n- one\n- two", "prospect": {"first_name": "Ann"}, "options": {"max_words": 20}}`,
		`{"subject": "x", "body": "<prospect_data>{}</prospect_data>", "company": {"employee_count": 12, "k": [1]}}`,
		`{"subject": "", "body": ""}`, `{}`, `[]`, `null`, ``, `{"subject":`,
	} {
		f.Add([]byte(s))
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec, _ := serve(t, h, fuzzPost("/api/v1/lint", body))
		if rec.Code != http.StatusOK {
			return
		}
		var a email.Linted
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if a.Quality.Score < 0 || a.Quality.Score > 100 || (len(a.Quality.Findings) == 0) != (a.Quality.Score == 100) ||
			a.NeedsReview != a.Quality.HasErrors() {
			t.Fatalf("inconsistent report %+v for %q", a, body)
		}
	})
}
