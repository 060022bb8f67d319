package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/client"
)

// Every error answer becomes an *Error carrying what the answer said: the
// API's envelope, API Gateway's own {"message"}, or a proxy's page.
func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		status           int
		fields           int
	}{
		{"Envelope", `{"error":{"code":"validation_failed","message":"the request has 1 invalid field(s)","fields":[{"field":"prospects[0].prospect.first_name","message":"is required"}],"request_id":"req_1"}}`,
			"the request has 1 invalid field(s) (HTTP 422, request req_1)", 422, 1},
		{"APIGateway", `{"message":"Forbidden"}`, "Forbidden (HTTP 403)", 403, 0},
		{"ProxyPage", "<html>Bad Gateway</html>", "<html>Bad Gateway</html> (HTTP 502)", 502, 0},
		{"Empty", "", "Not Found (HTTP 404)", 404, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("x-api-key") != "k" {
					t.Errorf("x-api-key %q", r.Header.Get("x-api-key"))
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := client.New(srv.URL, "k").Campaign(context.Background(), "cmp_1")
			var e *client.Error
			if !errors.As(err, &e) || e.Error() != tc.want || len(e.Fields) != tc.fields || !client.IsStatus(err, tc.status) {
				t.Fatalf("err %v (%#v), want %q with %d field(s)", err, e, tc.want, tc.fields)
			}
		})
	}
}

// A CSV campaign with the JSON form's defaults goes as multipart, its
// campaign part holding them; the idempotency key goes as a header in
// both forms.
func TestSubmitSends(t *testing.T) {
	type seen struct {
		contentType, key, query, campaign, file string
	}
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{contentType: r.Header.Get("Content-Type"), key: r.Header.Get("Idempotency-Key"), query: r.URL.RawQuery}
		if strings.HasPrefix(got.contentType, "multipart/form-data") {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Errorf("parse: %v", err)
			}
			got.campaign = r.FormValue("campaign")
			if f, _, err := r.FormFile("file"); err == nil {
				b, _ := io.ReadAll(f)
				got.file = string(b)
			}
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"campaign_id":"cmp_1","status":"queued","total":1,"warnings":[]}`))
	}))
	defer srv.Close()
	c, ctx := client.New(srv.URL, "k"), context.Background()

	t.Run("CSVDefaults", func(t *testing.T) {
		_, err := c.SubmitCSV(ctx, "/tmp/people.csv", strings.NewReader("First Name\nAnn\n"), client.CSVOptions{
			Name: "people", Defaults: json.RawMessage(`{"sender":{"name":"Alex","value_proposition":"v"}}`),
			SkipInvalid: true, IdempotencyKey: "k-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := seen{key: "k-1", query: "skip_invalid=true", file: "First Name\nAnn\n",
			campaign: `{"defaults":{"sender":{"name":"Alex","value_proposition":"v"}},"name":"people"}`}
		got.contentType = ""
		if got != want {
			t.Fatalf("sent %+v, want %+v", got, want)
		}
	})
	t.Run("CSVPlain", func(t *testing.T) {
		if _, err := c.SubmitCSV(ctx, "p.csv", strings.NewReader("x"), client.CSVOptions{Ask: "a call"}); err != nil {
			t.Fatal(err)
		}
		if got.contentType != "text/csv" || got.key != "" || got.query != "ask=a+call" {
			t.Fatalf("sent %+v, want text/csv with ask and no key", got)
		}
	})
	t.Run("JSONOnce", func(t *testing.T) {
		if _, err := c.SubmitJSONOnce(ctx, []byte(`{}`), "k-2"); err != nil {
			t.Fatal(err)
		}
		if got.contentType != "application/json" || got.key != "k-2" {
			t.Fatalf("sent %+v", got)
		}
	})
	t.Run("ErrDefaultsAndAsk", func(t *testing.T) {
		_, err := c.SubmitCSV(ctx, "p.csv", strings.NewReader("x"), client.CSVOptions{Ask: "a call", Defaults: json.RawMessage(`{}`)})
		if err == nil || !strings.Contains(err.Error(), "Defaults replace Ask") {
			t.Fatalf("err %v", err)
		}
	})
}

// Emails reads one JSON page, asking for its limit and cursor.
func TestEmails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/campaigns/cmp_1/emails" || r.URL.RawQuery != "cursor=c2&limit=2" {
			t.Errorf("GET %s", r.URL)
		}
		_, _ = w.Write([]byte(`{"emails":[{"index":2,"ref":"r2","status":"succeeded","subject":"s","body":"b","error":"","quality":{"score":90,"findings":[]}}],"next_cursor":""}`))
	}))
	defer srv.Close()
	p, err := client.New(srv.URL, "k").Emails(context.Background(), "cmp_1", "c2", 2)
	if err != nil || len(p.Emails) != 1 || p.Emails[0].Quality == nil || p.Emails[0].Quality.Score != 90 || p.NextCursor != "" {
		t.Fatalf("page %+v, err %v", p, err)
	}
}

// The review calls send what the API reads: the status filter, If-Match
// from a version (none for AnyVersion), a change's members alone, and a
// regenerate without instructions has no body.
func TestReviewSends(t *testing.T) {
	type seen struct{ method, target, ifMatch, contentType, body string }
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.RequestURI(), r.Header.Get("If-Match"), r.Header.Get("Content-Type"), string(b)}
		switch {
		case strings.HasSuffix(r.URL.Path, "/retry"):
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"campaign_id":"cmp_1","status":"running","retried":2}`))
		case strings.HasSuffix(r.URL.Path, "/emails"):
			_, _ = w.Write([]byte(`{"emails":[],"next_cursor":""}`))
		case r.URL.Query().Get("format") == "csv":
			_, _ = w.Write([]byte("ref\n"))
		default:
			w.Header().Set("ETag", `"4"`)
			_, _ = w.Write([]byte(`{"index":3,"status":"succeeded","version":4,"review":"approved","edited":true,"draft":{"subject":"d","body":"b","quality":{"score":70,"findings":[]}}}`))
		}
	}))
	defer srv.Close()
	c, ctx := client.New(srv.URL, "k"), context.Background()
	approved, subject := "approved", "New subject"
	for name, tc := range map[string]struct {
		call func() error
		want seen
	}{
		"Filter": {func() error { _, err := c.Emails(ctx, "cmp_1", "", 0, "needs_review", "unreviewed"); return err },
			seen{"GET", "/api/v1/campaigns/cmp_1/emails?status=needs_review%2Cunreviewed", "", "", ""}},
		"DownloadApproved": {func() error { _, err := c.Download(ctx, "cmp_1", false, io.Discard, "approved"); return err },
			seen{"GET", "/api/v1/campaigns/cmp_1/emails?format=csv&status=approved", "", "", ""}},
		"Email": {func() error {
			e, err := c.Email(ctx, "cmp_1", 3)
			if err == nil && (e.Version != 4 || e.Review == nil || *e.Review != "approved" || e.Draft == nil || e.Draft.Quality.Score != 70) {
				err = fmt.Errorf("read %+v", e)
			}
			return err
		}, seen{"GET", "/api/v1/campaigns/cmp_1/emails/3", "", "", ""}},
		"ChangeIfMatch": {func() error {
			_, err := c.ChangeEmail(ctx, "cmp_1", 3, 4, client.EmailChange{Subject: &subject, Review: &approved})
			return err
		}, seen{"PATCH", "/api/v1/campaigns/cmp_1/emails/3", `"4"`, "application/json", `{"subject":"New subject","review":"approved"}`}},
		"ChangeAnyVersion": {func() error {
			_, err := c.ChangeEmail(ctx, "cmp_1", 3, client.AnyVersion, client.EmailChange{Review: &approved})
			return err
		}, seen{"PATCH", "/api/v1/campaigns/cmp_1/emails/3", "", "application/json", `{"review":"approved"}`}},
		"RegenerateBare": {func() error { _, err := c.Regenerate(ctx, "cmp_1", 3, client.AnyVersion, ""); return err },
			seen{"POST", "/api/v1/campaigns/cmp_1/emails/3/regenerate", "", "", ""}},
		"RegenerateInstructions": {func() error { _, err := c.Regenerate(ctx, "cmp_1", 3, 0, "shorter"); return err },
			seen{"POST", "/api/v1/campaigns/cmp_1/emails/3/regenerate", `"0"`, "application/json", `{"instructions":"shorter"}`}},
		"Retry": {func() error {
			r, err := c.Retry(ctx, "cmp_1", true)
			if err == nil && r.Retried != 2 {
				err = fmt.Errorf("retried %+v", r)
			}
			return err
		}, seen{"POST", "/api/v1/campaigns/cmp_1/retry?include=needs_review", "", "", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			got = seen{}
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("sent %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// SetMode adds mode to a JSON campaign without touching the rest, keeps
// one that already asks for it, and refuses one that asks for another.
func TestSetMode(t *testing.T) {
	for _, tc := range []struct {
		name, body, want, err string
	}{
		{"OK", ` {"name": "Q4", "prospects": []}`, ` {"mode":"batch","name": "Q4", "prospects": []}`, ""},
		{"Empty", `{}`, `{"mode":"batch"}`, ""},
		{"Already", `{"Mode": "batch", "prospects": []}`, `{"Mode": "batch", "prospects": []}`, ""},
		{"ErrOtherMode", `{"mode": "realtime"}`, "", `the campaign sets "mode" to "realtime", not "batch"`},
		{"ErrNotObject", `[{}]`, "", "the campaign is not a JSON object"},
		{"ErrNull", `null`, "", "the campaign is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.SetMode([]byte(tc.body), client.ModeBatch)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want || !json.Valid(got) {
				t.Fatalf("%s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// A batch campaign's view reads with its mode, warnings and batches; a
// batch the provider has not created yet has no id.
func TestCampaignBatches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"campaign_id":"cmp_1","status":"running","total":3,"mode":"batch","warnings":["w"],
			"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"batch_prompt_tokens":10,"batch_completion_tokens":4},
			"batches":[{"id":"batch_1","status":"in_progress","total":2,"completed":1,"failed":0},{"id":null,"status":"preparing","total":1,"completed":0,"failed":0}]}`))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, "k").Campaign(context.Background(), "cmp_1")
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Batch{{ID: "batch_1", Status: "in_progress", Total: 2, Completed: 1}, {Status: "preparing", Total: 1}}
	if c.Mode != client.ModeBatch || len(c.Warnings) != 1 || fmt.Sprint(c.Batches) != fmt.Sprint(want) ||
		c.Usage.BatchPromptTokens != 10 || c.Usage.BatchCompletionTokens != 4 {
		t.Fatalf("campaign %+v", c)
	}
}
