package chaos_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

// killableEnv lays out one local program that a test kills and restarts:
// its DATA_DIR and log file, its base URL on a port of its own, and its
// whole environment (more appended), against upstream. The log's end is
// shown when the test fails.
func killableEnv(t *testing.T, upstream string, more ...string) (dataDir, logPath, base string, env []string) {
	t.Helper()
	dir := t.TempDir()
	dataDir, logPath = filepath.Join(dir, "data"), filepath.Join(dir, "ingren.log")
	port := freePort(t)
	base = "http://127.0.0.1:" + strconv.Itoa(port)
	env = append([]string{
		"DATA_DIR=" + dataDir, "API_KEYS=" + testKey, "PORT=" + strconv.Itoa(port),
		"OPENAI_BASE_URL=" + upstream, "OPENAI_API_KEY=sk-chaos-test", "WORKER_CONCURRENCY=8",
		"LOG_LEVEL=info", "TZ=UTC", "GORACE=halt_on_error=1",
	}, more...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("program output (last 8 KiB):\n%s", b[max(0, len(b)-8<<10):])
		}
	})
	return dataDir, logPath, base, env
}

// program is one run of the local program's binary.
type program struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

// startProgram runs bin serve with exactly env (nothing is inherited, so no
// OPENAI_API_KEY of the developer's leaks in), appending its output to
// logPath. The test kills it at the end if it still runs.
func startProgram(tb testing.TB, bin string, env []string, logPath string) *program {
	tb.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	p := &program{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	tb.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL and waits until the process is gone.
func (p *program) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// TestKillNineMidCampaign runs the local program's binary on one DATA_DIR,
// kills it with SIGKILL at random points of a campaign several times in a
// row, restarting it each time, and then lets it finish: the campaign
// completes with every prospect exactly once.
//
// A killed program leaves the messages it held hidden for the queue's
// visibility timeout (app.LocalQueueVisibility, 2 minutes), as SQS would.
// The short run plays that clock forward on the dead program's file; the
// soak run waits it out for real.
func TestKillNineMidCampaign(t *testing.T) {
	n, kills := pick(200, 2000), pick(5, 20)
	rng := newRand(t)
	bin := buildIngren(t)
	up := openaitest.New(t, openaitest.WithConfig(openaitest.Config{
		Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond,
	}))
	dataDir, logPath, base, env := killableEnv(t, up.URL)
	call := testprog.HTTP(base, testKey)

	start := time.Now()
	p := startProgram(t, bin, env, logPath)
	waitHealthy(t, base, 30*time.Second, p.exited)
	id := submit(t, call, n, nil)

	// Kill points: random amounts of progress, in order, all before the
	// end, so that every kill lands mid-campaign.
	targets := make([]int, kills)
	for i := range targets {
		targets[i] = rng.IntN(n * 9 / 10)
	}
	slices.Sort(targets)
	var killedAt, heldAtKill []int
	var restarts []time.Duration
	for _, target := range targets {
		c := call.WaitFor(t, id, pick(60*time.Second, 5*time.Minute), func(c testprog.Campaign) bool {
			return c.Succeeded+c.Failed >= target
		})
		// A little more randomness than the 20 ms polling gives.
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		p.kill()
		if c.Done() {
			t.Fatalf("the campaign finished before kill %d: the kill points are too late", len(killedAt)+1)
		}
		killedAt = append(killedAt, c.Succeeded+c.Failed)
		if !soak() {
			heldAtKill = append(heldAtKill, fastForward(t, filepath.Join(dataDir, "ingren.db")))
		}
		restart := time.Now()
		p = startProgram(t, bin, env, logPath)
		waitHealthy(t, base, 30*time.Second, p.exited)
		restarts = append(restarts, time.Since(restart))
	}

	c := call.WaitFor(t, id, pick(60*time.Second, 5*time.Minute), testprog.Campaign.Final)
	wall := time.Since(start)
	if c.Status != "completed" || c.Succeeded != n || c.Failed != 0 {
		t.Fatalf("after %d kills: %+v, want completed with %d succeeded", kills, c, n)
	}
	byStatus := checkExactlyOnce(t, call, c)

	// A graceful stop still works on the file that survived the kills, and
	// the file is intact.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("SIGTERM: the program exited with %v", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Error("SIGTERM: the program did not stop within 30 s")
	}
	integrityCheck(t, filepath.Join(dataDir, "ingren.db"))
	checkLog(t, logPath)

	first := firstCalls(t, up, n)
	held := fmt.Sprintf("messages in flight at each kill %v (made visible at once instead of after %v)", heldAtKill, app.LocalQueueVisibility)
	if soak() {
		held = fmt.Sprintf("messages in flight left to come back after %v", app.LocalQueueVisibility)
	}
	t.Logf("%d prospects, kill -9 ×%d after %v emails done; %s; restart to healthy %v",
		n, kills, killedAt, held, roundAll(restarts))
	t.Logf("completed in %v: statuses %v; %d model calls in all (repair rounds included), %d first calls for %d prospects: %d prospects redone (in flight at a kill)",
		wall.Round(time.Millisecond), byStatus, up.Count(), first.calls, n, first.redone)
}

// calls counts the first-round model calls (system and user message, no
// repair) per prospect, recognised by the "Pat<i>" of prospects.
type calls struct {
	calls, redone int
	perProspect   map[int]int
}

var patName = regexp.MustCompile(`"first_name": "Pat(\d+)"`)

func firstCalls(tb testing.TB, up *openaitest.Server, n int) calls {
	tb.Helper()
	c := calls{perProspect: map[int]int{}}
	for _, r := range up.Requests() {
		msgs := r.Body.Messages
		if len(msgs) != 2 {
			continue // a repair round
		}
		m := patName.FindStringSubmatch(msgs[1].Content)
		if m == nil {
			tb.Fatalf("a model call for no known prospect:\n%s", msgs[1].Content)
		}
		i, _ := strconv.Atoi(m[1])
		c.perProspect[i]++
		c.calls++
	}
	for i := range n {
		switch k := c.perProspect[i]; {
		case k == 0:
			tb.Errorf("prospect %d has an email but no model call was made for it", i)
		case k > 1:
			c.redone += k - 1
		}
	}
	return c
}

// fastForward makes every message that the killed program held visible
// again, as if the visibility timeout had passed, and returns how many
// there were. Only a dead program's file is touched. The SQL is goqite's
// own Extend, for all messages in flight at once.
func fastForward(tb testing.TB, path string) int {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	res, err := db.Exec(`update goqite set timeout = ? where queue = 'work' and timeout > ?`, now, now)
	if err != nil {
		tb.Fatalf("fast-forward the queue: %v", err)
	}
	n, _ := res.RowsAffected()
	return int(n)
}

// integrityCheck runs SQLite's integrity check on the file.
func integrityCheck(tb testing.TB, path string) {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		tb.Errorf("integrity_check = %q, %v", check, err)
	}
}

// checkLog fails on a data race or a panic in the program's output.
func checkLog(tb testing.TB, path string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if i := bytes.Index(b, []byte(bad)); i >= 0 {
			tb.Errorf("the program's output has %q:\n%s", bad, b[i:min(len(b), i+4<<10)])
		}
	}
}

func roundAll(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return fmt.Sprint(out)
}
