package openaitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Batch API as OpenAI serves it: a batch over an uploaded input file
// goes validating → in_progress → finalizing → completed, or to failed
// (its input refused), expired (its window ran out) or, when cancelled,
// cancelling → cancelled. Each line is answered by the same code as
// POST /v1/chat/completions, so a batch answer equals a realtime one.

// BatchStats counts what the Files and Batches endpoints did. Batches
// move on only when a request looks at them, so the line counts grow as
// they are polled.
type BatchStats struct {
	// FilesUploaded counts files stored by POST /v1/files.
	FilesUploaded int
	// FilesStored is how many files are held now: uploaded, and output
	// and error files, less those deleted.
	FilesStored int
	// FilesDeleted counts files deleted by DELETE /v1/files/{id}.
	FilesDeleted int
	// BatchesCreated counts batches created; BatchesCancelled the
	// cancels that took effect (a batch that was not cancelling yet).
	BatchesCreated   int
	BatchesCancelled int
	// LinesAnswered counts lines answered with a chat completion (in an
	// output file); LinesFailed lines written to an error file.
	LinesAnswered int
	LinesFailed   int
}

// BatchStats returns the counts so far.
func (h *Handler) BatchStats() BatchStats {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	s := h.stats
	s.FilesStored = len(h.files)
	return s
}

// EnqueueBatch adds replies to the Files and Batches endpoints' script.
func (h *Handler) EnqueueBatch(replies ...Reply) {
	h.bmu.Lock()
	h.bscript = append(h.bscript, replies...)
	h.bmu.Unlock()
}

// batchJSON is a batch object as OpenAI sends it.
type batchJSON struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *batchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    requestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
}

type batchErrors struct {
	Object string       `json:"object"`
	Data   []batchError `json:"data"`
}

type batchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

type requestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// batch is one batch and the state the server keeps for it.
type batch struct {
	wire batchJSON
	// n is the batch's rank in creation order, from 1, for the knobs
	// that pick the first batches.
	n int
	// input is the input file's content when the batch was created.
	input []byte
	// lines are the input's requests, once validated.
	lines []inputLine
	// next is when the current stage ends.
	next time.Time
	// answered is true once the lines were answered; out and errs are the
	// output and error files' lines.
	answered  bool
	out, errs []byte
}

// inputLine is one request of a batch input file.
type inputLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

const chatEndpoint = "/v1/chat/completions"

// serveBatchAPI serves the Files and Batches endpoints; rest is the path
// after /v1.
func (h *Handler) serveBatchAPI(w http.ResponseWriter, r *http.Request, rest string) {
	if h.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.cfg.APIKey {
		h.batchErrorCode(w, http.StatusUnauthorized, "Incorrect API key provided.", "", "invalid_api_key")
		return
	}
	if !h.scripted(w, r) {
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	method := r.Method
	switch {
	case len(parts) == 1 && parts[0] == "files" && method == http.MethodPost:
		h.uploadFile(w, r)
	case len(parts) == 2 && parts[0] == "files" && (method == http.MethodGet || method == http.MethodDelete):
		h.serveFile(w, r, parts[1], false)
	case len(parts) == 3 && parts[0] == "files" && parts[2] == "content" && method == http.MethodGet:
		h.serveFile(w, r, parts[1], true)
	case len(parts) == 1 && parts[0] == "batches" && method == http.MethodPost:
		h.createBatch(w, r)
	case len(parts) == 1 && parts[0] == "batches" && method == http.MethodGet:
		h.listBatches(w, r)
	case len(parts) == 2 && parts[0] == "batches" && method == http.MethodGet:
		h.getBatch(w, parts[1])
	case len(parts) == 3 && parts[0] == "batches" && parts[2] == "cancel" && method == http.MethodPost:
		h.cancelBatch(w, parts[1])
	default:
		h.batchError(w, http.StatusNotFound, "Invalid URL ("+method+" "+r.URL.Path+")", "")
	}
}

// scripted applies the next scripted reply, if any: it reports whether
// the request is still to be served.
func (h *Handler) scripted(w http.ResponseWriter, r *http.Request) bool {
	h.bmu.Lock()
	var reply Reply
	have := len(h.bscript) > 0
	if have {
		reply, h.bscript = h.bscript[0], h.bscript[1:]
	}
	h.bmu.Unlock()
	if !have {
		return true
	}
	if d := h.cfg.Latency + reply.Delay; d > 0 && !h.wait(r, d) {
		return false
	}
	if reply.Stall {
		select {
		case <-r.Context().Done():
			return false
		case <-h.stop:
			panic(http.ErrAbortHandler)
		}
	}
	if reply.Status == 0 || reply.Status == http.StatusOK {
		return true
	}
	for k, vals := range reply.Header {
		w.Header()[k] = vals
	}
	if reply.Body != "" {
		writeBody(w, reply.Status, []byte(reply.Body))
		return false
	}
	msg, typ, code := errorFor(reply.Status)
	h.writeErrorStatus(w, reply.Status, msg, typ, code)
	return false
}

// createBatch serves POST /v1/batches.
func (h *Handler) createBatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID      string         `json:"input_file_id"`
		Endpoint         string         `json:"endpoint"`
		CompletionWindow string         `json:"completion_window"`
		Metadata         map[string]any `json:"metadata"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		h.batchError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.", "")
		return
	}
	switch {
	case req.InputFileID == "":
		h.batchError(w, http.StatusBadRequest, "Missing required parameter: 'input_file_id'.", "input_file_id")
		return
	case req.Endpoint == "":
		h.batchError(w, http.StatusBadRequest, "Missing required parameter: 'endpoint'.", "endpoint")
		return
	case req.Endpoint != chatEndpoint:
		h.batchError(w, http.StatusBadRequest, "Invalid value for 'endpoint': openaitest serves only '"+chatEndpoint+"', got '"+req.Endpoint+"'.", "endpoint")
		return
	case req.CompletionWindow != "24h":
		h.batchError(w, http.StatusBadRequest, "Invalid value for 'completion_window': only '24h' is supported, got '"+req.CompletionWindow+"'.", "completion_window")
		return
	}
	meta, problem := checkMetadata(req.Metadata)
	if problem != "" {
		h.batchError(w, http.StatusBadRequest, problem, "metadata")
		return
	}

	h.bmu.Lock()
	f, ok := h.files[req.InputFileID]
	if !ok || f.Purpose != "batch" {
		h.bmu.Unlock()
		// A 400, not a 404: a client reads a 404 here as a server
		// without the Batches endpoint.
		h.batchError(w, http.StatusBadRequest, "Invalid 'input_file_id': no batch input file '"+req.InputFileID+"'.", "input_file_id")
		return
	}
	now := h.now()
	h.batchSeq++
	h.stats.BatchesCreated++
	b := &batch{
		n:     h.batchSeq,
		input: f.data,
		next:  now.Add(h.cfg.Batch.StageTime),
		wire: batchJSON{
			ID:               "batch_openaitest_" + strconv.Itoa(h.batchSeq),
			Object:           "batch",
			Endpoint:         req.Endpoint,
			InputFileID:      f.ID,
			CompletionWindow: req.CompletionWindow,
			Status:           "validating",
			CreatedAt:        now.Unix(),
			ExpiresAt:        unix(now.Add(24 * time.Hour)),
			Metadata:         meta,
		},
	}
	h.batches = append(h.batches, b)
	h.batchByID[b.wire.ID] = b
	out := b.wire
	h.bmu.Unlock()
	writeJSON(w, http.StatusOK, &out)
}

// checkMetadata applies OpenAI's limits: up to 16 pairs, keys up to 64
// characters, string values up to 512.
func checkMetadata(m map[string]any) (map[string]string, string) {
	if m == nil {
		return nil, ""
	}
	if len(m) > 16 {
		return nil, "Invalid 'metadata': at most 16 keys, got " + strconv.Itoa(len(m)) + "."
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		switch {
		case len(k) > 64:
			return nil, "Invalid 'metadata': key '" + k + "' is longer than 64 characters."
		case !ok:
			return nil, "Invalid 'metadata': the value of '" + k + "' must be a string."
		case len(s) > 512:
			return nil, "Invalid 'metadata': the value of '" + k + "' is longer than 512 characters."
		}
		out[k] = s
	}
	return out, ""
}

// getBatch serves GET /v1/batches/{id}.
func (h *Handler) getBatch(w http.ResponseWriter, id string) {
	h.bmu.Lock()
	b, ok := h.batchByID[id]
	var out batchJSON
	if ok {
		h.advance(b, h.now())
		out = b.wire
	}
	h.bmu.Unlock()
	if !ok {
		h.batchError(w, http.StatusNotFound, "No batch found with id '"+id+"'.", "batch_id")
		return
	}
	writeJSON(w, http.StatusOK, &out)
}

// listBatches serves GET /v1/batches: newest first, a page of limit
// (1-100, default 20) after the batch named by after.
func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			h.batchError(w, http.StatusBadRequest, "Invalid 'limit': must be an integer from 1 to 100, got '"+v+"'.", "limit")
			return
		}
		limit = n
	}
	after := q.Get("after")
	h.bmu.Lock()
	start := 0
	if after != "" {
		// h.batches is in creation order; the list is newest first.
		i := slices.IndexFunc(h.batches, func(b *batch) bool { return b.wire.ID == after })
		if i < 0 {
			h.bmu.Unlock()
			h.batchError(w, http.StatusBadRequest, "Invalid 'after': no batch '"+after+"'.", "after")
			return
		}
		start = len(h.batches) - i
	}
	now := h.now()
	page := []batchJSON{}
	for i := len(h.batches) - 1 - start; i >= 0 && len(page) < limit; i-- {
		h.advance(h.batches[i], now)
		page = append(page, h.batches[i].wire)
	}
	more := len(h.batches)-start > len(page)
	h.bmu.Unlock()
	list := struct {
		Object  string      `json:"object"`
		Data    []batchJSON `json:"data"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
		HasMore bool        `json:"has_more"`
	}{Object: "list", Data: page, HasMore: more}
	if len(page) > 0 {
		list.FirstID, list.LastID = &page[0].ID, &page[len(page)-1].ID
	}
	writeJSON(w, http.StatusOK, &list)
}

// cancelBatch serves POST /v1/batches/{id}/cancel.
func (h *Handler) cancelBatch(w http.ResponseWriter, id string) {
	h.bmu.Lock()
	b, ok := h.batchByID[id]
	if !ok {
		h.bmu.Unlock()
		h.batchError(w, http.StatusNotFound, "No batch found with id '"+id+"'.", "batch_id")
		return
	}
	now := h.now()
	h.advance(b, now)
	switch b.wire.Status {
	case "validating", "in_progress", "finalizing":
		b.wire.Status, b.wire.CancellingAt = "cancelling", unix(now)
		b.next = now.Add(h.cfg.Batch.StageTime)
		h.stats.BatchesCancelled++
	case "cancelling":
	default:
		status := b.wire.Status
		h.bmu.Unlock()
		h.batchError(w, http.StatusConflict, "Cannot cancel a batch with status '"+status+"'.", "")
		return
	}
	out := b.wire
	h.bmu.Unlock()
	writeJSON(w, http.StatusOK, &out)
}

// advance moves b through every stage that ended by now. The caller holds
// h.bmu.
func (h *Handler) advance(b *batch, now time.Time) {
	for !ended(b.wire.Status) && !now.Before(b.next) {
		at := b.next
		b.next = at.Add(h.cfg.Batch.StageTime)
		switch b.wire.Status {
		case "validating":
			if errs := h.validate(b); len(errs) > 0 {
				b.wire.Status, b.wire.FailedAt = "failed", unix(at)
				b.wire.Errors = &batchErrors{Object: "list", Data: errs}
				continue
			}
			b.wire.Status, b.wire.InProgressAt = "in_progress", unix(at)
			b.wire.RequestCounts.Total = len(b.lines)
		case "in_progress":
			if b.n <= h.cfg.Batch.ExpireBatches {
				h.answerLines(b, min(max(h.cfg.Batch.ExpireAfter, 0), len(b.lines)), "batch_expired",
					"This request could not be executed before the completion window expired.")
				b.wire.Status, b.wire.ExpiredAt = "expired", unix(at)
				h.finish(b)
				continue
			}
			h.answerLines(b, len(b.lines), "", "")
			b.wire.Status, b.wire.FinalizingAt = "finalizing", unix(at)
		case "finalizing":
			b.wire.Status, b.wire.CompletedAt = "completed", unix(at)
			h.finish(b)
		case "cancelling":
			h.answerLines(b, 0, "batch_cancelled", "This request was not executed because the batch was cancelled.")
			b.wire.Status, b.wire.CancelledAt = "cancelled", unix(at)
			h.finish(b)
		}
	}
}

func ended(status string) bool {
	return status == "completed" || status == "failed" || status == "expired" || status == "cancelled"
}

// validate reads b's input file and lists what OpenAI would refuse in it.
func (h *Handler) validate(b *batch) []batchError {
	if b.n <= h.cfg.Batch.InvalidBatches {
		msg := h.cfg.Batch.InvalidMessage
		if msg == "" {
			msg = "The batch input file was refused (openaitest InvalidBatches)."
		}
		return []batchError{{Code: "invalid_request", Message: msg}}
	}
	var errs []batchError
	fail := func(line int, code, param, msg string) {
		if len(errs) < 100 {
			p := &param
			if param == "" {
				p = nil
			}
			errs = append(errs, batchError{Code: code, Message: msg, Param: p, Line: &line})
		}
	}
	seen := make(map[string]bool)
	model := ""
	var lines []inputLine
	for i, raw := range bytes.Split(b.input, []byte("\n")) {
		n := i + 1
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l inputLine
		if err := json.Unmarshal(raw, &l); err != nil {
			fail(n, "invalid_json_line", "", "This line is not parseable as valid JSON: "+err.Error())
			continue
		}
		var body struct {
			Model string `json:"model"`
		}
		switch {
		case l.CustomID == "":
			fail(n, "missing_required_parameter", "custom_id", "Missing required parameter: 'custom_id'.")
		case seen[l.CustomID]:
			fail(n, "duplicate_custom_id", "custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.")
		case l.Method != http.MethodPost:
			fail(n, "invalid_method", "method", "The method '"+l.Method+"' is not supported; use POST.")
		case l.URL != b.wire.Endpoint:
			fail(n, "invalid_url", "url", "The url '"+l.URL+"' does not match the batch's endpoint '"+b.wire.Endpoint+"'.")
		case len(l.Body) == 0 || json.Unmarshal(l.Body, &body) != nil:
			fail(n, "invalid_request", "body", "The request body must be a JSON object.")
		case body.Model == "":
			fail(n, "missing_required_parameter", "body.model", "Missing required parameter: 'body.model'.")
		case model != "" && body.Model != model:
			fail(n, "mismatched_model", "body.model", "The model '"+body.Model+"' differs from '"+model+"' of the batch's other requests; a batch uses one model.")
		}
		seen[l.CustomID] = true
		if model == "" {
			model = body.Model
		}
		lines = append(lines, l)
	}
	if len(lines) > MaxBatchLines {
		errs = append(errs, batchError{Code: "too_many_requests", Message: "The batch has " + strconv.Itoa(len(lines)) + " requests; the limit is 50,000."})
	}
	if len(errs) == 0 {
		b.lines = lines
	}
	return errs
}

// answerLines answers b's first n lines unless they were answered already, and
// writes every line not answered to the error file with code and msg.
func (h *Handler) answerLines(b *batch, n int, code, msg string) {
	if !b.answered {
		b.answered = true
		fail := make(map[string]bool, len(h.cfg.Batch.FailLines))
		for _, id := range h.cfg.Batch.FailLines {
			fail[id] = true
		}
		for i := range b.lines[:n] {
			h.answerLine(b, i, fail[b.lines[i].CustomID])
		}
		b.lines = b.lines[n:]
	}
	if code == "" {
		return
	}
	for _, l := range b.lines {
		b.errs = h.appendLine(b.errs, l.CustomID, 0, nil, code, msg)
		b.wire.RequestCounts.Failed++
		h.stats.LinesFailed++
	}
	b.lines = nil
}

// answerLine answers b.lines[i] as POST /v1/chat/completions would, or
// fails it as the knobs say.
func (h *Handler) answerLine(b *batch, i int, failed bool) {
	c := &h.cfg.Batch
	l := &b.lines[i]
	pos := i + 1
	status, body := 0, []byte(nil)
	if failed || c.FailEvery > 0 && pos%c.FailEvery == 0 {
		status = c.FailStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		msg, typ, code := errorFor(status)
		if c.FailMessage != "" {
			msg = c.FailMessage
		}
		if c.FailCode != "" {
			code = c.FailCode
		}
		body = appendError(nil, msg, typ, code)
	} else {
		status, body = h.complete(l.Body, c.MalformedEvery > 0 && pos%c.MalformedEvery == 0)
	}
	if status == http.StatusOK {
		b.out = h.appendLine(b.out, l.CustomID, status, body, "", "")
		b.wire.RequestCounts.Completed++
		h.stats.LinesAnswered++
		return
	}
	b.errs = h.appendLine(b.errs, l.CustomID, status, body, "", "")
	b.wire.RequestCounts.Failed++
	h.stats.LinesFailed++
}

// complete answers one request body with the chat completion the realtime
// endpoint would send: the same checks, content and usage.
func (h *Handler) complete(raw json.RawMessage, malformed bool) (int, []byte) {
	req, _, err := decodeRequest(raw)
	if err != nil {
		return http.StatusBadRequest, appendError(nil, "We could not parse the JSON body of your request.", "invalid_request_error", "")
	}
	if _, problem := h.checkRequest(&req); problem != "" {
		return http.StatusBadRequest, appendError(nil, problem, "invalid_request_error", "")
	}
	var content []byte
	if malformed {
		content = []byte(malformedContent)
	} else {
		content = appendEmail(nil, &req)
	}
	h.lineSeq++
	return http.StatusOK, appendCompletion(nil, h.lineSeq, h.now().Unix(), &req, content, h.cfg.CountTokens)
}

// appendLine appends one output or error file line: a response with its
// status and body, or, when status is 0, an error with code and msg.
func (h *Handler) appendLine(dst []byte, customID string, status int, body []byte, code, msg string) []byte {
	h.lineSeq++
	seq := strconv.Itoa(h.lineSeq)
	dst = append(dst, `{"id":"batch_req_openaitest_`...)
	dst = append(dst, seq...)
	dst = append(dst, `","custom_id":`...)
	dst = appendJSONString(dst, customID)
	if status == 0 {
		dst = append(dst, `,"response":null,"error":{"code":`...)
		dst = appendJSONString(dst, code)
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, msg)
		return append(dst, "}}\n"...)
	}
	dst = append(dst, `,"response":{"status_code":`...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, `,"request_id":"req_openaitest_`...)
	dst = append(dst, seq...)
	dst = append(dst, `","body":`...)
	dst = append(dst, body...)
	return append(dst, `},"error":null}`+"\n"...)
}

// finish stores b's output and error files, those that have lines.
func (h *Handler) finish(b *batch) {
	if len(b.out) > 0 {
		f := h.storeFile(b.wire.ID+"_output.jsonl", "batch_output", b.out)
		b.wire.OutputFileID = &f.ID
	}
	if len(b.errs) > 0 {
		f := h.storeFile(b.wire.ID+"_error.jsonl", "batch_output", b.errs)
		b.wire.ErrorFileID = &f.ID
	}
	b.out, b.errs, b.input, b.lines = nil, nil, nil, nil
}

func unix(t time.Time) *int64 {
	s := t.Unix()
	return &s
}

// batchError sends an invalid_request_error naming param.
func (h *Handler) batchError(w http.ResponseWriter, status int, msg, param string) {
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":"invalid_request_error","param":`...)
	if param == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, param)
	}
	b = append(b, `,"code":null}}`...)
	writeBody(w, status, b)
}

func (h *Handler) batchErrorCode(w http.ResponseWriter, status int, msg, typ, code string) {
	if typ == "" {
		typ = "invalid_request_error"
	}
	h.writeErrorStatus(w, status, msg, typ, code)
}
