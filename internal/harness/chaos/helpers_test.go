package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/testprog"
)

const testKey = "chaos-key-0123456789abcdef"

// soak reports whether the long variants run (INGREN_SOAK=1, make soak).
func soak() bool {
	v, _ := strconv.ParseBool(os.Getenv("INGREN_SOAK"))
	return v
}

// pick returns short in make test and long under INGREN_SOAK.
func pick[T any](short, long T) T {
	if soak() {
		return long
	}
	return short
}

// newRand returns a random source seeded from INGREN_CHAOS_SEED, or a fresh
// seed that it logs, so a failing run can be repeated.
func newRand(tb testing.TB) *rand.Rand {
	tb.Helper()
	seed, err := strconv.ParseUint(os.Getenv("INGREN_CHAOS_SEED"), 10, 64)
	if err != nil || seed == 0 {
		seed = rand.Uint64()
	}
	tb.Logf("seed %d (INGREN_CHAOS_SEED=%d repeats this run)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x5deece66d))
}

// submit posts a campaign of n prospects and returns its id.
func submit(tb testing.TB, call testprog.API, n int, extra map[string]any) string {
	tb.Helper()
	body := map[string]any{"name": "chaos", "prospects": testprog.Prospects(n)}
	for k, v := range extra {
		body[k] = v
	}
	return call.Submit(tb, body)
}

// checkExactlyOnce reads every email of the finished campaign c and checks
// the invariant of every chaos test: indices 0..Total-1 each appear exactly
// once, each with an outcome, with the prospect's own email when it
// succeeded, and the campaign's counters equal the emails' statuses. It
// returns how many emails have each status.
func checkExactlyOnce(tb testing.TB, call testprog.API, c testprog.Campaign) map[string]int {
	tb.Helper()
	seen := make([]int, c.Total)
	byStatus := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > c.Total/500+2 {
			tb.Fatalf("more pages than %d emails need", c.Total)
		}
		status, b := call(tb, "GET", "/api/v1/campaigns/"+c.CampaignID+"/emails?limit=500&cursor="+cursor, nil)
		if status != http.StatusOK {
			tb.Fatalf("list emails: %d %s", status, b)
		}
		page := testprog.MustDecode[testprog.Emails](tb, b)
		for _, e := range page.Emails {
			if e.Index < 0 || e.Index >= c.Total {
				tb.Fatalf("email with index %d in a campaign of %d", e.Index, c.Total)
			}
			seen[e.Index]++
			byStatus[e.Status]++
			switch e.Status {
			case "succeeded", "needs_review":
				if e.Subject == "" || !strings.Contains(e.Body, fmt.Sprintf("Pat%d", e.Index)) || e.Error != "" {
					tb.Errorf("email %d (%s): not this prospect's email: %+v", e.Index, e.Status, e)
				}
			case "failed":
				if e.Error == "" || e.Subject != "" {
					tb.Errorf("failed email %d: %+v", e.Index, e)
				}
			default:
				tb.Errorf("email %d has status %q after the campaign finished", e.Index, e.Status)
			}
			if want := testprog.Ref(e.Index); e.Ref != want {
				tb.Errorf("email %d has ref %q, want %q", e.Index, e.Ref, want)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for i, n := range seen {
		if n != 1 {
			tb.Errorf("index %d listed %d times, want exactly once", i, n)
		}
	}
	if got := byStatus["succeeded"]; got != c.Succeeded {
		tb.Errorf("counter succeeded = %d, but %d emails succeeded", c.Succeeded, got)
	}
	if byStatus["needs_review"] != c.NeedsReview {
		tb.Errorf("counter needs_review = %d, but %d emails need review", c.NeedsReview, byStatus["needs_review"])
	}
	if byStatus["failed"] != c.Failed {
		tb.Errorf("counter failed = %d, but %d emails failed", c.Failed, byStatus["failed"])
	}
	if c.Pending != 0 {
		tb.Errorf("pending = %d after the campaign finished", c.Pending)
	}
	return byStatus
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// buildIngren builds the local program into a temporary directory, with the
// race detector when the tests have it.
func buildIngren(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "ingren")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./functions/ingren")...)
	cmd.Dir = testprog.ModuleRoot(tb)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./functions/ingren: %v\n%s", err, b)
	}
	tb.Logf("built ./functions/ingren (race %v) in %v", raceEnabled, time.Since(start).Round(time.Millisecond))
	return out
}

// waitHealthy polls base/healthz until it answers 200.
func waitHealthy(tb testing.TB, base string, timeout time.Duration, exited <-chan struct{}) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			tb.Fatalf("the program exited before it answered on %s", base)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s/healthz did not answer in %v: %v", base, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
