package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// Meter keeps the API key's monthly budget and books the spend of model
// calls made outside a campaign's emails: generate-email (through
// Compose) and a campaign email's regenerate (Service.Regenerate holds
// with Reserve and books through Store.Revise). Its zero Ledger is not
// usable; the rest may be nil.
type Meter struct {
	Ledger Ledger
	// Composer writes generate-email answers; it must also render
	// prompts (*email.Composer does) for a budget's hold.
	Composer Composer
	// KeyBudgets gives each tenant's monthly budget; nil for none.
	KeyBudgets KeyBudgets
	// Prices turns usage into dollars; nil: no model has a price.
	Prices Prices
	// Model is the model a request that names none is written with.
	Model string
	// Observer is told of each answer; nil for none.
	Observer Observer
	// Log takes the failures that do not fail a call; nil for none.
	Log *slog.Logger
	Now func() time.Time

	holds holdMemo
}

func (m *Meter) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// Reserve holds the expected cost of req's first call against tenant's
// monthly budget, when it has one: the zero Reservation when not. A month
// without room, or a model without a price, is an error for the caller
// (402 budget_exceeded, 422 naming options.model).
func (m *Meter) Reserve(ctx context.Context, tenant string, req *email.Request) (Reservation, error) {
	limit := keyLimit(m.KeyBudgets, tenant)
	if limit == 0 {
		return Reservation{}, nil
	}
	amount, model, priced, err := m.holds.expected(m.Composer, m.Prices, req, m.Model, false)
	if err != nil {
		return Reservation{}, err
	}
	if !priced {
		var v fault.Fields
		v.Add("options.model", "%q has no price, and this API key has a monthly budget that needs one (set MODEL_PRICES)", model)
		return Reservation{}, v.Err()
	}
	now := m.now()
	r := Reservation{Amount: amount, Month: MonthOf(now), KeyLimit: limit}
	if err := m.Ledger.ReserveKey(ctx, tenant, r, now); err != nil {
		if errors.Is(err, ErrKeyBudget) {
			spent, merr := m.Ledger.Month(ctx, tenant, r.Month)
			if merr != nil {
				return Reservation{}, err
			}
			return Reservation{}, keyBudgetSpent(limit, spent)
		}
		return Reservation{}, fmt.Errorf("hold the key's budget: %w", err)
	}
	return r, nil
}

// Release gives back r, a reservation whose call cost nothing (it failed
// before the model answered). Best effort: a hold not given back only
// makes the month's budget stricter until the month ends.
func (m *Meter) Release(ctx context.Context, tenant string, r Reservation) {
	if r.Amount == 0 {
		return
	}
	_ = m.Ledger.ReleaseKey(context.WithoutCancel(ctx), tenant, r)
}

// Compose writes one generate-email answer within tenant's budget: it
// holds the call's expected cost, calls the Composer, and books what the
// call cost (ref names the call, for a store that dedupes retried
// writes). A refused hold is the error and no call is made.
func (m *Meter) Compose(ctx context.Context, tenant, ref string, req *email.Request) (email.Result, error) {
	r, err := m.Reserve(ctx, tenant, req)
	if err != nil {
		return email.Result{}, err
	}
	res, err := m.Composer.Compose(ctx, req)
	if err != nil {
		m.Release(ctx, tenant, r)
		if m.Observer != nil {
			model := req.Options.Model
			if model == "" {
				model = m.Model
			}
			m.Observer.EmailFinished(EmailFailed, model, email.Usage{})
		}
		return res, err
	}
	u := priced(m.Prices, res.Model, res.Usage)
	// The call is paid for: book it even if the client left meanwhile,
	// and answer even if the booking failed; failing the call would have
	// the client pay for it twice.
	if err := m.Ledger.Spend(context.WithoutCancel(ctx), tenant, r, 1, u, ref, m.now()); err != nil && m.Log != nil {
		m.Log.ErrorContext(ctx, "could not book a generate-email call's cost", slog.String("error", err.Error()))
	}
	if m.Observer != nil {
		status := EmailSucceeded
		if res.NeedsReview {
			status = EmailNeedsReview
		}
		m.Observer.EmailFinished(status, res.Model, u)
	}
	return res, nil
}
