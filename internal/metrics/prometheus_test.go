package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/metrics"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// mustScrape GETs the sink's handler over HTTP, as Prometheus does, and
// returns the text.
func mustScrape(tb testing.TB, p *metrics.Prometheus) string {
	tb.Helper()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		tb.Fatalf("scrape: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return string(b)
}

// assertLines fails unless text has every line of want.
func assertLines(tb testing.TB, text string, want ...string) {
	tb.Helper()
	lines := strings.Split(text, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
				break
			}
		}
		if !found {
			tb.Errorf("no line %q in:\n%s", w, text)
		}
	}
}

func TestPrometheus(t *testing.T) {
	p := metrics.NewPrometheus()
	u := email.Usage{PromptTokens: 300, CompletionTokens: 120, TotalTokens: 420, CostMicroUSD: 125000} // a sum floats add exactly
	p.EmailFinished(campaign.EmailSucceeded, "gpt-4o-mini", u)
	p.EmailFinished(campaign.EmailSucceeded, "gpt-4o-mini", u)
	p.EmailFinished(campaign.EmailNeedsReview, "gpt-4o-mini", u)
	p.EmailFinished(campaign.EmailFailed, "gpt-4o-mini", email.Usage{})
	p.EmailFinished(campaign.EmailSkipped, "gpt-4o-mini", email.Usage{})
	p.EmailFinished(campaign.EmailSucceeded, "my-own-model", email.Usage{PromptTokens: 10, CompletionTokens: 5, Unpriced: 1})
	p.ModelCalled("gpt-4o-mini", 1500*time.Millisecond, http.StatusOK)
	p.ModelCalled("gpt-4o-mini", 100*time.Millisecond, http.StatusTooManyRequests)
	p.Repaired("gpt-4o-mini", email.RepairQuality)
	p.Repaired("gpt-4o-mini", email.RepairAnswer)
	p.Repaired("gpt-4o-mini", email.RepairQuality)

	text := mustScrape(t, p)
	assertLines(t, text,
		"# TYPE ingren_emails_total counter",
		`ingren_emails_total{model="gpt-4o-mini",status="succeeded"} 2`,
		`ingren_emails_total{model="gpt-4o-mini",status="needs_review"} 1`,
		`ingren_emails_total{model="gpt-4o-mini",status="failed"} 1`,
		`ingren_emails_total{model="gpt-4o-mini",status="skipped"} 1`,
		`ingren_emails_total{model="my-own-model",status="succeeded"} 1`,
		`ingren_tokens_total{kind="prompt",model="gpt-4o-mini"} 900`,
		`ingren_tokens_total{kind="completion",model="gpt-4o-mini"} 360`,
		`ingren_cost_usd_total{model="gpt-4o-mini"} 0.375`,
		`ingren_unpriced_total{model="my-own-model"} 1`,
		`ingren_needs_review_total{model="gpt-4o-mini"} 1`,
		`ingren_failures_total{model="gpt-4o-mini"} 1`,
		"# TYPE ingren_model_latency_seconds histogram",
		`ingren_model_latency_seconds_bucket{model="gpt-4o-mini",le="0.25"} 1`,
		`ingren_model_latency_seconds_bucket{model="gpt-4o-mini",le="2"} 2`,
		`ingren_model_latency_seconds_count{model="gpt-4o-mini"} 2`,
		`ingren_model_rate_limited_total{model="gpt-4o-mini"} 1`,
		`ingren_repairs_total{model="gpt-4o-mini",reason="quality"} 2`,
		`ingren_repairs_total{model="gpt-4o-mini",reason="answer"} 1`,
	)
	if strings.Contains(text, `ingren_cost_usd_total{model="my-own-model"}`) {
		t.Errorf("an unpriced model shows a cost:\n%s", text)
	}
	// Only the table's metrics: no Go runtime or process collectors.
	for _, l := range strings.Split(text, "\n") {
		if l != "" && !strings.HasPrefix(l, "ingren_") && !strings.HasPrefix(l, "# HELP ingren_") && !strings.HasPrefix(l, "# TYPE ingren_") {
			t.Errorf("a line of another metric: %q", l)
		}
	}
}

// TestPrometheusLabelsBounded: a model label is printable ASCII of bounded
// length, and past the bound on names the rest count as "other".
func TestPrometheusLabelsBounded(t *testing.T) {
	p := metrics.NewPrometheus()
	p.ModelCalled("", time.Second, http.StatusOK)
	p.ModelCalled("gpt\n4o \"mini\"", time.Second, http.StatusOK)
	p.ModelCalled(strings.Repeat("m", 500), time.Second, http.StatusOK)
	for i := range 40 {
		p.Repaired("model-"+strings.Repeat("x", i), email.RepairAnswer)
	}
	p.Repaired("gpt-4o-mini", "made-up")
	text := mustScrape(t, p)
	assertLines(t, text,
		`ingren_model_latency_seconds_count{model="unknown"} 1`,
		`ingren_model_latency_seconds_count{model="gpt_4o_\"mini\""} 1`,
		`ingren_model_latency_seconds_count{model="`+strings.Repeat("m", 64)+`"} 1`,
		`ingren_repairs_total{model="other",reason="answer"} 11`,
		`ingren_repairs_total{model="other",reason="unknown"} 1`,
	)
}

// TestWriterRateLimitedCounter: a Writer whose Observer is the sink, driven
// through a 429 by the test server, counts the 429 and times both calls.
func TestWriterRateLimitedCounter(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithScript(openaitest.RateLimited(time.Second)))
	p := metrics.NewPrometheus()
	// The Retry-After wait passes on a clock of the test's own.
	clock := &clock{now: time.Now()}
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: srv.URL, Observer: p, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	c := &email.Composer{Writer: w, Prompts: set, Observer: p}
	req := &email.Request{Prospect: email.Prospect{FirstName: "Sarah"}, Company: email.Company{CompanyName: "TechNova"}}
	if _, err := c.Compose(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if srv.Count() < 2 {
		t.Fatalf("the server got %d requests, want the 429 and its retry", srv.Count())
	}
	text := mustScrape(t, p)
	assertLines(t, text, `ingren_model_rate_limited_total{model="gpt-4o-mini"} 1`)
	if !strings.Contains(text, `ingren_model_latency_seconds_count{model="gpt-4o-mini"} `+strconv.Itoa(srv.Count())) {
		t.Errorf("want %d latencies:\n%s", srv.Count(), text)
	}
}

// clock is a clock that moves only when someone sleeps on it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}
