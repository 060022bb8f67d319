package api

import (
	"fmt"

	"github.com/ingren/ingren/internal/email"
)

// usageView is a usage as the API reports it: the tokens and cost_usd,
// what they cost in US dollars to the micro-dollar, null when the model
// has no price (never a guess).
type usageView struct {
	email.Usage
	CostUSD *float64 `json:"cost_usd"`
}

// costUSD is usd, or nil when it is not known.
func costUSD(usd float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &usd
}

// unpricedWarning is the answer's warning for a model without a price.
func unpricedWarning(model string) string {
	return fmt.Sprintf("no price for model %s: cost_usd is null; set MODEL_PRICES", model)
}
