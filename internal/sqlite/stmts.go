package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts prepares each statement of the hot paths once: SQLite would
// otherwise parse the ledger's upserts on every email and every
// generate-email call, which took a third of the local program's CPU
// under load (BENCHMARKS.md).
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

// on is an execer that runs its statements prepared, within tx (a
// *sql.Tx, or the *sql.DB itself).
func (c *stmts) on(tx execer) execer { return preparedExec{c: c, tx: tx} }

type preparedExec struct {
	c  *stmts
	tx execer
}

func (p preparedExec) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx, ok := p.tx.(*sql.Tx); ok {
		// The transaction's own copy, on its connection; closed with it.
		st = tx.StmtContext(ctx, st)
	}
	return st.ExecContext(ctx, args...)
}
