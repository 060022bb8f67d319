package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/sqlite"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) campaign.Store {
		return MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
	})
}

// MustStore opens a Store on a database file at path, closed at the end of
// the test.
func MustStore(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	s, err := sqlite.NewStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
