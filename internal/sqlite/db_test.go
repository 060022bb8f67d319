package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
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

// TestOpenMakesFilesOwnerOnly checks the mode of the database file and of
// the -wal and -shm files SQLite makes beside it, both for a new database
// and for one whose files an earlier version left readable by all.
func TestOpenMakesFilesOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	files := func(path string) []string { return []string{path, path + "-wal", path + "-shm"} }
	mustBeOwnerOnly := func(t *testing.T, path string) {
		t.Helper()
		for _, f := range files(path) {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s: mode %v, want -rw-------", filepath.Base(f), mode)
			}
		}
	}
	// A write makes SQLite create the -wal and -shm files; they stay while
	// a connection is open.
	openAndWrite := func(t *testing.T, path string) {
		t.Helper()
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (x)`); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("NewDatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ingren.db")
		openAndWrite(t, path)
		mustBeOwnerOnly(t, path)
	})
	t.Run("FilesReadableByAll", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ingren.db")
		openAndWrite(t, path)
		for _, f := range files(path) {
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		openAndWrite(t, path)
		mustBeOwnerOnly(t, path)
	})
}
