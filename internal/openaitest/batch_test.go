package openaitest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/openaitest"
)

const stage = time.Minute

// batchServer is a server whose batches move a stage each time the test
// moves its clock by stage.
func batchServer(t *testing.T, b openaitest.BatchConfig) (*openaitest.Server, *openai.Client, *clock) {
	t.Helper()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	b.StageTime = stage
	s := openaitest.New(t, openaitest.WithNow(clk.Now), openaitest.WithBatch(b))
	return s, client(s.URL), clk
}

// batchLine is one JSONL line asking customID's email of first at company.
func batchLine(tb testing.TB, customID, first, company string) []byte {
	tb.Helper()
	return openai.BatchChatCompletionRequest{
		CustomID: customID, Body: mustRequest(tb, first, company),
		Method: http.MethodPost, URL: openai.BatchEndpointChatCompletions,
	}.MarshalBatchLineItem()
}

func mustUpload(tb testing.TB, c *openai.Client, lines ...[]byte) string {
	tb.Helper()
	f, err := c.CreateFileBytes(context.Background(), openai.FileBytesRequest{
		Name: "input.jsonl", Bytes: bytes.Join(lines, []byte("\n")), Purpose: openai.PurposeBatch,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if f.ID == "" || f.Object != "file" || f.Purpose != "batch" || f.FileName != "input.jsonl" || f.Status != "processed" {
		tb.Fatalf("uploaded file = %+v", f)
	}
	return f.ID
}

func mustCreate(tb testing.TB, c *openai.Client, fileID string) openai.Batch {
	tb.Helper()
	b, err := c.CreateBatch(context.Background(), openai.CreateBatchRequest{
		InputFileID: fileID, Endpoint: openai.BatchEndpointChatCompletions,
		Metadata: map[string]any{"campaign": "c1"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b.Batch
}

func mustRetrieve(tb testing.TB, c *openai.Client, id string) openai.Batch {
	tb.Helper()
	b, err := c.RetrieveBatch(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return b.Batch
}

// outputLine is one line of an output or error file.
type outputLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func mustContent(tb testing.TB, c *openai.Client, fileID *string) []outputLine {
	tb.Helper()
	if fileID == nil {
		return nil
	}
	raw, err := c.GetFileContent(context.Background(), *fileID)
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	var out []outputLine
	sc := bufio.NewScanner(raw)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func statusOf(err error) int {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	return 0
}

func TestBatchCompleted(t *testing.T) {
	s, c, clk := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	people := [][2]string{{"Sarah", "TechNova"}, {"Omar", "Bluefin"}, {"Lena", "Corvid Labs"}}
	var lines [][]byte
	for i, p := range people {
		lines = append(lines, batchLine(t, fmt.Sprintf("c1/%d", i), p[0], p[1]))
	}
	in := mustUpload(t, c, lines...)
	b := mustCreate(t, c, in)
	if b.Status != "validating" || b.Object != "batch" || b.InputFileID != in || b.CompletionWindow != "24h" ||
		b.Endpoint != openai.BatchEndpointChatCompletions || b.Metadata["campaign"] != "c1" || b.ExpiresAt == nil {
		t.Fatalf("created batch = %+v", b)
	}
	if got := mustRetrieve(t, c, b.ID); got.Status != "validating" {
		t.Fatalf("before a stage passed: %s", got.Status)
	}
	for _, want := range []string{"in_progress", "finalizing", "completed"} {
		clk.Add(stage)
		if got := mustRetrieve(t, c, b.ID); got.Status != want {
			t.Fatalf("status = %s, want %s", got.Status, want)
		}
	}
	b = mustRetrieve(t, c, b.ID)
	if b.RequestCounts != (openai.BatchRequestCounts{Total: 3, Completed: 3}) || b.OutputFileID == nil ||
		b.ErrorFileID != nil || b.InProgressAt == nil || b.FinalizingAt == nil || b.CompletedAt == nil {
		t.Fatalf("completed batch = %+v", b)
	}
	out := mustContent(t, c, b.OutputFileID)
	if len(out) != 3 {
		t.Fatalf("%d output lines, want 3", len(out))
	}
	for i, l := range out {
		if l.CustomID != fmt.Sprintf("c1/%d", i) || l.Error != nil || l.Response == nil ||
			l.Response.StatusCode != 200 || l.Response.RequestID == "" || !strings.HasPrefix(l.ID, "batch_req_") {
			t.Fatalf("line %d = %+v", i, l)
		}
		var got openai.ChatCompletionResponse
		if err := json.Unmarshal(l.Response.Body, &got); err != nil {
			t.Fatal(err)
		}
		// The same request made in realtime gets the same answer and usage.
		want, err := c.CreateChatCompletion(ctx, mustRequest(t, people[i][0], people[i][1]))
		if err != nil {
			t.Fatal(err)
		}
		if got.Object != "chat.completion" || got.Model != want.Model || got.Usage != want.Usage ||
			got.Choices[0].Message.Content != want.Choices[0].Message.Content {
			t.Errorf("line %d answered %+v, realtime %+v", i, got, want)
		}
	}
	if got := s.Count(); got != 3 {
		t.Errorf("Count = %d, want only the 3 realtime calls", got)
	}
	st := s.BatchStats()
	if st != (openaitest.BatchStats{FilesUploaded: 1, FilesStored: 2, BatchesCreated: 1, LinesAnswered: 3}) {
		t.Errorf("stats = %+v", st)
	}

	for _, id := range []string{in, *b.OutputFileID} {
		if err := c.DeleteFile(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetFile(ctx, id); statusOf(err) != 404 {
			t.Errorf("GetFile after delete: %v, want a 404", err)
		}
	}
	if err := c.DeleteFile(ctx, in); statusOf(err) != 404 {
		t.Errorf("deleting again: %v, want a 404", err)
	}
	if st := s.BatchStats(); st.FilesDeleted != 2 || st.FilesStored != 0 {
		t.Errorf("after deletes: %+v", st)
	}
}

func TestBatchZeroStageTime(t *testing.T) {
	s := openaitest.New(t)
	c := client(s.URL)
	b := mustCreate(t, c, mustUpload(t, c, batchLine(t, "a", "Sarah", "TechNova")))
	if got := mustRetrieve(t, c, b.ID); got.Status != "completed" || got.RequestCounts.Completed != 1 {
		t.Fatalf("with no StageTime the first look finds %+v", got)
	}
}

// runBatch uploads lines, creates a batch and moves the clock until it ends.
func runBatch(t *testing.T, c *openai.Client, clk *clock, lines ...[]byte) openai.Batch {
	t.Helper()
	b := mustCreate(t, c, mustUpload(t, c, lines...))
	for range 10 {
		b = mustRetrieve(t, c, b.ID)
		switch b.Status {
		case "completed", "failed", "expired", "cancelled":
			return b
		}
		clk.Add(stage)
	}
	t.Fatalf("batch still %s", b.Status)
	return b
}

func TestBatchFailedLines(t *testing.T) {
	s, c, clk := batchServer(t, openaitest.BatchConfig{
		FailLines: []string{"c/0"}, FailEvery: 3, FailStatus: 400, FailCode: "context_length_exceeded", FailMessage: "too long",
		MalformedEvery: 2,
	})
	var lines [][]byte
	for i := range 6 {
		lines = append(lines, batchLine(t, fmt.Sprintf("c/%d", i), "Sarah", "TechNova"))
	}
	b := runBatch(t, c, clk, lines...)
	if b.Status != "completed" || b.RequestCounts != (openai.BatchRequestCounts{Total: 6, Completed: 3, Failed: 3}) {
		t.Fatalf("batch = %+v", b)
	}
	errs := mustContent(t, c, b.ErrorFileID)
	var failed []string
	for _, l := range errs {
		failed = append(failed, l.CustomID)
		var body openai.ErrorResponse
		if l.Error != nil || l.Response == nil || l.Response.StatusCode != 400 || json.Unmarshal(l.Response.Body, &body) != nil ||
			body.Error.Message != "too long" || body.Error.Code != "context_length_exceeded" {
			t.Errorf("error line = %+v (%s)", l, l.Response.Body)
		}
	}
	if got := strings.Join(failed, ","); got != "c/0,c/2,c/5" {
		t.Errorf("failed lines %s, want c/0 (FailLines), c/2 and c/5 (every 3rd)", got)
	}
	out := mustContent(t, c, b.OutputFileID)
	var malformed []string
	for _, l := range out {
		var r openai.ChatCompletionResponse
		if err := json.Unmarshal(l.Response.Body, &r); err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(r.Choices[0].Message.Content)) {
			malformed = append(malformed, l.CustomID)
		}
	}
	if got := strings.Join(malformed, ","); got != "c/1,c/3" {
		t.Errorf("malformed answers %s, want c/1 and c/3 (every 2nd not failed)", got)
	}
	if st := s.BatchStats(); st.LinesAnswered != 3 || st.LinesFailed != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchExpired(t *testing.T) {
	s, c, clk := batchServer(t, openaitest.BatchConfig{ExpireBatches: 1, ExpireAfter: 1})
	lines := [][]byte{batchLine(t, "c/0", "Sarah", "TechNova"), batchLine(t, "c/1", "Omar", "Bluefin"), batchLine(t, "c/2", "Lena", "Corvid")}
	b := runBatch(t, c, clk, lines...)
	if b.Status != "expired" || b.ExpiredAt == nil || b.RequestCounts != (openai.BatchRequestCounts{Total: 3, Completed: 1, Failed: 2}) {
		t.Fatalf("batch = %+v", b)
	}
	if out := mustContent(t, c, b.OutputFileID); len(out) != 1 || out[0].CustomID != "c/0" {
		t.Errorf("output = %+v, want c/0 alone", out)
	}
	errs := mustContent(t, c, b.ErrorFileID)
	if len(errs) != 2 || errs[0].CustomID != "c/1" || errs[1].CustomID != "c/2" {
		t.Fatalf("error file = %+v", errs)
	}
	for _, l := range errs {
		if l.Response != nil || l.Error == nil || l.Error.Code != "batch_expired" || l.Error.Message == "" {
			t.Errorf("expired line = %+v", l)
		}
	}
	// Only the first batch expires.
	if b := runBatch(t, c, clk, lines...); b.Status != "completed" || b.RequestCounts.Completed != 3 {
		t.Errorf("second batch = %+v", b)
	}
	if st := s.BatchStats(); st.LinesAnswered != 4 || st.LinesFailed != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchFailedValidation(t *testing.T) {
	ok := batchLine(t, "a", "Sarah", "TechNova")
	other := mustRequest(t, "Omar", "Bluefin")
	other.Model = "gpt-4o"
	tests := []struct {
		name     string
		cfg      openaitest.BatchConfig
		lines    [][]byte
		wantCode string
		wantLine int
	}{
		{"InvalidBatches", openaitest.BatchConfig{InvalidBatches: 1, InvalidMessage: "refused"}, [][]byte{ok}, "invalid_request", 0},
		{"DuplicateCustomID", openaitest.BatchConfig{}, [][]byte{ok, ok}, "duplicate_custom_id", 2},
		{"MissingCustomID", openaitest.BatchConfig{}, [][]byte{[]byte(`{"method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}`)}, "missing_required_parameter", 1},
		{"Method", openaitest.BatchConfig{}, [][]byte{[]byte(`{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{"model":"m"}}`)}, "invalid_method", 1},
		{"URL", openaitest.BatchConfig{}, [][]byte{[]byte(`{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m"}}`)}, "invalid_url", 1},
		{"NoModel", openaitest.BatchConfig{}, [][]byte{[]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}`)}, "missing_required_parameter", 1},
		{"MismatchedModel", openaitest.BatchConfig{}, [][]byte{ok, openai.BatchChatCompletionRequest{
			CustomID: "b", Body: other, Method: "POST", URL: openai.BatchEndpointChatCompletions}.MarshalBatchLineItem()}, "mismatched_model", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, clk := batchServer(t, tt.cfg)
			b := runBatch(t, c, clk, tt.lines...)
			if b.Status != "failed" || b.FailedAt == nil || b.Errors == nil || len(b.Errors.Data) == 0 ||
				b.OutputFileID != nil || b.ErrorFileID != nil {
				t.Fatalf("batch = %+v", b)
			}
			e := b.Errors.Data[0]
			if e.Code != tt.wantCode || e.Message == "" || (tt.wantLine > 0 && (e.Line == nil || *e.Line != tt.wantLine)) {
				t.Errorf("error = %+v (line %v)", e, e.Line)
			}
			if tt.cfg.InvalidMessage != "" && e.Message != tt.cfg.InvalidMessage {
				t.Errorf("message = %q", e.Message)
			}
			if st := s.BatchStats(); st.LinesAnswered != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
	t.Run("OnlyTheFirstBatches", func(t *testing.T) {
		_, c, clk := batchServer(t, openaitest.BatchConfig{InvalidBatches: 1, ExpireBatches: 2})
		for _, want := range []string{"failed", "expired", "completed"} {
			if b := runBatch(t, c, clk, ok); b.Status != want {
				t.Errorf("status = %s, want %s", b.Status, want)
			}
		}
	})
}

func TestBatchCancel(t *testing.T) {
	s, c, clk := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	b := mustCreate(t, c, mustUpload(t, c, batchLine(t, "c/0", "Sarah", "TechNova"), batchLine(t, "c/1", "Omar", "Bluefin")))
	clk.Add(stage)
	if got := mustRetrieve(t, c, b.ID); got.Status != "in_progress" {
		t.Fatalf("status %s", got.Status)
	}
	got, err := c.CancelBatch(ctx, b.ID)
	if err != nil || got.Status != "cancelling" || got.CancellingAt == nil {
		t.Fatalf("cancel: %+v, %v", got.Batch, err)
	}
	if got, err := c.CancelBatch(ctx, b.ID); err != nil || got.Status != "cancelling" {
		t.Fatalf("cancelling again: %+v, %v", got.Batch, err)
	}
	clk.Add(stage)
	done := mustRetrieve(t, c, b.ID)
	if done.Status != "cancelled" || done.CancelledAt == nil || done.OutputFileID != nil ||
		done.RequestCounts != (openai.BatchRequestCounts{Total: 2, Failed: 2}) {
		t.Fatalf("cancelled batch = %+v", done)
	}
	for _, l := range mustContent(t, c, done.ErrorFileID) {
		if l.Error == nil || l.Error.Code != "batch_cancelled" {
			t.Errorf("line = %+v", l)
		}
	}
	if _, err := c.CancelBatch(ctx, b.ID); statusOf(err) != http.StatusConflict {
		t.Errorf("cancelling a cancelled batch: %v, want a 409", err)
	}
	if _, err := c.CancelBatch(ctx, "batch_missing"); statusOf(err) != http.StatusNotFound {
		t.Errorf("cancelling a missing batch: %v, want a 404", err)
	}
	if st := s.BatchStats(); st.BatchesCancelled != 1 || st.LinesAnswered != 0 || st.LinesFailed != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBatchList(t *testing.T) {
	_, c, _ := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	in := mustUpload(t, c, batchLine(t, "a", "Sarah", "TechNova"))
	var created []string
	for range 5 {
		created = append([]string{mustCreate(t, c, in).ID}, created...) // newest first
	}
	var listed []string
	var after *string
	limit := 2
	for page := 0; ; page++ {
		resp, err := c.ListBatch(ctx, after, &limit)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Object != "list" || len(resp.Data) == 0 || resp.FirstID != resp.Data[0].ID || resp.LastID != resp.Data[len(resp.Data)-1].ID {
			t.Fatalf("page %d = %+v", page, resp)
		}
		for _, b := range resp.Data {
			listed = append(listed, b.ID)
		}
		if !resp.HasMore {
			break
		}
		after = &resp.LastID
	}
	if strings.Join(listed, ",") != strings.Join(created, ",") {
		t.Errorf("listed %v, want %v", listed, created)
	}
	resp, err := c.ListBatch(ctx, nil, nil)
	if err != nil || len(resp.Data) != 5 || resp.HasMore {
		t.Errorf("default page: %d batches, has_more %v, %v", len(resp.Data), resp.HasMore, err)
	}
	bad := 101
	if _, err := c.ListBatch(ctx, nil, &bad); statusOf(err) != 400 {
		t.Errorf("limit 101: %v, want a 400", err)
	}
	missing := "batch_missing"
	if _, err := c.ListBatch(ctx, &missing, nil); statusOf(err) != 400 {
		t.Errorf("after an unknown batch: %v, want a 400", err)
	}
}

func TestBatchRefused(t *testing.T) {
	_, c, _ := batchServer(t, openaitest.BatchConfig{})
	ctx := context.Background()
	line := batchLine(t, "a", "Sarah", "TechNova")
	upload := func(name string, purpose openai.PurposeType, data []byte) error {
		_, err := c.CreateFileBytes(ctx, openai.FileBytesRequest{Name: name, Bytes: data, Purpose: purpose})
		return err
	}
	in := mustUpload(t, c, line)
	create := func(req openai.CreateBatchRequest) error {
		_, err := c.CreateBatch(ctx, req)
		return err
	}
	chat := openai.BatchEndpointChatCompletions
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Purpose", upload("in.jsonl", openai.PurposeFineTune, line), "'purpose'"},
		{"NotJSONL", upload("in.csv", openai.PurposeBatch, line), "Must be .jsonl"},
		{"NotJSONLines", upload("in.jsonl", openai.PurposeBatch, []byte("{}\nnot json")), "line 2 is not a JSON object"},
		{"Empty", upload("in.jsonl", openai.PurposeBatch, []byte("\n")), "no requests"},
		{"NoInputFile", create(openai.CreateBatchRequest{Endpoint: chat}), "'input_file_id'"},
		{"UnknownInputFile", create(openai.CreateBatchRequest{InputFileID: "file-x", Endpoint: chat}), "no batch input file 'file-x'"},
		{"Endpoint", create(openai.CreateBatchRequest{InputFileID: in, Endpoint: openai.BatchEndpointEmbeddings}), "'endpoint'"},
		{"Window", create(openai.CreateBatchRequest{InputFileID: in, Endpoint: chat, CompletionWindow: "1h"}), "'completion_window'"},
		{"Metadata", create(openai.CreateBatchRequest{InputFileID: in, Endpoint: chat, Metadata: map[string]any{"n": 1}}), "value of 'n' must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr *openai.APIError
			if !errors.As(tt.err, &apiErr) || apiErr.HTTPStatusCode != 400 || !strings.Contains(apiErr.Message, tt.want) {
				t.Errorf("err = %v, want a 400 naming %s", tt.err, tt.want)
			}
		})
	}
}

func TestBatchUnsupported(t *testing.T) {
	s := openaitest.New(t, openaitest.WithBatch(openaitest.BatchConfig{Unsupported: true}))
	c := client(s.URL)
	ctx := context.Background()
	_, err := c.CreateFileBytes(ctx, openai.FileBytesRequest{Name: "in.jsonl", Bytes: batchLine(t, "a", "S", "T"), Purpose: openai.PurposeBatch})
	if statusOf(err) != 404 {
		t.Errorf("upload: %v, want a 404", err)
	}
	if _, err := c.CreateBatch(ctx, openai.CreateBatchRequest{InputFileID: "file-x"}); statusOf(err) != 404 {
		t.Errorf("create: %v, want a 404", err)
	}
	if _, err := c.CreateChatCompletion(ctx, mustRequest(t, "Sarah", "TechNova")); err != nil {
		t.Errorf("chat completions still work: %v", err)
	}
}

func TestBatchScript(t *testing.T) {
	s, c, _ := batchServer(t, openaitest.BatchConfig{Script: []openaitest.Reply{openaitest.Status(500)}})
	s.EnqueueBatch(openaitest.RateLimited(2 * time.Second))
	ctx := context.Background()
	line := batchLine(t, "a", "Sarah", "TechNova")
	req := openai.FileBytesRequest{Name: "in.jsonl", Bytes: line, Purpose: openai.PurposeBatch}
	if _, err := c.CreateFileBytes(ctx, req); statusOf(err) != 500 {
		t.Errorf("first: %v, want the scripted 500", err)
	}
	if _, err := c.CreateFileBytes(ctx, req); statusOf(err) != 429 {
		t.Errorf("second: %v, want the scripted 429", err)
	}
	if _, err := c.CreateFileBytes(ctx, req); err != nil {
		t.Errorf("third: %v", err)
	}
	if s.Count() != 0 {
		t.Errorf("the chat script or count was touched: %d", s.Count())
	}
}

func TestBatchAPIKey(t *testing.T) {
	s := openaitest.New(t, openaitest.WithAPIKey("sk-right"))
	cfg := openai.DefaultConfig("sk-wrong")
	cfg.BaseURL = s.URL
	if _, err := openai.NewClientWithConfig(cfg).ListBatch(context.Background(), nil, nil); statusOf(err) != 401 {
		t.Errorf("wrong key: %v, want a 401", err)
	}
}

func TestBatchConcurrent(t *testing.T) {
	s, c, clk := batchServer(t, openaitest.BatchConfig{})
	line := batchLine(t, "a", "Sarah", "TechNova")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			ctx := context.Background()
			f, err := c.CreateFileBytes(ctx, openai.FileBytesRequest{Name: "in.jsonl", Bytes: line, Purpose: openai.PurposeBatch})
			if err != nil {
				errs <- err
				return
			}
			b, err := c.CreateBatch(ctx, openai.CreateBatchRequest{InputFileID: f.ID, Endpoint: openai.BatchEndpointChatCompletions})
			if err != nil {
				errs <- err
				return
			}
			for range 5 {
				clk.Add(stage)
				if _, err := c.RetrieveBatch(ctx, b.ID); err != nil {
					errs <- err
					return
				}
				if _, err := c.ListBatch(ctx, nil, nil); err != nil {
					errs <- err
					return
				}
			}
			r, err := c.GetFileContent(ctx, f.ID)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, r)
			r.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.BatchStats(); st.BatchesCreated != 8 || st.LinesAnswered != 8 {
		t.Errorf("stats = %+v", st)
	}
}
