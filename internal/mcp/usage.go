package mcp

import (
	"context"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ingren/ingren/internal/client"
)

const usageAbout = `Reads what this API key used and spent (GET /api/v1/usage). Free.
Returns the emails written, tokens and US dollars per day and per campaign (generate_email calls
apart) over the days from and to (YYYY-MM-DD, UTC; by default this month so far), and the key's
monthly budget with what is left. Check it before a large create_campaign: a key past its budget
is refused, and a campaign that runs out of budget ends with its remaining prospects skipped.`

type usageInput struct {
	From string `json:"from,omitempty" jsonschema:"The first day, YYYY-MM-DD (UTC); default the first of this month."`
	To   string `json:"to,omitempty" jsonschema:"The last day, included, YYYY-MM-DD (UTC); default today."`
}

// addUsage adds the tool that reads the key's spend.
func (t *tools) addUsage(s *sdk.Server) {
	in := inferred[usageInput]()
	for _, name := range []string{"from", "to"} {
		in.Properties[name].Pattern = `^\d{4}-\d{2}-\d{2}$`
	}
	sdk.AddTool(s, &sdk.Tool{
		Name: "get_usage", Title: "Read what the key spent", Description: usageAbout, InputSchema: in,
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, t.usage)
}

func (t *tools) usage(ctx context.Context, _ *sdk.CallToolRequest, in usageInput) (*sdk.CallToolResult, *client.UsageReport, error) {
	r, err := t.api.Usage(ctx, in.From, in.To)
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From %s to %s: %s.\n", r.From, r.To, line(r.Total))
	if bu := r.Budget; bu != nil {
		fmt.Fprintf(&b, "Monthly budget for %s: $%g, of which $%g spent and $%g held by calls in flight; $%g left.\n",
			bu.Month, bu.LimitUSD, bu.SpentUSD, bu.ReservedUSD, bu.RemainingUSD)
	} else {
		b.WriteString("The key has no monthly budget.\n")
	}
	for _, c := range r.Campaigns {
		name := ""
		if c.Name != nil {
			name = fmt.Sprintf(" (%s)", *c.Name)
		}
		fmt.Fprintf(&b, "Campaign %s%s: %s.\n", c.CampaignID, name, line(c.UsageLine))
	}
	if r.Single.Emails > 0 {
		fmt.Fprintf(&b, "generate_email: %s.\n", line(r.Single))
	}
	return text(b.String()), r, nil
}

// line says a usage line in words.
func line(l client.UsageLine) string {
	cost := "cost unknown (a model has no price)"
	if l.Usage.CostUSD != nil {
		cost = fmt.Sprintf("$%g", *l.Usage.CostUSD)
	}
	return fmt.Sprintf("%d emails, %d tokens, %s", l.Emails, l.Usage.TotalTokens, cost)
}
