package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// latencyBuckets are the model latency histogram's upper bounds, in
// seconds: a chat completion takes from a fraction of a second to the
// 30 s timeout and more.
var latencyBuckets = []float64{0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}

// Prometheus keeps the metrics in a registry of its own and serves them
// in Prometheus text format (Handler). The registry holds only the table's
// metrics: no Go runtime or process collectors, so that a scrape shows
// counts per model and status and nothing else. It is safe for
// concurrent use.
type Prometheus struct {
	reg      *prometheus.Registry
	counters map[string]*prometheus.CounterVec
	latency  *prometheus.HistogramVec
	models   models
}

// NewPrometheus returns a Prometheus sink with every metric of All
// registered.
func NewPrometheus() *Prometheus {
	p := &Prometheus{reg: prometheus.NewRegistry(), counters: map[string]*prometheus.CounterVec{}}
	for _, m := range All() {
		var c prometheus.Collector
		switch m.Type {
		case Counter:
			v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
			p.counters[m.Name], c = v, v
		case Histogram:
			p.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.Name, Help: m.Help, Buckets: latencyBuckets}, m.Labels)
			c = p.latency
		}
		// The table is constant: a name it repeats is a bug the tests
		// find, not a condition to handle.
		p.reg.MustRegister(c)
	}
	return p
}

// Handler serves the metrics in Prometheus text format: GET /metrics.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{})
}

// Registry is the registry the metrics live in, for tests and for a
// program that serves it its own way.
func (p *Prometheus) Registry() *prometheus.Registry { return p.reg }

// EmailFinished counts one email and what it used.
func (p *Prometheus) EmailFinished(status campaign.EmailStatus, model string, u email.Usage) {
	m := p.models.label(model)
	p.add(Emails, 1, LabelStatus, statusLabel(status), LabelModel, m)
	p.add(Tokens, u.PromptTokens, LabelKind, "prompt", LabelModel, m)
	p.add(Tokens, u.CompletionTokens, LabelKind, "completion", LabelModel, m)
	if c := usd(u.CostMicroUSD); c > 0 || u.Unpriced == 0 {
		p.counters[Cost].With(prometheus.Labels{LabelModel: m}).Add(c)
	}
	if u.Unpriced > 0 {
		p.add(Unpriced, u.Unpriced, LabelModel, m)
	}
	switch status {
	case campaign.EmailNeedsReview:
		p.add(NeedsReview, 1, LabelModel, m)
	case campaign.EmailFailed:
		p.add(Failures, 1, LabelModel, m)
	}
}

// ModelCalled records one model HTTP attempt's latency, and counts a 429.
func (p *Prometheus) ModelCalled(model string, took time.Duration, status int) {
	m := p.models.label(model)
	p.latency.With(prometheus.Labels{LabelModel: m}).Observe(max(took, 0).Seconds())
	if status == http.StatusTooManyRequests {
		p.add(RateLimited, 1, LabelModel, m)
	}
}

// Repaired counts one repair round.
func (p *Prometheus) Repaired(model string, reason email.RepairReason) {
	p.add(Repairs, 1, LabelReason, reasonLabel(reason), LabelModel, p.models.label(model))
}

// add adds n (never below 0: a counter only grows) to counter name's
// series labelled kv (label, value, ...).
func (p *Prometheus) add(name string, n int, kv ...string) {
	l := make(prometheus.Labels, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	p.counters[name].With(l).Add(float64(max(n, 0)))
}
