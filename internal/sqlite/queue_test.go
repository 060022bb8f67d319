package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/queuetest"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

func TestQueue(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, visibility time.Duration) campaign.Queue {
		return testprog.MustQueue(t, mustOpenQueueDB(t), "jobs", visibility, 5)
	})
}

func TestNewQueue(t *testing.T) {
	db := mustOpenQueueDB(t)
	cases := []struct {
		name       string
		db         *sql.DB
		queue      string
		visibility time.Duration
		maxReceive int
		wantErr    bool
	}{
		{"OK", db, "jobs", time.Second, 3, false},
		{"OKAgainOnTheSameDB", db, "jobs", time.Second, 3, false},
		{"ErrNilDB", nil, "jobs", time.Second, 3, true},
		{"ErrEmptyName", db, "", time.Second, 3, true},
		{"ErrZeroVisibility", db, "jobs", 0, 3, true},
		{"ErrZeroMaxReceive", db, "jobs", time.Second, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlite.NewQueue(c.db, c.queue, c.visibility, c.maxReceive)
			if (err != nil) != c.wantErr {
				t.Fatalf("NewQueue: %v, want error %v", err, c.wantErr)
			}
		})
	}
}

func TestQueuesShareTheTableByName(t *testing.T) {
	db := mustOpenQueueDB(t)
	a := testprog.MustQueue(t, db, "a", time.Minute, 3)
	b := testprog.MustQueue(t, db, "b", time.Minute, 3)
	queuetest.MustSend(t, a, [][]byte{[]byte("for a")})
	if msgs, err := b.Receive(t.Context(), 10, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("b.Receive = %d messages, %v; want none", len(msgs), err)
	}
	msgs, err := a.Receive(t.Context(), 10, 0)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "for a" {
		t.Fatalf("a.Receive = %v, %v; want the message", msgs, err)
	}
}

// TestDeadLetters shows the local dead-letter queue: after maxReceive
// receives a message is not delivered again, and DeadLetters counts it once
// its last delivery has timed out.
func TestDeadLetters(t *testing.T) {
	q := testprog.MustQueue(t, mustOpenQueueDB(t), "jobs", time.Minute, 2)
	ctx := t.Context()
	queuetest.MustSend(t, q, [][]byte{[]byte("poison"), []byte("fine")})

	for want := 1; want <= 2; want++ {
		msgs, err := q.Receive(ctx, 10, 0)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("receive %d = %d messages, %v; want 2", want, len(msgs), err)
		}
		for _, m := range msgs {
			if m.ReceiveCount != want {
				t.Fatalf("receive %d: ReceiveCount %d", want, m.ReceiveCount)
			}
			if string(m.Body) == "fine" && want == 2 {
				if err := q.Delete(ctx, []string{m.Handle}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := q.Extend(ctx, m.Handle, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if msgs, err := q.Receive(ctx, 10, 50*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Fatalf("third receive = %d messages, %v; want none", len(msgs), err)
	}
	n, err := q.DeadLetters(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeadLetters = %d, %v; want 1", n, err)
	}
}

// TestReceiveDead takes the dead letter of TestDeadLetters' kind: only it
// (not a message in flight on its last delivery, nor another queue's), with
// its receive count, hidden for the visibility timeout once taken, and
// gone once deleted.
func TestReceiveDead(t *testing.T) {
	db := mustOpenQueueDB(t)
	q := testprog.MustQueue(t, db, "jobs", time.Minute, 2)
	other := testprog.MustQueue(t, db, "other", time.Minute, 2)
	ctx := t.Context()
	queuetest.MustSend(t, q, [][]byte{[]byte("dead"), []byte("in flight")})
	queuetest.MustSend(t, other, [][]byte{[]byte("other's")})
	if _, err := q.ReceiveDead(ctx, 0); err == nil {
		t.Fatal("ReceiveDead(0): no error")
	}
	for range 2 {
		for _, qq := range []*sqlite.Queue{q, other} {
			msgs, err := qq.Receive(ctx, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if string(m.Body) == "in flight" {
					continue // stays hidden for a minute
				}
				if err := qq.Extend(ctx, m.Handle, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	dead, err := q.ReceiveDead(ctx, 10)
	if err != nil || len(dead) != 1 || string(dead[0].Body) != "dead" || dead[0].ReceiveCount != 2 || dead[0].Handle == "" {
		t.Fatalf("ReceiveDead = %+v, %v; want the dead message, received twice", dead, err)
	}
	if again, err := q.ReceiveDead(ctx, 10); err != nil || len(again) != 0 {
		t.Fatalf("ReceiveDead again = %d messages, %v; want none while hidden", len(again), err)
	}
	if n, err := q.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("DeadLetters = %d, %v; want none while hidden", n, err)
	}
	// The visibility timeout passed: it is back.
	if err := q.Extend(ctx, dead[0].Handle, 0); err != nil {
		t.Fatal(err)
	}
	back, err := q.ReceiveDead(ctx, 10)
	if err != nil || len(back) != 1 || back[0].ID != dead[0].ID {
		t.Fatalf("ReceiveDead after the timeout = %+v, %v; want it back", back, err)
	}
	if err := q.Delete(ctx, []string{back[0].Handle}); err != nil {
		t.Fatal(err)
	}
	if gone, err := q.ReceiveDead(ctx, 10); err != nil || len(gone) != 0 {
		t.Fatalf("ReceiveDead after Delete = %d messages, %v", len(gone), err)
	}
	if n, err := other.DeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("the other queue's dead letters = %d, %v; want its own untouched", n, err)
	}
}

// TestReceiveWaitsForASend checks that a waiting Receive sees a message sent
// while it waits, well before its wait is over.
func TestReceiveWaitsForASend(t *testing.T) {
	q := testprog.MustQueue(t, mustOpenQueueDB(t), "jobs", time.Minute, 3)
	const wait = 10 * time.Second
	got := make(chan []campaign.Delivery, 1)
	go func() {
		msgs, err := q.Receive(t.Context(), 10, wait)
		if err != nil {
			t.Errorf("Receive: %v", err)
		}
		got <- msgs
	}()
	// Not synchronisation: any interleaving passes. The pause only makes
	// the waiting path the likely one.
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	queuetest.MustSend(t, q, [][]byte{[]byte("late")})
	msgs := <-got
	if len(msgs) != 1 {
		t.Fatalf("Receive returned %d messages, want 1", len(msgs))
	}
	if took := time.Since(start); took > wait/2 {
		t.Fatalf("Receive took %v after the send", took)
	}
}

// TestSendTenThousand sends a campaign's worth of messages at once, as the
// worker's expand step does, checks that all arrived, and logs the time.
// It asserts no time, which -race and a busy machine stretch many times;
// BenchmarkSendTenThousand measures. Without -race it takes well under a
// second.
func TestSendTenThousand(t *testing.T) {
	const total = 10_000
	db := mustOpenQueueDB(t)
	q := testprog.MustQueue(t, db, "jobs", time.Minute, 3)

	start := time.Now()
	queuetest.MustSend(t, q, queuetest.EmailBodies(total))
	took := time.Since(start)
	var n int
	if err := db.QueryRow(`select count(*) from goqite where queue = 'jobs'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Fatalf("%d messages after Send, want %d", n, total)
	}
	t.Logf("Send %d: %v (%.0f msg/s)", total, took.Round(time.Millisecond), total/took.Seconds())
}

// BenchmarkSendTenThousand measures one Send of 10,000 messages per op.
func BenchmarkSendTenThousand(b *testing.B) {
	q := testprog.MustQueue(b, mustOpenQueueDB(b), "jobs", time.Minute, 3)
	bodies := queuetest.EmailBodies(10_000)
	for b.Loop() {
		queuetest.MustSend(b, q, bodies)
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkReceiveDelete measures draining b.N messages with 8 receivers
// that receive 10 at a time and delete what they got, as workers would.
func BenchmarkReceiveDelete(b *testing.B) {
	q := testprog.MustQueue(b, mustOpenQueueDB(b), "jobs", time.Minute, 3)
	queuetest.MustSend(b, q, queuetest.EmailBodies(b.N))
	b.ResetTimer()
	if got := queuetest.Drain(b, q, b.N, 8); got != b.N {
		b.Fatalf("drained %d distinct messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// mustOpenQueueDB opens a database on a fresh file for a test's queues.
func mustOpenQueueDB(tb testing.TB) *sql.DB {
	tb.Helper()
	return testprog.MustOpen(tb, filepath.Join(tb.TempDir(), "queue.db"))
}

func TestReleaseInFlight(t *testing.T) {
	q := testprog.MustQueue(t, mustOpenQueueDB(t), "jobs", time.Hour, 2)
	ctx := t.Context()
	queuetest.MustSend(t, q, [][]byte{[]byte("held"), []byte("dead"), []byte("waiting")})
	msgs, err := q.Receive(ctx, 2, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("receive = %d messages, %v", len(msgs), err)
	}
	// Make one of them a dead letter: received maxReceive times.
	dead := msgs[1]
	if err := q.Extend(ctx, dead.Handle, 0); err != nil {
		t.Fatal(err)
	}
	again, err := q.Receive(ctx, 2, 0)
	if err != nil || len(again) != 2 {
		t.Fatalf("second receive = %d messages, %v", len(again), err)
	}
	// Now: one message held once, one held on its last receive, one held
	// once (the third). A restart releases the ones that may come back.
	n, err := q.ReleaseInFlight(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ReleaseInFlight = %d, %v; want the 2 messages below maxReceive", n, err)
	}
	back, err := q.Receive(ctx, 10, 0)
	if err != nil || len(back) != 2 {
		t.Fatalf("after release: %d messages, %v; want 2 back at once, not after an hour", len(back), err)
	}
}
