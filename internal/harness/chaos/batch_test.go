package chaos_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// TestBatchCampaignThroughKillNine runs a 1,000-prospect batch campaign on
// the local program's binary against the test server's Batch API, which
// fails every 50th line of a batch and expires the first batch after 400
// lines. The program is killed with SIGKILL while the batch runs at the
// provider, and again while its answers are being written, and restarted
// each time. The campaign completes with every prospect exactly once,
// every first call made in a batch (the realtime calls are repair rounds),
// three batches (the expired one's 600 unanswered lines and the failed
// lines retried twice), and the files deleted.
func TestBatchCampaignThroughKillNine(t *testing.T) {
	const n = 1000
	bin := buildIngren(t)
	up := openaitest.New(t, openaitest.WithBatch(openaitest.BatchConfig{
		StageTime: 1500 * time.Millisecond, FailEvery: 50, ExpireBatches: 1, ExpireAfter: 400,
	}))
	dataDir, logPath, base, env := killableEnv(t, up.URL, "BATCH_POLL_INTERVAL=1s")
	call := testprog.HTTP(base, testKey)
	start := time.Now()
	p := startProgram(t, bin, env, logPath)
	waitHealthy(t, base, 30*time.Second, p.exited)
	id := submit(t, call, n, map[string]any{"mode": "batch"})

	restart := func() {
		p.kill()
		fastForward(t, filepath.Join(dataDir, "ingren.db"))
		p = startProgram(t, bin, env, logPath)
		waitHealthy(t, base, 30*time.Second, p.exited)
	}
	// Mid-batch: the provider has the batch, nothing is written yet.
	waitUntil(t, "the first batch at the provider", func() bool { return up.BatchStats().BatchesCreated >= 1 })
	restart()
	// Mid-write: the first batch's answers are being written.
	call.WaitFor(t, id, 2*time.Minute, func(c testprog.Campaign) bool { return c.Succeeded+c.NeedsReview >= 100 })
	restart()

	c := call.WaitFor(t, id, 3*time.Minute, testprog.Campaign.Final)
	wall := time.Since(start)
	if c.Status != "completed" || c.Succeeded+c.NeedsReview != n || c.Failed != 0 {
		t.Fatalf("%+v, want completed with all %d written", c, n)
	}
	byStatus := checkExactlyOnce(t, call, c)

	st := up.BatchStats()
	if st.BatchesCreated != 3 {
		t.Errorf("%d batches created, want 3: the first, its 600 unanswered and 8 failed lines, and the 12 of those that failed", st.BatchesCreated)
	}
	if st.LinesAnswered != n {
		t.Errorf("%d lines answered by the provider, want %d: each prospect paid once", st.LinesAnswered, n)
	}
	if first := countFirstCalls(up); first != 0 {
		t.Errorf("%d first calls made in realtime, want 0", first)
	}
	view := campaignUsage(t, call, id)
	if view.Mode != "batch" || view.Usage.BatchPromptTokens == 0 || len(view.Batches) != 3 {
		t.Errorf("campaign view: mode %q, usage %+v, %d batches; want batch, batch usage, 3", view.Mode, view.Usage, len(view.Batches))
	}
	waitUntil(t, "every batch file deleted", func() bool { return up.BatchStats().FilesStored == 0 })
	t.Logf("%d prospects in batch mode, kill -9 twice: completed in %v, statuses %v; %d batches, %d realtime calls (repair rounds)",
		n, wall.Round(time.Millisecond), byStatus, st.BatchesCreated, up.Count())
}

// countFirstCalls counts the chat completions that were a prospect's first
// call: two messages, system and user.
func countFirstCalls(up *openaitest.Server) int {
	k := 0
	for _, r := range up.Requests() {
		if len(r.Body.Messages) == 2 {
			k++
		}
	}
	return k
}

type batchView struct {
	Mode  string `json:"mode"`
	Usage struct {
		PromptTokens          int `json:"prompt_tokens"`
		BatchPromptTokens     int `json:"batch_prompt_tokens"`
		BatchCompletionTokens int `json:"batch_completion_tokens"`
	} `json:"usage"`
	Batches []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Total  int    `json:"total"`
	} `json:"batches"`
}

func campaignUsage(t *testing.T, call testprog.API, id string) batchView {
	t.Helper()
	status, b := call(t, "GET", "/api/v1/campaigns/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("GET campaign: %d %s", status, b)
	}
	var v batchView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
