package api_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
	"github.com/ingren/ingren/internal/openaitest"
)

type lintAnswer struct {
	email.Linted
	Warnings []string `json:"warnings"`
	Error    *struct {
		Code   string             `json:"code"`
		Fields []fault.FieldError `json:"fields"`
	} `json:"error"`
}

func postLint(t *testing.T, base, body string) (int, lintAnswer) {
	t.Helper()
	res, b := post(t, base+"/api/v1/lint", key, body)
	var a lintAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return res.StatusCode, a
}

func codes(r lint.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	return out
}

// The invented-fact check runs against whatever context is given: the 27%
// the request gives passes, the 40% it does not give is invented, and
// without the context both are.
func TestLintChecksAgainstTheGivenContext(t *testing.T) {
	up := openaitest.New(t)
	base := newAPI(t, up)
	b, err := os.ReadFile("../../testdata/requests/lint-sarah.json")
	if err != nil {
		t.Fatal(err)
	}
	status, a := postLint(t, base, string(b))
	if status != 200 || !a.NeedsReview || a.Quality.Score >= 100 {
		t.Fatalf("status %d, answer %+v", status, a)
	}
	var invented []string
	for _, f := range a.Quality.Findings {
		if f.Code == lint.CodeInventedFact {
			invented = append(invented, f.Message)
		}
	}
	if len(invented) != 1 || !strings.Contains(invented[0], "40%") {
		t.Fatalf("invented facts %q: want the 40%% alone", invented)
	}

	var bare map[string]any
	_ = json.Unmarshal(b, &bare)
	bare = map[string]any{"subject": bare["subject"], "body": bare["body"], "tone": "x"}
	nb, _ := json.Marshal(bare)
	status, a = postLint(t, base, string(nb))
	if status != 200 {
		t.Fatalf("status %d, answer %+v", status, a)
	}
	n := 0
	for _, f := range a.Quality.Findings {
		if f.Code == lint.CodeInventedFact {
			n++
		}
	}
	if n < 2 {
		t.Errorf("without context: %d invented facts in %v, want 27%% and 40%%", n, codes(a.Quality))
	}
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "tone") {
		t.Errorf("warnings %q: want the unknown member named", a.Warnings)
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d model calls, want none", n)
	}
}

// Lint gives an email of ours the very report generate-email gave it.
func TestLintMatchesGenerateEmailReport(t *testing.T) {
	up := openaitest.New(t)
	base := newAPI(t, up)
	res, b := post(t, base+"/api/v1/generate-email", key, sarah(t))
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	var gen struct {
		Subject, Body string
		Quality       lint.Report
		NeedsReview   bool `json:"needs_review"`
	}
	if err := json.Unmarshal(b, &gen); err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	_ = json.Unmarshal([]byte(sarah(t)), &req)
	for _, edit := range []string{"", "\n\nP.S. We cut ramp time by 63% for Acme."} {
		req["subject"], req["body"] = gen.Subject, gen.Body+edit
		lb, _ := json.Marshal(req)
		status, a := postLint(t, base, string(lb))
		if status != 200 {
			t.Fatalf("status %d: %+v", status, a)
		}
		if edit == "" {
			if !slices.Equal(codes(a.Quality), codes(gen.Quality)) || a.Quality.Score != gen.Quality.Score || a.NeedsReview != gen.NeedsReview {
				t.Errorf("lint %v (%d), generate-email %v (%d)", codes(a.Quality), a.Quality.Score, codes(gen.Quality), gen.Quality.Score)
			}
			continue
		}
		if !a.NeedsReview || !slices.Contains(codes(a.Quality), lint.CodeInventedFact) {
			t.Errorf("edited with an invented 63%%: %v, needs_review %v", codes(a.Quality), a.NeedsReview)
		}
	}
}

func TestLintErrors(t *testing.T) {
	up := openaitest.New(t)
	base := newAPI(t, up)
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"empty object", `{}`, []string{"body", "subject"}},
		{"wrong types", `{"subject": 1, "body": "Hi", "prospect": {"tenure_months": "two"}}`, []string{"prospect.tenure_months", "subject"}},
		{"bad context", `{"subject": "s", "body": "b", "options": {"max_words": 5}, "prospect": {"email": "nope"}}`, []string{"options.max_words", "prospect.email"}},
		{"control character", "{\"subject\": \"s\\u0000\", \"body\": \"b\"}", []string{"subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, a := postLint(t, base, tc.body)
			if status != 422 || a.Error == nil || a.Error.Code != "validation_failed" {
				t.Fatalf("status %d, answer %+v", status, a)
			}
			var got []string
			for _, f := range a.Error.Fields {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
		})
	}
	res, _ := post(t, base+"/api/v1/lint", "", `{"subject": "s", "body": "b"}`)
	if res.StatusCode != 401 {
		t.Errorf("without a key: status %d, want 401", res.StatusCode)
	}
	res, _ = post(t, base+"/api/v1/lint", key, `not json`)
	if res.StatusCode != 400 {
		t.Errorf("not JSON: status %d, want 400", res.StatusCode)
	}
}
