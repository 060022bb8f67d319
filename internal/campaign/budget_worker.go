package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/tokens"
)

// holdMemo counts prompt tokens for budget holds, shared by a Worker's
// goroutines (tokens.Memo is not safe for concurrent use on its own). It
// starts a new Memo every memoUses counts: each prospect's message is
// new, and a Memo kept for a server's life would grow without bound; the
// system prompt, which is what repeats, is counted again once per
// memoUses.
type holdMemo struct {
	mu   sync.Mutex
	memo tokens.Memo
	uses int
}

const memoUses = 256

// callTokens is callTokens through the memo.
func (h *holdMemo) callTokens(fp firstPrompter, req *email.Request, def string) (model string, prompt, completion int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.uses++; h.uses > memoUses {
		h.memo, h.uses = tokens.Memo{}, 1
	}
	return callTokens(fp, &h.memo, req, def)
}

// errNoPrompts is a composer that cannot render the prompts a hold is
// counted from.
var errNoPrompts = errors.New("the composer cannot render prompts to hold a budget with")

// expected is what the first call of req is expected to cost in
// micro-dollars, rendered by composer as the worker renders it and
// counted as the campaign's estimate counts it (Service.Estimate), at the
// batch price when batch; def is the model of a request that names none.
// It is at least 1: a hold of nothing would let every call through a
// spent budget. priced is false when prices have no price for the model;
// a composer that cannot render prompts is errNoPrompts.
func (h *holdMemo) expected(composer any, prices Prices, req *email.Request, def string, batch bool) (amount int64, model string, priced bool, err error) {
	fp, ok := composer.(firstPrompter)
	if !ok {
		return 0, "", false, errNoPrompts
	}
	model, prompt, completion, err := h.callTokens(fp, req, def)
	if err != nil {
		return 0, "", false, err
	}
	u := email.Usage{PromptTokens: prompt, CompletionTokens: completion}
	if batch {
		u = u.AsBatch()
	}
	usd, ok := CostOf(prices, model, u)
	if !ok {
		return 0, model, false, nil
	}
	return max(MicroUSD(usd), 1), model, true, nil
}

// keyLimit is tenant's monthly budget in micro-dollars in budgets (nil:
// none), 0 for none.
func keyLimit(budgets KeyBudgets, tenant string) int64 {
	if budgets == nil {
		return 0
	}
	return budgets.Limit(tenant)
}

// budgeted reports whether c's emails hold budget before their calls,
// and the tenant's monthly limit: when the campaign has a max_cost_usd or
// its key a monthly budget.
func (w *Worker) budgeted(c *Campaign) (limit int64, ok bool) {
	limit = keyLimit(w.KeyBudgets, c.Tenant)
	return limit, limit > 0 || c.MaxCostMicroUSD > 0
}

// reserve holds the expected cost of email it's model call against the
// campaign's and the key's budgets, when either has one. skip is the
// reason the email is to end skipped when a budget leaves no room (or
// when its model has no price, so that no budget could be kept); ""
// when the call may go ahead. An email holding a reservation already
// (its earlier delivery took it and died) keeps it.
func (w *Worker) reserve(ctx context.Context, c *Campaign, it *Email, batch bool) (skip string, err error) {
	limit, ok := w.budgeted(c)
	if !ok || it.Reserved.Amount > 0 {
		return "", nil
	}
	amount, model, priced, err := w.holds.expected(w.Composer, w.Prices, &it.Request, w.Model, batch)
	if err != nil {
		return "", fmt.Errorf("hold the budget of email %d: %w", it.Index, err)
	}
	if !priced {
		return fmt.Sprintf("model %q has no price, so no budget can be kept: set MODEL_PRICES", model), nil
	}
	now := w.now()
	r := Reservation{Amount: amount, Month: MonthOf(now), KeyLimit: limit}
	_, err = w.Store.Reserve(ctx, c.ID, it.Index, c.Tenant, r, now)
	switch {
	case errors.Is(err, ErrCampaignBudget):
		return fmt.Sprintf("the campaign's max_cost_usd of $%s leaves no room for this email (about $%s)",
			formatUSD(c.MaxCostMicroUSD), formatUSD(amount)), nil
	case errors.Is(err, ErrKeyBudget):
		return fmt.Sprintf("the API key's monthly budget of $%s for %s leaves no room for this email (about $%s)",
			formatUSD(limit), r.Month, formatUSD(amount)), nil
	case err != nil:
		return "", err
	}
	return "", nil
}

// skipEmail ends email index skipped for reason, and completes the
// campaign when it was the last.
func (w *Worker) skipEmail(ctx context.Context, c *Campaign, it *Email, reason string) error {
	w.log().InfoContext(ctx, "email skipped: a budget leaves no room", slog.String("reason", reason))
	err := w.finishSkipped(ctx, c, it, reason)
	if errors.Is(err, ErrAlreadyDone) {
		return w.completeRedelivered(ctx, c.Tenant, c.ID)
	}
	if err != nil {
		return err
	}
	return w.complete(ctx, c.Tenant, c.ID)
}

// finishSkipped records email it skipped for reason, and tells the
// Observer. ErrAlreadyDone when it was written meanwhile.
func (w *Worker) finishSkipped(ctx context.Context, c *Campaign, it *Email, reason string) error {
	err := w.Store.Finish(ctx, c.ID, it.Index, EmailSkipped, Outcome{Error: reason}, w.now())
	if errors.Is(err, ErrAlreadyDone) {
		return err
	}
	if err != nil {
		return fmt.Errorf("skip email %d: %w", it.Index, err)
	}
	if w.Observer != nil {
		w.Observer.EmailFinished(EmailSkipped, w.modelOf(&it.Request), email.Usage{})
	}
	return nil
}

// modelOf is the model req would be written with: its own, or the
// Writer's.
func (w *Worker) modelOf(req *email.Request) string {
	if req.Options.Model != "" {
		return req.Options.Model
	}
	return w.Model
}

// formatUSD writes micro-dollars as dollars: cents, or the micro-dollar
// digits a small amount needs.
func formatUSD(micro int64) string {
	if micro%10_000 == 0 {
		return fmt.Sprintf("%.2f", float64(micro)/1e6)
	}
	s := fmt.Sprintf("%.6f", float64(micro)/1e6)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}
