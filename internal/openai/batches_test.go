package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

const stage = time.Minute

// batchServer is a test server whose batches move a stage each time clk
// sleeps stage, and the Batches of a Writer for it.
func batchServer(t *testing.T, bc openaitest.BatchConfig, opts ...func(*Config)) (*openaitest.Server, *Batches, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	bc.StageTime = stage
	s := openaitest.New(t, openaitest.WithNow(clk.Now), openaitest.WithBatch(bc))
	return s, mustWriter(t, s, opts...).Batches(), clk
}

// prospects are the prompts of three emails, with their custom_ids.
func prospects(t *testing.T) ([]string, []email.Prompt) {
	t.Helper()
	var ids []string
	var ps []email.Prompt
	for i, first := range []string{"Sarah", "Omar", "Lena"} {
		req := newRequest()
		req.Prospect.FirstName = first
		ids = append(ids, fmt.Sprintf("c1/%d", i))
		ps = append(ps, mustPrompt(t, req, nil))
	}
	return ids, ps
}

func mustLines(t *testing.T, bs *Batches, ids []string, ps []email.Prompt) [][]byte {
	t.Helper()
	var lines [][]byte
	for i := range ids {
		l, err := bs.Line(ids[i], ps[i])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return lines
}

// mustRun uploads lines, creates a batch and polls it until it ends.
func mustRun(t *testing.T, bs *Batches, clk *fakeClock, lines [][]byte) campaign.BatchInfo {
	t.Helper()
	ctx := context.Background()
	in, err := bs.Upload(ctx, "c1-1", lines)
	if err != nil {
		t.Fatal(err)
	}
	bi, err := bs.Create(ctx, in, map[string]string{"campaign": "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if bi.Status != campaign.BatchValidating || bi.InputFileID != in || bi.ID == "" {
		t.Fatalf("created %+v", bi)
	}
	for range 10 {
		if bi, err = bs.Get(ctx, bi.ID); err != nil {
			t.Fatal(err)
		}
		if bi.Status.Ended() {
			return bi
		}
		_ = clk.Sleep(ctx, stage)
	}
	t.Fatalf("batch still %s", bi.Status)
	return bi
}

func TestBatchesLineIsTheWritersRequest(t *testing.T) {
	s := openaitest.New(t)
	w := mustWriter(t, s)
	p := newPrompt(t)
	temp := 0.0
	p.Temperature, p.Model, p.MaxTokens = &temp, "gpt-4o", 700
	if _, err := w.Write(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	line, err := w.Batches().Line("c1/7", p)
	if err != nil {
		t.Fatal(err)
	}
	var got goopenai.BatchChatCompletionRequest
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	if got.CustomID != "c1/7" || got.Method != "POST" || got.URL != goopenai.BatchEndpointChatCompletions {
		t.Errorf("line = %s", line)
	}
	if want := s.Requests()[0].Body; !reflect.DeepEqual(got.Body, want) {
		t.Errorf("line body = %+v\nrealtime request = %+v", got.Body, want)
	}
	if _, err := w.Batches().Line("", p); err == nil || !strings.Contains(err.Error(), "custom_id") {
		t.Errorf("empty custom_id: %v", err)
	}
	if _, err := w.Batches().Line("c1/1", email.Prompt{}); err == nil || !strings.Contains(err.Error(), "no messages") {
		t.Errorf("no messages: %v", err)
	}
}

func TestBatchesCompleted(t *testing.T) {
	s, bs, clk := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	ids, ps := prospects(t)
	bi := mustRun(t, bs, clk, mustLines(t, bs, ids, ps))
	if bi.Status != campaign.BatchCompleted || bi.Total != 3 || bi.Completed != 3 || bi.Failed != 0 ||
		bi.OutputFileID == "" || bi.ErrorFileID != "" {
		t.Fatalf("batch = %+v", bi)
	}
	found, ok, err := bs.Find(ctx, bi.InputFileID)
	if err != nil || !ok || found.ID != bi.ID {
		t.Errorf("Find = %+v, %v, %v", found, ok, err)
	}
	if _, ok, err := bs.Find(ctx, "file-none"); ok || err != nil {
		t.Errorf("Find of an unknown file = %v, %v", ok, err)
	}
	res, err := bs.Results(ctx, bi.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		a := r.Answer
		if r.CustomID != ids[i] || r.Error != "" || a == nil || a.Model == "" || a.Refusal != "" ||
			a.Usage.PromptTokens == 0 || a.Usage.BatchPromptTokens != a.Usage.PromptTokens ||
			a.Usage.BatchCompletionTokens != a.Usage.CompletionTokens {
			t.Fatalf("result %d = %+v", i, r)
		}
		if _, problems := ps[i].Answer.Parse(a.Content); len(problems) > 0 {
			t.Errorf("result %d: %v", i, problems)
		}
		// The answer, written, makes no call.
		ps[i].Answered = a
		d, err := bs.w.Write(ctx, ps[i])
		if err != nil || d.Usage != a.Usage {
			t.Errorf("writing result %d: %+v, %v", i, d, err)
		}
	}
	if s.Count() != 0 {
		t.Errorf("%d chat completion calls", s.Count())
	}
	for _, id := range []string{bi.InputFileID, bi.OutputFileID, bi.OutputFileID} {
		if err := bs.DeleteFile(ctx, id); err != nil {
			t.Errorf("delete %s: %v", id, err)
		}
	}
	if st := s.BatchStats(); st.FilesStored != 0 || st.FilesDeleted != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchesFailedLines(t *testing.T) {
	_, bs, clk := batchServer(t, openaitest.BatchConfig{FailEvery: 2, FailStatus: 400, FailCode: "invalid_prompt", FailMessage: "flagged"})
	ids, ps := prospects(t)
	bi := mustRun(t, bs, clk, mustLines(t, bs, ids, ps))
	if bi.Status != campaign.BatchCompleted || bi.Completed != 2 || bi.Failed != 1 || bi.ErrorFileID == "" {
		t.Fatalf("batch = %+v", bi)
	}
	res, err := bs.Results(context.Background(), bi.ErrorFileID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].CustomID != "c1/1" || res[0].Answer != nil || res[0].Error != "invalid_prompt: flagged" {
		t.Errorf("error results = %+v", res)
	}
}

func TestBatchesExpired(t *testing.T) {
	_, bs, clk := batchServer(t, openaitest.BatchConfig{ExpireBatches: 1, ExpireAfter: 1})
	ids, ps := prospects(t)
	bi := mustRun(t, bs, clk, mustLines(t, bs, ids, ps))
	if bi.Status != campaign.BatchExpired || bi.Completed != 1 || bi.Failed != 2 {
		t.Fatalf("batch = %+v", bi)
	}
	ctx := context.Background()
	out, err := bs.Results(ctx, bi.OutputFileID)
	if err != nil || len(out) != 1 || out[0].Answer == nil || out[0].CustomID != "c1/0" {
		t.Fatalf("output = %+v, %v", out, err)
	}
	errs, err := bs.Results(ctx, bi.ErrorFileID)
	if err != nil || len(errs) != 2 {
		t.Fatalf("errors = %+v, %v", errs, err)
	}
	for _, r := range errs {
		if r.Answer != nil || !strings.HasPrefix(r.Error, "batch_expired: ") {
			t.Errorf("expired line = %+v", r)
		}
	}
}

func TestBatchesFailedValidation(t *testing.T) {
	_, bs, clk := batchServer(t, openaitest.BatchConfig{InvalidBatches: 1, InvalidMessage: "input refused"})
	ids, ps := prospects(t)
	bi := mustRun(t, bs, clk, mustLines(t, bs, ids, ps))
	if bi.Status != campaign.BatchFailed || len(bi.Errors) != 1 || bi.Errors[0] != "invalid_request: input refused" {
		t.Fatalf("batch = %+v", bi)
	}
	// A duplicate custom_id is refused with its line.
	lines := mustLines(t, bs, []string{"c1/0", "c1/0"}, ps[:2])
	bi = mustRun(t, bs, clk, lines)
	if bi.Status != campaign.BatchFailed || len(bi.Errors) != 1 || !strings.HasPrefix(bi.Errors[0], "line 2: duplicate_custom_id: ") {
		t.Fatalf("batch = %+v", bi)
	}
}

func TestBatchesCancel(t *testing.T) {
	s, bs, clk := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	ids, ps := prospects(t)
	in, err := bs.Upload(ctx, "c1-1.jsonl", mustLines(t, bs, ids, ps))
	if err != nil {
		t.Fatal(err)
	}
	bi, err := bs.Create(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.Cancel(ctx, bi.ID); err != nil {
		t.Fatal(err)
	}
	if bi, _ = bs.Get(ctx, bi.ID); bi.Status != campaign.BatchCancelling {
		t.Fatalf("status %s", bi.Status)
	}
	_ = clk.Sleep(ctx, stage)
	if bi, _ = bs.Get(ctx, bi.ID); bi.Status != campaign.BatchCancelled {
		t.Fatalf("status %s", bi.Status)
	}
	// The provider refuses to cancel an ended batch: not an error.
	if err := bs.Cancel(ctx, bi.ID); err != nil {
		t.Errorf("cancelling a cancelled batch: %v", err)
	}
	if err := bs.Cancel(ctx, "batch_none"); err == nil {
		t.Error("cancelling an unknown batch: no error")
	}
	if st := s.BatchStats(); st.BatchesCancelled != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchesUnsupported(t *testing.T) {
	s := openaitest.New(t, openaitest.WithBatch(openaitest.BatchConfig{Unsupported: true}))
	bs := mustWriter(t, s).Batches()
	ctx := context.Background()
	if _, err := bs.Upload(ctx, "in", [][]byte{[]byte(`{}`)}); !errors.Is(err, campaign.ErrBatchUnsupported) {
		t.Errorf("Upload: %v, want ErrBatchUnsupported", err)
	}
	if _, err := bs.Create(ctx, "file-1", nil); !errors.Is(err, campaign.ErrBatchUnsupported) {
		t.Errorf("Create: %v, want ErrBatchUnsupported", err)
	}
}

func TestBatchesErrors(t *testing.T) {
	ctx := context.Background()
	kind := func(err error) email.Kind {
		var e *email.Error
		if errors.As(err, &e) {
			return e.Kind
		}
		return 0
	}
	t.Run("TransientUpload", func(t *testing.T) {
		s, bs, _ := batchServer(t, openaitest.BatchConfig{})
		s.EnqueueBatch(openaitest.Status(503), openaitest.RateLimited(3*time.Second))
		_, err := bs.Upload(ctx, "in", [][]byte{[]byte(`{}`)})
		if kind(err) != email.KindUnavailable || !email.IsTransient(err) || errors.Is(err, campaign.ErrBatchUnsupported) {
			t.Errorf("503: %v", err)
		}
		_, err = bs.Upload(ctx, "in", [][]byte{[]byte(`{}`)})
		var e *email.Error
		if !errors.As(err, &e) || e.Kind != email.KindRateLimited || e.RetryAfter != 3*time.Second {
			t.Errorf("429: %v", err)
		}
		if _, err := bs.Upload(ctx, "in", [][]byte{[]byte(`{}`)}); err != nil {
			t.Errorf("then: %v", err)
		}
	})
	t.Run("RejectedCreate", func(t *testing.T) {
		_, bs, _ := batchServer(t, openaitest.BatchConfig{})
		_, err := bs.Create(ctx, "file-none", nil)
		if kind(err) != email.KindRejected || email.IsTransient(err) || errors.Is(err, campaign.ErrBatchUnsupported) {
			t.Errorf("unknown input file: %v", err)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		s, bs, _ := batchServer(t, openaitest.BatchConfig{}, func(c *Config) { c.Timeout = 50 * time.Millisecond })
		s.EnqueueBatch(openaitest.Stalled())
		if _, err := bs.Get(ctx, "batch_1"); kind(err) != email.KindTimeout || !email.IsTransient(err) {
			t.Errorf("stalled: %v", err)
		}
	})
	t.Run("ErrUploadInput", func(t *testing.T) {
		_, bs, _ := batchServer(t, openaitest.BatchConfig{})
		for name, lines := range map[string][][]byte{
			"no lines":         nil,
			"line 2 is empty":  {[]byte(`{}`), nil},
			"holds a newline":  {[]byte("{}\n{}")},
			"more than the 50": make([][]byte, MaxBatchLines+1),
		} {
			if _, err := bs.Upload(ctx, "in", lines); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("MissingFileDeleted", func(t *testing.T) {
		_, bs, _ := batchServer(t, openaitest.BatchConfig{})
		if err := bs.DeleteFile(ctx, "file-none"); err != nil {
			t.Errorf("deleting a missing file: %v", err)
		}
	})
}

func TestParseResult(t *testing.T) {
	tests := []struct {
		name, line string
		want       campaign.BatchResult
		wantErr    string
	}{
		{"Refusal", `{"id":"r","custom_id":"c/1","response":{"status_code":200,"request_id":"q","body":{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"no"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}},"error":null}`,
			campaign.BatchResult{CustomID: "c/1", Answer: &email.Completion{Refusal: "no", Model: "m",
				Usage: email.Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4, BatchPromptTokens: 3, BatchCompletionTokens: 1}}}, ""},
		{"ErrorNoCode", `{"custom_id":"c/2","response":null,"error":{"message":"timed out"}}`,
			campaign.BatchResult{CustomID: "c/2", Error: "timed out"}, ""},
		{"ErrorBodyNotJSON", `{"custom_id":"c/3","response":{"status_code":502,"body":"bad gateway"},"error":null}`,
			campaign.BatchResult{CustomID: "c/3", Error: "status 502"}, ""},
		{"ErrNoCustomID", `{"response":null,"error":{"message":"x"}}`, campaign.BatchResult{}, "no custom_id"},
		{"ErrNeither", `{"custom_id":"c/4"}`, campaign.BatchResult{}, "neither response nor error"},
		{"ErrNotJSON", `nope`, campaign.BatchResult{}, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseResult([]byte(tt.line))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (%+v), %v", got, got.Answer, err)
			}
		})
	}
}
