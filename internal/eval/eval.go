// Package eval measures email quality over a fixed set of prospects: it
// runs them through a Composer (a model and a prompt set) and reports the
// lint pass rate, findings by code, length and reading grade, cost, and a
// side-by-side of two prompt sets.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

// Case is one prospect to write for.
type Case struct {
	Name    string        `json:"name"`
	Request email.Request `json:"request"`
}

// Load reads cases from a JSON file {"prospects": [{"name", "request"}]}
// and checks that every request is valid.
func Load(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Prospects []Case `json:"prospects"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v := &fault.Fields{}
	for i := range f.Prospects {
		f.Prospects[i].Request.AddTo(v, fmt.Sprintf("prospects[%d].request", i))
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Prospects) == 0 {
		return nil, fmt.Errorf("%s: no prospects", path)
	}
	return f.Prospects, nil
}

// Composer writes one request's emails; *email.Composer is one.
type Composer interface {
	Compose(ctx context.Context, req *email.Request) (email.Result, error)
}

// Price is a model's list price in dollars per million tokens.
type Price struct{ Input, Output float64 }

// Prices are list prices per million tokens (OpenAI, standard tier) of
// the models users most often pick; -price-in/-price-out override them.
var Prices = map[string]Price{
	"gpt-4o-mini":  {0.15, 0.60},
	"gpt-4o":       {2.50, 10.00},
	"gpt-4.1":      {2.00, 8.00},
	"gpt-4.1-mini": {0.40, 1.60},
	"gpt-4.1-nano": {0.10, 0.40},
	"offline":      {0, 0},
}

// Outcome is one case's result.
type Outcome struct {
	Case        string          `json:"case"`
	Error       string          `json:"error,omitempty"`
	Emails      []email.Checked `json:"emails,omitempty"`
	NeedsReview bool            `json:"needs_review"`
	Repaired    bool            `json:"repaired"`
	Usage       email.Usage     `json:"usage"`
	Millis      int64           `json:"millis"`
}

// Result is one run over all cases.
type Result struct {
	Label    string    `json:"label"`
	Model    string    `json:"model"`
	Started  time.Time `json:"started"`
	Cases    int       `json:"cases"`
	Emails   int       `json:"emails"`
	Failures int       `json:"failures"`
	// PassRate is the share of emails without an error-level finding, as
	// they would be sent (after the repair round).
	PassRate    float64        `json:"pass_rate"`
	NeedsReview int            `json:"needs_review"`
	Repaired    int            `json:"repaired"`
	MeanScore   float64        `json:"mean_score"`
	Findings    map[string]int `json:"findings_by_code"`
	Words       Dist           `json:"words"`
	Grade       Dist           `json:"reading_grade"`
	Usage       email.Usage    `json:"usage"`
	// CostPer1000 is dollars per 1,000 requests at Price.
	CostPer1000 float64   `json:"cost_per_1000_requests"`
	Price       Price     `json:"price_per_million_tokens"`
	LatencyP50  float64   `json:"latency_p50_ms"`
	Outcomes    []Outcome `json:"outcomes"`
}

// Dist summarises a distribution.
type Dist struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

// Run writes every case with c, concurrency at a time, and summarises.
// price may be zero to look the model up in Prices.
func Run(ctx context.Context, label string, c Composer, cases []Case, concurrency int, price *Price) *Result {
	r := &Result{Label: label, Started: time.Now().UTC(), Cases: len(cases), Findings: map[string]int{},
		Outcomes: make([]Outcome, len(cases))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	var mu sync.Mutex
	for i := range cases {
		g.Go(func() error {
			start := time.Now()
			req := cases[i].Request
			res, err := c.Compose(gctx, &req)
			o := Outcome{Case: cases[i].Name, Millis: time.Since(start).Milliseconds()}
			if err != nil {
				o.Error = err.Error()
			} else {
				o.Emails, o.NeedsReview, o.Repaired, o.Usage = res.Emails, res.NeedsReview, res.Repaired, res.Usage
				mu.Lock()
				if r.Model == "" {
					r.Model = res.Model
				}
				mu.Unlock()
			}
			r.Outcomes[i] = o
			return nil
		})
	}
	_ = g.Wait()
	r.summarise(price)
	return r
}

func (r *Result) summarise(price *Price) {
	var words, grades, lat []float64
	pass, score := 0, 0
	for _, o := range r.Outcomes {
		lat = append(lat, float64(o.Millis))
		if o.Error != "" {
			r.Failures++
			continue
		}
		r.Usage = r.Usage.Add(o.Usage)
		if o.NeedsReview {
			r.NeedsReview++
		}
		if o.Repaired {
			r.Repaired++
		}
		for _, e := range o.Emails {
			r.Emails++
			score += e.Quality.Score
			if !e.Quality.HasErrors() {
				pass++
			}
			for _, f := range e.Quality.Findings {
				r.Findings[f.Code]++
			}
			words = append(words, float64(lint.Words(e.Body)))
			grades = append(grades, lint.ReadingGrade(e.Body))
		}
	}
	if r.Emails > 0 {
		r.PassRate = float64(pass) / float64(r.Emails)
		r.MeanScore = float64(score) / float64(r.Emails)
	}
	r.Words, r.Grade = dist(words), dist(grades)
	r.LatencyP50 = dist(lat).Median
	if price != nil {
		r.Price = *price
	} else {
		r.Price = Prices[r.Model]
	}
	if done := r.Cases - r.Failures; done > 0 {
		cost := float64(r.Usage.PromptTokens)*r.Price.Input/1e6 + float64(r.Usage.CompletionTokens)*r.Price.Output/1e6
		r.CostPer1000 = cost / float64(done) * 1000
	}
}

func dist(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Dist{Min: s[0], Median: at(0.5), P90: at(0.9), Max: s[len(s)-1]}
}

// Markdown renders one or two results; with two, side by side.
func Markdown(rs ...*Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Email quality report\n\n%s, %d prospects from the eval set.\n\n", rs[0].Started.Format("2006-01-02 15:04 UTC"), rs[0].Cases)
	header := func(first string) {
		fmt.Fprintf(&b, "| %s |", first)
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", r.Label)
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(rs)) + "\n")
	}
	header("metric")
	row := func(name string, f func(*Result) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", f(r))
		}
		b.WriteString("\n")
	}
	row("model", func(r *Result) string { return r.Model })
	row("emails written", func(r *Result) string { return fmt.Sprint(r.Emails) })
	row("failed requests", func(r *Result) string { return fmt.Sprint(r.Failures) })
	row("lint pass rate (no error finding)", func(r *Result) string { return fmt.Sprintf("%.1f%%", 100*r.PassRate) })
	row("needs review after repair", func(r *Result) string { return fmt.Sprint(r.NeedsReview) })
	row("repair rounds run", func(r *Result) string { return fmt.Sprint(r.Repaired) })
	row("mean quality score", func(r *Result) string { return fmt.Sprintf("%.1f", r.MeanScore) })
	row("body words min / median / p90 / max", func(r *Result) string { return r.Words.String("%.0f") })
	row("reading grade min / median / p90 / max", func(r *Result) string { return r.Grade.String("%.1f") })
	row("tokens prompt / completion", func(r *Result) string {
		return fmt.Sprintf("%d / %d", r.Usage.PromptTokens, r.Usage.CompletionTokens)
	})
	row("cost per 1,000 requests", func(r *Result) string {
		return fmt.Sprintf("$%.3f (at $%.2f / $%.2f per M tokens)", r.CostPer1000, r.Price.Input, r.Price.Output)
	})
	row("latency p50 per request", func(r *Result) string { return fmt.Sprintf("%.0f ms", r.LatencyP50) })

	b.WriteString("\n## Findings by code\n\n")
	header("code")
	codes := map[string]bool{}
	for _, r := range rs {
		for c := range r.Findings {
			codes[c] = true
		}
	}
	for _, c := range email.SortedKeys(codes) {
		row(c, func(r *Result) string { return fmt.Sprint(r.Findings[c]) })
	}
	if len(codes) == 0 {
		b.WriteString("| (none) |" + strings.Repeat(" 0 |", len(rs)) + "\n")
	}

	b.WriteString("\n## Per prospect (score of the first email; * = needs review, ! = failed)\n\n")
	header("prospect")
	for i, o := range rs[0].Outcomes {
		row(o.Case, func(r *Result) string { return r.Outcomes[i].cell() })
	}
	return b.String()
}

func (o Outcome) cell() string {
	if o.Error != "" {
		return "!"
	}
	s := fmt.Sprint(o.Emails[0].Quality.Score)
	if o.NeedsReview {
		s += "*"
	}
	var codes []string
	for _, f := range o.Emails[0].Quality.Findings {
		codes = append(codes, f.Code)
	}
	if len(codes) > 0 {
		s += " (" + strings.Join(codes, ", ") + ")"
	}
	return s
}

// String formats the distribution as "min / median / p90 / max".
func (d Dist) String(f string) string {
	return fmt.Sprintf(f+" / "+f+" / "+f+" / "+f, d.Min, d.Median, d.P90, d.Max)
}
