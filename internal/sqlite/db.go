// Package sqlite keeps the local program's campaigns and queue in one
// SQLite file (modernc.org/sqlite: pure Go, no cgo). SQL lives only here.
package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a connection waits for another's write lock, in
// milliseconds. Writes here are short transactions, so a long wait means a
// stuck writer, not load.
const busyTimeout = 10_000

// Open opens (creating if missing) the database file at path, set up for
// many goroutines and processes:
//
//   - journal_mode=WAL: readers never block the one writer, and a commit is
//     an append to the log.
//   - synchronous=NORMAL: in WAL mode a commit is durable once written to
//     the log file, which the OS keeps when the process dies, kill -9
//     included; only a power loss or OS crash can roll back the last
//     commits, and never corrupts the file. FULL would add an fsync to every
//     commit (one per finished email) to cover power loss too, which a local
//     program does not need: a rolled-back Finish rolls back with its queue
//     delete in the same file, so the email is simply worked again.
//   - busy_timeout: a writer waits for the lock instead of failing with
//     SQLITE_BUSY.
//   - foreign_keys=1: emails cannot outlive their campaign.
//   - _txlock=immediate: every transaction takes the write lock at BEGIN, so
//     two read-then-write transactions never deadlock on lock upgrade
//     (which busy_timeout cannot resolve). Use transactions for writes only.
//
// The database file and its -wal and -shm files hold prospect data: Open
// makes them readable and writable by their owner only (0600), whatever
// their mode was.
func Open(path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("open sqlite: %q is not a plain file path", path)
	}
	// SQLite would create the file 0644 (less the umask). Created 0600
	// first, it is what SQLite copies to the -wal and -shm files it makes.
	if err := ownerOnly(path, true); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Connect now, so that a bad path or a locked, corrupt file fails here
	// and not at the first request.
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Those an earlier version left 0644.
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := ownerOnly(f, false); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	return db, nil
}

// ownerOnly sets the file's mode to 0600, creating it empty first if create
// is set and it does not exist. A missing file without create is not an
// error.
func ownerOnly(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	err := os.Chmod(path, 0o600)
	if !create && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
