package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

//go:embed ledger.sql
var ledgerSchema string

// Reserve takes the email's hold in one transaction that reads the email,
// its campaign and the tenant's month first: the transactions of a db from
// Open take the write lock at BEGIN, so of racing Reserves each sees the
// holds of those before it, and only those that fit succeed.
func (s *Store) Reserve(ctx context.Context, campaignID string, index int, tenant string, h campaign.Reservation, now time.Time) (campaign.Reservation, error) {
	fail := func(err error) (campaign.Reservation, error) {
		return campaign.Reservation{}, fmt.Errorf("reserve for email %s/%d: %w", campaignID, index, err)
	}
	if h.Month == "" {
		h.Month = campaign.MonthOf(now)
	}
	if err := checkHold(tenant, h); err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var (
		status                string
		held                  campaign.Reservation
		owner                 string
		capped, cost, reserve int64
	)
	err = tx.QueryRowContext(ctx, `SELECT i.status, i.reserved_amount, i.reserved_month,
			c.tenant, c.max_cost_micro_usd, c.cost_micro_usd, c.reserved_micro_usd
		FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id
		WHERE i.campaign_id = ? AND i.idx = ? AND `+notExpired,
		campaignID, index, s.nowMillis()).Scan(&status, &held.Amount, &held.Month, &owner, &capped, &cost, &reserve)
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != tenant {
		// Another tenant's campaign is none of this one's: the hold
		// would count against the wrong budget.
		return fail(campaign.ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	if status != string(campaign.EmailPending) {
		return fail(campaign.ErrAlreadyDone)
	}
	if held.Month != "" {
		return held, nil // a redelivery keeps the hold it took
	}
	if capped != 0 && cost+reserve+h.Amount > capped {
		return fail(campaign.ErrCampaignBudget)
	}
	if err := fitsKeyLimit(ctx, tx, tenant, h); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET reserved_amount = ?, reserved_month = ?
		WHERE campaign_id = ? AND idx = ?`, h.Amount, h.Month, campaignID, index); err != nil {
		return fail(err)
	}
	if h.Amount != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET reserved_micro_usd = reserved_micro_usd + ? WHERE id = ?`,
			h.Amount, campaignID); err != nil {
			return fail(err)
		}
		if err := holdMonth(ctx, tx, tenant, h); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return campaign.Reservation{Amount: h.Amount, Month: h.Month}, nil
}

// Unreserve releases a pending email's hold in one transaction that reads
// it first. An expired campaign's email is released too: its hold would
// otherwise stay on the tenant's month.
func (s *Store) Unreserve(ctx context.Context, campaignID string, index int, tenant string) error {
	fail := func(err error) error { return fmt.Errorf("unreserve email %s/%d: %w", campaignID, index, err) }
	if tenant == "" {
		return fail(errors.New("no tenant"))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var (
		status, owner string
		held          campaign.Reservation
	)
	err = tx.QueryRowContext(ctx, `SELECT i.status, i.reserved_amount, i.reserved_month, c.tenant
		FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id
		WHERE i.campaign_id = ? AND i.idx = ?`, campaignID, index).Scan(&status, &held.Amount, &held.Month, &owner)
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != tenant {
		return fail(campaign.ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	if status != string(campaign.EmailPending) || held.Month == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET reserved_amount = 0, reserved_month = ''
		WHERE campaign_id = ? AND idx = ?`, campaignID, index); err != nil {
		return fail(err)
	}
	if err := releaseCampaign(ctx, tx, campaignID, held.Amount); err != nil {
		return fail(err)
	}
	if err := book(ctx, s.prepared.on(tx), tenant, held, "", "", 0, email.Usage{}); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// ReserveKey takes hold h of the tenant's month in one transaction that
// reads the month first.
func (s *Store) ReserveKey(ctx context.Context, tenant string, h campaign.Reservation, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("reserve for tenant %s: %w", tenant, err) }
	if h.Month == "" {
		h.Month = campaign.MonthOf(now)
	}
	if err := checkHold(tenant, h); err != nil {
		return fail(err)
	}
	if h.Amount == 0 {
		return nil // holds nothing
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := fitsKeyLimit(ctx, tx, tenant, h); err != nil {
		return fail(err)
	}
	if err := holdMonth(ctx, tx, tenant, h); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// Spend books a generate-email call in one transaction. A retried Spend
// counts again: ref is not kept, as a commit here either happened or
// returned its error, so a caller has nothing to retry after a Spend that
// counted.
func (s *Store) Spend(ctx context.Context, tenant string, h campaign.Reservation, emails int, u email.Usage, ref string, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("book spend of tenant %s: %w", tenant, err) }
	if h.Month == "" {
		h.Month = campaign.MonthOf(now)
	}
	if err := checkHold(tenant, h); err != nil {
		return fail(err)
	}
	if err := checkSpend(emails, u); err != nil {
		return fail(err)
	}
	err := s.spends.do(&spend{tenant: tenant, h: h, day: campaign.DayOf(now), emails: emails, u: u}, func(batch []*spend) error {
		// The calls booked together: one transaction, one commit.
		ctx := context.WithoutCancel(ctx)
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		ex := s.prepared.on(tx)
		for _, sp := range batch {
			if err := book(ctx, ex, sp.tenant, sp.h, sp.day, "", sp.emails, sp.u); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// spend is one Spend's booking.
type spend struct {
	tenant string
	h      campaign.Reservation
	day    string
	emails int
	u      email.Usage
}

// ReleaseKey releases hold h of the tenant's month in one UPDATE.
func (s *Store) ReleaseKey(ctx context.Context, tenant string, h campaign.Reservation) error {
	fail := func(err error) error { return fmt.Errorf("release hold of tenant %s: %w", tenant, err) }
	if h.Amount == 0 && h.Month == "" {
		return nil // the zero Reservation holds nothing
	}
	if err := checkHold(tenant, h); err != nil {
		return fail(err)
	}
	if err := book(ctx, s.prepared.on(s.db), tenant, h, "", "", 0, email.Usage{}); err != nil {
		return fail(err)
	}
	return nil
}

// Usage returns the tenant's records of the days from through to, in the
// primary key's order: by day, then campaign id.
func (s *Store) Usage(ctx context.Context, tenant, from, to string) ([]campaign.UsageRecord, error) {
	fail := func(err error) ([]campaign.UsageRecord, error) {
		return nil, fmt.Errorf("usage of tenant %s from %s to %s: %w", tenant, from, to, err)
	}
	if tenant == "" {
		return fail(errors.New("no tenant"))
	}
	for _, d := range []string{from, to} {
		if !isForm(d, time.DateOnly) {
			return fail(fmt.Errorf("day %q is not of the form YYYY-MM-DD", d))
		}
	}
	if from > to {
		return fail(errors.New("from is after to"))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT day, campaign_id, emails, prompt_tokens, completion_tokens, total_tokens,
			batch_prompt_tokens, batch_completion_tokens, cached_prompt_tokens, cost_micro_usd, unpriced
		FROM ledger_days WHERE tenant = ? AND day BETWEEN ? AND ? ORDER BY day, campaign_id`, tenant, from, to)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	out := []campaign.UsageRecord{}
	for rows.Next() {
		var r campaign.UsageRecord
		u := &r.Usage
		if err := rows.Scan(&r.Day, &r.CampaignID, &r.Emails, &u.PromptTokens, &u.CompletionTokens, &u.TotalTokens,
			&u.BatchPromptTokens, &u.BatchCompletionTokens, &u.CachedPromptTokens, &u.CostMicroUSD, &u.Unpriced); err != nil {
			return fail(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, nil
}

// Month returns the tenant's spend in month.
func (s *Store) Month(ctx context.Context, tenant, m string) (campaign.MonthSpend, error) {
	fail := func(err error) (campaign.MonthSpend, error) {
		return campaign.MonthSpend{}, fmt.Errorf("spend of tenant %s in %s: %w", tenant, m, err)
	}
	if tenant == "" {
		return fail(errors.New("no tenant"))
	}
	if !isForm(m, monthForm) {
		return fail(fmt.Errorf("month %q is not of the form YYYY-MM", m))
	}
	out, err := month(ctx, s.db, tenant, m)
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// monthForm is campaign.MonthOf's layout.
const monthForm = "2006-01"

// isForm reports whether s is a time written in layout, as Format writes it.
func isForm(s, layout string) bool {
	t, err := time.Parse(layout, s)
	return err == nil && t.Format(layout) == s
}

// checkHold refuses a hold that no write should take or release.
func checkHold(tenant string, h campaign.Reservation) error {
	switch {
	case tenant == "":
		return errors.New("no tenant")
	case h.Amount < 0:
		return fmt.Errorf("hold amount %d µ$ is negative", h.Amount)
	case h.KeyLimit < 0:
		return fmt.Errorf("key limit %d µ$ is negative", h.KeyLimit)
	case !isForm(h.Month, monthForm):
		return fmt.Errorf("hold month %q is not of the form YYYY-MM", h.Month)
	}
	return nil
}

// checkSpend refuses spend that would take from the ledger.
func checkSpend(emails int, u email.Usage) error {
	if emails < 0 {
		return fmt.Errorf("emails %d is negative", emails)
	}
	for _, n := range []int64{int64(u.PromptTokens), int64(u.CompletionTokens), int64(u.TotalTokens),
		int64(u.BatchPromptTokens), int64(u.BatchCompletionTokens), int64(u.CachedPromptTokens), u.CostMicroUSD, int64(u.Unpriced)} {
		if n < 0 {
			return fmt.Errorf("usage %+v has a negative count", u)
		}
	}
	return nil
}

// month reads the tenant's month, the zero MonthSpend if it has no row.
func month(ctx context.Context, q querier, tenant, m string) (campaign.MonthSpend, error) {
	out := campaign.MonthSpend{Month: m}
	err := q.QueryRowContext(ctx, `SELECT spent_micro_usd, reserved_micro_usd, unpriced FROM ledger_months
		WHERE tenant = ? AND month = ?`, tenant, m).Scan(&out.SpentMicroUSD, &out.ReservedMicroUSD, &out.Unpriced)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return campaign.MonthSpend{}, err
	}
	return out, nil
}

// fitsKeyLimit is ErrKeyBudget when h.KeyLimit (0: none) has no room for
// h.Amount beside what the tenant's month spent and holds.
func fitsKeyLimit(ctx context.Context, q querier, tenant string, h campaign.Reservation) error {
	if h.KeyLimit == 0 {
		return nil
	}
	m, err := month(ctx, q, tenant, h.Month)
	if err != nil {
		return err
	}
	if m.SpentMicroUSD+m.ReservedMicroUSD+h.Amount > h.KeyLimit {
		return campaign.ErrKeyBudget
	}
	return nil
}

// holdMonth adds h.Amount to what the tenant's month holds.
func holdMonth(ctx context.Context, tx execer, tenant string, h campaign.Reservation) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger_months (tenant, month, reserved_micro_usd) VALUES (?, ?, ?)
		ON CONFLICT (tenant, month) DO UPDATE SET reserved_micro_usd = reserved_micro_usd + excluded.reserved_micro_usd`,
		tenant, h.Month, h.Amount)
	if err != nil {
		return fmt.Errorf("hold %d µ$ of %s: %w", h.Amount, h.Month, err)
	}
	return nil
}

// releaseCampaign takes amount off what the campaign's emails hold.
func releaseCampaign(ctx context.Context, tx execer, campaignID string, amount int64) error {
	if amount == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET reserved_micro_usd = max(reserved_micro_usd - ?, 0) WHERE id = ?`,
		amount, campaignID); err != nil {
		return fmt.Errorf("release %d µ$ of the campaign: %w", amount, err)
	}
	return nil
}

// book releases hold h of the tenant's month h.Month and adds u's cost to
// that month, then, when day is set, adds emails and u to the tenant's
// record of day and campaignID: the ledger's part of every write that
// settles a model call. What was held is never released below 0, so that
// a release twice cannot make room for more than the budget. A record
// with nothing to add is not written.
func book(ctx context.Context, tx execer, tenant string, h campaign.Reservation, day, campaignID string, emails int, u email.Usage) error {
	if h.Amount != 0 || u.CostMicroUSD != 0 || u.Unpriced != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_months (tenant, month, spent_micro_usd, unpriced) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, month) DO UPDATE SET spent_micro_usd = spent_micro_usd + excluded.spent_micro_usd,
				reserved_micro_usd = max(reserved_micro_usd - ?, 0), unpriced = unpriced + excluded.unpriced`,
			tenant, h.Month, u.CostMicroUSD, u.Unpriced, h.Amount); err != nil {
			return fmt.Errorf("book month %s: %w", h.Month, err)
		}
	}
	if day == "" || emails == 0 && u == (email.Usage{}) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_days (tenant, day, campaign_id, emails,
			prompt_tokens, completion_tokens, total_tokens, batch_prompt_tokens, batch_completion_tokens,
			cached_prompt_tokens, cost_micro_usd, unpriced)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, day, campaign_id) DO UPDATE SET emails = emails + excluded.emails,
			prompt_tokens = prompt_tokens + excluded.prompt_tokens,
			completion_tokens = completion_tokens + excluded.completion_tokens,
			total_tokens = total_tokens + excluded.total_tokens,
			batch_prompt_tokens = batch_prompt_tokens + excluded.batch_prompt_tokens,
			batch_completion_tokens = batch_completion_tokens + excluded.batch_completion_tokens,
			cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens,
			cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd,
			unpriced = unpriced + excluded.unpriced`,
		tenant, day, campaignID, emails, u.PromptTokens, u.CompletionTokens, u.TotalTokens,
		u.BatchPromptTokens, u.BatchCompletionTokens, u.CachedPromptTokens, u.CostMicroUSD, u.Unpriced); err != nil {
		return fmt.Errorf("book day %s: %w", day, err)
	}
	return nil
}
