package openaitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/tokens"
	"github.com/ingren/ingren/prompts"
)

const strictSchema = `{"type":"object","properties":{"subject":{"type":"string"},"body":{"type":"string"}},"required":["subject","body"],"additionalProperties":false}`

// mustRequest renders the real prompts for a prospect into a chat request
// that asks for strict structured output.
func mustRequest(tb testing.TB, first, company string) openai.ChatCompletionRequest {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	d := prompt.NewData(&email.Request{
		Prospect: email.Prospect{FirstName: first, JobTitle: "VP of Sales"},
		Company:  email.Company{CompanyName: company, Industry: "SaaS"},
	}, nil)
	sys, err := set.System(d)
	if err != nil {
		tb.Fatal(err)
	}
	user, err := set.User(d)
	if err != nil {
		tb.Fatal(err)
	}
	return openai.ChatCompletionRequest{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: sys},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: "email", Strict: true, Schema: json.RawMessage(strictSchema),
			},
		},
	}
}

func client(baseURL string) *openai.Client {
	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = baseURL
	return openai.NewClientWithConfig(cfg)
}

type emailJSON struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func TestServer(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := openaitest.New(t)
		req := mustRequest(t, "Sarah", "TechNova Solutions")
		resp, err := client(s.URL).CreateChatCompletion(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Object != "chat.completion" || resp.Model != "gpt-4o-mini" || resp.ID == "" || resp.Created == 0 {
			t.Errorf("response = %+v", resp)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].FinishReason != openai.FinishReasonStop ||
			resp.Choices[0].Message.Role != openai.ChatMessageRoleAssistant {
			t.Fatalf("choices = %+v", resp.Choices)
		}
		content := resp.Choices[0].Message.Content
		prompt := len(req.Messages[0].Content) + len(req.Messages[1].Content)
		want := openai.Usage{PromptTokens: prompt / 4, CompletionTokens: len(content) / 4, TotalTokens: prompt/4 + len(content)/4}
		if resp.Usage.PromptTokens != want.PromptTokens || resp.Usage.CompletionTokens != want.CompletionTokens ||
			resp.Usage.TotalTokens != want.TotalTokens {
			t.Errorf("usage = %+v, want %+v", resp.Usage, want)
		}
		var e emailJSON
		if err := json.Unmarshal([]byte(content), &e); err != nil {
			t.Fatalf("content is not the email JSON: %v\n%s", err, content)
		}
		if !strings.HasPrefix(e.Body, "Hi Sarah,\n\n") || !strings.Contains(e.Subject, "TechNova Solutions") {
			t.Errorf("email = %+v", e)
		}
		got := s.Requests()
		if len(got) != 1 || !got[0].Structured || got[0].Path != "/v1/chat/completions" ||
			got[0].Body.Messages[1].Content != req.Messages[1].Content {
			t.Errorf("recorded = %+v", got)
		}
		if s.Count() != 1 || s.StatusCounts()[http.StatusOK] != 1 {
			t.Errorf("count = %d, statuses = %v", s.Count(), s.StatusCounts())
		}
	})

	t.Run("OKWithoutV1", func(t *testing.T) {
		s := openaitest.New(t)
		if _, err := client(s.HTTP.URL).CreateChatCompletion(context.Background(), mustRequest(t, "Li", "Acme")); err != nil {
			t.Fatal(err)
		}
		if p := s.Requests()[0].Path; p != "/chat/completions" {
			t.Errorf("path = %q", p)
		}
	})

	t.Run("NotFoundOtherPath", func(t *testing.T) {
		s := openaitest.New(t)
		resp, err := http.Post(s.URL+"/completions", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		s := openaitest.New(t, openaitest.WithAPIKey("sk-right"))
		_, err := client(s.URL).CreateChatCompletion(context.Background(), mustRequest(t, "Li", "Acme"))
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("ErrBadRequestBody", func(t *testing.T) {
		s := openaitest.New(t)
		resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader("{"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})
}

func TestServerStructuredOutput(t *testing.T) {
	tests := []struct {
		name           string
		format         *openai.ChatCompletionResponseFormat
		wantStatus     int
		wantStructured bool
	}{
		{name: "StructuredStrictSchema", wantStatus: 200, wantStructured: true},
		{name: "NotStructuredWithoutResponseFormat", format: &openai.ChatCompletionResponseFormat{}, wantStatus: 200},
		{name: "NotStructuredJSONObject", format: &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}, wantStatus: 200},
		{name: "NotStructuredNotStrict", format: &openai.ChatCompletionResponseFormat{
			Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "email", Schema: json.RawMessage(strictSchema)},
		}, wantStatus: 200},
		{name: "ErrAdditionalPropertiesMissing", format: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "email", Strict: true,
				Schema: json.RawMessage(`{"type":"object","properties":{"subject":{"type":"string"}},"required":["subject"]}`)},
		}, wantStatus: 400},
		{name: "ErrPropertyNotRequired", format: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "email", Strict: true,
				Schema: json.RawMessage(`{"type":"object","properties":{"subject":{"type":"string"},"body":{"type":"string"}},"required":["subject"],"additionalProperties":false}`)},
		}, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openaitest.New(t)
			req := mustRequest(t, "Sarah", "TechNova")
			if tt.format != nil {
				req.ResponseFormat = tt.format
				if tt.format.Type == "" {
					req.ResponseFormat = nil
				}
			}
			_, err := client(s.URL).CreateChatCompletion(context.Background(), req)
			status := 200
			var apiErr *openai.APIError
			if errors.As(err, &apiErr) {
				status = apiErr.HTTPStatusCode
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (%v)", status, tt.wantStatus, err)
			}
			if got := s.Requests()[0].Structured; got != tt.wantStructured {
				t.Errorf("Structured = %v, want %v", got, tt.wantStructured)
			}
		})
	}
}

func TestServerScript(t *testing.T) {
	s := openaitest.New(t, openaitest.WithScript(
		openaitest.RateLimited(1500*time.Millisecond),
		openaitest.Status(http.StatusServiceUnavailable),
		openaitest.Malformed(),
		openaitest.Reply{Content: `{"subject":"S","body":"B"}`, Header: http.Header{"X-Test": {"yes"}}},
	))
	body, err := json.Marshal(mustRequest(t, "Sarah", "TechNova"))
	if err != nil {
		t.Fatal(err)
	}
	post := func() (*http.Response, string) {
		resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, b := post()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" ||
		resp.Header.Get("x-ratelimit-reset-requests") != "1.5s" || !strings.Contains(b, `"code":"rate_limit_exceeded"`) {
		t.Errorf("1: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	if resp, b := post(); resp.StatusCode != 503 || !strings.Contains(b, `"type":"server_error"`) {
		t.Errorf("2: %d %s", resp.StatusCode, b)
	}
	var cc openai.ChatCompletionResponse
	if resp, b := post(); resp.StatusCode != 200 || json.Unmarshal([]byte(b), &cc) != nil ||
		json.Valid([]byte(cc.Choices[0].Message.Content)) {
		t.Errorf("3: want 200 with content that is not JSON, got %d %s", resp.StatusCode, b)
	}
	if resp, b := post(); resp.StatusCode != 200 || resp.Header.Get("X-Test") != "yes" || !strings.Contains(b, `{\"subject\":\"S\",\"body\":\"B\"}`) {
		t.Errorf("4: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(); resp.StatusCode != 200 || !strings.Contains(b, `Hi Sarah`) {
		t.Errorf("5 (default): %d %s", resp.StatusCode, b)
	}
	want := map[int]int{429: 1, 503: 1, 200: 3}
	if got := s.StatusCounts(); len(got) != len(want) || got[429] != 1 || got[503] != 1 || got[200] != 3 {
		t.Errorf("StatusCounts = %v, want %v", got, want)
	}
}

// clock is a hand-moved clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func serve(tb testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(string(body))))
	return rec
}

func TestServerRPM(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	h := openaitest.NewHandler(openaitest.Config{RPM: 2, Now: clk.Now})
	body, _ := json.Marshal(mustRequest(t, "Sarah", "TechNova"))
	for i := range 2 {
		if rec := serve(t, h, body); rec.Code != 200 {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
	}
	rec := serve(t, h, body)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "30" || rec.Header().Get("x-ratelimit-reset-requests") != "30s" {
		t.Fatalf("over the limit: %d %v", rec.Code, rec.Header())
	}
	var e openai.ErrorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "rate_limit_exceeded" ||
		e.Error.Type != "requests" || !strings.HasPrefix(e.Error.Message, "Rate limit reached") {
		t.Errorf("error body = %s (%v)", rec.Body, err)
	}
	clk.Add(29 * time.Second)
	if rec := serve(t, h, body); rec.Code != 429 {
		t.Errorf("after 29s: status %d, want 429", rec.Code)
	}
	clk.Add(time.Second)
	if rec := serve(t, h, body); rec.Code != 200 {
		t.Errorf("after 30s: status %d, want 200", rec.Code)
	}
}

func TestServerFaultsRepeatableWithSeed(t *testing.T) {
	body, _ := json.Marshal(mustRequest(t, "Sarah", "TechNova"))
	run := func(seed uint64) []int {
		h := openaitest.NewHandler(openaitest.Config{Seed: seed, FailRate: 0.2, RateLimitRate: 0.2, MalformedRate: 0.2})
		var got []int
		for range 100 {
			rec := serve(t, h, body)
			code := rec.Code
			if code == 200 && strings.Contains(rec.Body.String(), "Sure! Here is") {
				code = 2000 // malformed
			}
			got = append(got, code)
		}
		return got
	}
	a, b := run(42), run(42)
	if fmtInts(a) != fmtInts(b) {
		t.Fatalf("same seed, different answers:\n%v\n%v", a, b)
	}
	seen := map[int]int{}
	for _, c := range a {
		seen[c]++
	}
	for _, c := range []int{200, 500, 429, 2000} {
		if seen[c] < 5 {
			t.Errorf("answer %d seen %d times in 100, want about 20 (%v)", c, seen[c], seen)
		}
	}
	if fmtInts(run(43)) == fmtInts(a) {
		t.Error("a different seed gave the same 100 answers")
	}
}

func fmtInts(a []int) string {
	b, _ := json.Marshal(a)
	return string(b)
}

func TestServerStallUntilClientGivesUp(t *testing.T) {
	s := openaitest.New(t, openaitest.WithStallRate(1))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client(s.URL).CreateChatCompletion(ctx, mustRequest(t, "Sarah", "TechNova"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestServerLatency(t *testing.T) {
	s := openaitest.New(t, openaitest.WithLatency(50*time.Millisecond, 10*time.Millisecond), openaitest.WithSeed(1))
	start := time.Now()
	if _, err := client(s.URL).CreateChatCompletion(context.Background(), mustRequest(t, "Sarah", "TechNova")); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("answered after %v, want at least 40ms", el)
	}
}

func TestServerConcurrent(t *testing.T) {
	s := openaitest.New(t, openaitest.WithLatency(10*time.Millisecond, 0))
	c := client(s.URL)
	req := mustRequest(t, "Sarah", "TechNova")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.CreateChatCompletion(context.Background(), req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s.Count() != 20 || len(s.Requests()) != 20 || s.StatusCounts()[200] != 20 {
		t.Errorf("count = %d, statuses = %v", s.Count(), s.StatusCounts())
	}
	if p := s.PeakInFlight(); p < 2 || p > 20 {
		t.Errorf("PeakInFlight = %d", p)
	}
}

func TestDefaultEmail(t *testing.T) {
	tests := []struct{ name, first, company string }{
		{"OKShortNames", "Li", "Acme"},
		{"OKLongCompany", "Sarah", "TechNova Solutions International Group"},
		{"OKEscapedCharacters", `Zoë "Z" \ O'Neil`, "<Acme> & Sons\n\tLtd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := openaitest.NewHandler(openaitest.Config{})
			body, _ := json.Marshal(mustRequest(t, tt.first, tt.company))
			rec := serve(t, h, body)
			var cc openai.ChatCompletionResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			var e emailJSON
			if err := json.Unmarshal([]byte(cc.Choices[0].Message.Content), &e); err != nil {
				t.Fatalf("%v: %s", err, cc.Choices[0].Message.Content)
			}
			if !strings.HasPrefix(e.Body, "Hi "+tt.first+",\n\n") || !strings.Contains(e.Body, tt.company) {
				t.Errorf("body does not use the facts:\n%s", e.Body)
			}
			if n := len(strings.Fields(e.Body)); n < 50 || n > 80 {
				t.Errorf("body has %d words, want 50-80", n)
			}
			if n := strings.Count(e.Body, "?"); n != 1 {
				t.Errorf("body has %d questions, want 1", n)
			}
		})
	}
}

func BenchmarkHandler(b *testing.B) {
	h := openaitest.NewHandler(openaitest.Config{DiscardRequests: true})
	body, _ := json.Marshal(mustRequest(b, "Sarah", "TechNova"))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(string(body))))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// With CountTokens the usage is OpenAI's count: the messages with the
// chat overhead and the schema, in the model's encoding, and the answer.
func TestServerCountTokens(t *testing.T) {
	for _, model := range []string{"gpt-4o-mini", "gpt-4"} {
		t.Run(model, func(t *testing.T) {
			s := openaitest.New(t, openaitest.WithCountTokens())
			req := mustRequest(t, "Jürgen", "Ölwerke Köln GmbH")
			req.Model = model
			resp, err := client(s.URL).CreateChatCompletion(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			c := tokens.For(model)
			wantPrompt := c.Chat([]tokens.Message{
				{Role: "system", Content: req.Messages[0].Content},
				{Role: "user", Content: req.Messages[1].Content},
			}, "email", []byte(strictSchema))
			wantCompletion := c.Text(resp.Choices[0].Message.Content)
			if resp.Usage.PromptTokens != wantPrompt || resp.Usage.CompletionTokens != wantCompletion ||
				resp.Usage.TotalTokens != wantPrompt+wantCompletion {
				t.Errorf("usage = %+v, want prompt %d, completion %d", resp.Usage, wantPrompt, wantCompletion)
			}
		})
	}
}
