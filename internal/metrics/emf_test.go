package metrics_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/metrics"
)

// cloudWatchUnits are the units CloudWatch takes (MetricDatum.Unit).
var cloudWatchUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
	"Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// emfLine is one line, checked against the Embedded Metric Format
// specification: its metrics by name with their value and dimensions.
type emfLine struct {
	timestamp int64
	values    map[string]float64        // metric name: value
	dims      map[string]map[string]any // metric name: dimension: value
	units     map[string]string
}

// mustParseEMF checks line against the EMF specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
// and against the table: every metric in namespace Ingren, dimensioned by
// exactly its table labels, in its table unit.
func mustParseEMF(tb testing.TB, line []byte) emfLine {
	tb.Helper()
	fail := func(format string, args ...any) {
		tb.Helper()
		tb.Fatalf("%s\n%s", fmt.Sprintf(format, args...), line)
	}
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		fail("not a JSON object: %v", err)
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics []struct {
			Namespace  *string
			Dimensions [][]string
			Metrics    []struct {
				Name *string
				Unit *string
			}
		}
	}
	raw, ok := root["_aws"]
	if !ok {
		fail("no _aws member")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&meta); err != nil {
		fail("_aws: %v", err)
	}
	if meta.Timestamp == nil {
		fail("_aws.Timestamp is required")
	}
	ts, err := meta.Timestamp.Int64()
	if err != nil || ts <= 0 {
		fail("_aws.Timestamp %v is not milliseconds since the epoch", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		fail("_aws.CloudWatchMetrics is empty")
	}
	table := map[string]metrics.Metric{}
	for _, m := range metrics.All() {
		table[m.Name] = m
	}
	member := func(name string) any {
		var v any
		r, ok := root[name]
		if !ok {
			fail("no member %q for a metric or dimension", name)
		}
		dd := json.NewDecoder(bytes.NewReader(r))
		dd.UseNumber()
		_ = dd.Decode(&v)
		return v
	}
	out := emfLine{timestamp: ts, values: map[string]float64{}, dims: map[string]map[string]any{}, units: map[string]string{}}
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == nil || *dir.Namespace != metrics.Namespace {
			fail("namespace %v, want %s", dir.Namespace, metrics.Namespace)
		}
		if dir.Dimensions == nil || len(dir.Metrics) == 0 || len(dir.Metrics) > 100 {
			fail("a directive needs Dimensions and 1 to 100 Metrics")
		}
		for _, set := range dir.Dimensions {
			if len(set) > 30 {
				fail("a dimension set has over 30 keys")
			}
			for _, k := range set {
				s, ok := member(k).(string)
				if !ok || strings.TrimSpace(s) == "" || len(s) > 1024 {
					fail("dimension %s must be a string member of 1 to 1024 characters", k)
				}
			}
		}
		for _, m := range dir.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 1024 {
				fail("a metric without a name")
			}
			name := *m.Name
			row, ok := table[name]
			if !ok {
				fail("metric %s is not in the table", name)
			}
			if m.Unit == nil || !slices.Contains(cloudWatchUnits, *m.Unit) || *m.Unit != row.Unit {
				fail("metric %s unit %v, want %s", name, m.Unit, row.Unit)
			}
			n, ok := member(name).(json.Number)
			if !ok {
				fail("metric %s's member is not a number", name)
			}
			f, _ := n.Float64()
			if _, dup := out.values[name]; dup {
				fail("metric %s twice", name)
			}
			out.values[name], out.units[name] = f, *m.Unit
			if len(dir.Dimensions) != 1 || !slices.Equal(dir.Dimensions[0], slices.Sorted(slices.Values(row.Labels))) {
				fail("metric %s has dimensions %q, want its labels %q", name, dir.Dimensions, row.Labels)
			}
			out.dims[name] = map[string]any{}
			for _, k := range dir.Dimensions[0] {
				out.dims[name][k] = member(k)
			}
		}
	}
	return out
}

// mustLines splits what the sink wrote into lines, each checked.
func mustLines(tb testing.TB, b []byte) []emfLine {
	tb.Helper()
	if len(b) > 0 && b[len(b)-1] != '\n' {
		tb.Fatalf("output does not end a line: %q", b)
	}
	var out []emfLine
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		out = append(out, mustParseEMF(tb, s.Bytes()))
	}
	return out
}

// summary is a line as "metric{dim=value,...}=v" strings, sorted.
func (l emfLine) summary() []string {
	var out []string
	for name, v := range l.values {
		var dims []string
		for k, dv := range l.dims[name] {
			dims = append(dims, fmt.Sprintf("%s=%v", k, dv))
		}
		slices.Sort(dims)
		out = append(out, fmt.Sprintf("%s{%s}=%v", name, strings.Join(dims, ","), v))
	}
	slices.Sort(out)
	return out
}

func TestEMF(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		emit func(*metrics.EMF)
		want [][]string // per line
	}{
		{"EmailSucceeded", func(e *metrics.EMF) {
			e.EmailFinished(campaign.EmailSucceeded, "gpt-4o-mini", email.Usage{PromptTokens: 300, CompletionTokens: 120, CostMicroUSD: 117})
		}, [][]string{
			{"ingren_cost_usd_total{model=gpt-4o-mini}=0.000117", "ingren_emails_total{model=gpt-4o-mini,status=succeeded}=1",
				"ingren_failures_total{model=gpt-4o-mini}=0", "ingren_needs_review_total{model=gpt-4o-mini}=0"},
			{"ingren_tokens_total{kind=prompt,model=gpt-4o-mini}=300"},
			{"ingren_tokens_total{kind=completion,model=gpt-4o-mini}=120"},
		}},
		{"EmailNeedsReview", func(e *metrics.EMF) {
			e.EmailFinished(campaign.EmailNeedsReview, "gpt-4o-mini", email.Usage{PromptTokens: 1, CompletionTokens: 2, CostMicroUSD: 3})
		}, [][]string{
			{"ingren_cost_usd_total{model=gpt-4o-mini}=3e-06", "ingren_emails_total{model=gpt-4o-mini,status=needs_review}=1",
				"ingren_failures_total{model=gpt-4o-mini}=0", "ingren_needs_review_total{model=gpt-4o-mini}=1"},
			{"ingren_tokens_total{kind=prompt,model=gpt-4o-mini}=1"},
			{"ingren_tokens_total{kind=completion,model=gpt-4o-mini}=2"},
		}},
		{"EmailFailedWithoutTokens", func(e *metrics.EMF) {
			e.EmailFinished(campaign.EmailFailed, "gpt-4o-mini", email.Usage{})
		}, [][]string{
			{"ingren_cost_usd_total{model=gpt-4o-mini}=0", "ingren_emails_total{model=gpt-4o-mini,status=failed}=1",
				"ingren_failures_total{model=gpt-4o-mini}=1", "ingren_needs_review_total{model=gpt-4o-mini}=0"},
		}},
		{"EmailSkippedIsNoFailure", func(e *metrics.EMF) {
			e.EmailFinished(campaign.EmailSkipped, "", email.Usage{})
		}, [][]string{
			{"ingren_cost_usd_total{model=unknown}=0", "ingren_emails_total{model=unknown,status=skipped}=1",
				"ingren_failures_total{model=unknown}=0", "ingren_needs_review_total{model=unknown}=0"},
		}},
		{"EmailUnpriced", func(e *metrics.EMF) {
			e.EmailFinished(campaign.EmailSucceeded, "my-own-model", email.Usage{PromptTokens: 5, Unpriced: 1})
		}, [][]string{
			{"ingren_emails_total{model=my-own-model,status=succeeded}=1", "ingren_failures_total{model=my-own-model}=0",
				"ingren_needs_review_total{model=my-own-model}=0", "ingren_unpriced_total{model=my-own-model}=1"},
			{"ingren_tokens_total{kind=prompt,model=my-own-model}=5"},
		}},
		{"ModelCalled", func(e *metrics.EMF) {
			e.ModelCalled("gpt-4o-mini", 1500*time.Millisecond, http.StatusOK)
		}, [][]string{
			{"ingren_model_latency_seconds{model=gpt-4o-mini}=1.5", "ingren_model_rate_limited_total{model=gpt-4o-mini}=0"},
		}},
		{"ModelRateLimited", func(e *metrics.EMF) {
			e.ModelCalled("gpt-4o-mini", 20*time.Millisecond, http.StatusTooManyRequests)
		}, [][]string{
			{"ingren_model_latency_seconds{model=gpt-4o-mini}=0.02", "ingren_model_rate_limited_total{model=gpt-4o-mini}=1"},
		}},
		{"Repaired", func(e *metrics.EMF) {
			e.Repaired("gpt-4o-mini", email.RepairQuality)
			e.Repaired("gpt-4o-mini", email.RepairAnswer)
		}, [][]string{
			{"ingren_repairs_total{model=gpt-4o-mini,reason=quality}=1"},
			{"ingren_repairs_total{model=gpt-4o-mini,reason=answer}=1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := metrics.NewEMF(&buf, func() time.Time { return now })
			tt.emit(e)
			lines := mustLines(t, buf.Bytes())
			if len(lines) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.want), buf.Bytes())
			}
			for i, l := range lines {
				if l.timestamp != now.UnixMilli() {
					t.Errorf("line %d: timestamp %d, want %d", i, l.timestamp, now.UnixMilli())
				}
				if got := l.summary(); !slices.Equal(got, tt.want[i]) {
					t.Errorf("line %d:\n got %q\nwant %q", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestEMFLinesWhole: lines written from many goroutines at once each
// parse: none is cut by another.
func TestEMFLinesWhole(t *testing.T) {
	var buf bytes.Buffer
	e := metrics.NewEMF(&buf, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 20 {
				e.EmailFinished(campaign.EmailSucceeded, fmt.Sprintf("model-%d", i%4), email.Usage{PromptTokens: 1, CompletionTokens: 1})
				e.ModelCalled("gpt-4o-mini", time.Second, http.StatusOK)
			}
		})
	}
	wg.Wait()
	if n := len(mustLines(t, buf.Bytes())); n != 16*20*4 {
		t.Fatalf("%d lines, want %d", n, 16*20*4)
	}
}
