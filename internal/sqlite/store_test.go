package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) campaign.Store {
		s := MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
		s.Now = now
		return s
	})
}

// MustStore opens a Store on a database file at path, closed at the end of
// the test, with the clock of storetest's campaigns.
func MustStore(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s := testprog.MustStore(tb, testprog.MustOpen(tb, path))
	s.Now = storetest.Now
	return s
}
