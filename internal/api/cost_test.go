package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/price"
)

// TestCSVCostColumn: cost_usd is the prospect's cost on its first row,
// empty on its follow-ups, while pending and for a model without a price.
func TestCSVCostColumn(t *testing.T) {
	cost := len(CSVHeader) - 1
	if CSVHeader[cost] != "cost_usd" {
		t.Fatalf("header %v: cost_usd is not the last column", CSVHeader)
	}
	e := sequenceEmail(false)
	e.Outcome.Model, e.Outcome.Usage = "gpt-4o-mini", email.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100}
	rows := csvRows(e, nil, price.Default())
	// 1,000 in at $0.15 and 100 out at $0.60 per million.
	if len(rows) != 2 || rows[0][cost] != "0.00021" || rows[1][cost] != "" {
		t.Fatalf("cost_usd %q, %q; want 0.00021 on the first row only", rows[0][cost], rows[1][cost])
	}
	e.Outcome.Model = "llama-3-70b"
	if got := csvRows(e, nil, price.Default())[0][cost]; got != "" {
		t.Errorf("unpriced model: cost_usd %q, want empty", got)
	}
	if got := csvRows(&campaign.Email{Status: campaign.EmailPending}, nil, price.Default())[0][cost]; got != "" {
		t.Errorf("pending: cost_usd %q, want empty", got)
	}
}

// TestCampaignViewCost: the campaign's cost_usd is its stores' counter,
// null with a warning when an outcome had no price.
func TestCampaignViewCost(t *testing.T) {
	c := &campaign.Campaign{ID: "c", Total: 3, Usage: email.Usage{PromptTokens: 10, CostMicroUSD: 1234567}}
	b, _ := json.Marshal(toCampaign(c))
	if !strings.Contains(string(b), `"cost_usd":1.234567`) || strings.Contains(string(b), "Micro") {
		t.Errorf("view %s: want cost_usd 1.234567 and no counter", b)
	}
	c.Usage.Unpriced = 1
	v := toCampaign(c)
	if v.Usage.CostUSD != nil || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "MODEL_PRICES") {
		t.Errorf("unpriced: cost_usd %v, warnings %q; want null and a warning", v.Usage.CostUSD, v.Warnings)
	}
	b, _ = json.Marshal(v)
	if !strings.Contains(string(b), `"cost_usd":null`) {
		t.Errorf("view %s: want cost_usd null", b)
	}
}
