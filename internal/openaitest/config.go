// Package openaitest is an OpenAI-compatible chat completions server, with
// the Files and Batches endpoints of the Batch API, for tests and load
// benchmarks. It speaks the real wire protocol, so the code under test
// drives its real client (go-openai) against it, and it can be told to be
// slow, to rate-limit, to fail, to answer garbage or to hang.
package openaitest

import (
	"net/http"
	"time"
)

// Config says how a Handler behaves. The zero value answers every request
// at once with a valid email.
type Config struct {
	// Latency is added before every answer; Jitter varies it uniformly by
	// up to ± Jitter. Both honour the request's context.
	Latency, Jitter time.Duration
	// RPM limits requests per minute with a token bucket of RPM tokens
	// refilled continuously; over it the answer is a 429 with Retry-After
	// and x-ratelimit-reset-requests. 0 means no limit.
	RPM int

	// FailRate is the fraction of requests answered with a 500.
	FailRate float64
	// RateLimitRate is the fraction answered with a 429 and Retry-After: 1.
	RateLimitRate float64
	// MalformedRate is the fraction answered 200 with content that is not
	// the JSON email.
	MalformedRate float64
	// StallRate is the fraction never answered: the handler waits until
	// the client gives up (or the handler is closed).
	StallRate float64
	// Seed makes the faults and the jitter repeatable; 0 picks a random
	// seed.
	Seed uint64

	// Script is answered first, one reply per request in arrival order,
	// before the faults and the rate limit apply.
	Script []Reply

	// APIKey, when set, is required as "Authorization: Bearer <APIKey>";
	// a request without it gets a 401.
	APIKey string
	// DiscardRequests keeps only the counts, not the requests, so that a
	// long load test does not grow without bound.
	DiscardRequests bool
	// CountTokens reports usage as OpenAI counts it, with the model's
	// tokenizer (internal/tokens): the messages with their chat overhead
	// and the response format's schema, and the answer's content. Off, a
	// token is a quarter of the bytes: the tokenizer costs more per request
	// than the rest of the server, and load benchmarks measure the client.
	CountTokens bool
	// Now is the clock for created timestamps, the rate limit,
	// Request.At and the batches' stages; nil means time.Now.
	Now func() time.Time

	// Batch says how the Files and Batches endpoints (the Batch API)
	// behave.
	Batch BatchConfig
}

// Reply is one canned answer.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header is added to the answer.
	Header http.Header
	// Content is the assistant message of a 200; "" means the default
	// email built from the request.
	Content string
	// Body, when set, is sent verbatim instead of the JSON the server would
	// build: a broken body, or a custom error.
	Body string
	// Delay is added to the configured latency.
	Delay time.Duration
	// Stall never answers: the handler waits until the client gives up.
	Stall bool
}

// Option changes a Config.
type Option func(*Config)

// WithConfig replaces the whole Config.
func WithConfig(c Config) Option { return func(dst *Config) { *dst = c } }

// WithLatency sets a fixed latency and a jitter of ± jitter.
func WithLatency(latency, jitter time.Duration) Option {
	return func(c *Config) { c.Latency, c.Jitter = latency, jitter }
}

// WithRPM sets the requests-per-minute limit.
func WithRPM(rpm int) Option { return func(c *Config) { c.RPM = rpm } }

// WithFailRate answers that fraction of requests with a 500.
func WithFailRate(f float64) Option { return func(c *Config) { c.FailRate = f } }

// WithRateLimitRate answers that fraction of requests with a 429.
func WithRateLimitRate(f float64) Option { return func(c *Config) { c.RateLimitRate = f } }

// WithMalformedRate answers that fraction of requests with content that is
// not JSON.
func WithMalformedRate(f float64) Option { return func(c *Config) { c.MalformedRate = f } }

// WithStallRate leaves that fraction of requests unanswered.
func WithStallRate(f float64) Option { return func(c *Config) { c.StallRate = f } }

// WithSeed makes faults and jitter repeatable.
func WithSeed(seed uint64) Option { return func(c *Config) { c.Seed = seed } }

// WithScript queues replies to be answered first, in order.
func WithScript(replies ...Reply) Option {
	return func(c *Config) { c.Script = append(c.Script, replies...) }
}

// WithAPIKey requires the key as a bearer token.
func WithAPIKey(key string) Option { return func(c *Config) { c.APIKey = key } }

// WithCountTokens counts usage with the model's tokenizer (CountTokens).
func WithCountTokens() Option { return func(c *Config) { c.CountTokens = true } }

// WithNow sets the clock.
func WithNow(now func() time.Time) Option { return func(c *Config) { c.Now = now } }

// RateLimited is a scripted 429 whose Retry-After is d rounded up to whole
// seconds, as OpenAI sends it, with x-ratelimit-reset-requests set to d.
func RateLimited(d time.Duration) Reply {
	h := http.Header{}
	h.Set("Retry-After", retryAfterSeconds(d))
	h.Set("x-ratelimit-reset-requests", d.String())
	return Reply{Status: http.StatusTooManyRequests, Header: h}
}

// Malformed is a scripted 200 whose content is not JSON.
func Malformed() Reply { return Reply{Content: malformedContent} }

// Stalled is a scripted request that is never answered.
func Stalled() Reply { return Reply{Stall: true} }

// Status is a scripted answer with that status and the OpenAI error body
// that goes with it.
func Status(code int) Reply { return Reply{Status: code} }

// BatchConfig says how the Files and Batches endpoints behave. The zero
// value serves them, and a batch goes through validating, in_progress and
// finalizing to completed as soon as someone looks at it again.
type BatchConfig struct {
	// Unsupported answers 404 on /v1/files and /v1/batches, as
	// OpenAI-compatible servers without the Batch API do.
	Unsupported bool
	// StageTime is how long each of validating, in_progress, finalizing
	// and cancelling lasts, on Config.Now's clock. A batch moves on when a
	// request looks at it (GET, list, cancel), not on its own.
	StageTime time.Duration

	// FailLines are custom_ids whose request fails; so does every
	// FailEvery-th line of a batch (1-based position in its input file).
	// A failed line goes to the error file with FailStatus (0 means 500)
	// and an OpenAI error body of FailCode and FailMessage ("" means the
	// status's usual ones).
	FailLines   []string
	FailEvery   int
	FailStatus  int
	FailCode    string
	FailMessage string
	// MalformedEvery answers every MalformedEvery-th line 200 with content
	// that is not the JSON email.
	MalformedEvery int

	// ExpireBatches is how many batches, the first created, expire (those
	// that fail validation aside): they answer their first ExpireAfter
	// lines, then stop at the end of in_progress with status expired, the
	// other lines in the error file as batch_expired.
	ExpireBatches int
	ExpireAfter   int
	// InvalidBatches is how many batches, the first created, fail
	// validation with InvalidMessage ("" means a default), as a batch
	// whose input file OpenAI refuses. Such a batch does not expire.
	InvalidBatches int
	InvalidMessage string

	// Script is answered first by the Files and Batches endpoints, one
	// reply per request in arrival order: a Status other than 200 is sent
	// as that error instead of serving the request; Delay and Stall apply.
	Script []Reply
}

// WithBatch sets how the Files and Batches endpoints behave.
func WithBatch(b BatchConfig) Option { return func(c *Config) { c.Batch = b } }
