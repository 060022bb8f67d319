package email

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Draft is what a Writer produced for one request.
type Draft struct {
	Subject string
	Body    string
	// More holds the further emails of a request that asked for variants
	// or a sequence (Options.Emails() > 1), in order.
	More  []Message
	Model string
	Usage Usage
}

// Message is one email's text.
type Message struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// All returns every email of the draft, the first one first.
func (d *Draft) All() []Message {
	return append([]Message{{Subject: d.Subject, Body: d.Body}}, d.More...)
}

// Usage counts the model's tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// BatchPromptTokens and BatchCompletionTokens are the part of the
	// counts above spent through a provider's Batch API, at its price
	// (half of OpenAI's); 0 when none was.
	BatchPromptTokens     int `json:"batch_prompt_tokens,omitempty"`
	BatchCompletionTokens int `json:"batch_completion_tokens,omitempty"`
	// CachedPromptTokens are the prompt tokens the provider served from
	// its prompt cache, at the cached price; 0 when none (or unknown).
	CachedPromptTokens int `json:"cached_prompt_tokens,omitempty"`
	// CostMicroUSD and Unpriced are the stores' cost counter, carried
	// with the tokens so that Add, Finish and Revise count them alike:
	// what the usage cost in millionths of a US dollar, and how many
	// model outcomes in it had no price (their cost is not in
	// CostMicroUSD). Readers report cost_usd from them, never stored in
	// an email's JSON: an email's cost is priced from its model when read.
	CostMicroUSD int64 `json:"-"`
	Unpriced     int   `json:"-"`
}

// Add returns u plus o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		PromptTokens:          u.PromptTokens + o.PromptTokens,
		CompletionTokens:      u.CompletionTokens + o.CompletionTokens,
		TotalTokens:           u.TotalTokens + o.TotalTokens,
		BatchPromptTokens:     u.BatchPromptTokens + o.BatchPromptTokens,
		BatchCompletionTokens: u.BatchCompletionTokens + o.BatchCompletionTokens,
		CachedPromptTokens:    u.CachedPromptTokens + o.CachedPromptTokens,
		CostMicroUSD:          u.CostMicroUSD + o.CostMicroUSD,
		Unpriced:              u.Unpriced + o.Unpriced,
	}
}

// Tokens returns u without its cost counter: what an email keeps, its
// cost priced again whenever it is read.
func (u Usage) Tokens() Usage {
	u.CostMicroUSD, u.Unpriced = 0, 0
	return u
}

// AsBatch returns u counted as spent through a Batch API.
func (u Usage) AsBatch() Usage {
	u.BatchPromptTokens, u.BatchCompletionTokens = u.PromptTokens, u.CompletionTokens
	return u
}

// Completion is a model's answer to a Prompt's first call that was made
// elsewhere: one line of a batch.
type Completion struct {
	Content string `json:"content"`
	// Refusal is the model's refusal, "" when it answered.
	Refusal string `json:"refusal,omitempty"`
	Model   string `json:"model,omitempty"`
	Usage   Usage  `json:"usage"`
}

// Role says who speaks a Turn.
type Role string

// Roles of a conversation with the model.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Turn is one message of the conversation with the model.
type Turn struct {
	Role    Role
	Content string
}

// Prompt is one model call, rendered: everything a Writer sends, and the
// form of the answer it must read back. The Composer builds it through its
// Prompter (*prompt.Set), so that every Writer sends the same bytes: the
// chat completions client, the offline templates, a line of a batch file.
type Prompt struct {
	// Messages are the conversation: the system prompt, the user message
	// with the fenced prospect data, for a Request.Rewrite the message
	// with the fenced draft and instructions and, on a repair round, the
	// previous draft as the model's answer and the message that asks for
	// a fix.
	Messages []Turn
	// Model is the model the request chose; empty means the Writer's own.
	Model string
	// Temperature is the request's; nil leaves the provider's default.
	Temperature *float64
	// MaxTokens bounds the answer.
	MaxTokens int
	// Answer is the form the answer must take.
	Answer Answer
	// Repair renders the message that asks the model to fix problems, as
	// Answer.Parse lists them, for a Writer's own repair round after an
	// answer it cannot use.
	Repair func(problems []string) (string, error)
	// Offline renders email step (0 for the first) of the offline template
	// from the data the messages were rendered from: the answer of a
	// Writer that calls no model.
	Offline func(step int) (Message, error)
	// Answered, when not nil, is the answer to the first call, made
	// already (a batch's line): the Writer takes it instead of calling,
	// and makes its own repair round, if the answer needs one, as a call.
	Answered *Completion
}

// Writer makes one model call: it sends a Prompt and parses the answer.
//
// Write is safe for concurrent use. It honours ctx's deadline. A failure is
// an *Error whose Kind says whether trying again later can help
// (IsTransient); an implementation has already retried what it sensibly can.
// The Draft of a failed call still counts the usage spent, for cost
// accounting.
type Writer interface {
	Write(ctx context.Context, p Prompt) (Draft, error)
}

// RepairReason says why a repair round ran.
type RepairReason string

// Repair reasons.
const (
	// RepairAnswer: the Writer could not use the model's answer (not the
	// JSON asked for, a field missing) and asked again (Prompt.Repair).
	RepairAnswer RepairReason = "answer"
	// RepairQuality: the Composer's lint found an error-level problem in
	// an email and fed it back to the model.
	RepairQuality RepairReason = "quality"
)

// RepairObserver is told of each repair round, for metrics: a repair round
// is a model call that costs as much as the first. It must not block: it
// is called on the email's path.
type RepairObserver interface {
	// Repaired is one repair round of an answer model wrote.
	Repaired(model string, reason RepairReason)
}

// Kind classifies a Writer failure.
type Kind int

// Kinds of Writer failure.
const (
	// KindRateLimited: the provider said 429 and retries did not get through.
	KindRateLimited Kind = iota + 1
	// KindUnavailable: the provider failed (5xx or connection error).
	KindUnavailable
	// KindTimeout: no answer before the deadline.
	KindTimeout
	// KindBadOutput: the model's answer was unusable, even after a repair.
	KindBadOutput
	// KindRejected: the provider refused the request (4xx other than 429).
	KindRejected
)

func (k Kind) String() string {
	switch k {
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "upstream_unavailable"
	case KindTimeout:
		return "upstream_timeout"
	case KindBadOutput:
		return "bad_model_output"
	case KindRejected:
		return "upstream_rejected"
	}
	return "unknown"
}

// Error is a Writer failure.
type Error struct {
	Kind Kind
	// RetryAfter is the provider's hint, for KindRateLimited.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return fmt.Sprintf("%s: %v", e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether trying the same request later may succeed.
func (e *Error) Transient() bool {
	return e.Kind == KindRateLimited || e.Kind == KindUnavailable || e.Kind == KindTimeout
}

// IsTransient reports whether err is a Writer failure that a later try may
// cure. Errors that are not an *Error (a bug, a cancelled context) count as
// transient only when the context ran out.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient()
	}
	return errors.Is(err, context.DeadlineExceeded)
}
