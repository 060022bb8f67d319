package stack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// metricsNamespace is the CloudWatch namespace the functions' EMF lines
// write to (internal/metrics.Namespace; this module cannot import it).
const metricsNamespace = "Ingren"

// panel is one widget of the dashboard: a graph of series found by a
// SEARCH on a metric and its exact dimensions, so that every model and
// status shows without the stack knowing which there are.
type panel struct {
	title string
	// series are the graph's lines: metric, its dimensions as the
	// functions write them (testdata/metrics/names.json), the statistic.
	series []series
}

type series struct {
	metric string
	dims   []string
	stat   string // Sum for counters; a percentile for latency
	label  string // a dynamic label: ${PROP('Dim.model')} names the model
}

// panels are the dashboard's widgets, two to a row. Counters are summed
// per 5 minutes: an EMF line carries one event's increment.
func panels() []panel {
	return []panel{
		{"Emails finished, by status", []series{
			{"ingren_emails_total", []string{"model", "status"}, "Sum", "${PROP('Dim.status')} ${PROP('Dim.model')}"}}},
		{"Cost (USD)", []series{
			{"ingren_cost_usd_total", []string{"model"}, "Sum", "${PROP('Dim.model')}"},
			{"ingren_unpriced_total", []string{"model"}, "Sum", "emails without a price ${PROP('Dim.model')}"}}},
		{"Tokens", []series{
			{"ingren_tokens_total", []string{"kind", "model"}, "Sum", "${PROP('Dim.kind')} ${PROP('Dim.model')}"}}},
		{"Model call latency (seconds)", []series{
			{"ingren_model_latency_seconds", []string{"model"}, "p50", "p50 ${PROP('Dim.model')}"},
			{"ingren_model_latency_seconds", []string{"model"}, "p99", "p99 ${PROP('Dim.model')}"}}},
		{"Model calls rate limited (429)", []series{
			{"ingren_model_rate_limited_total", []string{"model"}, "Sum", "${PROP('Dim.model')}"}}},
		{"Repair rounds", []series{
			{"ingren_repairs_total", []string{"model", "reason"}, "Sum", "${PROP('Dim.reason')} ${PROP('Dim.model')}"}}},
		{"Needs review and failures", []series{
			{"ingren_needs_review_total", []string{"model"}, "Sum", "needs_review ${PROP('Dim.model')}"},
			{"ingren_failures_total", []string{"model"}, "Sum", "failed ${PROP('Dim.model')}"}}},
	}
}

// dashboardPeriod is each point's span, in seconds.
const dashboardPeriod = 300

// newDashboard declares the CloudWatch dashboard of the functions' metrics
// (namespace Ingren, written as EMF lines to their logs; no IAM needed).
func newDashboard(ctx *pulumi.Context, prefix string) (*cloudwatch.Dashboard, error) {
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("region: %w", err)
	}
	body, err := dashboardBody(region.Name)
	if err != nil {
		return nil, err
	}
	return cloudwatch.NewDashboard(ctx, "ingren-dashboard", &cloudwatch.DashboardArgs{
		// Named after the stack, as DEPLOYMENT.md says, like the alarms.
		DashboardName: pulumi.String(prefix),
		DashboardBody: pulumi.String(body),
	})
}

// dashboardBody is the dashboard's JSON
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
func dashboardBody(region string) (string, error) {
	type widget struct {
		Type       string         `json:"type"`
		X          int            `json:"x"`
		Y          int            `json:"y"`
		Width      int            `json:"width"`
		Height     int            `json:"height"`
		Properties map[string]any `json:"properties"`
	}
	var widgets []widget
	for i, p := range panels() {
		var metrics []any
		for j, s := range p.series {
			metrics = append(metrics, []any{map[string]any{
				"id":         fmt.Sprintf("m%d", j),
				"expression": search(s),
				"label":      s.label,
			}})
		}
		widgets = append(widgets, widget{
			Type: "metric", X: (i % 2) * 12, Y: (i / 2) * 6, Width: 12, Height: 6,
			Properties: map[string]any{
				"title":   p.title,
				"region":  region,
				"view":    "timeSeries",
				"stacked": false,
				"period":  dashboardPeriod,
				"metrics": metrics,
				"yAxis":   map[string]any{"left": map[string]any{"min": 0}},
			},
		})
	}
	b, err := json.Marshal(map[string]any{"widgets": widgets})
	if err != nil {
		return "", fmt.Errorf("dashboard body: %w", err)
	}
	return string(b), nil
}

// search is the SEARCH expression that finds every series of s's metric
// with exactly s's dimensions.
func search(s series) string {
	schema := strings.Join(append([]string{metricsNamespace}, s.dims...), ",")
	return fmt.Sprintf(`SEARCH('{%s} MetricName="%s"', '%s', %d)`, schema, s.metric, s.stat, dashboardPeriod)
}
