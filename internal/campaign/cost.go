package campaign

import (
	"fmt"
	"math"

	"github.com/ingren/ingren/internal/email"
)

// Prices turns a model's usage into US dollars; ok is false for a model
// it has no price for. *price.Table is one.
type Prices interface {
	Cost(model string, u email.Usage) (usd float64, ok bool)
}

// MicroUSD is usd in millionths of a dollar, the unit the stores count
// cost in and cost_usd is rounded to.
func MicroUSD(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// RoundUSD rounds usd to the micro-dollar, as every cost_usd is: a float
// sum's last digits are noise.
func RoundUSD(usd float64) float64 { return float64(MicroUSD(usd)) / 1e6 }

// CostOf is what u cost on model in US dollars, rounded to the
// micro-dollar; ok is false when prices (nil: none) have no price for
// model. A usage of no tokens (an offline draft's) costs nothing, priced
// or not.
func CostOf(prices Prices, model string, u email.Usage) (usd float64, ok bool) {
	if u.PromptTokens+u.CompletionTokens == 0 {
		return 0, true
	}
	if prices == nil {
		return 0, false
	}
	if usd, ok = prices.Cost(model, u); !ok {
		return 0, false
	}
	return RoundUSD(usd), true
}

// priced returns u with its cost counter set for an outcome of model:
// CostMicroUSD what it cost, or Unpriced 1 when prices have no price for
// it (see CostOf).
func priced(prices Prices, model string, u email.Usage) email.Usage {
	u.CostMicroUSD, u.Unpriced = 0, 0
	usd, ok := CostOf(prices, model, u)
	if !ok {
		u.Unpriced = 1
		return u
	}
	u.CostMicroUSD = MicroUSD(usd)
	return u
}

// Cost is an email's cost in US dollars, priced from its outcome's model
// and usage when read; ok is false while it is pending or when prices
// have no price for its model.
func (e *Email) Cost(prices Prices) (usd float64, ok bool) {
	if e.Outcome == nil {
		return 0, false
	}
	return CostOf(prices, e.Outcome.Model, e.Outcome.Usage)
}

// Cost is what the campaign's emails cost so far, in US dollars, from
// the stores' counter; ok is false when some outcome had no price (see
// CostWarning).
func (c *Campaign) Cost() (usd float64, ok bool) { return SummedCost(c.Usage) }

// SummedCost is what the calls summed in u cost, in US dollars, from its
// cost counter; ok is false when some of them had no price.
func SummedCost(u email.Usage) (usd float64, ok bool) {
	if u.Unpriced > 0 {
		return 0, false
	}
	return float64(u.CostMicroUSD) / 1e6, true
}

// CostWarning is what the campaign's owner should know about its cost:
// "" unless some outcome had no price.
func (c *Campaign) CostWarning() string {
	if c.Usage.Unpriced == 0 {
		return ""
	}
	return fmt.Sprintf("%d model outcome(s) had no price: the campaign's cost_usd is null; set MODEL_PRICES", c.Usage.Unpriced)
}
