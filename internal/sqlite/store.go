package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ingren/ingren/internal/campaign"
)

//go:embed store.sql
var storeSchema string

// defaultLimit is the page size when Page.Limit is not positive.
const defaultLimit = 100

// Store is the campaign.Store of the local program: campaigns and emails in
// SQLite tables, each write one transaction.
type Store struct {
	db *sql.DB
	// prepared holds the hot paths' statements.
	prepared stmts
	// spends groups concurrent Spends into one transaction.
	spends group[*spend]
	// Now is the clock that says which campaigns have expired (NewStore
	// sets time.Now). Tests set it before using the Store.
	Now func() time.Time
}

var _ campaign.Store = (*Store)(nil)

// NewStore returns a Store on db, creating its tables if missing. db should
// come from Open: Create and Finish rely on its immediate transactions.
func NewStore(db *sql.DB) (*Store, error) {
	if _, err := db.Exec(storeSchema + tasksSchema + batchesSchema + ledgerSchema); err != nil {
		return nil, fmt.Errorf("create campaign tables: %w", err)
	}
	if err := addColumns(context.Background(), db); err != nil {
		return nil, fmt.Errorf("add campaign columns: %w", err)
	}
	return &Store{db: db, prepared: stmts{db: db}, Now: time.Now}, nil
}

// notExpired is the condition on a campaigns row that it has not expired;
// its one parameter is the clock in Unix milliseconds. A campaign without
// expires_at never expires.
const notExpired = `(expires_at IS NULL OR expires_at > ?)`

// nowMillis reads the clock, in expires_at's unit.
func (s *Store) nowMillis() int64 { return s.Now().UnixMilli() }

const campaignColumns = `id, tenant, name, status, total, succeeded, failed, needs_review,
	prompt_tokens, completion_tokens, total_tokens, webhook_url, idempotency_key, request_hash,
	created_at, updated_at, completed_at, expires_at, approved, rejected, round, retrying,
	mode, warnings, batch_prompt_tokens, batch_completion_tokens, cost_micro_usd, unpriced, cached_prompt_tokens,
	skipped, max_cost_micro_usd, reserved_micro_usd`

// campaignSelect are what scanCampaign reads: a campaigns row and its
// input columns.
const campaignSelect = campaignColumns + `,
	(SELECT columns FROM campaign_columns WHERE campaign_id = campaigns.id)`

// itemColumns are what scanEmail reads of a campaign_items row.
const itemColumns = `idx, ref, request, status, result, version, round, edit, review, note, reviewed_at,
	reserved_amount, reserved_month,
	(SELECT cells FROM item_cells WHERE item_cells.campaign_id = campaign_items.campaign_id AND item_cells.idx = campaign_items.idx)`

// Create stores c and its emails in one transaction.
func (s *Store) Create(ctx context.Context, c *campaign.Campaign, items []campaign.Email) (*campaign.Campaign, error) {
	if err := campaign.CheckEmails(c, items); err != nil {
		return nil, err
	}
	if c.Mode != "" {
		if err := campaign.CheckModes(c.Mode); err != nil {
			return nil, fmt.Errorf("create campaign: %w", err)
		}
	}
	if err := checkBudget(c, items); err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}
	out := stored(c)
	warnings, err := warningsJSON(out.Warnings)
	if err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}
	defer tx.Rollback()

	if c.IdempotencyKey != "" {
		existing, err := scanCampaign(tx.QueryRowContext(ctx,
			`SELECT `+campaignSelect+` FROM campaigns WHERE tenant = ? AND idempotency_key = ?`,
			c.Tenant, c.IdempotencyKey))
		switch {
		case err == nil && !existing.ExpiresAt.IsZero() && existing.ExpiresAt.UnixMilli() <= s.nowMillis():
			// The key of an expired campaign is free again; the campaign
			// itself waits for DeleteExpired.
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET idempotency_key = NULL WHERE id = ?`, existing.ID); err != nil {
				return nil, fmt.Errorf("create campaign: free idempotency key: %w", err)
			}
		case err == nil:
			return existing, campaign.ErrConflict
		case !errors.Is(err, campaign.ErrNotFound):
			return nil, fmt.Errorf("create campaign: %w", err)
		}
	}

	_, err = tx.ExecContext(ctx, `INSERT INTO campaigns (`+campaignColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		out.ID, out.Tenant, out.Name, string(out.Status), out.Total, out.Succeeded, out.Failed, out.NeedsReview,
		out.Usage.PromptTokens, out.Usage.CompletionTokens, out.Usage.TotalTokens, out.WebhookURL,
		nullString(out.IdempotencyKey), out.RequestHash,
		out.CreatedAt.UnixMilli(), out.UpdatedAt.UnixMilli(), nullMillis(out.CompletedAt), nullMillis(out.ExpiresAt),
		out.Approved, out.Rejected, out.Round, out.Retrying,
		string(out.Mode), warnings, out.Usage.BatchPromptTokens, out.Usage.BatchCompletionTokens,
		out.Usage.CostMicroUSD, out.Usage.Unpriced, out.Usage.CachedPromptTokens,
		out.Skipped, out.MaxCostMicroUSD, out.ReservedMicroUSD)
	if isConstraint(err) {
		// The id is taken, or (with a connection not from Open) another
		// transaction took the idempotency key after the check above.
		tx.Rollback()
		if c.IdempotencyKey != "" {
			if existing, gerr := s.byIdempotencyKey(ctx, c.Tenant, c.IdempotencyKey); gerr == nil {
				return existing, campaign.ErrConflict
			}
		}
		return nil, fmt.Errorf("create campaign %s: %w", c.ID, campaign.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}

	if c.Columns != nil {
		b, err := json.Marshal(c.Columns)
		if err != nil {
			return nil, fmt.Errorf("create campaign columns: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_columns (campaign_id, columns) VALUES (?, ?)`, c.ID, string(b)); err != nil {
			return nil, fmt.Errorf("create campaign columns: %w", err)
		}
	}
	cellsStmt, err := tx.PrepareContext(ctx, `INSERT INTO item_cells (campaign_id, idx, cells) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("create campaign items: %w", err)
	}
	defer cellsStmt.Close()
	stmt, err := tx.PrepareContext(ctx,
		`INSERT INTO campaign_items (campaign_id, idx, ref, request, status, result, version, round, edit, review, note, reviewed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("create campaign items: %w", err)
	}
	defer stmt.Close()
	for i := range items {
		it := &items[i]
		req, err := json.Marshal(it.Request)
		if err != nil {
			return nil, fmt.Errorf("create item %d: %w", i, err)
		}
		status := it.Status
		if status == "" {
			status = campaign.EmailPending
		}
		var result any
		if it.Outcome != nil {
			b, err := json.Marshal(it.Outcome)
			if err != nil {
				return nil, fmt.Errorf("create item %d: %w", i, err)
			}
			result = string(b)
		}
		edit, err := editJSON(it.Edit)
		if err != nil {
			return nil, fmt.Errorf("create item %d: %w", i, err)
		}
		if _, err := stmt.ExecContext(ctx, c.ID, i, it.Ref, string(req), string(status), result,
			it.Version, it.Round, edit, string(it.Review), it.Note, nullMillis(it.ReviewedAt)); err != nil {
			return nil, fmt.Errorf("create item %d: %w", i, err)
		}
		if it.Cells != nil {
			b, err := json.Marshal(it.Cells)
			if err != nil {
				return nil, fmt.Errorf("create item %d: %w", i, err)
			}
			if _, err := cellsStmt.ExecContext(ctx, c.ID, i, string(b)); err != nil {
				return nil, fmt.Errorf("create item %d cells: %w", i, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}
	return out, nil
}

// checkBudget refuses a new campaign whose cap is negative or that claims
// to hold budget already: only Reserve takes a hold, against the ledger.
func checkBudget(c *campaign.Campaign, items []campaign.Email) error {
	if c.MaxCostMicroUSD < 0 {
		return fmt.Errorf("max cost %d µ$ is negative", c.MaxCostMicroUSD)
	}
	if c.ReservedMicroUSD != 0 {
		return fmt.Errorf("a new campaign holds no budget, not %d µ$", c.ReservedMicroUSD)
	}
	for i := range items {
		if items[i].Reserved != (campaign.Reservation{}) {
			return fmt.Errorf("email %d: a new email holds no budget", i)
		}
	}
	return nil
}

func (s *Store) byIdempotencyKey(ctx context.Context, tenant, key string) (*campaign.Campaign, error) {
	return scanCampaign(s.db.QueryRowContext(ctx,
		`SELECT `+campaignSelect+` FROM campaigns WHERE tenant = ? AND idempotency_key = ? AND `+notExpired,
		tenant, key, s.nowMillis()))
}

// Get returns the tenant's campaign, unless it has expired.
func (s *Store) Get(ctx context.Context, tenant, id string) (*campaign.Campaign, error) {
	c, err := scanCampaign(s.db.QueryRowContext(ctx,
		`SELECT `+campaignSelect+` FROM campaigns WHERE id = ? AND tenant = ? AND `+notExpired,
		id, tenant, s.nowMillis()))
	if err != nil {
		return nil, fmt.Errorf("get campaign %s: %w", id, err)
	}
	return c, nil
}

// List returns the tenant's campaigns that have not expired, newest first.
// The cursor is the last campaign's (created_at, id), the key List orders
// by.
func (s *Store) List(ctx context.Context, tenant string, p campaign.Page) ([]campaign.Campaign, string, error) {
	limit := pageLimit(p)
	now := s.nowMillis()
	var rows *sql.Rows
	var err error
	if p.Cursor == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT `+campaignSelect+` FROM campaigns
			WHERE tenant = ? AND `+notExpired+` ORDER BY created_at DESC, id DESC LIMIT ?`, tenant, now, limit+1)
	} else {
		created, id, cerr := decodeListCursor(p.Cursor)
		if cerr != nil {
			return nil, "", cerr
		}
		rows, err = s.db.QueryContext(ctx, `SELECT `+campaignSelect+` FROM campaigns
			WHERE tenant = ? AND (created_at, id) < (?, ?) AND `+notExpired+`
			ORDER BY created_at DESC, id DESC LIMIT ?`, tenant, created, id, now, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list campaigns: %w", err)
	}
	defer rows.Close()
	list := []campaign.Campaign{}
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list campaigns: %w", err)
		}
		list = append(list, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list campaigns: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	list = list[:limit]
	last := list[limit-1]
	return list, encodeCursor(strconv.FormatInt(last.CreatedAt.UnixMilli(), 10) + "." + last.ID), nil
}

// ofLiveCampaign is the condition on campaign_items that their campaign
// has not expired; its parameters are the campaign id and the clock.
const ofLiveCampaign = `NOT EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND expires_at <= ?)`

// Emails returns a page of the campaign's emails that pass p.Filter in
// index order, none when the campaign has expired. The filter is in the
// query, which walks the primary key from the cursor, the last index
// returned, so that every page but the last is full.
func (s *Store) Emails(ctx context.Context, campaignID string, p campaign.Page) ([]campaign.Email, string, error) {
	limit := pageLimit(p)
	after := -1
	if p.Cursor != "" {
		i, err := decodeEmailsCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		after = i
	}
	where, args := filterSQL(p.Filter)
	args = append([]any{campaignID, after, campaignID, s.nowMillis()}, append(args, limit+1)...)
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM campaign_items
		WHERE campaign_id = ? AND idx > ? AND `+ofLiveCampaign+where+` ORDER BY idx LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list items of %s: %w", campaignID, err)
	}
	defer rows.Close()
	items := []campaign.Email{}
	for rows.Next() {
		it, err := scanEmail(rows, campaignID)
		if err != nil {
			return nil, "", fmt.Errorf("list items of %s: %w", campaignID, err)
		}
		items = append(items, *it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list items of %s: %w", campaignID, err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, encodeCursor(strconv.Itoa(items[limit-1].Index)), nil
}

// Email returns one email of a campaign that has not expired.
func (s *Store) Email(ctx context.Context, campaignID string, index int) (*campaign.Email, error) {
	it, err := scanEmail(s.db.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM campaign_items
		WHERE campaign_id = ? AND idx = ? AND `+ofLiveCampaign, campaignID, index, campaignID, s.nowMillis()), campaignID)
	if err != nil {
		return nil, fmt.Errorf("get item %s/%d: %w", campaignID, index, err)
	}
	return it, nil
}

// Finish records a pending email's outcome, counts it, releases its hold
// and books it in the tenant's ledger, in one transaction that reads the
// email first: the transactions of a db from Open take the write lock at
// BEGIN, so nothing changes it in between.
func (s *Store) Finish(ctx context.Context, campaignID string, index int, status campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err) }
	tally, result, err := campaign.Finishing(status, r)
	if err != nil {
		return fail(err)
	}
	if err := checkSpend(0, r.Usage); err != nil {
		return fail(err)
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var (
		cur    string
		held   campaign.Reservation
		tenant string
	)
	err = tx.QueryRowContext(ctx, `SELECT i.status, i.reserved_amount, i.reserved_month, c.tenant
		FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id
		WHERE i.campaign_id = ? AND i.idx = ?`, campaignID, index).Scan(&cur, &held.Amount, &held.Month, &tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(campaign.ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	if cur != string(campaign.EmailPending) {
		return fail(campaign.ErrAlreadyDone)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET status = ?, result = ?, version = version + 1,
			reserved_amount = 0, reserved_month = ''
		WHERE campaign_id = ? AND idx = ?`,
		string(status), string(result), campaignID, index); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET
			succeeded = succeeded + ?, needs_review = needs_review + ?, failed = failed + ?, skipped = skipped + ?,
			prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, total_tokens = total_tokens + ?,
			batch_prompt_tokens = batch_prompt_tokens + ?, batch_completion_tokens = batch_completion_tokens + ?,
			cost_micro_usd = cost_micro_usd + ?, unpriced = unpriced + ?, cached_prompt_tokens = cached_prompt_tokens + ?,
			reserved_micro_usd = max(reserved_micro_usd - ?, 0), updated_at = ?
		WHERE id = ?`,
		tally.Succeeded, tally.NeedsReview, tally.Failed, tally.Skipped,
		r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens,
		r.Usage.BatchPromptTokens, r.Usage.BatchCompletionTokens, r.Usage.CostMicroUSD, r.Usage.Unpriced, r.Usage.CachedPromptTokens,
		held.Amount, now.UnixMilli(), campaignID); err != nil {
		return fmt.Errorf("count item %s/%d: %w", campaignID, index, err)
	}
	// The outcome is booked in the month of its hold, so that a call that
	// ran over midnight settles where it held.
	if held.Month == "" {
		held.Month = campaign.MonthOf(now)
	}
	if err := book(ctx, s.prepared.on(tx), tenant, held, campaign.DayOf(now), campaignID, tally.Succeeded, r.Usage); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// Claim takes the email's lease in one upsert that only writes while the
// email is pending and only overwrites an expired lease or owner's own.
func (s *Store) Claim(ctx context.Context, campaignID string, index int, owner string, now, until time.Time) error {
	wrote, err := execOne(ctx, s.db, `INSERT INTO item_leases (campaign_id, idx, owner, until)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM campaign_items WHERE campaign_id = ? AND idx = ? AND status = ?)
		ON CONFLICT (campaign_id, idx) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE item_leases.until <= ? OR item_leases.owner = excluded.owner`,
		campaignID, index, owner, until.UnixMilli(), campaignID, index, string(campaign.EmailPending), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	if wrote {
		return nil
	}
	// Nothing written: the email is done (or gone), or another holds it.
	var status string
	err = s.db.QueryRowContext(ctx, `SELECT status FROM campaign_items WHERE campaign_id = ? AND idx = ?`,
		campaignID, index).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, campaign.ErrNotFound)
	case err != nil:
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	case status != string(campaign.EmailPending):
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, campaign.ErrAlreadyDone)
	}
	var held int64
	err = s.db.QueryRowContext(ctx, `SELECT until FROM item_leases WHERE campaign_id = ? AND idx = ?`,
		campaignID, index).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) {
		// Released between the statements: the caller tries again.
		held = now.UnixMilli()
	} else if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	return &campaign.ClaimedError{Until: time.UnixMilli(held).UTC()}
}

// Release deletes owner's lease on the email.
func (s *Store) Release(ctx context.Context, campaignID string, index int, owner string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM item_leases WHERE campaign_id = ? AND idx = ? AND owner = ?`,
		campaignID, index, owner); err != nil {
		return fmt.Errorf("release item %s/%d: %w", campaignID, index, err)
	}
	return nil
}

// ReleaseLeases ends every email lease and hold, and reports how many
// there were. The local program calls it at start-up with
// Queue.ReleaseInFlight: as the only worker and the only API, any lease or
// hold it finds was held by a process that died, and would otherwise make
// the resumed emails, or a reviewer's regenerate, wait for it to end.
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	defer tx.Rollback()
	released := 0
	for _, table := range []string{"item_leases", "item_holds"} {
		n, err := execCount(ctx, tx, `DELETE FROM `+table)
		if err != nil {
			return 0, fmt.Errorf("release leases: %w", err)
		}
		released += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	return released, nil
}

// DeleteExpired deletes campaigns that expired by now, the longest expired
// first: each one's leases, emails and batches, then its row, which holds its
// idempotency key. What a deleted email held of its tenant's month is
// released with it, as no Finish will now settle it; the ledger's records
// stay. One call is one transaction of at most limit rows, so
// that the other writers wait for it no longer than for a Create; a
// campaign with more emails than that is deleted over several calls, and
// reads as gone meanwhile.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete expired campaigns: limit %d is not positive", limit)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete expired campaigns: %w", err)
	}
	defer tx.Rollback()
	ids, err := expiredIDs(ctx, tx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired campaigns: %w", err)
	}
	removed := 0
	for _, id := range ids {
		for _, q := range []string{
			`DELETE FROM item_leases WHERE campaign_id = ? AND idx IN
				(SELECT idx FROM item_leases WHERE campaign_id = ? ORDER BY idx LIMIT ?)`,
			deleteItems,
			`DELETE FROM campaign_batches WHERE campaign_id = ? AND batch_key IN
				(SELECT batch_key FROM campaign_batches WHERE campaign_id = ? ORDER BY batch_key LIMIT ?)`,
		} {
			if q == deleteItems {
				if _, err := tx.ExecContext(ctx, releaseItems, id, limit-removed, id); err != nil {
					return 0, fmt.Errorf("release holds of expired campaign %s: %w", id, err)
				}
			}
			n, err := execCount(ctx, tx, q, id, id, limit-removed)
			if err != nil {
				return 0, fmt.Errorf("delete expired campaign %s: %w", id, err)
			}
			removed += n
		}
		if removed == limit {
			break // its row, maybe with items left, waits for the next call
		}
		n, err := execCount(ctx, tx, `DELETE FROM campaigns WHERE id = ?`, id)
		if err != nil {
			return 0, fmt.Errorf("delete expired campaign %s: %w", id, err)
		}
		if removed += n; removed == limit {
			break
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete expired campaigns: %w", err)
	}
	return removed, nil
}

// deleteItems deletes the first of a campaign's emails; its parameters
// are the campaign id twice and how many.
const deleteItems = `DELETE FROM campaign_items WHERE campaign_id = ? AND idx IN
	(SELECT idx FROM campaign_items WHERE campaign_id = ? ORDER BY idx LIMIT ?)`

// releaseItems releases, from the months of the campaign's tenant, what
// the emails that deleteItems deletes hold; its parameters are the
// campaign id, how many, and the campaign id.
const releaseItems = `UPDATE ledger_months SET reserved_micro_usd = max(reserved_micro_usd - held.amount, 0)
	FROM (SELECT reserved_month AS month, sum(reserved_amount) AS amount
		FROM (SELECT reserved_month, reserved_amount FROM campaign_items WHERE campaign_id = ? ORDER BY idx LIMIT ?)
		WHERE reserved_month <> '' GROUP BY reserved_month) AS held
	WHERE ledger_months.tenant = (SELECT tenant FROM campaigns WHERE id = ?) AND ledger_months.month = held.month`

func expiredIDs(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM campaigns WHERE expires_at <= ?
		ORDER BY expires_at, id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// MoveTenant gives every campaign of tenant from, with its idempotency key,
// to tenant to, in one transaction, and returns how many it moved. Where
// to already uses one of from's idempotency keys, to keeps it and from's
// campaign moves without it. The local program calls it at start-up to
// move campaigns from the tenant ids of an earlier version.
func (s *Store) MoveTenant(ctx context.Context, from, to string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("move tenant: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET idempotency_key = NULL
		WHERE tenant = ? AND idempotency_key IN
			(SELECT idempotency_key FROM campaigns WHERE tenant = ? AND idempotency_key IS NOT NULL)`,
		from, to); err != nil {
		return 0, fmt.Errorf("move tenant: %w", err)
	}
	n, err := execCount(ctx, tx, `UPDATE campaigns SET tenant = ? WHERE tenant = ?`, to, from)
	if err != nil {
		return 0, fmt.Errorf("move tenant: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("move tenant: %w", err)
	}
	return n, nil
}

// Transition moves the campaign from one of from to to, in one conditional
// UPDATE.
func (s *Store) Transition(ctx context.Context, campaignID string, from []campaign.Status, to campaign.Status, now time.Time) error {
	var completed any
	if to.Final() {
		completed = now.UnixMilli()
	}
	n := int64(0)
	if len(from) > 0 {
		args := []any{string(to), now.UnixMilli(), completed, campaignID}
		for _, f := range from {
			args = append(args, string(f))
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("transition campaign %s: %w", campaignID, err)
		}
		defer tx.Rollback()
		res, err := tx.ExecContext(ctx, `UPDATE campaigns
			SET status = ?, updated_at = ?, completed_at = coalesce(?, completed_at)
			WHERE id = ? AND status IN (?`+strings.Repeat(", ?", len(from)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("transition campaign %s: %w", campaignID, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("transition campaign %s: %w", campaignID, err)
		}
		if n == 1 && to.Final() {
			// Leases outlive their emails' Finish (Claim relies on that);
			// a finished campaign needs none.
			if _, err := tx.ExecContext(ctx, `DELETE FROM item_leases WHERE campaign_id = ?`, campaignID); err != nil {
				return fmt.Errorf("transition campaign %s: %w", campaignID, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("transition campaign %s: %w", campaignID, err)
		}
	}
	if n == 1 {
		return nil
	}
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = ?)`, campaignID).Scan(&exists); err != nil {
		return fmt.Errorf("transition campaign %s: %w", campaignID, err)
	}
	if !exists {
		return fmt.Errorf("transition campaign %s: %w", campaignID, campaign.ErrNotFound)
	}
	return fmt.Errorf("transition campaign %s to %s: %w", campaignID, to, campaign.ErrConflict)
}

// stored returns c as Get will return it.
func stored(c *campaign.Campaign) *campaign.Campaign {
	out := *c
	if out.Mode == "" {
		out.Mode = campaign.ModeRealtime
	}
	if len(out.Warnings) == 0 {
		out.Warnings = nil
	}
	out.CreatedAt = fromMillis(c.CreatedAt.UnixMilli())
	out.UpdatedAt = fromMillis(c.UpdatedAt.UnixMilli())
	if !c.CompletedAt.IsZero() {
		out.CompletedAt = fromMillis(c.CompletedAt.UnixMilli())
	}
	if !c.ExpiresAt.IsZero() {
		out.ExpiresAt = fromMillis(c.ExpiresAt.UnixMilli())
	}
	return &out
}

type scanner interface{ Scan(dest ...any) error }

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execOne runs a conditional write and reports whether it changed exactly
// one row: whether its condition held.
func execOne(ctx context.Context, db execer, query string, args ...any) (bool, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func scanCampaign(row scanner) (*campaign.Campaign, error) {
	var (
		c                  campaign.Campaign
		status             string
		idemKey            sql.NullString
		created, updated   int64
		completed, expires sql.NullInt64
		columns            sql.NullString
		mode               string
		warnings           sql.NullString
	)
	err := row.Scan(&c.ID, &c.Tenant, &c.Name, &status, &c.Total, &c.Succeeded, &c.Failed, &c.NeedsReview,
		&c.Usage.PromptTokens, &c.Usage.CompletionTokens, &c.Usage.TotalTokens, &c.WebhookURL, &idemKey, &c.RequestHash,
		&created, &updated, &completed, &expires, &c.Approved, &c.Rejected, &c.Round, &c.Retrying,
		&mode, &warnings, &c.Usage.BatchPromptTokens, &c.Usage.BatchCompletionTokens,
		&c.Usage.CostMicroUSD, &c.Usage.Unpriced, &c.Usage.CachedPromptTokens,
		&c.Skipped, &c.MaxCostMicroUSD, &c.ReservedMicroUSD, &columns)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, campaign.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.Status = campaign.Status(status)
	c.Mode = campaign.Mode(mode)
	c.IdempotencyKey = idemKey.String
	if warnings.Valid {
		if err := json.Unmarshal([]byte(warnings.String), &c.Warnings); err != nil {
			return nil, fmt.Errorf("campaign %s warnings: %w", c.ID, err)
		}
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	if completed.Valid {
		c.CompletedAt = fromMillis(completed.Int64)
	}
	if expires.Valid {
		c.ExpiresAt = fromMillis(expires.Int64)
	}
	if columns.Valid {
		if err := json.Unmarshal([]byte(columns.String), &c.Columns); err != nil {
			return nil, fmt.Errorf("campaign %s columns: %w", c.ID, err)
		}
	}
	return &c, nil
}

func scanEmail(row scanner, campaignID string) (*campaign.Email, error) {
	var (
		it      = campaign.Email{CampaignID: campaignID}
		req     string
		status  string
		result  sql.NullString
		edit    sql.NullString
		review  string
		at      sql.NullInt64
		cells   sql.NullString
		scanErr = row.Scan(&it.Index, &it.Ref, &req, &status, &result,
			&it.Version, &it.Round, &edit, &review, &it.Note, &at,
			&it.Reserved.Amount, &it.Reserved.Month, &cells)
	)
	if errors.Is(scanErr, sql.ErrNoRows) {
		return nil, campaign.ErrNotFound
	}
	if scanErr != nil {
		return nil, scanErr
	}
	it.Status = campaign.EmailStatus(status)
	it.Review = campaign.Review(review)
	if at.Valid {
		it.ReviewedAt = fromMillis(at.Int64)
	}
	if edit.Valid {
		it.Edit = new(campaign.Edit)
		if err := json.Unmarshal([]byte(edit.String), it.Edit); err != nil {
			return nil, fmt.Errorf("item %d edit: %w", it.Index, err)
		}
	}
	if err := json.Unmarshal([]byte(req), &it.Request); err != nil {
		return nil, fmt.Errorf("item %d request: %w", it.Index, err)
	}
	if cells.Valid {
		if err := json.Unmarshal([]byte(cells.String), &it.Cells); err != nil {
			return nil, fmt.Errorf("item %d cells: %w", it.Index, err)
		}
	}
	if result.Valid {
		it.Outcome = new(campaign.Outcome)
		if err := json.Unmarshal([]byte(result.String), it.Outcome); err != nil {
			return nil, fmt.Errorf("item %d result: %w", it.Index, err)
		}
	}
	return &it, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// warningsJSON returns warnings as the warnings column keeps them: a JSON
// array, or NULL for none.
func warningsJSON(warnings []string) (any, error) {
	if len(warnings) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(warnings)
	if err != nil {
		return nil, fmt.Errorf("warnings: %w", err)
	}
	return string(b), nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

func pageLimit(p campaign.Page) int {
	if p.Limit <= 0 {
		return defaultLimit
	}
	return p.Limit
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeListCursor(cursor string) (created int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		ms, rest, ok := strings.Cut(string(b), ".")
		if created, err = strconv.ParseInt(ms, 10, 64); ok && err == nil && rest != "" {
			return created, rest, nil
		}
	}
	return 0, "", campaign.ErrBadCursor
}

func decodeEmailsCursor(cursor string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if i, err := strconv.Atoi(string(b)); err == nil && i >= 0 {
			return i, nil
		}
	}
	return 0, campaign.ErrBadCursor
}
