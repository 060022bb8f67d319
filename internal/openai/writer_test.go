package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

// result is what one Write in a table case did.
type result struct {
	draft   email.Draft
	err     error
	srv     *openaitest.Server
	clock   *fakeClock
	elapsed time.Duration
}

func (r result) kind() email.Kind {
	var e *email.Error
	if errors.As(r.err, &e) {
		return e.Kind
	}
	return 0
}

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestWrite(t *testing.T) {
	okJSON := `{"subject":"Berlin and TechNova","body":"Hi Sarah,\n\nCongrats on Berlin. Open to a 15-minute chat next week?\n\nBest,\nAlex"}`
	tests := []struct {
		name     string
		server   []openaitest.Option
		script   []openaitest.Reply
		cfg      func(*Config)
		call     func(testing.TB) email.Prompt
		timeout  time.Duration // of the caller's context; 0 = none
		wantKind email.Kind    // 0 = success
		wantReqs int
		check    func(t *testing.T, r result)
	}{
		{
			name: "OK", wantReqs: 1,
			check: func(t *testing.T, r result) {
				if !strings.HasPrefix(r.draft.Body, "Hi Sarah,\n\n") || !strings.Contains(r.draft.Subject, "TechNova Solutions") {
					t.Errorf("draft = %+v", r.draft)
				}
				u := r.draft.Usage
				if r.draft.Model != DefaultModel || u.PromptTokens == 0 || u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
					t.Errorf("model = %q, usage = %+v", r.draft.Model, u)
				}
				got := r.srv.Requests()[0]
				if !got.Structured {
					t.Error("request did not ask for strict json_schema output")
				}
				rf := got.Body.ResponseFormat
				schema, _ := rf.JSONSchema.Schema.MarshalJSON()
				var s struct {
					Required             []string `json:"required"`
					AdditionalProperties bool     `json:"additionalProperties"`
				}
				if err := json.Unmarshal(schema, &s); err != nil || rf.JSONSchema.Name != "email" ||
					!slices.Equal(s.Required, []string{"subject", "body"}) || s.AdditionalProperties {
					t.Errorf("response_format = %+v, schema %s", rf, schema)
				}
				if got.Header.Get("Authorization") != "Bearer sk-test" || got.Body.Model != DefaultModel ||
					got.Body.MaxCompletionTokens != 4*email.DefaultMaxWords+100 || got.Body.Temperature != 0 {
					t.Errorf("request = %+v", got.Body)
				}
				assertRoles(t, got.Body.Messages, "system", "user")
				user := got.Body.Messages[1].Content
				_, fenced, _ := strings.Cut(user, "<prospect_data>\n")
				fenced, _, ok := strings.Cut(fenced, "\n</prospect_data>")
				var data struct {
					Prospect email.Prospect `json:"prospect"`
					Company  email.Company  `json:"company"`
				}
				if !ok || json.Unmarshal([]byte(fenced), &data) != nil || data.Prospect.FirstName != "Sarah" ||
					data.Company.RecentNews != "Opened a Berlin office" {
					t.Errorf("prospect data not fenced in the user message:\n%s", user)
				}
				if strings.Contains(got.Body.Messages[0].Content, "Sarah") {
					t.Error("prospect data leaked into the system prompt")
				}
			},
		},
		{
			name: "OKModelAndTemperatureFromOptions", wantReqs: 1,
			call: func(tb testing.TB) email.Prompt {
				r, zero := newRequest(), 0.0
				r.Options = email.Options{Model: "gpt-4.1-nano", Temperature: &zero, MaxWords: 60}
				return mustPrompt(tb, r, nil)
			},
			check: func(t *testing.T, r result) {
				got := r.srv.Requests()[0].Body
				if got.Model != "gpt-4.1-nano" || r.draft.Model != "gpt-4.1-nano" {
					t.Errorf("model sent %q, draft %q", got.Model, r.draft.Model)
				}
				if got.Temperature == 0 || got.Temperature > 1e-30 {
					t.Errorf("temperature 0 sent as %v, want a value that is zero in effect but present", got.Temperature)
				}
				if got.MaxCompletionTokens != 4*60+100 {
					t.Errorf("max_completion_tokens = %d", got.MaxCompletionTokens)
				}
			},
		},
		{
			name: "OKCodeFenceAccepted", wantReqs: 1,
			script: []openaitest.Reply{{Content: "```json\n" + okJSON + "\n```"}},
			check: func(t *testing.T, r result) {
				if r.draft.Subject != "Berlin and TechNova" {
					t.Errorf("draft = %+v", r.draft)
				}
			},
		},
		{
			name: "Retry429ThenOK", wantReqs: 2,
			script: []openaitest.Reply{{Status: 429, Header: header("Retry-After", "2")}},
			check: func(t *testing.T, r result) {
				if s := r.clock.Slept(); len(s) != 1 || s[0] < 2*time.Second {
					t.Errorf("slept %v, want one wait of at least Retry-After 2s", s)
				}
			},
		},
		{
			name: "Retry429HonoursResetHeader", wantReqs: 2,
			script: []openaitest.Reply{{Status: 429, Header: header("x-ratelimit-reset-requests", "1.5s", "x-ratelimit-reset-tokens", "6m0s")}},
			check: func(t *testing.T, r result) {
				if s := r.clock.Slept(); len(s) != 1 || s[0] != 1500*time.Millisecond {
					t.Errorf("slept %v, want [1.5s] from x-ratelimit-reset-requests", s)
				}
			},
		},
		{
			name: "Retry500ThenOK", wantReqs: 2,
			script: []openaitest.Reply{openaitest.Status(500)},
			check: func(t *testing.T, r result) {
				if s := r.clock.Slept(); len(s) != 1 || s[0] >= backoffBase {
					t.Errorf("slept %v, want one backoff under %v", s, backoffBase)
				}
			},
		},
		{
			name: "OKCachedPromptTokens", wantReqs: 1,
			script: []openaitest.Reply{{Body: `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",` +
				`"choices":[{"index":0,"message":{"role":"assistant","content":` + jsonString(okJSON) + `},"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":2000,"completion_tokens":50,"total_tokens":2050,"prompt_tokens_details":{"cached_tokens":1536}}}`}},
			check: func(t *testing.T, r result) {
				want := email.Usage{PromptTokens: 2000, CompletionTokens: 50, TotalTokens: 2050, CachedPromptTokens: 1536}
				if r.draft.Usage != want {
					t.Errorf("usage = %+v, want %+v", r.draft.Usage, want)
				}
			},
		},
		{
			name: "RetryBrokenBodyThenOK", wantReqs: 2,
			script: []openaitest.Reply{{Body: `{"id":"chatcmpl-1","choices":[`}},
		},
		{
			name: "ErrRateLimitedAfterRetries", wantKind: email.KindRateLimited, wantReqs: 4,
			script: slices.Repeat([]openaitest.Reply{{Status: 429, Header: header("Retry-After", "1")}}, 4),
			check: func(t *testing.T, r result) {
				var e *email.Error
				errors.As(r.err, &e)
				if e.RetryAfter != time.Second || !email.IsTransient(r.err) {
					t.Errorf("RetryAfter = %v, transient = %v", e.RetryAfter, email.IsTransient(r.err))
				}
				if s := r.clock.Slept(); len(s) != 3 {
					t.Errorf("slept %v, want 3 waits", s)
				}
			},
		},
		{
			name: "ErrRateLimitedRetryAfterPastDeadline", wantKind: email.KindRateLimited, wantReqs: 1,
			timeout: 5 * time.Second,
			script:  []openaitest.Reply{{Status: 429, Header: header("Retry-After", "10")}},
			check: func(t *testing.T, r result) {
				var e *email.Error
				errors.As(r.err, &e)
				if e.RetryAfter != 10*time.Second || len(r.clock.Slept()) != 0 {
					t.Errorf("RetryAfter = %v, slept %v; want 10s and no sleep", e.RetryAfter, r.clock.Slept())
				}
			},
		},
		{
			name: "ErrRateLimitedRetryAfterOverBudget", wantKind: email.KindRateLimited, wantReqs: 1,
			cfg:    func(c *Config) { c.MaxRetryWait = 5 * time.Second },
			script: []openaitest.Reply{{Status: 429, Header: header("Retry-After", "6")}},
			check: func(t *testing.T, r result) {
				if s := r.clock.Slept(); len(s) != 0 {
					t.Errorf("slept %v past the retry budget", s)
				}
			},
		},
		{
			name: "ErrRejectedInsufficientQuota", wantKind: email.KindRejected, wantReqs: 1,
			script: []openaitest.Reply{{Status: 429, Header: header("Retry-After", "1"),
				Body: `{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`}},
		},
		{
			name: "ErrUnavailableAfterRetries", wantKind: email.KindUnavailable, wantReqs: 4,
			script: slices.Repeat([]openaitest.Reply{openaitest.Status(503)}, 4),
			check: func(t *testing.T, r result) {
				s := r.clock.Slept()
				for i, d := range s {
					if d >= backoffBase<<i {
						t.Errorf("wait %d = %v, want under %v", i, d, backoffBase<<i)
					}
				}
				if len(s) != 3 || !email.IsTransient(r.err) {
					t.Errorf("slept %v, transient %v", s, email.IsTransient(r.err))
				}
			},
		},
		{
			name: "ErrTimeoutStall", wantKind: email.KindTimeout, wantReqs: 1,
			cfg:    func(c *Config) { c.Timeout = 200 * time.Millisecond },
			script: []openaitest.Reply{openaitest.Stalled()},
			check: func(t *testing.T, r result) {
				if r.elapsed < 200*time.Millisecond || r.elapsed > 2*time.Second || !email.IsTransient(r.err) {
					t.Errorf("gave up after %v (transient %v), want about the 200ms timeout", r.elapsed, email.IsTransient(r.err))
				}
			},
		},
		{
			name: "ErrTimeoutCallerDeadline", wantKind: email.KindTimeout, wantReqs: 1,
			timeout: 200 * time.Millisecond,
			script:  []openaitest.Reply{openaitest.Stalled()},
			check: func(t *testing.T, r result) {
				if r.elapsed > 2*time.Second {
					t.Errorf("gave up after %v, want about the 200ms deadline", r.elapsed)
				}
			},
		},
		{
			name: "ErrRejected400NotRetried", wantKind: email.KindRejected, wantReqs: 1,
			script: []openaitest.Reply{openaitest.Status(400), openaitest.Status(200)},
			check: func(t *testing.T, r result) {
				if email.IsTransient(r.err) || len(r.clock.Slept()) != 0 {
					t.Errorf("transient = %v, slept %v", email.IsTransient(r.err), r.clock.Slept())
				}
			},
		},
		{
			name: "ErrRejectedUnauthorized", wantKind: email.KindRejected, wantReqs: 1,
			server: []openaitest.Option{openaitest.WithAPIKey("sk-other")},
			check: func(t *testing.T, r result) {
				if strings.Contains(r.err.Error(), "sk-test") {
					t.Errorf("error shows the API key: %v", r.err)
				}
			},
		},
		{
			name: "ErrRejectedBeforeSending", wantKind: email.KindRejected, wantReqs: 0,
			call: func(tb testing.TB) email.Prompt {
				// go-openai refuses a temperature for reasoning models
				// without sending anything.
				r, temp := newRequest(), 0.5
				r.Options = email.Options{Model: "o3-mini", Temperature: &temp}
				return mustPrompt(tb, r, nil)
			},
		},
		{
			name: "RepairMalformedThenOK", wantReqs: 2,
			script: []openaitest.Reply{{Content: "Sure! Subject: Hi"}, {Content: okJSON}},
			check: func(t *testing.T, r result) {
				reqs := r.srv.Requests()
				prompt := func(i int) int {
					n := 0
					for _, m := range reqs[i].Body.Messages {
						n += len(m.Content)
					}
					return n / 4
				}
				want := email.Usage{PromptTokens: prompt(0) + prompt(1), CompletionTokens: len("Sure! Subject: Hi")/4 + len(okJSON)/4}
				want.TotalTokens = want.PromptTokens + want.CompletionTokens
				if r.draft.Usage != want {
					t.Errorf("usage = %+v, want the sum of both calls %+v", r.draft.Usage, want)
				}
				if r.draft.Subject != "Berlin and TechNova" {
					t.Errorf("draft = %+v", r.draft)
				}
				msgs := reqs[1].Body.Messages
				assertRoles(t, msgs, "system", "user", "assistant", "user")
				if msgs[2].Content != "Sure! Subject: Hi" || !strings.Contains(msgs[3].Content, `the answer must be only the JSON object`) {
					t.Errorf("repair messages = %q / %q", msgs[2].Content, msgs[3].Content)
				}
				if !reqs[1].Structured {
					t.Error("repair request did not ask for structured output")
				}
			},
		},
		{
			name: "ErrBadOutputMalformedTwice", wantKind: email.KindBadOutput, wantReqs: 2,
			script: []openaitest.Reply{openaitest.Malformed(), openaitest.Malformed(), {Content: okJSON}},
			check: func(t *testing.T, r result) {
				if email.IsTransient(r.err) || r.draft.Usage.TotalTokens == 0 {
					t.Errorf("transient = %v, usage = %+v", email.IsTransient(r.err), r.draft.Usage)
				}
				if strings.Contains(r.err.Error(), "Sure!") {
					t.Errorf("error quotes the model's answer: %v", r.err)
				}
			},
		},
		{
			name: "ErrBadOutputEmptyBodyTwice", wantKind: email.KindBadOutput, wantReqs: 2,
			script: slices.Repeat([]openaitest.Reply{{Content: `{"subject":"Hello","body":"  "}`}}, 2),
			check: func(t *testing.T, r result) {
				if !strings.Contains(r.err.Error(), "body is missing or empty") {
					t.Errorf("err = %v", r.err)
				}
				if fix := r.srv.Requests()[1].Body.Messages[3].Content; !slices.Equal(mustProblems(t, fix), []string{"the body is missing or empty"}) {
					t.Errorf("repair prompt does not list the problem:\n%s", fix)
				}
			},
		},
		{
			name: "ErrBadOutputRefusal", wantKind: email.KindBadOutput, wantReqs: 1,
			script: []openaitest.Reply{{Body: `{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`}},
		},
		{
			name: "RepairJobSendsPreviousDraftAndProblems", wantReqs: 1,
			call: func(tb testing.TB) email.Prompt {
				return mustPrompt(tb, newRequest(), &email.Draft{Subject: "Old <subject>", Body: "Hi Sarah,\n\nA & B."},
					"the body is 140 words; at most 125", "uses the cliché \"leverage\"")
			},
			check: func(t *testing.T, r result) {
				msgs := r.srv.Requests()[0].Body.Messages
				assertRoles(t, msgs, "system", "user", "assistant", "user")
				var prev email.Message
				if err := json.Unmarshal([]byte(msgs[2].Content), &prev); err != nil ||
					prev != (email.Message{Subject: "Old <subject>", Body: "Hi Sarah,\n\nA & B."}) {
					t.Errorf("previous draft sent as %q", msgs[2].Content)
				}
				if got := mustProblems(t, msgs[3].Content); !slices.Equal(got, []string{"the body is 140 words; at most 125", "uses the cliché \"leverage\""}) {
					t.Errorf("repair prompt lists %q:\n%s", got, msgs[3].Content)
				}
				if !strings.HasPrefix(r.draft.Body, "Hi Sarah,") {
					t.Errorf("draft = %+v", r.draft)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := openaitest.New(t, append(tt.server, openaitest.WithScript(tt.script...))...)
			clock := newFakeClock()
			w := mustWriter(t, srv, clock.use, func(c *Config) {
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			p := newPrompt(t)
			if tt.call != nil {
				p = tt.call(t)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			draft, err := w.Write(ctx, p)
			r := result{draft: draft, err: err, srv: srv, clock: clock, elapsed: time.Since(start)}
			if got := r.kind(); got != tt.wantKind || (tt.wantKind == 0) != (err == nil) {
				t.Fatalf("err = %v (kind %v), want kind %v", err, got, tt.wantKind)
			}
			if n := srv.Count(); n != tt.wantReqs {
				t.Errorf("server got %d requests, want %d", n, tt.wantReqs)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func assertRoles(t *testing.T, msgs []goopenai.ChatCompletionMessage, roles ...string) {
	t.Helper()
	got := make([]string, len(msgs))
	for i, m := range msgs {
		got[i] = m.Role
	}
	if !slices.Equal(got, roles) {
		t.Errorf("message roles = %v, want %v", got, roles)
	}
}

func TestWriteUnavailableConnectionRefused(t *testing.T) {
	srv := openaitest.New(t)
	srv.HTTP.Close()
	clock := newFakeClock()
	w := mustWriter(t, srv, clock.use)
	_, err := w.Write(context.Background(), newPrompt(t))
	var e *email.Error
	if !errors.As(err, &e) || e.Kind != email.KindUnavailable {
		t.Fatalf("err = %v, want KindUnavailable", err)
	}
	if s := clock.Slept(); len(s) != DefaultMaxRetries {
		t.Errorf("slept %v, want %d retries", s, DefaultMaxRetries)
	}
}

func TestWriteCancelledIsNotAnEmailError(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithScript(openaitest.Stalled()))
	w := mustWriter(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the request is in flight.
		for deadline := time.Now().Add(5 * time.Second); srv.Count() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := w.Write(ctx, newPrompt(t))
	var e *email.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &e) || email.IsTransient(err) {
		t.Fatalf("err = %v, want context.Canceled and no *email.Error", err)
	}
}
