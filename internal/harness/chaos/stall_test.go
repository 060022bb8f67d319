package chaos_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// TestUpstreamStall runs the local program against a model provider that
// takes requests and never answers. Each call ends at OPENAI_TIMEOUT; the
// email is retried on the next receive, and on receive MAX_RECEIVE_COUNT it
// is failed with "retries exhausted". Nothing waits forever: not the
// campaign, not a shutdown.
func TestUpstreamStall(t *testing.T) {
	const timeout, maxReceive = 500 * time.Millisecond, 3
	n := pick(10, 100)
	env := func(upstream string) map[string]string {
		return map[string]string{
			"DATA_DIR": t.TempDir(), "API_KEYS": testKey, "OPENAI_BASE_URL": upstream, "OPENAI_API_KEY": "sk-chaos-test",
			"OPENAI_TIMEOUT": timeout.String(), "MAX_RECEIVE_COUNT": fmt.Sprint(maxReceive),
			"WORKER_CONCURRENCY": "8", "LOG_LEVEL": "error",
		}
	}

	t.Run("FailedPastMaxReceiveCount", func(t *testing.T) {
		up := openaitest.New(t, openaitest.WithStallRate(1))
		prog := testprog.Start(t, env(up.URL))
		call := testprog.HTTP(prog.URL, testKey)
		start := time.Now()
		id := submit(t, call, n, nil)
		c := call.WaitFor(t, id, pick(60*time.Second, 5*time.Minute), testprog.Campaign.Final)
		wall := time.Since(start)
		if c.Status != "completed_with_errors" || c.Failed != n || c.Succeeded != 0 {
			t.Fatalf("campaign %+v, want completed_with_errors with all %d failed", c, n)
		}
		byStatus := checkExactlyOnce(t, call, c)
		_, b := call(t, "GET", "/api/v1/campaigns/"+id+"/emails?limit=1000", nil)
		for _, e := range testprog.MustDecode[testprog.Emails](t, b).Emails {
			if e.Error != "retries exhausted: upstream_timeout" {
				t.Errorf("email %d: error %q, want retries exhausted: upstream_timeout", e.Index, e.Error)
			}
		}
		// A stalled call is not retried inside the writer (it would likely
		// stall again): one attempt per receive.
		first := firstCalls(t, up, n)
		for i, k := range first.perProspect {
			if k != maxReceive {
				t.Errorf("prospect %d: %d model calls, want one per receive (%d)", i, k, maxReceive)
			}
		}
		t.Logf("%d prospects, every call stalled: %v in %v (each call cut at %v, retried after 1 s and 2 s); %d model calls",
			n, byStatus, wall.Round(time.Millisecond), timeout, up.Count())
	})

	t.Run("RetriedThenSucceeded", func(t *testing.T) {
		// The first calls stall: one per worker slot, so one per prospect
		// for the first WORKER_CONCURRENCY prospects.
		const stalled = 8
		script := make([]openaitest.Reply, stalled)
		for i := range script {
			script[i] = openaitest.Stalled()
		}
		up := openaitest.New(t, openaitest.WithScript(script...))
		prog := testprog.Start(t, env(up.URL))
		call := testprog.HTTP(prog.URL, testKey)
		start := time.Now()
		id := submit(t, call, n, nil)
		c := call.WaitFor(t, id, pick(60*time.Second, 5*time.Minute), testprog.Campaign.Final)
		if c.Status != "completed" || c.Succeeded != n {
			t.Fatalf("campaign %+v, want completed with %d succeeded", c, n)
		}
		byStatus := checkExactlyOnce(t, call, c)
		first := firstCalls(t, up, n)
		twice := 0
		for i, k := range first.perProspect {
			switch k {
			case 1:
			case 2:
				twice++
			default:
				t.Errorf("prospect %d: %d first model calls, want 1, or 2 when the first stalled", i, k)
			}
		}
		if twice != stalled {
			t.Errorf("%d prospects called twice, want the %d whose first call stalled", twice, stalled)
		}
		t.Logf("%d prospects, the first %d calls stalled: %v in %v, %d first calls",
			n, stalled, byStatus, time.Since(start).Round(time.Millisecond), first.calls)
	})

	t.Run("ShutdownWhileStalled", func(t *testing.T) {
		up := openaitest.New(t, openaitest.WithStallRate(1))
		e := env(up.URL)
		const long = 3 * time.Second
		e["OPENAI_TIMEOUT"] = long.String()
		prog := testprog.Start(t, e)
		call := testprog.HTTP(prog.URL, testKey)
		submit(t, call, n, nil)
		deadline := time.Now().Add(30 * time.Second)
		for up.Count() < min(n, 8) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d model calls started", up.Count())
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The calls in flight finish (they time out) before the program
		// stops: the shutdown is bounded by OPENAI_TIMEOUT, not forever.
		took := prog.Shutdown(t, long+10*time.Second)
		if took > long+5*time.Second {
			t.Errorf("shutdown with stalled calls took %v; want about OPENAI_TIMEOUT (%v)", took, long)
		}
		t.Logf("shutdown with %d stalled calls in flight took %v (OPENAI_TIMEOUT %v)", up.Count(), took.Round(time.Millisecond), long)
	})
}
