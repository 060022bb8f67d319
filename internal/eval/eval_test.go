package eval_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/eval"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

const set = "../../testdata/eval/prospects.json"

func TestLoad(t *testing.T) {
	cases, err := eval.Load(set)
	if err != nil {
		t.Fatal(err)
	}
	hostile := 0
	for _, c := range cases {
		if strings.HasPrefix(c.Name, "hostile-") {
			hostile++
		}
	}
	if len(cases) < 30 || hostile < 4 {
		t.Fatalf("%d cases, %d hostile: the set needs at least 30, with hostile inputs", len(cases), hostile)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"prospects": [{"name": "x", "request": {"prospect": {}, "company": {"company_name": "A"}}}]}`), 0o644)
	if _, err := eval.Load(bad); err == nil || !strings.Contains(err.Error(), "prospects[0].request.prospect.first_name") {
		t.Fatalf("an invalid case must be refused by name: %v", err)
	}
}

func TestRunOffline(t *testing.T) {
	cases, err := eval.Load(set)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	r := eval.Run(context.Background(), "offline", &email.Composer{Writer: offline.New(), Prompts: ps}, cases, 4, nil)
	if r.Failures != 0 || r.Emails < len(cases) || r.Model != "offline" {
		t.Fatalf("result %+v", r)
	}
	// The offline template splices fields in as they are, so hostile
	// fields must surface as findings: that is the lint doing its job.
	for _, o := range r.Outcomes {
		if o.Case == "hostile-fence-close" && !o.NeedsReview {
			t.Errorf("the template email quoting a fence-closing field must need review: %+v", o.Emails[0].Quality)
		}
		if !strings.HasPrefix(o.Case, "hostile-") && o.NeedsReview {
			t.Errorf("%s: offline email needs review: %+v", o.Case, o.Emails)
		}
	}
	if r.PassRate < 0.85 || r.Words.Median == 0 || r.Grade.Max == 0 {
		t.Fatalf("pass rate %.2f, words %+v, grade %+v", r.PassRate, r.Words, r.Grade)
	}
}

func TestCompareWithCost(t *testing.T) {
	cases, err := eval.Load(set)
	if err != nil {
		t.Fatal(err)
	}
	up := openaitest.New(t)
	ps, _ := prompt.Load(prompts.FS)
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	a := eval.Run(context.Background(), "A", &email.Composer{Writer: w, Prompts: ps}, cases[:6], 3, nil)
	b := eval.Run(context.Background(), "B", &email.Composer{Writer: offline.New(), Prompts: ps}, cases[:6], 3, &eval.Price{Input: 1, Output: 1})
	if a.Model != "gpt-4o-mini" || a.CostPer1000 <= 0 || a.Usage.TotalTokens == 0 {
		t.Fatalf("model run %+v: want a cost from gpt-4o-mini's list price", a)
	}
	md := eval.Markdown(a, b)
	for _, want := range []string{"| metric | A | B |", "lint pass rate", "cost per 1,000 requests", "## Findings by code", "rich-saas-vp-sales"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
