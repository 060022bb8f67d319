package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

//go:embed tasks.sql
var tasksSchema string

// ClaimTask takes the task's lease in one upsert that only writes while the
// campaign exists and the task is not done, and only overwrites an expired
// lease or owner's own.
func (s *Store) ClaimTask(ctx context.Context, campaignID string, task campaign.Task, owner string, now, until time.Time) error {
	if !task.Valid() {
		return fmt.Errorf("claim task %q of %s: no such task", task, campaignID)
	}
	wrote, err := execOne(ctx, s.db, `INSERT INTO campaign_tasks (campaign_id, task, owner, until)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = ?)
		ON CONFLICT (campaign_id, task) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE campaign_tasks.done = 0 AND (campaign_tasks.until <= ? OR campaign_tasks.owner = excluded.owner)`,
		campaignID, string(task), owner, until.UnixMilli(), campaignID, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, err)
	}
	if wrote {
		return nil
	}
	// Nothing written: no campaign, the task is done, or another holds it.
	var (
		held int64
		done bool
	)
	err = s.db.QueryRowContext(ctx, `SELECT until, done FROM campaign_tasks WHERE campaign_id = ? AND task = ?`,
		campaignID, string(task)).Scan(&held, &done)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, campaign.ErrNotFound)
	case err != nil:
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, err)
	case done:
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, campaign.ErrAlreadyDone)
	}
	return &campaign.ClaimedError{Until: fromMillis(held)}
}

// FinishTask marks the task done in one upsert that only writes while the
// campaign exists.
func (s *Store) FinishTask(ctx context.Context, campaignID string, task campaign.Task) error {
	if !task.Valid() {
		return fmt.Errorf("finish task %q of %s: no such task", task, campaignID)
	}
	wrote, err := execOne(ctx, s.db, `INSERT INTO campaign_tasks (campaign_id, task, owner, until, done)
		SELECT ?, ?, '', 0, 1 WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = ?)
		ON CONFLICT (campaign_id, task) DO UPDATE SET done = 1`,
		campaignID, string(task), campaignID)
	if err != nil {
		return fmt.Errorf("finish task %s of %s: %w", task, campaignID, err)
	}
	if !wrote {
		return fmt.Errorf("finish task %s of %s: %w", task, campaignID, campaign.ErrNotFound)
	}
	return nil
}
