package openaitest

import (
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Request is one chat completion request as the server received it.
type Request struct {
	At     time.Time
	Path   string
	Header http.Header
	Body   openai.ChatCompletionRequest
	// Structured reports that the request asked for structured output the
	// way OpenAI requires it: response_format.type "json_schema", strict
	// true, and a schema that strict mode accepts.
	Structured bool
}

// Handler serves the chat completions endpoint. It is safe for concurrent
// use. Close it to release requests that stall.
type Handler struct {
	cfg      Config
	now      func() time.Time
	stop     chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	rng      *rand.Rand
	script   []Reply
	reqs     []Request
	count    int
	statuses map[int]int
	inFlight int
	peak     int
	// goodSchema is the last strict schema that passed the check.
	goodSchema string
	// The RPM token bucket.
	tokens float64
	filled time.Time

	// bmu guards the Batch API's state; it is taken before mu, never
	// after.
	bmu       sync.Mutex
	files     map[string]*file
	batches   []*batch // in creation order
	batchByID map[string]*batch
	bscript   []Reply
	stats     BatchStats
	fileSeq   int
	batchSeq  int
	lineSeq   int
}

// NewHandler returns a handler for POST /v1/chat/completions and the Files
// and Batches endpoints under /v1/files and /v1/batches, each also without
// the /v1, so a base URL works with or without it.
func NewHandler(cfg Config) *Handler {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Handler{
		cfg:      cfg,
		now:      now,
		stop:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		script:   append([]Reply(nil), cfg.Script...),
		statuses: make(map[int]int),
		tokens:   float64(cfg.RPM),
		filled:   now(),

		files:     make(map[string]*file),
		batchByID: make(map[string]*batch),
		bscript:   append([]Reply(nil), cfg.Batch.Script...),
	}
}

// Close releases stalled requests: their connections are aborted.
func (h *Handler) Close() { h.stopOnce.Do(func() { close(h.stop) }) }

// Enqueue adds replies to the script.
func (h *Handler) Enqueue(replies ...Reply) {
	h.mu.Lock()
	h.script = append(h.script, replies...)
	h.mu.Unlock()
}

// Requests returns a copy of the requests received so far, in arrival
// order (empty when Config.DiscardRequests is set).
func (h *Handler) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.reqs...)
}

// Count returns how many chat completion requests arrived.
func (h *Handler) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// StatusCounts returns how many answers were sent with each status.
// Stalled requests are not answered and not counted.
func (h *Handler) StatusCounts() map[int]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[int]int, len(h.statuses))
	for k, v := range h.statuses {
		m[k] = v
	}
	return m
}

// PeakInFlight returns the most requests that were being served at once.
func (h *Handler) PeakInFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

// ResetPeak sets the peak to the number in flight now.
func (h *Handler) ResetPeak() {
	h.mu.Lock()
	h.peak = h.inFlight
	h.mu.Unlock()
}

// verdict is what the server decided to do with one request.
type verdict struct {
	reply     Reply
	malformed bool
	delay     time.Duration
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := batchAPIPath(r.URL.Path); ok && !h.cfg.Batch.Unsupported {
		h.serveBatchAPI(w, r, rest)
		return
	}
	if r.URL.Path != "/v1/chat/completions" && r.URL.Path != "/chat/completions" {
		h.writeError(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error", "")
		return
	}
	if r.Method != http.MethodPost {
		h.writeError(w, http.StatusMethodNotAllowed, "Method not allowed", "invalid_request_error", "")
		return
	}
	h.mu.Lock()
	h.inFlight++
	h.peak = max(h.peak, h.inFlight)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()

	at := h.now()
	if h.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.cfg.APIKey {
		h.refused(nil)
		h.writeError(w, http.StatusUnauthorized, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
		return
	}
	buf := bufPool.Get().(*buffers)
	defer bufPool.Put(buf)
	raw, err := readBody(r, buf.in[:0])
	buf.in = raw
	var body wireRequest
	var full *openai.ChatCompletionRequest
	if err == nil {
		body, full, err = decodeRequest(raw)
	}
	if err != nil {
		h.refused(nil)
		h.writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.", "invalid_request_error", "")
		return
	}
	structured, problem := h.checkRequest(&body)
	rec := Request{At: at, Path: r.URL.Path, Header: r.Header, Structured: structured}
	if !h.cfg.DiscardRequests {
		// Tests read the request as the client library sees it; the
		// load path above never pays for go-openai's slower decoding.
		if full == nil {
			full = new(openai.ChatCompletionRequest)
			if err := json.Unmarshal(raw, full); err != nil {
				full = nil
			}
		}
		if full != nil {
			rec.Body = *full
		}
	}
	if problem != "" {
		h.refused(&rec)
		h.writeError(w, http.StatusBadRequest, problem, "invalid_request_error", "")
		return
	}

	v := h.decide(&rec)
	if d := h.cfg.Latency + v.delay + v.reply.Delay; d > 0 && !h.wait(r, d) {
		return
	}
	if v.reply.Stall {
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			panic(http.ErrAbortHandler)
		}
	}
	h.answer(w, buf, &body, v)
}

// batchAPIPath returns path without its /v1 when it is under files or
// batches.
func batchAPIPath(path string) (string, bool) {
	rest := strings.TrimPrefix(path, "/v1")
	for _, p := range []string{"/files", "/batches"} {
		if rest == p || strings.HasPrefix(rest, p+"/") {
			return rest, true
		}
	}
	return "", false
}

// refused records a request the server refused before deciding anything.
func (h *Handler) refused(rec *Request) {
	h.mu.Lock()
	h.count++
	if rec != nil && !h.cfg.DiscardRequests {
		h.reqs = append(h.reqs, *rec)
	}
	h.mu.Unlock()
}

// decide records the request and picks its answer: the script first, then
// the rate limit, then the faults. It draws from the random source under
// the lock, so a seed gives the same sequence of answers.
func (h *Handler) decide(rec *Request) verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.count++
	if !h.cfg.DiscardRequests {
		h.reqs = append(h.reqs, *rec)
	}
	var v verdict
	if h.cfg.Jitter > 0 {
		v.delay = time.Duration((h.rng.Float64()*2 - 1) * float64(h.cfg.Jitter))
	}
	if len(h.script) > 0 {
		v.reply = h.script[0]
		h.script = h.script[1:]
		return v
	}
	if wait, ok := h.takeToken(rec.At); !ok {
		v.reply = h.rateLimitReply(wait)
		return v
	}
	c := h.cfg
	if c.FailRate+c.RateLimitRate+c.MalformedRate+c.StallRate == 0 {
		return v
	}
	switch p := h.rng.Float64(); {
	case p < c.FailRate:
		v.reply.Status = http.StatusInternalServerError
	case p < c.FailRate+c.RateLimitRate:
		v.reply = RateLimited(time.Second)
	case p < c.FailRate+c.RateLimitRate+c.MalformedRate:
		v.malformed = true
	case p < c.FailRate+c.RateLimitRate+c.MalformedRate+c.StallRate:
		v.reply.Stall = true
	}
	return v
}

// takeToken takes one request from the RPM bucket, or says how long until
// one is free. The caller holds h.mu.
func (h *Handler) takeToken(now time.Time) (time.Duration, bool) {
	if h.cfg.RPM <= 0 {
		return 0, true
	}
	capacity := float64(h.cfg.RPM)
	perSecond := capacity / 60
	if el := now.Sub(h.filled); el > 0 {
		h.tokens = math.Min(capacity, h.tokens+el.Seconds()*perSecond)
		h.filled = now
	}
	if h.tokens >= 1 {
		h.tokens--
		return 0, true
	}
	return time.Duration((1 - h.tokens) / perSecond * float64(time.Second)), false
}

func (h *Handler) rateLimitReply(wait time.Duration) Reply {
	wait = max(wait.Round(time.Millisecond), time.Millisecond)
	hdr := http.Header{}
	hdr.Set("Retry-After", retryAfterSeconds(wait))
	hdr.Set("x-ratelimit-limit-requests", strconv.Itoa(h.cfg.RPM))
	hdr.Set("x-ratelimit-remaining-requests", "0")
	hdr.Set("x-ratelimit-reset-requests", wait.String())
	return Reply{Status: http.StatusTooManyRequests, Header: hdr, Body: rateLimitBody(h.cfg.RPM, wait)}
}

// wait sleeps d, or less when the client gives up; it reports whether the
// full time passed.
func (h *Handler) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-h.stop:
		panic(http.ErrAbortHandler)
	}
}

func (h *Handler) answer(w http.ResponseWriter, buf *buffers, req *wireRequest, v verdict) {
	for k, vals := range v.reply.Header {
		w.Header()[k] = vals
	}
	status := v.reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	h.mu.Lock()
	h.statuses[status]++
	n := h.count
	h.mu.Unlock()

	if v.reply.Body != "" {
		writeBody(w, status, []byte(v.reply.Body))
		return
	}
	if status != http.StatusOK {
		msg, typ, code := errorFor(status)
		h.writeErrorStatus(w, status, msg, typ, code)
		return
	}
	content := v.reply.Content
	if v.malformed {
		content = malformedContent
	}
	var contentBytes []byte
	if content == "" {
		buf.content = appendEmail(buf.content[:0], req)
		contentBytes = buf.content
	} else {
		contentBytes = append(buf.content[:0], content...)
	}
	buf.out = appendCompletion(buf.out[:0], n, h.now().Unix(), req, contentBytes, h.cfg.CountTokens)
	writeBody(w, status, buf.out)
}

func (h *Handler) writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	h.mu.Lock()
	h.statuses[status]++
	h.mu.Unlock()
	h.writeErrorStatus(w, status, msg, typ, code)
}

func (h *Handler) writeErrorStatus(w http.ResponseWriter, status int, msg, typ, code string) {
	buf := bufPool.Get().(*buffers)
	defer bufPool.Put(buf)
	buf.out = appendError(buf.out[:0], msg, typ, code)
	writeBody(w, status, buf.out)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var jsonContentType = []string{"application/json"}

type buffers struct{ in, content, out []byte }

var bufPool = sync.Pool{New: func() any {
	return &buffers{in: make([]byte, 0, 8192), content: make([]byte, 0, 1024), out: make([]byte, 0, 2048)}
}}

// readBody appends the request body to b.
func readBody(r *http.Request, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// checkRequest refuses what OpenAI refuses and reports whether the request
// asked for strict structured output with a schema strict mode accepts.
func (h *Handler) checkRequest(req *wireRequest) (structured bool, problem string) {
	if req.Model == "" {
		return false, "you must provide a model parameter"
	}
	if len(req.Messages) == 0 {
		return false, "[] is too short - 'messages'"
	}
	if req.Stream {
		return false, "openaitest does not stream"
	}
	rf := req.ResponseFormat
	if rf == nil || rf.Type != string(openai.ChatCompletionResponseFormatTypeJSONSchema) {
		return false, ""
	}
	if rf.JSONSchema == nil || rf.JSONSchema.Name == "" {
		return false, "Missing required parameter: 'response_format.json_schema'."
	}
	if !rf.JSONSchema.Strict {
		return false, ""
	}
	// Every request of a run sends the same schema: check it once.
	h.mu.Lock()
	known := h.goodSchema != "" && h.goodSchema == string(rf.JSONSchema.Schema)
	h.mu.Unlock()
	if known {
		return true, ""
	}
	if p := checkStrictSchema(rf.JSONSchema.Schema); p != "" {
		return false, "Invalid schema for response_format '" + rf.JSONSchema.Name + "': " + p
	}
	h.mu.Lock()
	h.goodSchema = string(rf.JSONSchema.Schema)
	h.mu.Unlock()
	return true, ""
}

// checkStrictSchema applies strict mode's rules to the top-level object:
// additionalProperties false and every property required.
func checkStrictSchema(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "schema is required"
	}
	var s struct {
		Type                 string                     `json:"type"`
		Properties           map[string]json.RawMessage `json:"properties"`
		Required             []string                   `json:"required"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "schema must be a JSON object"
	}
	if s.Type != "object" {
		return "schema must be a JSON Schema of 'type: \"object\"'"
	}
	if s.AdditionalProperties == nil || *s.AdditionalProperties {
		return "In context=(), 'additionalProperties' is required to be supplied and to be false."
	}
	req := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		req[r] = true
	}
	for name := range s.Properties {
		if !req[name] {
			return "In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing '" + name + "'."
		}
	}
	return ""
}

func errorFor(status int) (msg, typ, code string) {
	switch {
	case status == http.StatusTooManyRequests:
		return "Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"
	case status == http.StatusUnauthorized:
		return "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
	case status == http.StatusNotFound:
		return "The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"
	case status >= 500:
		return "The server had an error while processing your request. Sorry about that!", "server_error", ""
	}
	return "Invalid request.", "invalid_request_error", ""
}

func rateLimitBody(rpm int, wait time.Duration) string {
	msg := "Rate limit reached for requests per min (RPM): Limit " + strconv.Itoa(rpm) +
		". Please try again in " + wait.String() + "."
	return string(appendError(nil, msg, "requests", "rate_limit_exceeded"))
}

// retryAfterSeconds renders d as Retry-After does: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}
