// Package queuetest is the conformance suite for campaign.Queue: every
// backend (goqite on SQLite, SQS) runs the same cases through Run.
package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/campaign"
)

// MaxBodySize is the largest body a Queue must accept (256 KiB).
const MaxBodySize = campaign.MaxMessageSize

// NewQueue returns a fresh, empty queue whose messages come back after the
// visibility timeout when not deleted. It removes the queue in t.Cleanup.
type NewQueue func(t *testing.T, visibility time.Duration) campaign.Queue

// Timeouts of the cases. Short visibilities are for cases that wait for a
// message to come back; long ones for cases where a redelivery would be a
// failure (a slow -race run must not turn into a false duplicate) and that
// never wait for the timeout to pass.
const (
	shortVisibility = 2 * time.Second
	longVisibility  = 30 * time.Second
	// pollWait is the wait of each Receive in a polling loop: whole seconds,
	// since SQS rounds it up.
	pollWait = 1 * time.Second
	// deadline bounds every polling loop, so a broken backend fails the case
	// instead of hanging the run. It outlasts longVisibility: a receive
	// whose response is lost in transit (the AWS SDK retries it when the
	// connection closes mid-body, which a loaded CI machine provokes; see
	// aws/aws-sdk-go-v2#2737) leaves its messages in flight until their
	// visibility timeout ends. That is at-least-once delivery working, not
	// a lost message, so the case waits for them to come back.
	deadline = longVisibility + 15*time.Second
)

// Run runs the conformance suite. Each case gets its own queue from
// newQueue, and the cases run in parallel.
func Run(t *testing.T, newQueue NewQueue) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, newQueue NewQueue)
	}{
		{"SendThenReceiveReturnsBodies", testSendThenReceive},
		{"SendMoreThanOneBatchDeliversEachOnce", testSendManyDeliversEachOnce},
		{"ReceiveOnEmptyQueueReturnsNothing", testReceiveEmpty},
		{"ReceiveReturnsAtMostMax", testReceiveAtMostMax},
		{"UndeletedMessageComesBackAfterVisibility", testUndeletedComesBack},
		{"ExtendZeroMakesVisibleAtOnce", testExtendZero},
		{"ExtendKeepsHiddenPastVisibility", testExtendKeepsHidden},
		{"DeleteUnknownHandleIsNotAnError", testDeleteUnknown},
		{"ConcurrentReceiversSeeEachMessageOnce", testConcurrentReceivers},
		{"SendEmptyIsNoOp", testSendEmpty},
		{"MaxSizeBodyIsAccepted", testMaxSizeBody},
		{"OversizedBodyIsAnError", testOversizedBody},
		{"SendAfterHidesUntilTheDelay", testSendAfter},
		{"SendAfterRefusesTooLongADelay", testSendAfterTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newQueue)
		})
	}
}

func testSendThenReceive(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	ctx := t.Context()
	want := bodies("hello", 3)
	MustSend(t, q, want)

	got := receiveN(t, q, len(want), false)
	assertSameBodies(t, got, want)
	for _, m := range got {
		if m.ID == "" || m.Handle == "" {
			t.Errorf("message %q: ID %q, Handle %q: want both set", m.Body, m.ID, m.Handle)
		}
		if m.ReceiveCount != 1 {
			t.Errorf("message %q: ReceiveCount %d, want 1", m.Body, m.ReceiveCount)
		}
	}
	if err := q.Delete(ctx, handles(got)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func testSendManyDeliversEachOnce(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	want := bodies("many", 25)
	MustSend(t, q, want)

	got := receiveN(t, q, len(want), true)
	assertSameBodies(t, got, want)
	assertEmpty(t, q)
}

func testReceiveEmpty(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	type result struct {
		msgs []campaign.Delivery
		err  error
	}
	done := make(chan result, 1)
	go func() {
		msgs, err := q.Receive(t.Context(), 10, pollWait)
		done <- result{msgs, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Receive: %v, want no error", r.err)
		}
		if r.msgs == nil || len(r.msgs) != 0 {
			t.Fatalf("Receive = %#v, want an empty, non-nil slice", r.msgs)
		}
	case <-time.After(deadline):
		t.Fatalf("Receive with wait %v did not return within %v", pollWait, deadline)
	}
}

func testReceiveAtMostMax(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	ctx := t.Context()
	MustSend(t, q, bodies("max", 5))
	msgs, err := q.Receive(ctx, 2, pollWait)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) < 1 || len(msgs) > 2 {
		t.Fatalf("Receive(max 2) returned %d messages, want 1 or 2", len(msgs))
	}
	for _, n := range []int{0, 11} {
		if _, err := q.Receive(ctx, n, 0); err == nil {
			t.Errorf("Receive(max %d): no error, want one", n)
		}
	}
}

func testUndeletedComesBack(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, shortVisibility)
	ctx := t.Context()
	first := mustHoldOne(t, q, "again")

	if msgs, err := q.Receive(ctx, 10, 0); err != nil {
		t.Fatalf("Receive while hidden: %v", err)
	} else if len(msgs) != 0 {
		t.Fatalf("Receive while hidden returned %d messages, want none", len(msgs))
	}

	second := mustComeBack(t, q, first)
	if err := q.Delete(ctx, []string{second.Handle}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func testExtendZero(t *testing.T, newQueue NewQueue) {
	// The visibility is long, so only Extend can make it come back in time.
	q := newQueue(t, longVisibility)
	ctx := t.Context()
	first := mustHoldOne(t, q, "zero")
	if err := q.Extend(ctx, first.Handle, 0); err != nil {
		t.Fatalf("Extend(0): %v", err)
	}
	mustComeBack(t, q, first)
}

func testExtendKeepsHidden(t *testing.T, newQueue NewQueue) {
	const extension = 5 * time.Second
	q := newQueue(t, shortVisibility)
	ctx := t.Context()
	first := mustHoldOne(t, q, "extend")
	received := time.Now()
	if err := q.Extend(ctx, first.Handle, extension); err != nil {
		t.Fatalf("Extend(%v): %v", extension, err)
	}

	// A second past the original timeout, and short of the extension even
	// when SQS rounds the last wait up to a whole second.
	hiddenUntil := received.Add(shortVisibility + time.Second)
	for remaining := time.Until(hiddenUntil); remaining > 0; remaining = time.Until(hiddenUntil) {
		msgs, err := q.Receive(ctx, 10, min(remaining, pollWait))
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(msgs) != 0 {
			t.Fatalf("message came back %v after receipt, before the %v extension ran out",
				time.Since(received).Round(time.Millisecond), extension)
		}
	}

	mustComeBack(t, q, first)
}

func testDeleteUnknown(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	ctx := t.Context()
	m := mustHoldOne(t, q, "gone")
	if err := q.Delete(ctx, []string{m.Handle}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	cases := map[string][]string{
		"deleted handle":    {m.Handle},
		"made-up handle":    {"no-such-handle"},
		"no handles":        nil,
		"mixed, 11 of them": append(repeat("no-such-handle", 10), m.Handle),
	}
	for name, hs := range cases {
		if err := q.Delete(ctx, hs); err != nil {
			t.Errorf("Delete(%s): %v, want no error", name, err)
		}
	}
}

func testConcurrentReceivers(t *testing.T, newQueue NewQueue) {
	const receivers, total = 4, 100
	q := newQueue(t, longVisibility)
	want := bodies("concurrent", total)
	MustSend(t, q, want)

	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		n    int
	)
	g, gctx := errgroup.WithContext(ctx)
	for range receivers {
		g.Go(func() error {
			for {
				msgs, err := q.Receive(gctx, 10, pollWait)
				if gctx.Err() != nil {
					return nil // done, or the deadline: checked below
				}
				if err != nil {
					return fmt.Errorf("receive: %w", err)
				}
				if len(msgs) == 0 {
					continue
				}
				mu.Lock()
				for _, m := range msgs {
					seen[string(m.Body)]++
				}
				n += len(msgs)
				mu.Unlock()
				// Not gctx: the last batch is deleted after the others
				// were told to stop.
				if err := q.Delete(t.Context(), handles(msgs)); err != nil {
					return fmt.Errorf("delete: %w", err)
				}
				mu.Lock()
				if n >= total {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, b := range want {
		if c := seen[string(b)]; c != 1 {
			t.Errorf("%s seen %d times, want once", b, c)
		}
	}
	if n != total {
		t.Errorf("received %d messages in all, want %d", n, total)
	}
	assertEmpty(t, q)
}

func testSendEmpty(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	for _, bs := range [][][]byte{nil, {}} {
		if err := q.Send(t.Context(), bs); err != nil {
			t.Fatalf("Send(%#v): %v, want no error", bs, err)
		}
	}
	assertEmpty(t, q)
}

func testMaxSizeBody(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	big := []byte(strings.Repeat("a", MaxBodySize-1) + "z")
	small := []byte("small")
	MustSend(t, q, [][]byte{big, small})
	got := receiveN(t, q, 2, true)
	assertSameBodies(t, got, [][]byte{big, small})
}

func testOversizedBody(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	tooBig := bytes.Repeat([]byte("a"), MaxBodySize+1)
	if err := q.Send(t.Context(), [][]byte{[]byte("ok"), tooBig}); err == nil {
		t.Fatalf("Send of a %d-byte body: no error, want one", len(tooBig))
	}
	// The size is checked before anything is sent.
	assertEmpty(t, q)
}

// MustSend sends bodies or fails the test.
func MustSend(tb testing.TB, q campaign.Queue, bodies [][]byte) {
	tb.Helper()
	if err := q.Send(tb.Context(), bodies); err != nil {
		tb.Fatalf("Send %d bodies: %v", len(bodies), err)
	}
}

// Drain receives and deletes with receivers goroutines, as workers would,
// until total messages came or a minute passed, and returns how many
// distinct bodies it saw. It is for benchmarks of receive+delete.
func Drain(tb testing.TB, q campaign.Queue, total, receivers int) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		n    int
	)
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return n >= total
	}
	g, gctx := errgroup.WithContext(ctx)
	for range receivers {
		g.Go(func() error {
			for !done() {
				msgs, err := q.Receive(gctx, 10, pollWait)
				if err != nil {
					return fmt.Errorf("receive: %w", err)
				}
				if err := q.Delete(gctx, handles(msgs)); err != nil {
					return fmt.Errorf("delete: %w", err)
				}
				mu.Lock()
				for _, m := range msgs {
					seen[string(m.Body)] = true
				}
				n += len(msgs)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatalf("drain: %v", err)
	}
	return len(seen)
}

// receiveN receives until it has n messages, deleting each batch when del
// is set, and fails the test on an error, on more than n messages, or when
// n did not come before the deadline.
func receiveN(t *testing.T, q campaign.Queue, n int, del bool) []campaign.Delivery {
	t.Helper()
	ctx := t.Context()
	var got []campaign.Delivery
	end := time.Now().Add(deadline)
	for len(got) < n {
		if time.Now().After(end) {
			t.Fatalf("received %d of %d messages within %v", len(got), n, deadline)
		}
		msgs, err := q.Receive(ctx, 10, pollWait)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(msgs) > 10 {
			t.Fatalf("Receive(max 10) returned %d messages", len(msgs))
		}
		if del && len(msgs) > 0 {
			if err := q.Delete(ctx, handles(msgs)); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		got = append(got, msgs...)
	}
	if len(got) > n {
		t.Fatalf("received %d messages, want %d", len(got), n)
	}
	return got
}

// mustHoldOne sends one message (body named for the case) and receives it,
// so that it is in flight: hidden until its visibility timeout ends.
func mustHoldOne(t *testing.T, q campaign.Queue, name string) campaign.Delivery {
	t.Helper()
	MustSend(t, q, bodies(name, 1))
	return receiveN(t, q, 1, false)[0]
}

// mustComeBack receives first's message again and checks that it is the
// same message on its second delivery.
func mustComeBack(t *testing.T, q campaign.Queue, first campaign.Delivery) campaign.Delivery {
	t.Helper()
	second := receiveN(t, q, 1, false)[0]
	if second.ID != first.ID || !bytes.Equal(second.Body, first.Body) || second.ReceiveCount != 2 {
		t.Fatalf("came back as %s %q with ReceiveCount %d, want %s %q with 2",
			second.ID, second.Body, second.ReceiveCount, first.ID, first.Body)
	}
	return second
}

// assertEmpty checks that a receive finds nothing left.
func assertEmpty(t *testing.T, q campaign.Queue) {
	t.Helper()
	msgs, err := q.Receive(t.Context(), 10, pollWait)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) != 0 {
		t.Fatalf("queue not empty: got %d more messages, first %.40q", len(msgs), msgs[0].Body)
	}
}

// assertSameBodies compares bodies as multisets: order is not guaranteed.
func assertSameBodies(t *testing.T, got []campaign.Delivery, want [][]byte) {
	t.Helper()
	count := map[string]int{}
	for _, b := range want {
		count[string(b)]++
	}
	for _, m := range got {
		count[string(m.Body)]--
	}
	var errs []error
	for b, c := range count {
		switch {
		case c > 0:
			errs = append(errs, fmt.Errorf("missing %.40q (%d times)", b, c))
		case c < 0:
			errs = append(errs, fmt.Errorf("extra %.40q (%d times)", b, -c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("bodies differ (got %d, want %d):\n%v", len(got), len(want), err)
	}
}

// EmailBodies returns n distinct bodies the size and shape of an email's
// queue message, for the backends' throughput tests and benchmarks.
func EmailBodies(n int) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = fmt.Appendf(nil, `{"type":"item","tenant":"t_0123456789","campaign_id":"c_0123456789abcdef","index":%d}`, i)
	}
	return bs
}

func bodies(prefix string, n int) [][]byte {
	bs := make([][]byte, n)
	for i := range bs {
		bs[i] = fmt.Appendf(nil, `{"case":%q,"i":%d}`, prefix, i)
	}
	return bs
}

func handles(msgs []campaign.Delivery) []string {
	hs := make([]string, len(msgs))
	for i, m := range msgs {
		hs[i] = m.Handle
	}
	return hs
}

func repeat(s string, n int) []string {
	ss := make([]string, n)
	for i := range ss {
		ss[i] = s
	}
	return ss
}

// testSendAfter: a delayed message is not received before its delay, and
// is after it; one without delay is received at once.
func testSendAfter(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	if err := q.SendAfter(t.Context(), []byte("later"), 3*time.Second); err != nil {
		t.Fatalf("SendAfter 3s: %v", err)
	}
	if err := q.SendAfter(t.Context(), []byte("now"), 0); err != nil {
		t.Fatalf("SendAfter 0: %v", err)
	}
	got, err := q.Receive(t.Context(), 10, time.Second)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(got) != 1 || string(got[0].Body) != "now" {
		t.Fatalf("first Receive got %d messages %q, want only %q", len(got), bodiesOf(got), "now")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got, err = q.Receive(t.Context(), 10, time.Second)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(got) > 0 {
			if string(got[0].Body) != "later" {
				t.Fatalf("got %q, want %q", got[0].Body, "later")
			}
			return
		}
	}
	t.Fatal("the delayed message never came")
}

func testSendAfterTooLong(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, longVisibility)
	if err := q.SendAfter(t.Context(), []byte("x"), campaign.MaxSendDelay+time.Second); err == nil {
		t.Fatal("SendAfter past the longest delay: no error, want one")
	}
}

func bodiesOf(ds []campaign.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Body)
	}
	return out
}
