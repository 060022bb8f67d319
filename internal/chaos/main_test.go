package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/app"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mainRun is the local program run in-process through app.Main, exactly
// as functions/ingren runs it, on a port the OS picks.
type mainRun struct {
	base   string
	logs   *syncBuffer // stderr: the JSON log
	stop   context.CancelFunc
	done   chan error
	result error
}

// runMain starts app.Main serve with env (PORT is set to 0) and returns
// once it listens. The test stops it at the end if it still runs.
func runMain(tb testing.TB, env map[string]string) *mainRun {
	tb.Helper()
	env["PORT"] = "0"
	ctx, cancel := context.WithCancel(context.Background())
	r := &mainRun{logs: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		err := app.Main(ctx, []string{"serve"}, func(k string) string { return env[k] }, pw, r.logs)
		pw.Close()
		r.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "Ingren is listening on http://"); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			cancel()
			tb.Fatalf("the program stopped before listening: %v\n%s", <-r.done, r.logs)
		}
		r.base = "http://127.0.0.1:" + a[strings.LastIndex(a, ":")+1:]
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("the program did not listen within 30 s")
	}
	tb.Cleanup(func() { r.shutdown(tb, time.Minute) })
	return r
}

// shutdown stops the program as SIGTERM would and returns how long it
// took; it fails the test if that is longer than limit.
func (r *mainRun) shutdown(tb testing.TB, limit time.Duration) time.Duration {
	tb.Helper()
	if r.done == nil {
		return 0
	}
	start := time.Now()
	r.stop()
	select {
	case r.result = <-r.done:
		r.done = nil
	case <-time.After(limit):
		tb.Fatalf("the program did not stop within %v of its shutdown", limit)
	}
	if r.result != nil {
		tb.Errorf("the program stopped with %v", r.result)
	}
	return time.Since(start)
}
