package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// Revise changes a finished email and its campaign's counters in one
// transaction, which reads the email first: the transactions of a db from
// Open take the write lock at BEGIN, so nothing changes it in between. A
// Draft's hold is released and its usage booked in the tenant's ledger in
// the same transaction.
func (s *Store) Revise(ctx context.Context, campaignID string, index, version int, r campaign.Revision, now time.Time) (*campaign.Email, error) {
	fail := func(err error) (*campaign.Email, error) {
		return nil, fmt.Errorf("revise email %s/%d: %w", campaignID, index, err)
	}
	if err := checkRevision(r); err != nil {
		return fail(err)
	}
	tx, cur, err := s.beginAt(ctx, campaignID, index, version)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()

	var d counts
	d.review(cur.Review, -1)
	if r.Draft != nil {
		stored := *r.Draft
		if cur.Outcome != nil {
			stored.Usage = cur.Outcome.Usage.Add(r.Draft.Usage)
		}
		stored.Usage = stored.Usage.Tokens()
		result, err := json.Marshal(stored)
		if err != nil {
			return fail(err)
		}
		if err := d.status(cur.Status, -1); err != nil {
			return fail(err)
		}
		if err := d.status(r.Status, 1); err != nil {
			return fail(err)
		}
		d.usage = r.Draft.Usage
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET status = ?, result = ?, version = version + 1,
				edit = NULL, review = '', note = '', reviewed_at = NULL
			WHERE campaign_id = ? AND idx = ?`, string(r.Status), string(result), campaignID, index); err != nil {
			return fail(err)
		}
		if err := s.bookDraft(ctx, tx, campaignID, r, now); err != nil {
			return fail(err)
		}
	} else {
		sets, args := []string{"version = version + 1"}, []any{}
		if r.Edit != nil {
			edit, err := editJSON(r.Edit)
			if err != nil {
				return fail(err)
			}
			sets, args = append(sets, "edit = ?"), append(args, edit)
		}
		review := cur.Review
		if r.Review != nil {
			review = *r.Review
			sets, args = append(sets, "review = ?", "reviewed_at = ?"), append(args, string(review), now.UnixMilli())
		}
		if r.Note != nil {
			sets, args = append(sets, "note = ?"), append(args, *r.Note)
		}
		d.review(review, 1)
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET `+strings.Join(sets, ", ")+`
			WHERE campaign_id = ? AND idx = ?`, append(args, campaignID, index)...); err != nil {
			return fail(err)
		}
	}
	if err := d.apply(ctx, tx, campaignID, now); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_holds WHERE campaign_id = ? AND idx = ?`, campaignID, index); err != nil {
		return fail(err)
	}
	e, err := scanEmail(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM campaign_items WHERE campaign_id = ? AND idx = ?`,
		campaignID, index), campaignID)
	if err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return e, nil
}

// bookDraft releases the hold of r's Draft and books its usage in the
// ledger of the campaign's tenant: in its hold's month (the month of now
// without one), and in the campaign's record of now's day, as one email
// written when it has a draft.
func (s *Store) bookDraft(ctx context.Context, tx *sql.Tx, campaignID string, r campaign.Revision, now time.Time) error {
	var tenant string
	if err := tx.QueryRowContext(ctx, `SELECT tenant FROM campaigns WHERE id = ?`, campaignID).Scan(&tenant); err != nil {
		return fmt.Errorf("tenant of the campaign: %w", err)
	}
	h := r.Reserved
	if h.Month == "" {
		h.Month = campaign.MonthOf(now)
	}
	t, _, err := campaign.Finishing(r.Status, campaign.Outcome{})
	if err != nil {
		return err
	}
	return book(ctx, s.prepared.on(tx), tenant, h, campaign.DayOf(now), campaignID, t.Succeeded, r.Draft.Usage)
}

// checkRevision refuses a Revision that Revise cannot apply as a whole.
func checkRevision(r campaign.Revision) error {
	if r.Draft != nil {
		if r.Edit != nil || r.Review != nil || r.Note != nil {
			return errors.New("a revision with a draft clears the edit, review and note: it cannot set them")
		}
		if _, _, err := campaign.Finishing(r.Status, campaign.Outcome{}); err != nil {
			return fmt.Errorf("status of the draft: %w", err)
		}
		if err := checkSpend(0, r.Draft.Usage); err != nil {
			return fmt.Errorf("draft: %w", err)
		}
		if r.Reserved != (campaign.Reservation{}) {
			if r.Reserved.Amount < 0 {
				return fmt.Errorf("draft's hold amount %d µ$ is negative", r.Reserved.Amount)
			}
			if r.Reserved.Month != "" && !isForm(r.Reserved.Month, monthForm) {
				return fmt.Errorf("draft's hold month %q is not of the form YYYY-MM", r.Reserved.Month)
			}
		}
	} else if r.Status != "" {
		return fmt.Errorf("status %q without a draft", r.Status)
	} else if r.Reserved != (campaign.Reservation{}) {
		return errors.New("a hold without a draft: ReleaseKey releases it")
	}
	if r.Review != nil {
		switch *r.Review {
		case campaign.ReviewNone, campaign.ReviewApproved, campaign.ReviewRejected:
		default:
			return fmt.Errorf("review %q is not approved, rejected or none", *r.Review)
		}
	}
	return nil
}

// Hold takes the email's hold in one transaction that reads its version
// first, and only overwrites an expired hold or owner's own.
func (s *Store) Hold(ctx context.Context, campaignID string, index, version int, owner string, now, until time.Time) error {
	fail := func(err error) error { return fmt.Errorf("hold email %s/%d: %w", campaignID, index, err) }
	tx, _, err := s.beginAt(ctx, campaignID, index, version)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	wrote, err := execOne(ctx, tx, `INSERT INTO item_holds (campaign_id, idx, owner, until) VALUES (?, ?, ?, ?)
		ON CONFLICT (campaign_id, idx) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE item_holds.until <= ? OR item_holds.owner = excluded.owner`,
		campaignID, index, owner, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fail(err)
	}
	if !wrote {
		var held int64
		if err := tx.QueryRowContext(ctx, `SELECT until FROM item_holds WHERE campaign_id = ? AND idx = ?`,
			campaignID, index).Scan(&held); err != nil {
			return fail(err)
		}
		return &campaign.ClaimedError{Until: fromMillis(held)}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// Reopen starts the next round in one transaction: a conditional UPDATE of
// the campaign, and the notify task's row deleted (undone, and its lease
// gone).
func (s *Store) Reopen(ctx context.Context, campaignID string, round int, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("reopen campaign %s: %w", campaignID, err) }
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	wrote, err := execOne(ctx, tx, `UPDATE campaigns
		SET status = ?, round = round + 1, retrying = 1, completed_at = NULL, updated_at = ?
		WHERE id = ? AND status IN (?, ?) AND round = ? AND `+notExpired,
		string(campaign.StatusRunning), now.UnixMilli(), campaignID,
		string(campaign.StatusCompleted), string(campaign.StatusCompletedWithErrors), round, s.nowMillis())
	if err != nil {
		return fail(err)
	}
	if !wrote {
		if err := s.mustBeLive(ctx, tx, campaignID); err != nil {
			return fail(err)
		}
		return fail(campaign.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_tasks WHERE campaign_id = ? AND task = ?`,
		campaignID, string(campaign.TaskNotify)); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// Reset makes a finished email pending again in one transaction that reads
// it first.
func (s *Store) Reset(ctx context.Context, campaignID string, index int, from []campaign.EmailStatus, round int, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("reset email %s/%d: %w", campaignID, index, err) }
	tx, cur, err := s.begin(ctx, campaignID, index)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if cur.Status == campaign.EmailPending || !slices.Contains(from, cur.Status) ||
		cur.Review == campaign.ReviewApproved || cur.Round >= round {
		return fail(campaign.ErrAlreadyDone)
	}
	var d counts
	if err := d.status(cur.Status, -1); err != nil {
		return fail(err)
	}
	d.review(cur.Review, -1)
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET status = ?, result = NULL, round = ?, version = version + 1,
			edit = NULL, review = '', note = '', reviewed_at = NULL
		WHERE campaign_id = ? AND idx = ?`, string(campaign.EmailPending), round, campaignID, index); err != nil {
		return fail(err)
	}
	for _, table := range []string{"item_leases", "item_holds"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE campaign_id = ? AND idx = ?`, campaignID, index); err != nil {
			return fail(err)
		}
	}
	if err := d.apply(ctx, tx, campaignID, now); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// EndRetry ends the round in one conditional UPDATE.
func (s *Store) EndRetry(ctx context.Context, campaignID string, round int, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("end retry %d of campaign %s: %w", round, campaignID, err) }
	wrote, err := execOne(ctx, s.db, `UPDATE campaigns SET retrying = 0, updated_at = ?
		WHERE id = ? AND round = ? AND `+notExpired, now.UnixMilli(), campaignID, round, s.nowMillis())
	if err != nil {
		return fail(err)
	}
	if !wrote {
		if err := s.mustBeLive(ctx, s.db, campaignID); err != nil {
			return fail(err)
		}
	}
	return nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mustBeLive returns ErrNotFound unless the campaign exists and has not
// expired.
func (s *Store) mustBeLive(ctx context.Context, q querier, campaignID string) error {
	var live bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND `+notExpired+`)`,
		campaignID, s.nowMillis()).Scan(&live); err != nil {
		return err
	}
	if !live {
		return campaign.ErrNotFound
	}
	return nil
}

// begin starts the transaction of a change to one email and reads the
// email in it: the transactions of a db from Open take the write lock at
// BEGIN, so what it reads is what the change applies to. Revise, Hold and
// Reset all decide from that read. On error the transaction is rolled
// back; otherwise the caller rolls it back or commits it.
func (s *Store) begin(ctx context.Context, campaignID string, index int) (*sql.Tx, *campaign.Email, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	cur, err := s.current(ctx, tx, campaignID, index)
	if err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	return tx, cur, nil
}

// beginAt is begin for a reviewer's write (Revise, Hold), which applies
// only to the finished email at the version the reviewer read: another is
// ErrVersionMismatch.
func (s *Store) beginAt(ctx context.Context, campaignID string, index, version int) (*sql.Tx, *campaign.Email, error) {
	tx, cur, err := s.begin(ctx, campaignID, index)
	if err != nil {
		return nil, nil, err
	}
	if cur.Status == campaign.EmailPending || cur.Version != version {
		tx.Rollback()
		return nil, nil, campaign.ErrVersionMismatch
	}
	return tx, cur, nil
}

// current reads an email of a campaign that has not expired, or returns
// ErrNotFound.
func (s *Store) current(ctx context.Context, q querier, campaignID string, index int) (*campaign.Email, error) {
	return scanEmail(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM campaign_items
		WHERE campaign_id = ? AND idx = ? AND `+ofLiveCampaign, campaignID, index, campaignID, s.nowMillis()), campaignID)
}

// counts is a change to a campaign's counters.
type counts struct {
	succeeded, needsReview, failed, skipped, approved, rejected int
	usage                                                       email.Usage
}

// status counts an email of status (an outcome) sign times.
func (c *counts) status(status campaign.EmailStatus, sign int) error {
	t, _, err := campaign.Finishing(status, campaign.Outcome{})
	if err != nil {
		return err
	}
	c.succeeded += sign * t.Succeeded
	c.needsReview += sign * t.NeedsReview
	c.failed += sign * t.Failed
	c.skipped += sign * t.Skipped
	return nil
}

// review counts a decision sign times.
func (c *counts) review(r campaign.Review, sign int) {
	switch r {
	case campaign.ReviewApproved:
		c.approved += sign
	case campaign.ReviewRejected:
		c.rejected += sign
	}
}

// apply adds c to the campaign's counters and sets its updated_at to now.
func (c counts) apply(ctx context.Context, tx *sql.Tx, campaignID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE campaigns SET
			succeeded = succeeded + ?, needs_review = needs_review + ?, failed = failed + ?, skipped = skipped + ?,
			approved = approved + ?, rejected = rejected + ?,
			prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
			batch_prompt_tokens = batch_prompt_tokens + ?, batch_completion_tokens = batch_completion_tokens + ?,
			cost_micro_usd = cost_micro_usd + ?, unpriced = unpriced + ?, cached_prompt_tokens = cached_prompt_tokens + ?,
			updated_at = ?
		WHERE id = ?`,
		c.succeeded, c.needsReview, c.failed, c.skipped, c.approved, c.rejected,
		c.usage.PromptTokens, c.usage.CompletionTokens, c.usage.TotalTokens,
		c.usage.BatchPromptTokens, c.usage.BatchCompletionTokens, c.usage.CostMicroUSD, c.usage.Unpriced, c.usage.CachedPromptTokens, now.UnixMilli(), campaignID)
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	return nil
}

// editJSON returns e as the edit column keeps it, EditedAt to the
// millisecond in UTC as every time here; nil for no edit.
func editJSON(e *campaign.Edit) (any, error) {
	if e == nil {
		return nil, nil
	}
	out := *e
	out.EditedAt = fromMillis(e.EditedAt.UnixMilli())
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	return string(b), nil
}

// filterSQL returns the condition on campaign_items rows that f.Match
// states, to append to a WHERE clause, and its parameters.
func filterSQL(f campaign.EmailFilter) (string, []any) {
	var where strings.Builder
	var args []any
	if len(f.Statuses) > 0 {
		where.WriteString(" AND status IN (" + placeholders(len(f.Statuses)) + ")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if len(f.Reviews) == 0 {
		return where.String(), args
	}
	var or []string
	var decided []any
	none := false
	for _, r := range f.Reviews {
		if r == campaign.ReviewNone {
			none = true
		} else {
			decided = append(decided, string(r))
		}
	}
	if len(decided) > 0 {
		or = append(or, "review IN ("+placeholders(len(decided))+")")
		args = append(args, decided...)
	}
	if none {
		// No decision on a draft; an email without one is not reviewed.
		or = append(or, "(review = '' AND status IN (?, ?))")
		args = append(args, string(campaign.EmailSucceeded), string(campaign.EmailNeedsReview))
	}
	where.WriteString(" AND (" + strings.Join(or, " OR ") + ")")
	return where.String(), args
}

// placeholders returns n comma-separated SQL parameters.
func placeholders(n int) string { return "?" + strings.Repeat(", ?", n-1) }
