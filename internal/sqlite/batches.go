package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

//go:embed batches.sql
var batchesSchema string

// batchColumns are what scanBatch reads of a campaign_batches row.
const batchColumns = `batch_key, attempt, indexes, status, provider_id, input_file_id, output_file_id, error_file_id,
	completed, failed, error, collected, checked_by, checked_at, version, created_at, updated_at`

// ofLiveBatchCampaign is ofLiveCampaign for campaign_batches rows; its
// parameter is the clock.
const ofLiveBatchCampaign = `NOT EXISTS (SELECT 1 FROM campaigns WHERE id = campaign_batches.campaign_id AND expires_at <= ?)`

// AddBatch inserts the batch in a transaction that first checks that its
// campaign is there and has not expired; the primary key refuses a second
// batch of one key.
func (s *Store) AddBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("add batch %q of campaign %s: %w", b.Key, campaignID, err) }
	indexes, err := b.CheckNew()
	if err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := s.mustBeLive(ctx, tx, campaignID); err != nil {
		return fail(err)
	}
	at := now.UnixMilli()
	wrote, err := execOne(ctx, tx, `INSERT INTO campaign_batches (campaign_id, `+batchColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (campaign_id, batch_key) DO NOTHING`,
		campaignID, b.Key, b.Attempt, indexes, string(b.Status), b.ProviderID, b.InputFileID, b.OutputFileID, b.ErrorFileID,
		b.Completed, b.Failed, b.Error, b.Collected, b.CheckedBy, nullMillis(b.CheckedAt), at, at)
	if err != nil {
		return fail(err)
	}
	if !wrote {
		return fail(campaign.ErrConflict)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	b.Version, b.CreatedAt, b.UpdatedAt = 1, fromMillis(at), fromMillis(at)
	return nil
}

// Batch reads one batch of a campaign that has not expired.
func (s *Store) Batch(ctx context.Context, campaignID, key string) (*campaign.Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM campaign_batches
		WHERE campaign_id = ? AND batch_key = ? AND `+ofLiveBatchCampaign, campaignID, key, s.nowMillis()))
	if err != nil {
		return nil, fmt.Errorf("get batch %q of campaign %s: %w", key, campaignID, err)
	}
	return b, nil
}

// Batches reads the batches of a campaign that has not expired, oldest
// first.
func (s *Store) Batches(ctx context.Context, campaignID string) ([]campaign.Batch, error) {
	fail := func(err error) ([]campaign.Batch, error) {
		return nil, fmt.Errorf("list batches of campaign %s: %w", campaignID, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+batchColumns+` FROM campaign_batches
		WHERE campaign_id = ? AND `+ofLiveBatchCampaign+` ORDER BY created_at, batch_key`, campaignID, s.nowMillis())
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	out := []campaign.Batch{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return fail(err)
		}
		out = append(out, *b)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, nil
}

// UpdateBatch is one UPDATE conditional on the version; when it changes
// nothing, a read says whether the batch is there.
func (s *Store) UpdateBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("update batch %q of campaign %s: %w", b.Key, campaignID, err) }
	if err := b.CheckState(); err != nil {
		return fail(err)
	}
	at := now.UnixMilli()
	wrote, err := execOne(ctx, s.db, `UPDATE campaign_batches SET
			status = ?, provider_id = ?, input_file_id = ?, output_file_id = ?, error_file_id = ?,
			completed = ?, failed = ?, error = ?, collected = ?, checked_by = ?, checked_at = ?,
			version = version + 1, updated_at = ?
		WHERE campaign_id = ? AND batch_key = ? AND version = ? AND `+ofLiveBatchCampaign,
		string(b.Status), b.ProviderID, b.InputFileID, b.OutputFileID, b.ErrorFileID,
		b.Completed, b.Failed, b.Error, b.Collected, b.CheckedBy, nullMillis(b.CheckedAt), at,
		campaignID, b.Key, b.Version, s.nowMillis())
	if err != nil {
		return fail(err)
	}
	if !wrote {
		var exists bool
		if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_batches
			WHERE campaign_id = ? AND batch_key = ? AND `+ofLiveBatchCampaign+`)`,
			campaignID, b.Key, s.nowMillis()).Scan(&exists); err != nil {
			return fail(err)
		}
		if !exists {
			return fail(campaign.ErrNotFound)
		}
		return fail(fmt.Errorf("version %d is not the stored one: %w", b.Version, campaign.ErrConflict))
	}
	b.Version, b.UpdatedAt = b.Version+1, fromMillis(at)
	return nil
}

// SwitchMode reads the campaign's mode and warnings and writes them in one
// transaction: the transactions of a db from Open take the write lock at
// BEGIN, so nothing changes them in between.
func (s *Store) SwitchMode(ctx context.Context, campaignID string, from, to campaign.Mode, warning string, now time.Time) error {
	fail := func(err error) error {
		return fmt.Errorf("switch campaign %s from %s to %s: %w", campaignID, from, to, err)
	}
	if err := campaign.CheckModes(from, to); err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var (
		mode     string
		stored   sql.NullString
		warnings []string
	)
	err = tx.QueryRowContext(ctx, `SELECT mode, warnings FROM campaigns WHERE id = ? AND `+notExpired,
		campaignID, s.nowMillis()).Scan(&mode, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(campaign.ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	if campaign.Mode(mode) != from {
		return fail(fmt.Errorf("its mode is %s: %w", mode, campaign.ErrConflict))
	}
	if stored.Valid {
		if err := json.Unmarshal([]byte(stored.String), &warnings); err != nil {
			return fail(fmt.Errorf("warnings: %w", err))
		}
	}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	column, err := warningsJSON(warnings)
	if err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET mode = ?, warnings = ?, updated_at = ? WHERE id = ?`,
		string(to), column, now.UnixMilli(), campaignID); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

func scanBatch(row scanner) (*campaign.Batch, error) {
	var (
		b                campaign.Batch
		indexes, status  string
		checked          sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&b.Key, &b.Attempt, &indexes, &status, &b.ProviderID, &b.InputFileID, &b.OutputFileID, &b.ErrorFileID,
		&b.Completed, &b.Failed, &b.Error, &b.Collected, &b.CheckedBy, &checked, &b.Version, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, campaign.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if b.Indexes, err = campaign.ParseIndexes(indexes); err != nil {
		return nil, fmt.Errorf("batch %q: %w", b.Key, err)
	}
	b.Status = campaign.BatchStatus(status)
	if checked.Valid {
		b.CheckedAt = fromMillis(checked.Int64)
	}
	b.CreatedAt, b.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &b, nil
}
