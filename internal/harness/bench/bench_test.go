package bench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/harness/bench"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testenv"
	"github.com/ingren/ingren/internal/testprog"
)

// benchKey is the local program's API key in every run.
const benchKey = "bench-key-0123456789abcdef"

// scale is how big the runs are: full for make bench; INGREN_BENCH_QUICK=1
// runs everything small, to try the harness itself.
type scale struct {
	wrk, warm, open time.Duration
	profile         time.Duration
	rate            int
	campaign        int
	submit          int
	coldStarts      int
	benchtime       string
	bulkTimeout     time.Duration
}

// openSlice is how long each open-loop slice runs: direct and local
// alternate, so that load from outside the benchmark falls on both alike.
const openSlice = 2 * time.Second

var (
	fullScale  = scale{wrk: 10 * time.Second, warm: 2 * time.Second, open: 10 * time.Second, profile: 8 * time.Second, rate: 1000, campaign: 1000, submit: 10000, coldStarts: 5, benchtime: "1s", bulkTimeout: 150 * time.Second}
	quickScale = scale{wrk: 2 * time.Second, warm: time.Second, open: 2 * time.Second, profile: 2 * time.Second, rate: 1000, campaign: 100, submit: 1000, coldStarts: 2, benchtime: "200ms", bulkTimeout: 60 * time.Second}
)

// Bulk upstream: what a paid OpenAI tier looks like from one account.
const (
	bulkLatency = 500 * time.Millisecond
	bulkJitter  = 200 * time.Millisecond
	bulkRPM     = 1200
)

// single is one load run with the CPU each process used, and what the
// rest of the machine used meanwhile (other engineers' builds).
type single struct {
	bench.Run
	progCPU, upCPU time.Duration
	others, steal  time.Duration
	wall           time.Duration
}

// add sums runs of one target.
func (s single) add(o single) single {
	return single{Run: bench.Merge(s.Run, o.Run), progCPU: s.progCPU + o.progCPU, upCPU: s.upCPU + o.upCPU,
		others: s.others + o.others, steal: s.steal + o.steal, wall: s.wall + o.wall}
}

// measure runs fn and accounts the CPU of prog (if any), of this process
// (the upstream) and of the rest of the machine; load is the CPU of the
// load generator when it is another process.
func measure(prog *bench.Program, fn func() bench.Run) single {
	var p0 time.Duration
	if prog != nil {
		p0 = prog.CPU()
	}
	m0, u0, t0 := bench.ReadMachineCPU(), bench.SelfCPU(), time.Now()
	r := fn()
	out := single{Run: r, upCPU: bench.SelfCPU() - u0, wall: time.Since(t0)}
	m := bench.ReadMachineCPU().Sub(m0)
	if prog != nil {
		out.progCPU = prog.CPU() - p0
	}
	out.others = max(0, m.Busy-out.progCPU-out.upCPU-r.LoadCPU)
	out.steal = m.Steal
	return out
}

type bulkRun struct {
	name                 string
	rpm                  string
	drained              int
	elapsed              time.Duration
	finished             bool
	status               string
	succeeded, failed    int
	calls, rateLimited   int
	peakRSS              int64
	progCPU              time.Duration
	ideal                time.Duration
	otherStatuses        map[int]int
	upstreamPeakInFlight int
	// firstCall and lastCall are when the upstream's count first and last
	// moved, from the POST (to the 100 ms poll).
	firstCall, lastCall time.Duration
	// others is what the rest of the machine used meanwhile.
	others time.Duration
	// batch is true for the batch-mode run; usage is the campaign's, as
	// its view showed it at the end; batches what the upstream's Batch
	// API saw.
	batch   bool
	usage   benchUsage
	batches openaitest.BatchStats
	// maxCost is the campaign's max_cost_usd as its view showed it (0:
	// none); skipped the prospects it left no room for; heldPerEmail the
	// dry run's realtime estimate per prospect, what each email holds
	// before its call.
	maxCost      float64
	skipped      int
	heldPerEmail float64
}

// benchUsage is a campaign view's usage.
type benchUsage struct {
	PromptTokens          int `json:"prompt_tokens"`
	CompletionTokens      int `json:"completion_tokens"`
	BatchPromptTokens     int `json:"batch_prompt_tokens"`
	BatchCompletionTokens int `json:"batch_completion_tokens"`
	// CostUSD is the program's own price of the usage (null unpriced).
	CostUSD *float64 `json:"cost_usd"`
}

type submitRun struct {
	elapsed  time.Duration
	bodySize int
	skipped  string
	// cpu is the CPU of the process that served the submit; rest what
	// the rest of the machine used meanwhile.
	cpu, rest time.Duration
}

type results struct {
	machine  bench.Machine
	loadEnd  string
	took     time.Duration
	wrkArgs  string
	direct   []single
	warn     single
	info     single
	fixedDir single
	fixedLoc single
	profiled single
	pprofTop string
	// pprofGroups is each profileGroups' share of the samples.
	pprofGroups [][2]string
	rssWarn     int64
	rssInfo     int64
	bulk        []bulkRun
	batch       bulkRun
	capped      bulkRun
	subLocal    submitRun
	subAWS      submitRun
	coldAPI     []time.Duration
	coldWork    []time.Duration
	coldSkip    string
	goBench     string
}

type suite struct {
	t       *testing.T
	root    string
	tmp     string
	sc      scale
	script  string
	sarah   []byte
	bins    map[string]string
	res     *results
	apiCall *http.Client
}

// TestBench is make bench: it measures everything BENCHMARKS.md reports and
// rewrites the part of that file between the bench markers. It skips
// unless INGREN_BENCH=1, so make test never runs it.
func TestBench(t *testing.T) {
	if os.Getenv("INGREN_BENCH") != "1" {
		t.Skip("set INGREN_BENCH=1 (make bench) to run the benchmarks")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk not found: make bench installs it (apt-get install -y wrk)")
	}
	start := time.Now()
	root := testprog.ModuleRoot(t)
	s := &suite{t: t, root: root, tmp: t.TempDir(), sc: fullScale, res: &results{}, apiCall: bench.NewClient(8)}
	if os.Getenv("INGREN_BENCH_QUICK") == "1" {
		s.sc = quickScale
	}
	s.res.machine = bench.ThisMachine(root)
	s.script = filepath.Join(s.tmp, "wrk.lua")
	mustWrite(t, s.script, bench.WrkScript)
	sarah, err := os.ReadFile(filepath.Join(root, "testdata/requests/sarah.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.sarah = sarah
	s.build()

	phases := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"SingleEmail", s.singleEmail}, {"Profile", s.profile}, {"Bulk", s.bulk},
		{"Submit", s.submit}, {"ColdStart", s.coldStart}, {"GoBenchmark", s.goBenchmark},
	}
	all := true
	for _, p := range phases {
		ran := false
		t.Run(p.name, func(t *testing.T) {
			ran = true
			p.fn(t)
		})
		all = all && ran // false when -run leaves a phase out
	}

	s.res.took = time.Since(start)
	s.res.loadEnd = bench.LoadAvg()
	report := render(s.res, s.sc)
	t.Log("\n" + report)
	out := os.Getenv("INGREN_BENCH_FILE")
	if out == "" {
		out = filepath.Join(root, "BENCHMARKS.md")
	}
	if t.Failed() || !all || s.sc != fullScale {
		// A failed, partial or quick run does not replace the recorded one.
		out = filepath.Join(os.TempDir(), "BENCHMARKS.partial.md")
	}
	doc, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	doc, err = bench.Splice(doc, report)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, out, doc)
	t.Logf("wrote %s (%v)", out, s.res.took.Round(time.Second))
}

// build compiles the local program, its profiled twin, and the two
// Lambdas as make build does (for this machine's architecture).
func (s *suite) build() {
	t := s.t
	s.bins = map[string]string{}
	for _, b := range []struct{ name, pkg, tags, ldflags string }{
		{"ingren", "./functions/ingren", "", ""},
		{"profiled", "./internal/harness/bench/profiled", "", ""},
		{"api", "./functions/api", "lambda.norpc", "-s -w"},
		{"worker", "./functions/worker", "lambda.norpc", "-s -w"},
	} {
		dir := filepath.Join(s.tmp, "bin", b.name)
		out := filepath.Join(dir, b.name)
		if b.tags != "" {
			out = filepath.Join(dir, "bootstrap")
		}
		args := []string{"build", "-trimpath", "-o", out}
		if b.tags != "" {
			args = append(args, "-tags", b.tags, "-ldflags", b.ldflags)
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = s.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, o)
		}
		s.bins[b.name] = out
	}
}

// upstream serves an openaitest handler on loopback in this process. The
// returned capture can record the next request's body.
func (s *suite) upstream(t *testing.T, cfg openaitest.Config) (*openaitest.Handler, string, *capture) {
	t.Helper()
	cfg.DiscardRequests = true
	h := openaitest.NewHandler(cfg)
	c := &capture{next: h}
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv.URL + "/v1", c
}

// capture records the body of one request when armed; otherwise it costs
// one atomic load.
type capture struct {
	next  http.Handler
	armed atomic.Bool
	body  chan []byte
}

func (c *capture) arm() { c.body = make(chan []byte, 1); c.armed.Store(true) }

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.armed.Load() && c.armed.CompareAndSwap(true, false) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		c.body <- b
	}
	c.next.ServeHTTP(w, r)
}

// program starts the built local program against upstream with env added.
func (s *suite) program(t *testing.T, bin, name, upstream string, env map[string]string) *bench.Program {
	t.Helper()
	all := map[string]string{
		"OPENAI_BASE_URL": upstream, "OPENAI_API_KEY": "sk-bench", "API_KEYS": benchKey,
		"DATA_DIR": filepath.Join(s.tmp, "data-"+name),
	}
	for k, v := range env {
		all[k] = v
	}
	p, err := bench.StartProgram(t.Context(), bin, filepath.Join(s.tmp, name+".log"), all)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	return p
}

// closed runs wrk against url and accounts the CPU of prog (if any) and
// of this process, which serves the upstream.
func (s *suite) closed(t *testing.T, url, bodyFile, key string, d time.Duration, prog *bench.Program) single {
	t.Helper()
	w := bench.Wrk{URL: url, Script: s.script, BodyFile: bodyFile, Key: key,
		Threads: 2, Connections: 32, Duration: d, Timeout: 5 * time.Second}
	out := measure(prog, func() bench.Run {
		r, err := w.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
	if out.Errors > 0 {
		// Recorded, not fatal: on a shared machine, outside load can
		// time requests out.
		t.Logf("%s: %d errors in %d requests", url, out.Errors, out.Requests+out.Errors)
	}
	return out
}

func (s *suite) singleEmail(t *testing.T) {
	res := s.res
	_, upURL, capt := s.upstream(t, openaitest.Config{})
	direct := strings.TrimSuffix(upURL, "/v1") + "/v1/chat/completions"
	warn := s.program(t, s.bins["ingren"], "warn", upURL, map[string]string{"LOG_LEVEL": "warn"})
	local := warn.URL + "/api/v1/generate-email"

	// The direct runs post exactly what the program sent for sarah.json.
	capt.arm()
	if st, b := s.call(t, "POST", local, s.sarah); st != 200 {
		t.Fatalf("generate-email: %d %s", st, b)
	}
	chat := <-capt.body
	chatFile, sarahFile := filepath.Join(s.tmp, "chat.json"), filepath.Join(s.tmp, "sarah.json")
	mustWrite(t, chatFile, chat)
	mustWrite(t, sarahFile, s.sarah)
	res.wrkArgs = strings.Join(bench.Wrk{URL: "http://127.0.0.1:PORT/api/v1/generate-email", Script: "internal/harness/bench/wrk.lua",
		Threads: 2, Connections: 32, Duration: s.sc.wrk, Timeout: 5 * time.Second}.Args(), " ")

	// Closed loop, in the order direct, local (warn), local (info),
	// direct: the two direct runs bracket the others and show the drift.
	s.closed(t, local, sarahFile, benchKey, s.sc.warm, nil)
	s.closed(t, direct, chatFile, "", s.sc.warm, nil)
	res.direct = append(res.direct, s.closed(t, direct, chatFile, "", s.sc.wrk, nil))
	res.warn = s.closed(t, local, sarahFile, benchKey, s.sc.wrk, warn)

	// Open loop at a fixed rate: after a warm-up of each, direct and
	// local alternate in slices, and each one's slices are merged.
	client := bench.NewClient(256)
	dir := bench.OpenLoop{URL: direct, Body: chat, Header: http.Header{"Content-Type": {"application/json"}},
		Rate: s.sc.rate, Duration: time.Second, Client: client}
	loc := bench.OpenLoop{URL: local, Body: s.sarah, Header: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {benchKey}},
		Rate: s.sc.rate, Duration: time.Second, Client: client}
	dir.Run(t.Context())
	loc.Run(t.Context())
	dir.Duration, loc.Duration = openSlice, openSlice
	for i := range max(1, int(s.sc.open/openSlice)) {
		d := measure(nil, func() bench.Run { return dir.Run(t.Context()) })
		l := measure(warn, func() bench.Run { return loc.Run(t.Context()) })
		if i == 0 {
			res.fixedDir, res.fixedLoc = d, l
		} else {
			res.fixedDir, res.fixedLoc = res.fixedDir.add(d), res.fixedLoc.add(l)
		}
	}
	for _, r := range []single{res.fixedDir, res.fixedLoc} {
		if r.Errors > 0 {
			t.Logf("open loop: %d errors in %d requests", r.Errors, r.Requests+r.Errors)
		}
	}
	res.rssWarn = warn.PeakRSS()
	if err := warn.Stop(); err != nil {
		t.Error(err)
	}

	info := s.program(t, s.bins["ingren"], "info", upURL, map[string]string{"LOG_LEVEL": "info"})
	infoURL := info.URL + "/api/v1/generate-email"
	s.closed(t, infoURL, sarahFile, benchKey, s.sc.warm, nil)
	res.info = s.closed(t, infoURL, sarahFile, benchKey, s.sc.wrk, info)
	res.rssInfo = info.PeakRSS()
	if err := info.Stop(); err != nil {
		t.Error(err)
	}
	res.direct = append(res.direct, s.closed(t, direct, chatFile, "", s.sc.wrk, nil))
}

// profile runs the profiled build under the same closed-loop load and
// keeps the top of its CPU profile.
func (s *suite) profile(t *testing.T) {
	_, upURL, _ := s.upstream(t, openaitest.Config{})
	prof := filepath.Join(s.tmp, "cpu.pprof")
	p := s.program(t, s.bins["profiled"], "profiled", upURL, map[string]string{"LOG_LEVEL": "warn", "INGREN_CPUPROFILE": prof})
	body := filepath.Join(s.tmp, "sarah.json")
	mustWrite(t, body, s.sarah)
	url := p.URL + "/api/v1/generate-email"
	s.closed(t, url, body, benchKey, s.sc.warm, nil)
	s.res.profiled = s.closed(t, url, body, benchKey, s.sc.profile, p)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", s.bins["profiled"], prof)
	cmd.Dir = s.root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pprof: %v", err)
	}
	s.res.pprofTop = strings.TrimSpace(string(out))
	for _, g := range profileGroups {
		cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount=100000", "-focus="+g.focus, s.bins["profiled"], prof)
		cmd.Dir = s.root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pprof -focus=%s: %v", g.focus, err)
		}
		m := pprofShareRE.FindSubmatch(out)
		if m == nil {
			s.res.pprofGroups = append(s.res.pprofGroups, [2]string{g.name, "0%"})
			continue
		}
		s.res.pprofGroups = append(s.res.pprofGroups, [2]string{g.name, string(m[1])})
	}
	if keep := os.Getenv("INGREN_BENCH_PROFILE"); keep != "" {
		b, err := os.ReadFile(prof)
		if err == nil {
			mustWrite(t, keep, b)
			t.Logf("CPU profile kept in %s (binary %s)", keep, s.bins["profiled"])
		}
	}
}

// bulk runs a campaign against a slow upstream whose RPM bucket has been
// emptied first, so the campaign sees the steady rate limit (20 rps at
// 1,200 RPM) rather than a fresh minute's worth of burst.
func (s *suite) bulk(t *testing.T) {
	for _, c := range []struct {
		name, rpm string
		drain     bool
	}{
		{"OPENAI_RPM unset, upstream bucket drained", "", true},
		{realtimeRunName, strconv.Itoa(bulkRPM), true},
		{"OPENAI_RPM=1200, upstream bucket full", strconv.Itoa(bulkRPM), false},
	} {
		t.Run(strings.NewReplacer(" ", "_", ",", "").Replace(c.name), func(t *testing.T) {
			s.res.bulk = append(s.res.bulk, s.bulkOne(t, c.name, c.rpm, c.drain, false, 0))
		})
	}
	t.Run("batch_mode", func(t *testing.T) {
		s.res.batch = s.bulkOne(t, batchRunName, strconv.Itoa(bulkRPM), true, true, 0)
	})
	t.Run("capped", func(t *testing.T) {
		rt := realtimeRun(s.res)
		if rt == nil || !rt.finished || modelCost(rt.usage) == 0 {
			t.Fatalf("the run %q did not finish: no cost to halve", realtimeRunName)
		}
		half := math.Round(modelCost(rt.usage)/2*1e6) / 1e6 // max_cost_usd is kept to the micro-dollar
		s.res.capped = s.bulkOne(t, cappedRunName, strconv.Itoa(bulkRPM), true, false, half)
	})
}

// realtimeRunName is the realtime run the batch-mode and capped runs are
// compared with: the same upstream state and OPENAI_RPM.
const realtimeRunName = "OPENAI_RPM=1200, upstream bucket drained"

// The capped run: the same realtime campaign with max_cost_usd set to
// half what the realtime run's usage cost.
const cappedRunName = `"max_cost_usd": half, OPENAI_RPM=1200, upstream bucket drained`

// realtimeRun is r's run named realtimeRunName, nil when it did not run.
func realtimeRun(r *results) *bulkRun {
	for i := range r.bulk {
		if r.bulk[i].name == realtimeRunName {
			return &r.bulk[i]
		}
	}
	return nil
}

// The batch-mode run: the same campaign with "mode": "batch", against the
// same upstream whose Batch API takes batchStage per stage (validating,
// in progress, finalizing), polled every second.
const (
	batchRunName = `"mode": "batch", OPENAI_RPM=1200, upstream bucket drained`
	batchStage   = 5 * time.Second
)

// bulkOne runs one campaign; maxCost > 0 submits it with that
// max_cost_usd, after a dry run of the same body for the estimate.
func (s *suite) bulkOne(t *testing.T, name, rpm string, drained, batch bool, maxCost float64) bulkRun {
	cfg := openaitest.Config{Latency: bulkLatency, Jitter: bulkJitter, RPM: bulkRPM}
	if batch {
		cfg.Batch = openaitest.BatchConfig{StageTime: batchStage}
	}
	h, upURL, _ := s.upstream(t, cfg)
	out := bulkRun{name: name, rpm: rpm, batch: batch, ideal: time.Duration(float64(s.sc.campaign) / (bulkRPM / 60.0) * float64(time.Second))}
	env := map[string]string{"WORKER_CONCURRENCY": "32", "LOG_LEVEL": "info"}
	if rpm != "" {
		env["OPENAI_RPM"] = rpm
	}
	body := campaignBody(t, s.sc.campaign)
	logName := "bulk-" + strings.NewReplacer(" ", "-", "=", "-", ",", "").Replace(name)
	if batch {
		env["BATCH_POLL_INTERVAL"] = "1s"
		body = append([]byte(`{"mode":"batch",`), body[1:]...)
		logName = "bulk-batch"
	}
	if maxCost > 0 {
		body = append([]byte(`{"max_cost_usd":`+strconv.FormatFloat(maxCost, 'f', -1, 64)+`,`), body[1:]...)
		logName = "bulk-capped"
	}
	p := s.program(t, s.bins["ingren"], logName, upURL, env)
	if maxCost > 0 {
		// The dry run counts tokens as the workers' holds do; it calls no
		// model, so it is done before the clock starts.
		st, b := s.call(t, "POST", p.URL+"/api/v1/campaigns?dry_run=true", body)
		if st != http.StatusOK {
			t.Fatalf("dry run: %d %s", st, b)
		}
		est := testprog.MustDecode[struct {
			Total    int `json:"total"`
			Estimate struct {
				CostUSD struct {
					Realtime *float64 `json:"realtime"`
				} `json:"cost_usd"`
			} `json:"estimate"`
		}](t, b)
		if est.Total == 0 || est.Estimate.CostUSD.Realtime == nil {
			t.Fatalf("dry run: no realtime estimate: %s", b)
		}
		out.heldPerEmail = *est.Estimate.CostUSD.Realtime / float64(est.Total)
	}
	// Drained last, so that the bucket does not refill while the
	// program starts (or answers the dry run).
	if drained {
		out.drained = drain(t, strings.TrimSuffix(upURL, "/v1")+"/v1/chat/completions")
	}
	before, count0 := h.StatusCounts(), h.Count()
	h.ResetPeak()
	cpu0, m0, u0 := p.CPU(), bench.ReadMachineCPU(), bench.SelfCPU()
	start := time.Now()
	st, b := s.call(t, "POST", p.URL+"/api/v1/campaigns", body)
	if st != http.StatusAccepted {
		t.Fatalf("submit: %d %s", st, b)
	}
	id := testprog.MustDecode[struct {
		CampaignID string `json:"campaign_id"`
	}](t, b).CampaignID
	deadline := start.Add(s.sc.bulkTimeout)
	lastCount := count0
	for {
		if n := h.Count(); n != lastCount {
			if lastCount == count0 {
				out.firstCall = time.Since(start)
			}
			out.lastCall, lastCount = time.Since(start), n
		}
		st, b := s.call(t, "GET", p.URL+"/api/v1/campaigns/"+id, nil)
		if st != http.StatusOK {
			t.Fatalf("get campaign: %d %s", st, b)
		}
		v := testprog.MustDecode[struct {
			Status      string     `json:"status"`
			Succeeded   int        `json:"succeeded"`
			NeedsReview int        `json:"needs_review"`
			Failed      int        `json:"failed"`
			Skipped     int        `json:"skipped"`
			MaxCostUSD  *float64   `json:"max_cost_usd"`
			Usage       benchUsage `json:"usage"`
		}](t, b)
		out.status, out.succeeded, out.failed, out.skipped, out.usage = v.Status, v.Succeeded+v.NeedsReview, v.Failed, v.Skipped, v.Usage
		if v.MaxCostUSD != nil {
			out.maxCost = *v.MaxCostUSD
		}
		if v.Status == "completed" || v.Status == "completed_with_errors" || v.Status == "cancelled" {
			out.elapsed, out.finished = time.Since(start), true
			break
		}
		if time.Now().After(deadline) {
			out.elapsed = time.Since(start)
			t.Errorf("campaign not finished after %v: %s", s.sc.bulkTimeout, b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := h.StatusCounts()
	out.calls = h.Count() - count0
	out.rateLimited = after[http.StatusTooManyRequests] - before[http.StatusTooManyRequests]
	out.otherStatuses = map[int]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 && k != http.StatusOK && k != http.StatusTooManyRequests {
			out.otherStatuses[k] = d
		}
	}
	out.upstreamPeakInFlight = h.PeakInFlight()
	out.batches = h.BatchStats()
	out.peakRSS = p.PeakRSS()
	out.progCPU = p.CPU() - cpu0
	out.others = max(0, bench.ReadMachineCPU().Sub(m0).Busy-out.progCPU-(bench.SelfCPU()-u0))
	if err := p.Stop(); err != nil {
		t.Error(err)
	}
	return out
}

// drain posts chat completions from many connections until the upstream
// answers 429: its RPM bucket is then empty. It returns how many it sent.
func drain(t *testing.T, url string) int {
	t.Helper()
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"drain"}]}`)
	client := bench.NewClient(300)
	var sent, limited atomic.Int64
	var wg sync.WaitGroup
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for limited.Load() == 0 && sent.Add(1) <= 4*bulkRPM {
				res, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusTooManyRequests {
					limited.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Fatal("the upstream never answered 429 while draining")
	}
	client.CloseIdleConnections()
	return int(min(sent.Load(), 4*bulkRPM))
}

// submit times the POST of a big campaign until its 202: on the local
// program (SQLite) and, when the emulators run, through the API Lambda's
// handler on DynamoDB Local and fauxqs.
func (s *suite) submit(t *testing.T) {
	body := campaignBody(t, s.sc.submit)
	t.Run("SQLite", func(t *testing.T) {
		// A worker that cannot keep up, against an upstream that is never
		// asked: the campaign is cancelled at once.
		_, upURL, _ := s.upstream(t, openaitest.Config{Latency: time.Minute})
		p := s.program(t, s.bins["ingren"], "submit", upURL, map[string]string{"WORKER_CONCURRENCY": "1", "LOG_LEVEL": "warn"})
		var st int
		var b []byte
		r := measure(p, func() bench.Run {
			st, b = s.call(t, "POST", p.URL+"/api/v1/campaigns", body)
			return bench.Run{}
		})
		if st != http.StatusAccepted {
			t.Fatalf("submit: %d %s", st, b)
		}
		s.res.subLocal = submitRun{elapsed: r.wall, bodySize: len(body), cpu: r.progCPU, rest: r.others + r.upCPU}
		id := testprog.MustDecode[struct {
			CampaignID string `json:"campaign_id"`
		}](t, b).CampaignID
		s.call(t, "DELETE", p.URL+"/api/v1/campaigns/"+id, nil)
	})
	t.Run("AWS", func(t *testing.T) {
		if os.Getenv(testenv.EnvDynamoDBEndpoint) == "" || os.Getenv(testenv.EnvSQSEndpoint) == "" {
			s.res.subAWS.skipped = "not run: the emulators are not running (make bench starts them)"
			t.Skip(s.res.subAWS.skipped)
		}
		ddb, sqsc := testenv.DynamoDB(t), testenv.SQS(t)
		table := testenv.CreateTable(t, ddb)
		queueURL, _ := testenv.CreateQueue(t, sqsc, 30*time.Second, 5)
		_, upURL, _ := s.upstream(t, openaitest.Config{})
		// The SDK's own variables point the Lambda's clients at the emulators.
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", os.Getenv(testenv.EnvDynamoDBEndpoint))
		t.Setenv("AWS_ENDPOINT_URL_SQS", os.Getenv(testenv.EnvSQSEndpoint))
		t.Setenv("AWS_REGION", testenv.Region)
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		env := map[string]string{"TABLE_NAME": table, "QUEUE_URL": queueURL, "OPENAI_BASE_URL": upURL,
			"OPENAI_API_KEY": "sk-bench", "LOG_LEVEL": "warn"}
		h, err := app.NewAPILambda(t.Context(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		call := func(body []byte) events.APIGatewayProxyResponse {
			ev := testprog.APIEvent(t, "POST", "/api/v1/campaigns", body)
			res, err := h(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("submit: %d %s", res.StatusCode, res.Body)
			}
			return res
		}
		call(campaignBody(t, 1)) // open the SDK clients' connections
		// The handler runs in this process: upCPU is its CPU, others is
		// DynamoDB Local's and fauxqs's (and anything else running).
		r := measure(nil, func() bench.Run {
			call(body)
			return bench.Run{}
		})
		s.res.subAWS = submitRun{elapsed: r.wall, bodySize: len(body), cpu: r.upCPU, rest: r.others}
	})
}

// coldStart starts each Lambda bootstrap under the emulator, invokes it
// once and reads the INIT REPORT, alternating api and worker.
func (s *suite) coldStart(t *testing.T) {
	emulator := os.Getenv("INGREN_RIE")
	if emulator == "" {
		emulator = filepath.Join(s.root, ".tools/bin/aws-lambda-rie")
	}
	if _, err := os.Stat(emulator); err != nil {
		s.res.coldSkip = "not run: aws-lambda-rie not found at " + emulator + " (make bench installs it)"
		t.Skip(s.res.coldSkip)
	}
	// Init makes no network call: the endpoints only have to be URLs.
	ddb, sqs := os.Getenv(testenv.EnvDynamoDBEndpoint), os.Getenv(testenv.EnvSQSEndpoint)
	if ddb == "" || sqs == "" {
		ddb, sqs = "http://127.0.0.1:1", "http://127.0.0.1:1"
	}
	env := map[string]string{
		"TABLE_NAME": "bench", "QUEUE_URL": sqs + "/000000000000/bench",
		"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "sk-bench",
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_DYNAMODB": ddb, "AWS_ENDPOINT_URL_SQS": sqs,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
	}
	healthz, err := json.Marshal(testprog.APIEvent(t, "GET", "/healthz", nil))
	if err != nil {
		t.Fatal(err)
	}
	once := func(bootstrap string, event []byte) time.Duration {
		l, err := bench.StartLambda(emulator, bootstrap, env)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Stop()
		if _, err := l.Invoke(event); err != nil {
			t.Fatalf("%v\n%s", err, l.Log())
		}
		d, err := l.InitDuration()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for range s.sc.coldStarts {
		s.res.coldAPI = append(s.res.coldAPI, once(s.bins["api"], healthz))
		s.res.coldWork = append(s.res.coldWork, once(s.bins["worker"], []byte(`{"Records":[]}`)))
	}
}

// profileGroups are the parts of the program the report sums the CPU
// profile by (pprof -focus: every sample with such a frame on its stack).
var profileGroups = []struct{ name, focus string }{
	{"encoding/json (every caller)", `^encoding/json\.`},
	{"go-openai: building, sending and decoding the model call", `sashabaranov/go-openai`},
	{"email.Decode: the request body", `internal/email\.(\(\*Composer\)\.)?Decode$`},
	{"lint.Check", `internal/lint\.Check$`},
	{"prompt: data and templates", `internal/prompt\.`},
	{"system calls (network I/O)", `internal/runtime/syscall`},
	{"garbage collection (background and assists)", `runtime\.gcBgMarkWorker|runtime\.gcAssistAlloc`},
	{"allocation (mallocgc)", `runtime\.mallocgc$`},
	{"log/slog", `^log/slog\.`},
}

var pprofShareRE = regexp.MustCompile(`Showing nodes accounting for [^,]+, ([0-9.]+%) of`)

var goBenchRE = regexp.MustCompile(`(?m)^(BenchmarkGenerateEmail\S*)\s+(\d+)\s+(.*)$`)

// goBenchmark runs internal/api's BenchmarkGenerateEmail.
func (s *suite) goBenchmark(t *testing.T) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkGenerateEmail$", "-benchmem",
		"-benchtime", s.sc.benchtime, "-count", "1", "./internal/api")
	cmd.Dir = s.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -bench: %v\n%s", err, out)
	}
	ms := goBenchRE.FindAllSubmatch(out, -1)
	if ms == nil {
		t.Fatalf("no benchmark line in:\n%s", out)
	}
	var lines []string
	for _, m := range ms {
		lines = append(lines, fmt.Sprintf("%s: %s iterations, %s", m[1], m[2], strings.Join(strings.Fields(string(m[3])), " ")))
	}
	s.res.goBench = strings.Join(lines, "\n    ")
}

// call sends a request with the bench key and returns the status and body.
func (s *suite) call(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", benchKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.apiCall.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// campaignBody is a campaign of n valid prospects with shared defaults.
func campaignBody(t *testing.T, n int) []byte {
	t.Helper()
	ps := make([]map[string]any, n)
	for i := range ps {
		ps[i] = map[string]any{
			"ref":      fmt.Sprintf("crm-%05d", i),
			"prospect": map[string]any{"first_name": fmt.Sprintf("Pat%d", i), "last_name": "Lee", "job_title": "Head of Sales"},
			"company":  map[string]any{"company_name": fmt.Sprintf("Co%d Inc", i), "industry": "SaaS", "recent_news": "Opened a Berlin office"},
		}
	}
	b, err := json.Marshal(map[string]any{
		"name": fmt.Sprintf("bench %d", n),
		"defaults": map[string]any{
			"sender": map[string]any{"name": "Alex", "company": "Ingren", "value_proposition": "Personalised outbound at scale"},
			"cta":    map[string]any{"ask": "Open to a 15-minute chat next week?"},
		},
		"prospects": ps,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
