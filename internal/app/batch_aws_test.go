package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// awsBatchView is the campaign view's batch-mode part.
type awsBatchView struct {
	Mode  string `json:"mode"`
	Usage struct {
		BatchPromptTokens int `json:"batch_prompt_tokens"`
	} `json:"usage"`
	Batches []struct {
		ID     *string `json:"id"`
		Status string  `json:"status"`
		Total  int     `json:"total"`
	} `json:"batches"`
}

// A 1,000-prospect batch campaign through the API and worker Lambdas on
// DynamoDB Local and fauxqs: the check messages go through SQS with
// DelaySeconds, the first batch expires after 400 lines and every 50th
// line fails, and the campaign completes with each prospect's line
// answered once, in three batches, with the provider's files deleted.
func TestAWSBatchCampaign1000(t *testing.T) {
	const n = 1000
	up := openaitest.New(t, openaitest.WithAPIKey(ssmOpenAIKey), openaitest.WithBatch(openaitest.BatchConfig{
		StageTime: 500 * time.Millisecond, FailEvery: 50, ExpireBatches: 1, ExpireAfter: 400,
	}))
	w := newAWSWorld(t, up.URL, map[string]string{"BATCH_POLL_INTERVAL": "1s"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)

	status, body := w.call(t, "POST", "/api/v1/campaigns", "key-a",
		map[string]any{"name": "batch", "mode": "batch", "prospects": testprog.Prospects(n)})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, []byte(body)).CampaignID
	c := w.waitDone(t, "key-a", id, 4*time.Minute)
	if c.Status != "completed" || c.Succeeded+c.NeedsReview != n || c.Failed != 0 {
		t.Fatalf("campaign %+v, want completed with all %d written", c, n)
	}
	st := up.BatchStats()
	if st.BatchesCreated != 3 || st.LinesAnswered != n {
		t.Errorf("server: %d batches, %d lines answered; want 3, %d", st.BatchesCreated, st.LinesAnswered, n)
	}
	for _, r := range up.Requests() {
		if len(r.Body.Messages) == 2 {
			t.Fatalf("a first call made in realtime: %s", r.Path)
		}
	}
	_, body = w.call(t, "GET", "/api/v1/campaigns/"+id, "key-a", nil)
	var v awsBatchView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.Mode != "batch" || v.Usage.BatchPromptTokens == 0 || len(v.Batches) != 3 || v.Batches[0].Status != "expired" || v.Batches[0].Total != n {
		t.Fatalf("view %s", body)
	}
	deadline := time.Now().Add(time.Minute)
	for up.BatchStats().FilesStored != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d files left at the provider", up.BatchStats().FilesStored)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Cancelling a batch campaign through the API Lambda cancels its batch at
// the provider.
func TestAWSBatchCancel(t *testing.T) {
	up := openaitest.New(t, openaitest.WithAPIKey(ssmOpenAIKey), openaitest.WithBatch(openaitest.BatchConfig{StageTime: 3 * time.Second}))
	w := newAWSWorld(t, up.URL, map[string]string{"BATCH_POLL_INTERVAL": "1s"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)
	status, body := w.call(t, "POST", "/api/v1/campaigns", "key-a",
		map[string]any{"mode": "batch", "prospects": testprog.Prospects(5)})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, []byte(body)).CampaignID
	deadline := time.Now().Add(time.Minute)
	for up.BatchStats().BatchesCreated == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no batch created")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body := w.call(t, "DELETE", "/api/v1/campaigns/"+id, "key-a", nil); status != 200 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	for up.BatchStats().BatchesCancelled != 1 || up.BatchStats().FilesStored != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the cancel: %+v", up.BatchStats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := w.waitDone(t, "key-a", id, time.Minute); c.Status != "cancelled" || c.Succeeded != 0 {
		t.Fatalf("campaign %+v", c)
	}
}
