package openai

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

func TestGovernorPausesConcurrentCallers(t *testing.T) {
	const pause = 400 * time.Millisecond
	srv := openaitest.New(t, openaitest.WithScript(openaitest.Reply{
		Status: 429, Header: header("x-ratelimit-reset-requests", pause.String()),
	}))
	paused := make(chan struct{})
	var once sync.Once
	w := mustWriter(t, srv, func(c *Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			once.Do(func() { close(paused) })
			return backoff.Sleep(ctx, d)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := newPrompt(t)
	write := func() {
		if _, err := w.Write(ctx, p); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(write)
	select {
	case <-paused: // the first call got its 429 and is waiting
	case <-ctx.Done():
		t.Fatal("the first call never waited")
	}
	const others = 5
	for range others {
		wg.Go(write)
	}
	wg.Wait()

	reqs := srv.Requests()
	if len(reqs) != 1+1+others {
		t.Fatalf("server got %d requests, want %d", len(reqs), 2+others)
	}
	during := 0
	for _, r := range reqs[1:] {
		if r.At.Sub(reqs[0].At) < pause {
			during++
		}
	}
	if during > 0 {
		t.Errorf("%d requests arrived during the %v pause, want 0", during, pause)
	}
}

func TestGovernorAIMD(t *testing.T) {
	t.Run("HalvesAndRecovers", func(t *testing.T) {
		g := newGovernor(Config{MaxConcurrency: 8}, time.Now())
		e, _ := g.acquire(context.Background())
		g.release(e, rateLimited)
		if got := g.concurrency(); got != 4 {
			t.Fatalf("after a 429: limit %d, want 4", got)
		}
		for i := range increaseAfter {
			e, _ := g.acquire(context.Background())
			g.release(e, succeeded)
			if want := 4 + (i+1)/increaseAfter; g.concurrency() != want {
				t.Fatalf("after %d successes: limit %d, want %d", i+1, g.concurrency(), want)
			}
		}
		for range 100 * increaseAfter {
			e, _ := g.acquire(context.Background())
			g.release(e, succeeded)
		}
		if got := g.concurrency(); got != 8 {
			t.Errorf("after many successes: limit %d, want the ceiling 8", got)
		}
	})
	t.Run("FloorIsOne", func(t *testing.T) {
		g := newGovernor(Config{MaxConcurrency: 4}, time.Now())
		for range 5 {
			e, _ := g.acquire(context.Background())
			g.release(e, rateLimited)
		}
		if got := g.concurrency(); got != 1 {
			t.Errorf("limit %d, want 1", got)
		}
	})
	t.Run("HalvesOnceForCallsStartedTogether", func(t *testing.T) {
		g := newGovernor(Config{MaxConcurrency: 8}, time.Now())
		var epochs []uint64
		for range 6 {
			e, _ := g.acquire(context.Background())
			epochs = append(epochs, e)
		}
		for _, e := range epochs {
			g.release(e, rateLimited)
		}
		if got := g.concurrency(); got != 4 {
			t.Errorf("six 429s from calls in flight together: limit %d, want 4", got)
		}
	})
	t.Run("NoCeilingStartsFromInFlight", func(t *testing.T) {
		g := newGovernor(Config{}, time.Now())
		var epochs []uint64
		for range 6 {
			e, _ := g.acquire(context.Background())
			epochs = append(epochs, e)
		}
		if got := g.concurrency(); got != 0 {
			t.Fatalf("limit %d before any 429, want 0 (none)", got)
		}
		g.release(epochs[0], rateLimited)
		if got := g.concurrency(); got != 3 {
			t.Errorf("limit %d after a 429 with 6 in flight, want 3", got)
		}
	})
	t.Run("WaitsForAPlace", func(t *testing.T) {
		g := newGovernor(Config{MaxConcurrency: 1}, time.Now())
		e, _ := g.acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := g.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second acquire with the only place taken: err = %v", err)
		}
		got := make(chan error)
		go func() {
			_, err := g.acquire(context.Background())
			got <- err
		}()
		g.release(e, succeeded)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})
}

func TestWriteAIMD(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithLatency(5*time.Millisecond, 0),
		openaitest.WithScript(openaitest.Reply{Status: 429, Header: header("x-ratelimit-reset-requests", "1ms")}))
	w := mustWriter(t, srv, func(c *Config) { c.MaxConcurrency = 4 })
	job := newPrompt(t)
	if _, err := w.Write(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if got := w.gov.concurrency(); got != 2 {
		t.Fatalf("after a 429: limit %d, want 2", got)
	}
	// One success so far; eight more keep the limit at 2.
	srv.ResetPeak()
	var wg sync.WaitGroup
	for range increaseAfter - 2 {
		wg.Go(func() {
			if _, err := w.Write(context.Background(), job); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := srv.PeakInFlight(); p > 2 {
		t.Errorf("%d calls in flight at once, want at most 2", p)
	}
	if got := w.gov.concurrency(); got != 2 {
		t.Fatalf("after %d successes: limit %d, want 2", increaseAfter-1, got)
	}
	if _, err := w.Write(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if got := w.gov.concurrency(); got != 3 {
		t.Errorf("after %d successes: limit %d, want 3", increaseAfter, got)
	}
}

func TestWriteRPMSpacing(t *testing.T) {
	srv := openaitest.New(t)
	clock := newFakeClock()
	w := mustWriter(t, srv, clock.use, func(c *Config) { c.RPM = 60 })
	for range 3 {
		if _, err := w.Write(context.Background(), newPrompt(t)); err != nil {
			t.Fatal(err)
		}
	}
	if s := clock.Slept(); len(s) != 2 || s[0] != time.Second || s[1] != time.Second {
		t.Errorf("slept %v, want [1s 1s] at 60 RPM", s)
	}
	if srv.Count() != 3 {
		t.Errorf("server got %d requests", srv.Count())
	}
}

func TestWriteTPMSpacing(t *testing.T) {
	srv := openaitest.New(t)
	clock := newFakeClock()
	w := mustWriter(t, srv, clock.use, func(c *Config) { c.TPM = 6000 })
	for range 2 {
		if _, err := w.Write(context.Background(), newPrompt(t)); err != nil {
			t.Fatal(err)
		}
	}
	// The first call finds the bucket full (100 tokens) and goes; the
	// second waits until the first call's debt is paid and 100 are back.
	body := srv.Requests()[0].Body
	cost := estimateTokens(&body)
	want := time.Duration(float64(cost) / 100 * float64(time.Second))
	if s := clock.Slept(); len(s) != 1 || s[0] < want-time.Millisecond || s[0] > want+time.Millisecond {
		t.Errorf("slept %v, want [%v] for %d tokens at 6000 TPM", s, want, cost)
	}
}

func TestWriteRPMPastDeadlineIsRateLimited(t *testing.T) {
	srv := openaitest.New(t)
	w := mustWriter(t, srv, func(c *Config) { c.RPM = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := w.Write(ctx, newPrompt(t)); err != nil {
		t.Fatal(err)
	}
	_, err := w.Write(ctx, newPrompt(t))
	var e *email.Error
	if !errors.As(err, &e) || e.Kind != email.KindRateLimited || e.RetryAfter < 59*time.Second {
		t.Fatalf("err = %v, want KindRateLimited with RetryAfter about 1m", err)
	}
	if srv.Count() != 1 {
		t.Errorf("server got %d requests, want 1", srv.Count())
	}
	// The refused call gave its token back: the bucket is about empty, not
	// a whole request in debt.
	w.gov.mu.Lock()
	tokens := w.gov.rpm.tokens
	w.gov.mu.Unlock()
	if tokens < -0.5 {
		t.Errorf("bucket holds %v after the refused call, want about 0", tokens)
	}
}
