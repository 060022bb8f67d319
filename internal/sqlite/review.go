package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// errNotYet marks the review methods this store does not have yet.
var errNotYet = errors.New("sqlite: not implemented yet")

// Revise: see campaign.Store.
func (s *Store) Revise(ctx context.Context, campaignID string, index, version int, r campaign.Revision, now time.Time) (*campaign.Email, error) {
	return nil, errNotYet
}

// Hold: see campaign.Store.
func (s *Store) Hold(ctx context.Context, campaignID string, index, version int, owner string, now, until time.Time) error {
	return errNotYet
}

// Reopen: see campaign.Store.
func (s *Store) Reopen(ctx context.Context, campaignID string, round int, now time.Time) error {
	return errNotYet
}

// Reset: see campaign.Store.
func (s *Store) Reset(ctx context.Context, campaignID string, index int, from []campaign.EmailStatus, round int, now time.Time) error {
	return errNotYet
}

// EndRetry: see campaign.Store.
func (s *Store) EndRetry(ctx context.Context, campaignID string, round int, now time.Time) error {
	return errNotYet
}
