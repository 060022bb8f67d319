package sqlite

import "sync"

// group commits the writes of concurrent callers together: a caller that
// finds no write under way writes every waiting item in one transaction;
// the others wait for the transaction that holds theirs, and when items
// arrived meanwhile the first of them writes the next transaction. Each
// caller returns once its own item is committed (or with the error of the
// transaction that held it), so nothing is acknowledged before it is
// written, and no caller writes more than one transaction. Under load
// SQLite takes one commit instead of one per caller, and no caller sleeps
// in busy_timeout's backoff for the write lock: generate-email books
// every call this way.
type group[T any] struct {
	mu      sync.Mutex
	waiting []*groupItem[T]
	writing bool
}

type groupItem[T any] struct {
	v T
	// wake is closed when the item was written (err is its write's
	// error) or, with lead set, when it is to write the next batch.
	wake chan struct{}
	lead bool
	err  error
}

// maxGroup bounds one transaction.
const maxGroup = 256

// do has write write v, with whatever other items are waiting, and
// returns that write's error.
func (g *group[T]) do(v T, write func([]T) error) error {
	it := &groupItem[T]{v: v, wake: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, it)
	if g.writing {
		g.mu.Unlock()
		<-it.wake
		if !it.lead {
			return it.err
		}
		g.mu.Lock() // promoted: g.writing is still true, for this caller
	}
	g.writing = true
	n := min(len(g.waiting), maxGroup)
	batch := g.waiting[:n:n]
	g.waiting = g.waiting[n:]
	g.mu.Unlock()

	vs := make([]T, len(batch))
	for i, b := range batch {
		vs[i] = b.v
	}
	err := write(vs)
	for _, b := range batch {
		b.err = err
		if b != it {
			close(b.wake)
		}
	}
	g.mu.Lock()
	if len(g.waiting) > 0 {
		next := g.waiting[0]
		next.lead = true
		close(next.wake)
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	return err
}
