package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/campaign"
)

// Retention of the local program's campaigns: expired ones read as gone at
// once (the store checks ExpiresAt); these delete them.
const (
	// retentionEvery is how often the local program deletes expired
	// campaigns, after doing so at start-up.
	retentionEvery = time.Hour
	// retentionBatch bounds the rows one DeleteExpired transaction
	// removes: a few milliseconds of the write lock.
	retentionBatch = 1000
	// retentionPause separates batches, so that the writers waiting for
	// the lock (SQLite's busy handler retries every 100 ms at most) get it
	// before the next batch does.
	retentionPause = 100 * time.Millisecond
)

// deleteExpired deletes every campaign that expired by now, in batches, and
// returns how many rows it removed.
func deleteExpired(ctx context.Context, store campaign.Store, now time.Time) (int, error) {
	total := 0
	for {
		n, err := store.DeleteExpired(ctx, now, retentionBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		if err := backoff.Sleep(ctx, retentionPause); err != nil {
			return total, err
		}
	}
}

// RunRetention deletes expired campaigns now and then every hour, until
// ctx ends. A failed round is logged and tried again at the next.
func (l *Local) RunRetention(ctx context.Context) {
	every := l.retentionEvery
	if every <= 0 {
		every = retentionEvery
	}
	for {
		n, err := deleteExpired(ctx, l.store, l.store.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.log.Error("deleting expired campaigns failed", slog.String("error", err.Error()))
		case n > 0:
			l.log.Info("deleted expired campaigns", slog.Int("rows", n))
		}
		if backoff.Sleep(ctx, every) != nil {
			return
		}
	}
}
