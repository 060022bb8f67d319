package sqlite

// TEMPORARY: the batch methods are being written on branch b-store, which
// deletes this file.

import (
	"context"
	"errors"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

var errBatchTODO = errors.New("batch records: not built yet")

func (s *Store) AddBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	return errBatchTODO
}

func (s *Store) Batch(ctx context.Context, campaignID, key string) (*campaign.Batch, error) {
	return nil, errBatchTODO
}

func (s *Store) Batches(ctx context.Context, campaignID string) ([]campaign.Batch, error) {
	return []campaign.Batch{}, nil
}

func (s *Store) UpdateBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	return errBatchTODO
}

func (s *Store) SwitchMode(ctx context.Context, campaignID string, from, to campaign.Mode, warning string, now time.Time) error {
	return errBatchTODO
}
