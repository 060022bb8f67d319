package testprog

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/sqlite"
)

// MustOpen opens the SQLite database at path as the local program does,
// and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustStore is sqlite.NewStore on db, or a failed test.
func MustStore(tb testing.TB, db *sql.DB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.NewStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// MustQueue is sqlite.NewQueue, or a failed test.
func MustQueue(tb testing.TB, db *sql.DB, name string, visibility time.Duration, maxReceive int) *sqlite.Queue {
	tb.Helper()
	q, err := sqlite.NewQueue(db, name, visibility, maxReceive)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// LocalParts returns the local program's store and work queue on a fresh
// SQLite file, closed when the test ends. The queue hides a received
// message for visibility and gives up on it after
// campaign.DefaultMaxReceive receives.
func LocalParts(tb testing.TB, visibility time.Duration) (*sqlite.Store, *sqlite.Queue) {
	tb.Helper()
	db := MustOpen(tb, filepath.Join(tb.TempDir(), "ingren.db"))
	return MustStore(tb, db), MustQueue(tb, db, "work", visibility, campaign.DefaultMaxReceive)
}

// RunPoller runs p, the local program's worker loop, until the test ends.
func RunPoller(tb testing.TB, p *campaign.Poller) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = p.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-stopped
	})
}
