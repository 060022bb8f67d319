package sqlite

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroup: every item is written exactly once, the items that arrive
// while a batch is written go together in the next, and each caller gets
// its own batch's error.
func TestGroup(t *testing.T) {
	var (
		g       group[int]
		mu      sync.Mutex
		written = map[int]int{}
		batches atomic.Int32
		wg      sync.WaitGroup
		gate    = make(chan struct{})
	)
	bad := errors.New("the batch holding 13 fails")
	write := func(vs []int) error {
		batches.Add(1)
		<-gate // hold the first batch, so that the others pile up
		mu.Lock()
		defer mu.Unlock()
		for _, v := range vs {
			written[v]++
		}
		for _, v := range vs {
			if v == 13 {
				return bad
			}
		}
		return nil
	}
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() { errs[i] = g.do(i, write) })
	}
	// The first batch is held at the gate until every other item waits.
	deadline := time.Now().Add(time.Minute)
	for {
		g.mu.Lock()
		n := len(g.waiting)
		g.mu.Unlock()
		if n == len(errs)-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d items waiting after a minute, want %d", n, len(errs)-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if written[i] != 1 {
			t.Errorf("item %d written %d times", i, written[i])
		}
		if (err != nil) != (errors.Is(err, bad)) {
			t.Errorf("item %d: error %v", i, err)
		}
	}
	if !errors.Is(errs[13], bad) {
		t.Errorf("item 13's batch failed, but its caller got %v", errs[13])
	}
	// One item, then the 199 waiting in batches of at most maxGroup.
	if n := batches.Load(); n != 1+(199+maxGroup-1)/maxGroup {
		t.Errorf("%d batches for 200 items that came while the first was written, want %d", n, 1+(199+maxGroup-1)/maxGroup)
	}
	if g.writing || len(g.waiting) != 0 {
		t.Errorf("after all: writing %v, %d waiting", g.writing, len(g.waiting))
	}
}
