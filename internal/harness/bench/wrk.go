package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// WrkScript is wrk.lua: it posts a file with an optional x-api-key and
// prints the result as JSON.
//
//go:embed wrk.lua
var WrkScript []byte

// Run is the outcome of one load run, closed or open loop.
type Run struct {
	// Requests counts the 2xx answers.
	Requests int
	// Errors counts the rest: answers other than 2xx, timeouts and
	// connection errors.
	Errors   int
	Duration time.Duration
	// Latency percentiles of the answered requests.
	P50, P90, P99, P999, Max time.Duration
	// LoadCPU is the CPU time the load generator used (wrk only).
	LoadCPU time.Duration
	// Latencies holds every answered request's latency, sorted (open
	// loop only), so that runs can be merged.
	Latencies []time.Duration
}

// RPS is the 2xx answers per second.
func (r Run) RPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// Wrk is one closed-loop wrk run.
type Wrk struct {
	// URL is the full URL to POST to.
	URL string
	// Script is the path of wrk.lua; BodyFile the body it posts; Key the
	// x-api-key ("" for none).
	Script, BodyFile, Key string
	Threads, Connections  int
	Duration, Timeout     time.Duration
}

// Args are the command line, for the report.
func (w Wrk) Args() []string {
	return []string{
		"-t" + strconv.Itoa(w.Threads), "-c" + strconv.Itoa(w.Connections),
		"-d" + secs(w.Duration), "--timeout", secs(w.Timeout), "-s", w.Script, w.URL,
	}
}

func secs(d time.Duration) string { return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s" }

// Run runs wrk and reads the JSON line the script prints.
func (w Wrk) Run(ctx context.Context) (Run, error) {
	cmd := exec.CommandContext(ctx, "wrk", w.Args()...)
	cmd.Env = append(os.Environ(), "BENCH_BODY="+w.BodyFile, "BENCH_KEY="+w.Key)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Run{}, fmt.Errorf("wrk %s: %w\n%s%s", strings.Join(w.Args(), " "), err, out.Bytes(), stderr.Bytes())
	}
	r, err := parseWrk(out.Bytes())
	if err != nil {
		return Run{}, fmt.Errorf("wrk: %w\n%s", err, out.Bytes())
	}
	r.LoadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

type wrkJSON struct {
	Requests   int   `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Errors     struct {
		Connect, Read, Write, Status, Timeout int
	} `json:"errors"`
	LatencyUS struct {
		P50, P90, P99, P999, Max int64
	} `json:"latency_us"`
}

func parseWrk(out []byte) (Run, error) {
	for _, line := range strings.Split(string(out), "\n") {
		j, ok := strings.CutPrefix(line, "BENCH_JSON ")
		if !ok {
			continue
		}
		var w wrkJSON
		if err := json.Unmarshal([]byte(j), &w); err != nil {
			return Run{}, err
		}
		us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
		e := w.Errors
		return Run{
			// wrk's requests are the answers, non-2xx ones included.
			Requests: w.Requests - e.Status,
			Errors:   e.Status + e.Timeout + e.Connect + e.Read + e.Write,
			Duration: us(w.DurationUS),
			P50:      us(w.LatencyUS.P50), P90: us(w.LatencyUS.P90), P99: us(w.LatencyUS.P99),
			P999: us(w.LatencyUS.P999), Max: us(w.LatencyUS.Max),
		}, nil
	}
	return Run{}, fmt.Errorf("no BENCH_JSON line in wrk's output")
}
