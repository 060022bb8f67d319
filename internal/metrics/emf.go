package metrics

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// EMF writes the metrics as CloudWatch Embedded Metric Format lines: one
// JSON line per event (an email finished, a model HTTP attempt, a repair
// round), which CloudWatch Logs turns into metrics of namespace Namespace
// with the table's labels as dimensions. On Lambda the writer is stdout,
// which goes to the function's log group; EMF needs no IAM permission.
//
// One line per event rather than lines aggregated and flushed: Lambda
// freezes the process when the handler returns and may never thaw it, so
// whatever a buffer held would be lost, and a flush at the end of each
// invocation would need a hook in every handler. A line costs a few hundred
// bytes of log ingestion, small beside the model call it counts.
//
// It is safe for concurrent use: lines are written whole, one at a time.
// A write error is dropped: a metric never fails an email.
type EMF struct {
	now    func() time.Time
	table  map[string]Metric // All by name
	models models

	mu sync.Mutex
	w  io.Writer
}

// NewEMF returns an EMF sink writing to w, with timestamps from now (nil
// means time.Now).
func NewEMF(w io.Writer, now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	e := &EMF{w: w, now: now, table: map[string]Metric{}}
	for _, m := range All() {
		e.table[m.Name] = m
	}
	return e
}

// EmailFinished writes one line for the email (its status, cost and
// outcome counters), and one per kind of token it used: a line holds one
// value per dimension, and kind is a dimension.
func (e *EMF) EmailFinished(status campaign.EmailStatus, model string, u email.Usage) {
	m := e.models.label(model)
	values := []value{{Emails, 1}, {NeedsReview, 0}, {Failures, 0}}
	switch status {
	case campaign.EmailNeedsReview:
		values[1].v = 1
	case campaign.EmailFailed:
		values[2].v = 1
	}
	if c := usd(u.CostMicroUSD); c > 0 || u.Unpriced == 0 {
		values = append(values, value{Cost, c})
	}
	if u.Unpriced > 0 {
		values = append(values, value{Unpriced, float64(u.Unpriced)})
	}
	e.write(map[string]string{LabelStatus: statusLabel(status), LabelModel: m}, values)
	for _, k := range []struct {
		kind string
		n    int
	}{{"prompt", u.PromptTokens}, {"completion", u.CompletionTokens}} {
		if k.n > 0 {
			e.write(map[string]string{LabelKind: k.kind, LabelModel: m}, []value{{Tokens, float64(k.n)}})
		}
	}
}

// ModelCalled writes one line: the attempt's latency, and 1 or 0 429s.
func (e *EMF) ModelCalled(model string, took time.Duration, status int) {
	limited := 0.0
	if status == http.StatusTooManyRequests {
		limited = 1
	}
	e.write(map[string]string{LabelModel: e.models.label(model)},
		[]value{{ModelLatency, max(took, 0).Seconds()}, {RateLimited, limited}})
}

// Repaired writes one line counting a repair round.
func (e *EMF) Repaired(model string, reason email.RepairReason) {
	e.write(map[string]string{LabelReason: reasonLabel(reason), LabelModel: e.models.label(model)},
		[]value{{Repairs, 1}})
}

// value is one metric's value on a line.
type value struct {
	name string
	v    float64
}

// emfMetadata is the _aws member of an EMF line.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// emfDirective says which of a line's members are metrics, and which
// dimensions they have.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// write writes one line: dims as members, each value as a member, and one
// directive per set of labels among the values' metrics, each metric
// dimensioned by exactly its table labels, as Prometheus labels it.
func (e *EMF) write(dims map[string]string, values []value) {
	line := make(map[string]any, 1+len(dims)+len(values))
	for k, v := range dims {
		line[k] = v
	}
	var directives []emfDirective
	for _, v := range values {
		m := e.table[v.name]
		labels := slices.Sorted(slices.Values(m.Labels))
		i := slices.IndexFunc(directives, func(d emfDirective) bool { return slices.Equal(d.Dimensions[0], labels) })
		if i < 0 {
			directives = append(directives, emfDirective{Namespace: Namespace, Dimensions: [][]string{labels}})
			i = len(directives) - 1
		}
		directives[i].Metrics = append(directives[i].Metrics, emfMetric{Name: m.Name, Unit: m.Unit})
		line[m.Name] = v.v
	}
	line["_aws"] = emfMetadata{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: directives}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}
