package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ingren/ingren/internal/client"
)

// DefaultConfirmAbove is the estimate, in US dollars, above which submit
// and run ask before they submit (--confirm-above).
const DefaultConfirmAbove = 1.00

// errNotConfirmed is a campaign the user did not confirm.
var errNotConfirmed = errors.New("not submitted")

// printEstimate prints est on one line: "estimate: 1,000 emails, ~690k
// prompt + ~96k completion tokens, $0.16 realtime / $0.08 batch".
func printEstimate(env Env, est *client.Estimate) {
	e := est.Estimate
	cost := "cost unknown"
	if rt, b := e.CostUSD.Realtime, e.CostUSD.Batch; rt != nil && b != nil {
		cost = fmt.Sprintf("%s realtime / %s batch", dollars(*rt), dollars(*b))
	}
	fmt.Fprintf(env.Stderr, "estimate: %s emails, ~%s prompt + ~%s completion tokens, %s\n",
		thousands(est.Total), roughly(e.PromptTokens), roughly(e.CompletionTokens), cost)
	if e.CostUSD.Realtime == nil {
		for _, w := range est.Warnings {
			fmt.Fprintln(env.Stderr, "warning:", w)
		}
	}
}

// confirm decides whether a campaign estimated at est, to run in batch
// mode or not, is submitted: at once at or under limit or with yes; else
// the user answers y on a terminal. Without a terminal it refuses, naming
// --yes. An estimate without a price needs the same confirmation.
func confirm(env Env, est *client.Estimate, batch bool, limit float64, yes bool) error {
	price := est.Estimate.CostUSD.Realtime
	if batch {
		price = est.Estimate.CostUSD.Batch
	}
	if yes || (price != nil && *price <= limit) {
		return nil
	}
	what := "the estimate has no price"
	if price != nil {
		what = fmt.Sprintf("the estimate, %s, is above --confirm-above %s", dollars(*price), dollars(limit))
	}
	if !env.Interactive {
		return fmt.Errorf("%s; pass --yes to submit it (no terminal to ask on)", what)
	}
	fmt.Fprintf(env.Stderr, "%s. Submit? [y/N] ", what)
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}

// batchMode reports whether a JSON campaign's body asks for batch mode.
func batchMode(body []byte) bool {
	var top struct {
		Mode string `json:"mode"`
	}
	return json.Unmarshal(body, &top) == nil && top.Mode == client.ModeBatch
}

// dollars prints a price: cents from a cent up, more digits below.
func dollars(usd float64) string {
	if usd != 0 && usd < 0.01 {
		return fmt.Sprintf("$%.4f", usd)
	}
	return fmt.Sprintf("$%.2f", usd)
}

// roughly prints a token count to about two digits: 850, 690k, 1.2M.
func roughly(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%dk", int(math.Round(float64(n)/1000)))
	default:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
}

// thousands prints n with commas: 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
