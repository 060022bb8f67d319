// Package metrics counts what Ingren's emails and model calls do, for
// operators: the local program serves them in Prometheus text format
// (Prometheus), the Lambdas write them as CloudWatch Embedded Metric Format
// lines (EMF). Both take their names, labels and units from one table
// (All), so a query or a dashboard reads the same names in both worlds.
//
// A label is a model, an email status, a token kind or a repair reason:
// never a tenant, a campaign, a prospect or a key, which would make one
// series per customer (cost in Prometheus and CloudWatch alike) and put
// who they are in a place anyone who scrapes can read.
//
// Both sinks are a campaign.Observer (each email finished), an
// openai.Observer (each model HTTP attempt, the Writer's repair rounds)
// and an email.RepairObserver (the Composer's repair rounds). They never
// block on anything but a mutex and never fail an email: a metric that
// cannot be written is lost.
package metrics

import (
	"strings"
	"sync"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
)

// Namespace is the CloudWatch namespace of the EMF lines.
const Namespace = "Ingren"

// The metric names, as Prometheus and CloudWatch show them.
const (
	Emails       = "ingren_emails_total"
	Tokens       = "ingren_tokens_total"
	Cost         = "ingren_cost_usd_total"
	Unpriced     = "ingren_unpriced_total"
	ModelLatency = "ingren_model_latency_seconds"
	RateLimited  = "ingren_model_rate_limited_total"
	Repairs      = "ingren_repairs_total"
	NeedsReview  = "ingren_needs_review_total"
	Failures     = "ingren_failures_total"
)

// The labels (CloudWatch dimensions).
const (
	LabelModel  = "model"
	LabelStatus = "status"
	LabelKind   = "kind"
	LabelReason = "reason"
)

// Type is how a metric adds up.
type Type string

// Types.
const (
	// Counter only grows; EMF sends each event's increment, and
	// CloudWatch's Sum statistic adds them up.
	Counter Type = "counter"
	// Histogram is a distribution of values; EMF sends each value, and
	// CloudWatch computes percentiles from them.
	Histogram Type = "histogram"
)

// Metric is one row of the table.
type Metric struct {
	Name   string   `json:"name"`
	Type   Type     `json:"type"`
	Labels []string `json:"labels"`
	// Unit is the CloudWatch unit; Prometheus says it in the name.
	Unit string `json:"unit"`
	Help string `json:"help"`
}

// All returns the table of every metric, in the order the docs list them.
// It is a new slice each call: no caller can change another's.
func All() []Metric {
	return []Metric{
		{Emails, Counter, []string{LabelStatus, LabelModel}, "Count",
			"Emails finished (campaign prospects, generate-email answers, regenerated drafts), by status: succeeded, needs_review, failed or skipped."},
		{Tokens, Counter, []string{LabelKind, LabelModel}, "Count",
			"Tokens the finished emails used, by kind: prompt or completion."},
		{Cost, Counter, []string{LabelModel}, "None",
			"What the finished emails cost, in US dollars, at the price table's prices; models without a price count in " + Unpriced + " instead."},
		{Unpriced, Counter, []string{LabelModel}, "Count",
			"Finished emails whose model has no price: their cost is not in " + Cost + "."},
		{ModelLatency, Histogram, []string{LabelModel}, "Seconds",
			"How long one model HTTP call took (each retry is a call), whatever its answer."},
		{RateLimited, Counter, []string{LabelModel}, "Count",
			"Model HTTP calls the provider answered 429 (rate limited)."},
		{Repairs, Counter, []string{LabelReason, LabelModel}, "Count",
			"Repair rounds, each one more model call, by reason: answer (the answer was not the JSON asked for) or quality (the lint found an error)."},
		{NeedsReview, Counter, []string{LabelModel}, "Count",
			"Emails finished needs_review: still flawed after a repair round."},
		{Failures, Counter, []string{LabelModel}, "Count",
			"Emails finished failed (not skipped: a skip is a budget doing its job)."},
	}
}

// Sink is what both sinks are: told of every email finished, every model
// HTTP attempt and every repair round.
type Sink interface {
	campaign.Observer
	openai.Observer
}

var (
	_ Sink = (*Prometheus)(nil)
	_ Sink = (*EMF)(nil)
)

// maxModels bounds the model label's values. A model name is what the
// request chose (ALLOWED_MODELS bounds it) or what the provider answered,
// which nothing bounds: past maxModels names, the rest count as "other".
const maxModels = 32

// maxLabel bounds one label value's length.
const maxLabel = 64

// models keeps the model label's values bounded. It is safe for
// concurrent use.
type models struct {
	mu   sync.Mutex
	seen map[string]bool
}

// label returns the label value for model name.
func (m *models) label(name string) string {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[name] {
		return name
	}
	if len(m.seen) >= maxModels {
		return "other"
	}
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	m.seen[name] = true
	return name
}

// clean makes s a label value both worlds take: printable ASCII (a
// CloudWatch dimension value must be ASCII), at most maxLabel long,
// "unknown" when empty.
func clean(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "unknown"
	}
	if len(s) > maxLabel {
		s = s[:maxLabel]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}

// statusLabel is the status label of an email's outcome; anything but the
// four outcomes is "unknown", so that the label keeps four values.
func statusLabel(s campaign.EmailStatus) string {
	switch s {
	case campaign.EmailSucceeded, campaign.EmailNeedsReview, campaign.EmailFailed, campaign.EmailSkipped:
		return string(s)
	}
	return "unknown"
}

// reasonLabel is the reason label of a repair round.
func reasonLabel(r email.RepairReason) string {
	switch r {
	case email.RepairAnswer, email.RepairQuality:
		return string(r)
	}
	return "unknown"
}

// usd is micro-dollars as dollars, negative as 0 (a counter only grows).
func usd(micro int64) float64 { return float64(max(micro, 0)) / 1e6 }
