package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// Budgets hold: before a model call, the estimated cost of the call is
// held against every budget it counts against (the campaign's
// max_cost_usd, the API key's monthly budget) by one conditional write
// that refuses it when the spend so far plus the holds already taken plus
// this one would pass a cap; the write that records the call's outcome
// releases the hold and books the real cost, in the same atomic write. So
// however many workers run at once, the spend passes a cap by at most what
// the calls in flight cost above their estimates, and a crash between the
// two writes leaves the hold on the email, where the email's next
// delivery finds and keeps it rather than taking a second.

// Errors a hold is refused with.
var (
	// ErrCampaignBudget: the campaign's max_cost_usd leaves no room.
	ErrCampaignBudget = &fault.Error{Code: fault.BudgetExceeded,
		Message: "the campaign's max_cost_usd leaves no room for this email"}
	// ErrKeyBudget: the API key's monthly budget leaves no room.
	ErrKeyBudget = &fault.Error{Code: fault.BudgetExceeded,
		Message: "this API key's monthly budget leaves no room for this call"}
)

// Reservation is budget held for a model call until its real cost is known.
type Reservation struct {
	// Amount is the call's estimated cost in micro-dollars; 0 holds
	// nothing.
	Amount int64
	// Month is the UTC calendar month ("2006-01", MonthOf) whose key
	// budget the hold counts against; the call's real cost is booked in
	// it too, so a call that runs over midnight settles where it held.
	Month string
	// KeyLimit is the tenant's monthly budget in micro-dollars when the
	// hold is taken; 0 for none (the month still counts the hold).
	KeyLimit int64
}

// KeyBudgets gives an API key's monthly budget: its tenant's limit in
// micro-dollars, 0 for none. config.KeyBudgets is one.
type KeyBudgets interface {
	Limit(tenant string) int64
}

// MonthOf is the budget month of t: "2006-01", in UTC.
func MonthOf(t time.Time) string { return t.UTC().Format("2006-01") }

// DayOf is the usage day of t: "2006-01-02", in UTC.
func DayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// UsageRecord is what one tenant's model calls of one UTC day used, for
// one campaign or, with CampaignID "", for generate-email calls.
type UsageRecord struct {
	Day        string // DayOf
	CampaignID string
	// Emails counts the emails written: prospects finished succeeded or
	// needs_review, regenerated drafts, and generate-email answers.
	Emails int
	// Usage sums the calls' tokens, CostMicroUSD and Unpriced.
	Usage email.Usage
}

// MonthSpend is one tenant's spend in one budget month.
type MonthSpend struct {
	Month string
	// SpentMicroUSD is the booked real cost; ReservedMicroUSD what calls in
	// flight hold. A hold must fit under the key's limit with both.
	SpentMicroUSD    int64
	ReservedMicroUSD int64
	// Unpriced counts calls of models without a price: their cost is
	// not in SpentMicroUSD.
	Unpriced int
}

// Ledger is the part of a Store that holds budgets and books spend per
// tenant. Store.Finish and Store.Revise book what they record in it in
// their own atomic write: Finish releases the email's Reserved and adds the
// outcome's cost to the month of the hold (MonthOf(now) without one) and
// its usage (Emails 1 when it succeeded or needs review) to the
// campaign's record of DayOf(now); Revise with a Draft releases
// Revision.Reserved and books the Draft's usage the same way (Emails 1).
//
// storetest.Run checks all of this, under concurrency.
type Ledger interface {
	// Reserve takes hold h for a pending email before its model call, in
	// one atomic write with the checks: the campaign's MaxCostMicroUSD
	// (when not 0) must be at least its Usage.CostMicroUSD plus
	// ReservedMicroUSD plus h.Amount, else ErrCampaignBudget; h.KeyLimit
	// (when not 0) at least the tenant's month h.Month spent plus held
	// plus h.Amount, else ErrKeyBudget; either refusal changes nothing.
	// Then the email's Reserved becomes h and h.Amount is added to the
	// campaign's ReservedMicroUSD and to the month's held. An email that
	// holds a hold already keeps it: Reserve changes nothing and returns
	// that hold (a redelivery after a crash). ErrAlreadyDone when the
	// email is not pending, ErrNotFound without it. Of several racing
	// Reserves that together pass a cap, only those that fit succeed.
	Reserve(ctx context.Context, campaignID string, index int, tenant string, h Reservation, now time.Time) (Reservation, error)

	// Unreserve releases a pending email's hold, changing no spend: for a
	// campaign cancelled while its emails held budget. An email without
	// a hold, or not pending, is not an error; ErrNotFound without it.
	Unreserve(ctx context.Context, campaignID string, index int, tenant string) error

	// ReserveKey takes hold h of the tenant's month h.Month for a call
	// outside a campaign's emails (generate-email, a regenerate): the
	// month's held gains h.Amount if h.KeyLimit is 0 or at least spent
	// plus held plus h.Amount, else ErrKeyBudget, changing nothing.
	ReserveKey(ctx context.Context, tenant string, h Reservation, now time.Time) error

	// Spend books a generate-email call in one atomic write: it releases
	// h (taken by ReserveKey; the zero Reservation for none), adds u's cost to the
	// month h.Month (MonthOf(now) when ""), and adds emails and u to the
	// tenant's record of DayOf(now) with CampaignID "". ref names the
	// call, so that a store may make a retried write count once.
	Spend(ctx context.Context, tenant string, h Reservation, emails int, u email.Usage, ref string, now time.Time) error

	// ReleaseKey releases hold h taken by ReserveKey for a call that cost
	// nothing after all (it failed before the model answered).
	ReleaseKey(ctx context.Context, tenant string, h Reservation) error

	// Usage returns the tenant's records of the days from through to
	// (DayOf form, inclusive), by day and then CampaignID; none is an
	// empty slice.
	Usage(ctx context.Context, tenant, from, to string) ([]UsageRecord, error)

	// Month returns the tenant's spend in month; a month without any is
	// the zero MonthSpend with Month set.
	Month(ctx context.Context, tenant, month string) (MonthSpend, error)
}

// checkBudgets refuses a campaign that no budget would let write an
// email: one whose max_cost_usd cannot be kept because a model it uses
// has no price (422 naming max_cost_usd), and one whose key's month has
// no room left for its first email (402 budget_exceeded). A budget with
// room left is kept email by email as the campaign runs. It returns the
// key's limit (0 for none) and, with one, the month it read.
func (s *Service) checkBudgets(ctx context.Context, tenant string, sub *Submission, reqs []email.Request, now time.Time) (limit int64, m MonthSpend, err error) {
	limit = keyLimit(s.KeyBudgets, tenant)
	if sub.MaxCostUSD > 0 || limit > 0 {
		if err := s.checkPriced(reqs, sub.MaxCostUSD > 0); err != nil {
			return 0, MonthSpend{}, err
		}
	}
	if limit == 0 {
		return 0, MonthSpend{}, nil
	}
	if m, err = s.Store.Month(ctx, tenant, MonthOf(now)); err != nil {
		return 0, MonthSpend{}, fmt.Errorf("read the key's spend: %w", err)
	}
	// Room for the first email at least, at the price it would hold.
	var memo holdMemo
	next, _, _, err := memo.expected(s.Composer, s.prices(), &reqs[0], s.model(), sub.Mode == ModeBatch)
	switch {
	case errors.Is(err, errNoPrompts):
		next = 1
	case err != nil:
		return 0, MonthSpend{}, fmt.Errorf("estimate the first email: %w", err)
	}
	if m.SpentMicroUSD+m.ReservedMicroUSD+max(next, 1) > limit {
		return 0, MonthSpend{}, keyBudgetSpent(limit, m)
	}
	return limit, m, nil
}

// checkPriced refuses requests of a model without a price when a budget
// applies: no budget could be kept for them. The error names
// max_cost_usd when the campaign set one, and options.model otherwise.
func (s *Service) checkPriced(reqs []email.Request, campaignCap bool) error {
	table := s.prices()
	seen := map[string]bool{}
	v := &fault.Fields{}
	for i := range reqs {
		model := reqs[i].Options.Model
		if model == "" {
			model = s.model()
		}
		if seen[model] {
			continue
		}
		seen[model] = true
		if _, ok := table.Cost(model, email.Usage{PromptTokens: 1, CompletionTokens: 1}); ok {
			continue
		}
		if campaignCap {
			v.Add("max_cost_usd", "cannot be kept: model %q has no price (set MODEL_PRICES, or leave max_cost_usd out)", model)
		} else {
			v.Add("options.model", "%q has no price, and this API key has a monthly budget that needs one (set MODEL_PRICES)", model)
		}
	}
	return v.Err()
}

// keyBudgetSpent is ErrKeyBudget saying how much of which month is gone.
func keyBudgetSpent(limit int64, m MonthSpend) error {
	return &fault.Error{Code: fault.BudgetExceeded, Message: fmt.Sprintf(
		"this API key's monthly budget of $%s for %s has no room for another email ($%s spent, $%s held by calls in flight)",
		formatUSD(limit), m.Month, formatUSD(m.SpentMicroUSD), formatUSD(m.ReservedMicroUSD))}
}
