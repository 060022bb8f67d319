package metrics_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/metrics"
)

// namesFile is the table as infra's dashboard test reads it: infra is a
// module of its own and cannot import this package.
const namesFile = "../../testdata/metrics/names.json"

var update = flag.Bool("update", false, "rewrite "+namesFile+" from the table")

// TestNamesFile: the file infra's dashboard test reads is the table.
func TestNamesFile(t *testing.T) {
	want, err := json.MarshalIndent(metrics.All(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(namesFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(namesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(namesFile)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/metrics -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is not the table: run go test ./internal/metrics -run TestNamesFile -update", namesFile)
	}
}

// TestTable: names Prometheus takes, with the suffix its conventions ask
// for; units CloudWatch takes; labels that name no customer.
func TestTable(t *testing.T) {
	name := regexp.MustCompile(`^ingren_[a-z_]+$`)
	units := []string{"Count", "Seconds", "None"}
	allowed := []string{metrics.LabelModel, metrics.LabelStatus, metrics.LabelKind, metrics.LabelReason}
	seen := map[string]bool{}
	for _, m := range metrics.All() {
		if !name.MatchString(m.Name) || seen[m.Name] {
			t.Errorf("%q: not a new ingren_ name", m.Name)
		}
		seen[m.Name] = true
		switch {
		case m.Type == metrics.Counter && !strings.HasSuffix(m.Name, "_total"):
			t.Errorf("%s: a counter's name ends in _total", m.Name)
		case m.Type == metrics.Histogram && !strings.HasSuffix(m.Name, "_seconds"):
			t.Errorf("%s: the histogram's name ends in its unit", m.Name)
		case m.Type != metrics.Counter && m.Type != metrics.Histogram:
			t.Errorf("%s: type %q", m.Name, m.Type)
		}
		if !slices.Contains(units, m.Unit) || m.Help == "" {
			t.Errorf("%s: unit %q, help %q", m.Name, m.Unit, m.Help)
		}
		if len(m.Labels) == 0 || !slices.Contains(m.Labels, metrics.LabelModel) {
			t.Errorf("%s: labels %q, want model among them", m.Name, m.Labels)
		}
		for _, l := range m.Labels {
			if !slices.Contains(allowed, l) {
				t.Errorf("%s: label %q is not one of %q (a tenant, campaign, prospect or key never is)", m.Name, l, allowed)
			}
		}
	}
	for _, want := range []string{"ingren_emails_total", "ingren_tokens_total", "ingren_cost_usd_total", "ingren_model_latency_seconds",
		"ingren_model_rate_limited_total", "ingren_repairs_total", "ingren_needs_review_total", "ingren_failures_total"} {
		if !seen[want] {
			t.Errorf("the table lacks %s", want)
		}
	}
}

// TestDocsNameEveryMetric: README.md's table names every metric.
func TestDocsNameEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics.All() {
		if !strings.Contains(string(readme), "`"+m.Name+"`") {
			t.Errorf("README.md does not name `%s`", m.Name)
		}
	}
}
