package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/ingren/ingren/internal/client"
)

const usageAbout = `Prints what the API key used and spent: its emails, tokens and dollars per day and
per campaign (generate-email calls apart), and its monthly budget with what is left.
The days are UTC; by default this month so far.`

func usageCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "usage", "[-from YYYY-MM-DD] [-to YYYY-MM-DD] [-json]", usageAbout)
	from := fs.String("from", "", "the first `day`, as YYYY-MM-DD (default: the first of this month)")
	to := fs.String("to", "", "the last `day`, included (default: today)")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	_, c, code := start(env, fs, args, 0)
	if code >= 0 {
		return code
	}
	rep, err := c.Usage(ctx, *from, *to)
	if err != nil {
		return fail(env, err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(env, err)
		}
		return ExitOK
	}
	printUsage(env, rep)
	return ExitOK
}

func printUsage(env Env, r *client.UsageReport) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "key\t%s\n", r.Tenant)
	fmt.Fprintf(tw, "days\t%s to %s (UTC)\n", r.From, r.To)
	fmt.Fprintf(tw, "total\t%s\n", usageLine(r.Total))
	if b := r.Budget; b != nil {
		fmt.Fprintf(tw, "budget\t%s for %s: %s spent, %s held by calls in flight, %s left\n",
			dollars(b.LimitUSD), b.Month, dollars(b.SpentUSD), dollars(b.ReservedUSD), dollars(b.RemainingUSD))
	}
	for _, d := range r.Days {
		fmt.Fprintf(tw, "day %s\t%s\n", d.Date, usageLine(d.UsageLine))
	}
	for _, c := range r.Campaigns {
		name := ""
		if c.Name != nil {
			name = " " + strconv.Quote(*c.Name)
		}
		fmt.Fprintf(tw, "campaign %s%s\t%s\n", c.CampaignID, name, usageLine(c.UsageLine))
	}
	if r.Single.Emails > 0 || r.Single.Usage.TotalTokens > 0 {
		fmt.Fprintf(tw, "generate-email\t%s\n", usageLine(r.Single))
	}
	tw.Flush()
}

// usageLine is "N emails, T tokens, $C" (cost unknown when a model had no
// price).
func usageLine(l client.UsageLine) string {
	cost := "cost unknown (a model without a price)"
	if l.Usage.CostUSD != nil {
		cost = dollars(*l.Usage.CostUSD)
	}
	return fmt.Sprintf("%d emails, %d tokens (%d prompt, %d completion), %s",
		l.Emails, l.Usage.TotalTokens, l.Usage.PromptTokens, l.Usage.CompletionTokens, cost)
}
