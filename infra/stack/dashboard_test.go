package stack

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// namesFile is the functions' table of metrics (internal/metrics.All),
// which internal/metrics's tests keep in step with the code.
const namesFile = "../../testdata/metrics/names.json"

const typeDashboard = "aws:cloudwatch/dashboard:Dashboard"

// TestDashboard: the stack has one dashboard, named after the stack, whose
// widgets graph every metric the functions write, in namespace Ingren with
// the dimensions they write it with, and nothing else.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(namesFile)
	if err != nil {
		t.Fatal(err)
	}
	var table []struct {
		Name   string
		Labels []string
	}
	if err := json.Unmarshal(b, &table); err != nil || len(table) == 0 {
		t.Fatalf("%s: %v", namesFile, err)
	}
	want := map[string]string{} // metric: its SEARCH schema
	for _, m := range table {
		want[m.Name] = "{Ingren," + strings.Join(slices.Sorted(slices.Values(m.Labels)), ",") + "}"
	}

	d := mustDeploy(t, "dev", nil)
	dashboards := d.ofType(typeDashboard)
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	db := dashboards[0]
	if got := db.str("dashboardName"); got != "ingren-dev" {
		t.Errorf("dashboard name %q, want ingren-dev", got)
	}
	var body struct {
		Widgets []struct {
			Type       string
			Width      int
			Height     int
			Properties struct {
				Title   string
				Region  string
				Metrics [][]map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(db.str("dashboardBody")), &body); err != nil || len(body.Widgets) == 0 {
		t.Fatalf("body is no dashboard: %v\n%s", err, db.str("dashboardBody"))
	}
	search := regexp.MustCompile(`^SEARCH\('(\{[^}]*\}) MetricName="([a-z_]+)"', '(Sum|p\d+)', 300\)$`)
	graphed := map[string]bool{}
	for _, w := range body.Widgets {
		p := w.Properties
		if w.Type != "metric" || p.Title == "" || p.Region != region || w.Width <= 0 || w.Height <= 0 || len(p.Metrics) == 0 {
			t.Errorf("widget %+v", w)
		}
		for _, row := range p.Metrics {
			expr, _ := row[0]["expression"].(string)
			m := search.FindStringSubmatch(expr)
			if m == nil {
				t.Errorf("widget %q: expression %q is not a SEARCH of one metric", p.Title, expr)
				continue
			}
			schema, name := m[1], m[2]
			switch {
			case want[name] == "":
				t.Errorf("widget %q graphs %s, which the functions do not write", p.Title, name)
			case schema != want[name]:
				t.Errorf("widget %q searches %s in %s, want %s: the dimensions the functions write", p.Title, name, schema, want[name])
			}
			graphed[name] = true
		}
	}
	for name := range want {
		if !graphed[name] {
			t.Errorf("no widget graphs %s", name)
		}
	}
}
