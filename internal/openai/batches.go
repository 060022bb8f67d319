package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// Batches is the campaign.Batches port over OpenAI's Files and Batches
// endpoints. It shares its Writer's configuration and HTTP client, and so
// renders each line exactly as the Writer would send the call. It does not
// retry: a transient failure (429, 5xx, timeout) comes back as an
// *email.Error whose Kind says so, for the worker to try again later.
type Batches struct{ w *Writer }

var _ campaign.Batches = (*Batches)(nil)

// Batches returns the Batch API client of w's provider.
func (w *Writer) Batches() *Batches { return &Batches{w: w} }

// Limits of OpenAI's Batch API on one input file.
const (
	MaxBatchLines = 50_000
	MaxBatchBytes = 200 << 20
)

// transferTimeout bounds an upload or a download, which may move up to
// MaxBatchBytes; the caller's deadline wins when it is sooner.
const transferTimeout = 10 * time.Minute

// findPages bounds how many pages of 100 batches, newest first, Find reads.
const findPages = 10

// Line renders p's first call as the request Write would send, under
// customID.
func (b *Batches) Line(customID string, p email.Prompt) ([]byte, error) {
	if customID == "" {
		return nil, errors.New("openai: batch line: the custom_id is empty")
	}
	if len(p.Messages) == 0 {
		return nil, fmt.Errorf("openai: batch line %s: the prompt has no messages", customID)
	}
	line, err := json.Marshal(goopenai.BatchChatCompletionRequest{
		CustomID: customID,
		Body:     b.w.request(p),
		Method:   http.MethodPost,
		URL:      goopenai.BatchEndpointChatCompletions,
	})
	if err != nil {
		return nil, fmt.Errorf("openai: batch line %s: %w", customID, err)
	}
	return line, nil
}

// Upload stores lines as a batch input file. The Files API wants a .jsonl
// name; one is added when name lacks it.
func (b *Batches) Upload(ctx context.Context, name string, lines [][]byte) (string, error) {
	if len(lines) == 0 {
		return "", errors.New("openai: upload batch file: no lines")
	}
	if len(lines) > MaxBatchLines {
		return "", fmt.Errorf("openai: upload batch file: %d lines, more than the %d a batch takes", len(lines), MaxBatchLines)
	}
	size := len(lines) - 1
	for i, l := range lines {
		if len(l) == 0 || bytes.IndexByte(l, '\n') >= 0 {
			return "", fmt.Errorf("openai: upload batch file: line %d is empty or holds a newline", i+1)
		}
		size += len(l)
	}
	if size > MaxBatchBytes {
		return "", fmt.Errorf("openai: upload batch file: %d bytes, more than the %d a batch file takes", size, MaxBatchBytes)
	}
	if name == "" {
		name = "batch"
	}
	if !strings.HasSuffix(name, ".jsonl") {
		name += ".jsonl"
	}
	var f goopenai.File
	status, err := b.call(ctx, "upload batch file", transferTimeout, func(ctx context.Context) (err error) {
		f, err = b.w.client.CreateFileBytes(ctx, goopenai.FileBytesRequest{
			Name: name, Bytes: bytes.Join(lines, []byte("\n")), Purpose: goopenai.PurposeBatch,
		})
		return err
	})
	if err != nil {
		return "", unsupported(status, err)
	}
	return f.ID, nil
}

// Create starts a batch of chat completions over inputFileID, with the 24 h
// completion window.
func (b *Batches) Create(ctx context.Context, inputFileID string, metadata map[string]string) (campaign.BatchInfo, error) {
	if inputFileID == "" {
		return campaign.BatchInfo{}, errors.New("openai: create batch: the input file id is empty")
	}
	var meta map[string]any
	if len(metadata) > 0 {
		meta = make(map[string]any, len(metadata))
		for k, v := range metadata {
			meta[k] = v
		}
	}
	var resp goopenai.BatchResponse
	status, err := b.call(ctx, "create batch", 0, func(ctx context.Context) (err error) {
		resp, err = b.w.client.CreateBatch(ctx, goopenai.CreateBatchRequest{
			InputFileID:      inputFileID,
			Endpoint:         goopenai.BatchEndpointChatCompletions,
			CompletionWindow: "24h",
			Metadata:         meta,
		})
		return err
	})
	if err != nil {
		return campaign.BatchInfo{}, unsupported(status, err)
	}
	return info(resp.Batch), nil
}

// unsupported turns the answer of a server without the endpoint into
// campaign.ErrBatchUnsupported.
func unsupported(status int, err error) error {
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return fmt.Errorf("%w: %w", campaign.ErrBatchUnsupported, err)
	}
	return err
}

// Find looks for the batch over inputFileID among the newest
// findPages·100 batches.
func (b *Batches) Find(ctx context.Context, inputFileID string) (campaign.BatchInfo, bool, error) {
	var after *string
	limit := 100
	for range findPages {
		var resp goopenai.ListBatchResponse
		_, err := b.call(ctx, "list batches", 0, func(ctx context.Context) (err error) {
			resp, err = b.w.client.ListBatch(ctx, after, &limit)
			return err
		})
		if err != nil {
			return campaign.BatchInfo{}, false, err
		}
		for _, bt := range resp.Data {
			if bt.InputFileID == inputFileID {
				return info(bt), true, nil
			}
		}
		if !resp.HasMore || len(resp.Data) == 0 {
			break
		}
		last := resp.Data[len(resp.Data)-1].ID
		after = &last
	}
	return campaign.BatchInfo{}, false, nil
}

// Get returns the batch as the provider reports it now.
func (b *Batches) Get(ctx context.Context, id string) (campaign.BatchInfo, error) {
	var resp goopenai.BatchResponse
	_, err := b.call(ctx, "get batch "+id, 0, func(ctx context.Context) (err error) {
		resp, err = b.w.client.RetrieveBatch(ctx, id)
		return err
	})
	if err != nil {
		return campaign.BatchInfo{}, err
	}
	return info(resp.Batch), nil
}

// Cancel asks the provider to cancel the batch. OpenAI refuses to cancel a
// batch that ended (a 4xx, 409 from openaitest); then the batch is read,
// and one that ended or is cancelling already is not an error.
func (b *Batches) Cancel(ctx context.Context, id string) error {
	status, err := b.call(ctx, "cancel batch "+id, 0, func(ctx context.Context) error {
		_, err := b.w.client.CancelBatch(ctx, id)
		return err
	})
	if err == nil || status < 400 || status >= 500 || status == http.StatusTooManyRequests {
		return err
	}
	bi, gerr := b.Get(ctx, id)
	if gerr == nil && (bi.Status.Ended() || bi.Status == campaign.BatchCancelling) {
		return nil
	}
	return err
}

// Results reads an output or error file.
func (b *Batches) Results(ctx context.Context, fileID string) ([]campaign.BatchResult, error) {
	var out []campaign.BatchResult
	_, err := b.call(ctx, "read batch file "+fileID, transferTimeout, func(ctx context.Context) error {
		raw, err := b.w.client.GetFileContent(ctx, fileID)
		if err != nil {
			return err
		}
		defer raw.Close()
		out, err = readResults(raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readResults parses the lines of an output or error file.
func readResults(r io.Reader) ([]campaign.BatchResult, error) {
	var out []campaign.BatchResult
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			res, perr := parseResult(line)
			if perr != nil {
				return nil, &email.Error{Kind: email.KindRejected, Err: fmt.Errorf("line %d of the batch file: %w", n, perr)}
			}
			out = append(out, res)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// resultLine is a line of an output or error file: a response with its
// status and body (a chat completion or an error), or an error of the
// Batch API itself (batch_expired, batch_cancelled).
type resultLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseResult reads one line. Its text is the prospect's email: errors
// name what is wrong, never the text.
func parseResult(line []byte) (campaign.BatchResult, error) {
	var l resultLine
	if err := json.Unmarshal(line, &l); err != nil {
		return campaign.BatchResult{}, errors.New("not a JSON object")
	}
	if l.CustomID == "" {
		return campaign.BatchResult{}, errors.New("no custom_id")
	}
	res := campaign.BatchResult{CustomID: l.CustomID}
	switch {
	case l.Error != nil:
		res.Error = reason(l.Error.Code, l.Error.Message, "the request failed")
	case l.Response == nil:
		return res, fmt.Errorf("custom_id %q: neither response nor error", l.CustomID)
	case l.Response.StatusCode == http.StatusOK:
		var resp goopenai.ChatCompletionResponse
		if err := json.Unmarshal(l.Response.Body, &resp); err != nil {
			return res, fmt.Errorf("custom_id %q: the response body is not a chat completion", l.CustomID)
		}
		content, refusal := answer(resp)
		res.Answer = &email.Completion{Content: content, Refusal: refusal, Model: resp.Model, Usage: usage(resp.Usage).AsBatch()}
	default:
		var body goopenai.ErrorResponse
		res.Error = "status " + strconv.Itoa(l.Response.StatusCode)
		if json.Unmarshal(l.Response.Body, &body) == nil && body.Error != nil {
			code, _ := body.Error.Code.(string)
			res.Error = reason(code, body.Error.Message, res.Error)
		}
	}
	return res, nil
}

// reason is a failed line's reason: the provider's message, with its code.
func reason(code, msg, fallback string) string {
	switch {
	case msg != "" && code != "":
		return code + ": " + msg
	case msg != "":
		return msg
	case code != "":
		return code
	}
	return fallback
}

// DeleteFile deletes a file; one already gone is not an error.
func (b *Batches) DeleteFile(ctx context.Context, id string) error {
	status, err := b.call(ctx, "delete file "+id, 0, func(ctx context.Context) error {
		return b.w.client.DeleteFile(ctx, id)
	})
	if status == http.StatusNotFound {
		return nil
	}
	return err
}

// call makes one Files or Batches call, bounded by timeout (0 means the
// Writer's), and classifies a failure as the Writer does. It returns the
// HTTP status of a failed answer, 0 when there was none.
func (b *Batches) call(ctx context.Context, op string, timeout time.Duration, fn func(context.Context) error) (int, error) {
	if timeout == 0 {
		timeout = b.w.cfg.Timeout
	}
	ac := &attemptContext{Context: ctx}
	actx, cancel := context.WithTimeout(ac, timeout)
	defer cancel()
	err := fn(actx)
	if err == nil {
		return 0, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return 0, fmt.Errorf("openai: %s: %w", op,
			&email.Error{Kind: email.KindTimeout, Err: fmt.Errorf("no answer within %v: %w", timeout, err)})
	}
	if e := (*email.Error)(nil); errors.As(err, &e) {
		// fn classified it already (a broken batch file).
		return 0, fmt.Errorf("openai: %s: %w", op, err)
	}
	f := b.w.classify(ctx, actx, &ac.a, err)
	return f.status, fmt.Errorf("openai: %s: %w", op, f.err)
}

// info is a provider batch as the campaign sees it.
func info(bt goopenai.Batch) campaign.BatchInfo {
	bi := campaign.BatchInfo{
		ID:          bt.ID,
		Status:      campaign.BatchStatus(bt.Status),
		InputFileID: bt.InputFileID,
		Total:       bt.RequestCounts.Total,
		Completed:   bt.RequestCounts.Completed,
		Failed:      bt.RequestCounts.Failed,
	}
	if bt.OutputFileID != nil {
		bi.OutputFileID = *bt.OutputFileID
	}
	if bt.ErrorFileID != nil {
		bi.ErrorFileID = *bt.ErrorFileID
	}
	if bt.Errors != nil {
		for _, e := range bt.Errors.Data {
			r := reason(e.Code, e.Message, "the batch failed")
			if e.Line != nil {
				r = "line " + strconv.Itoa(*e.Line) + ": " + r
			}
			bi.Errors = append(bi.Errors, r)
		}
	}
	return bi
}
