package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ingren/ingren/internal/sqlite"
)

// TestOpenSetsUpEveryConnection checks the pragmas on two connections at
// once: the DSN, not a one-off statement, must set them.
func TestOpenSetsUpEveryConnection(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ingren.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := range 2 {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, p := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"synchronous", "1"}, // NORMAL
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
		} {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("connection %d: %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
}

func TestOpenRefusesAnythingButAFilePath(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if db, err := sqlite.Open(path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}
