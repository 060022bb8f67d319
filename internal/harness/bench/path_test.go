package bench_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/lint"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// wireMessage and wireRequest are the chat completion request as plain
// structs: what the request costs to encode without go-openai's
// ChatCompletionMessage.MarshalJSON, whose output encoding/json must
// validate and compact again.
type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         float32         `json:"temperature,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
}

// wireAnswer is the least of a chat completion answer the writer reads.
type wireAnswer struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
			Refusal string `json:"refusal"`
		} `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// BenchmarkEmailPath times the steps of one generate-email request for
// testdata/requests/sarah.json one at a time, with the alternatives
// BENCHMARKS.md recommends beside them. The chat request and the answer
// are the ones the real writer and openaitest exchange. Run with -cpu 1:
//
//	go test -run '^$' -bench '^BenchmarkEmailPath$' -benchmem -cpu 1 ./internal/harness/bench
func BenchmarkEmailPath(b *testing.B) {
	sarah, err := os.ReadFile(filepath.Join(testprog.ModuleRoot(b), "testdata/requests/sarah.json"))
	if err != nil {
		b.Fatal(err)
	}
	req, _, err := email.Decode(sarah)
	if err != nil {
		b.Fatal(err)
	}
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		b.Fatal(err)
	}
	chatBody, answerBody := exchange(b, set, &req)

	// The same request as go-openai's struct and as plain structs.
	var w wireRequest
	if err := json.Unmarshal(chatBody, &w); err != nil {
		b.Fatal(err)
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(w.ResponseFormat, &rf); err != nil {
		b.Fatal(err)
	}
	chat := goopenai.ChatCompletionRequest{Model: w.Model, MaxCompletionTokens: w.MaxCompletionTokens, Temperature: w.Temperature,
		ResponseFormat: &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatType(rf.Type),
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{Name: rf.JSONSchema.Name, Strict: rf.JSONSchema.Strict, Schema: rf.JSONSchema.Schema}}}
	for _, m := range w.Messages {
		chat.Messages = append(chat.Messages, goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}

	run := func(name string, fn func()) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn()
			}
		})
	}
	run("Decode/email.Decode", func() { _, _, _ = email.Decode(sarah) })
	var floor struct {
		Prospect struct {
			FirstName, LastName, JobTitle, Department, NotableAchievement string
			TenureMonths                                                  *int
		}
		Company struct {
			CompanyName, Industry, AnnualRevenue, FundingStage, GrowthSignals, RecentNews, Technography, Description string
			EmployeeCount                                                                                            *int
		}
		CTA email.CTA
	}
	run("Decode/OnePassPlainStruct", func() { _ = json.Unmarshal(sarah, &floor) })
	run("Prompt/NewData", func() { prompt.NewData(&req, nil) })
	d := prompt.NewData(&req, nil)
	run("Prompt/RenderSystemAndUser", func() {
		_, _ = set.System(d)
		_, _ = set.User(d)
	})
	run("MarshalRequest/go-openai", func() { _, _ = json.Marshal(chat) })
	run("MarshalRequest/PlainStructs", func() { _, _ = json.Marshal(w) })
	run("DecodeAnswer/go-openai", func() {
		var r goopenai.ChatCompletionResponse
		_ = json.NewDecoder(bytes.NewReader(answerBody)).Decode(&r)
	})
	run("DecodeAnswer/MinimalStruct", func() {
		var r wireAnswer
		_ = json.Unmarshal(answerBody, &r)
	})
	var a wireAnswer
	if err := json.Unmarshal(answerBody, &a); err != nil || len(a.Choices) == 0 {
		b.Fatalf("answer %s: %v", answerBody, err)
	}
	var e struct{ Subject, Body string }
	if err := json.Unmarshal([]byte(a.Choices[0].Message.Content), &e); err != nil {
		b.Fatal(err)
	}
	in := lint.Input{Subject: e.Subject, Body: e.Body, FirstName: req.Prospect.FirstName,
		MaxWords: req.Options.WithDefaults().MaxWords, Facts: email.Facts(&req), SystemPrompt: set.SystemText()}
	run("Lint/WithSystemPrompt", func() { lint.Check(in) })
	prepared := in
	prepared.SystemPrompt, prepared.Prompt = "", lint.NewPrompt(in.SystemPrompt)
	run("Lint/PreparedPrompt", func() { lint.Check(prepared) })
	noEcho := in
	noEcho.SystemPrompt = ""
	run("Lint/WithoutSystemPrompt", func() { lint.Check(noEcho) })
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	run("LogLine/Info", func() {
		log.Info("request", slog.String("request_id", "req_0123456789abcdef01234567"), slog.String("method", "POST"),
			slog.String("path", "/api/v1/generate-email"), slog.Int("status", 200), slog.Float64("latency_ms", 1.234),
			slog.String("tenant", "local"), slog.String("model", "gpt-4o-mini"), slog.Int("total_tokens", 1234))
	})
}

// exchange runs the real writer against openaitest once and returns the
// chat completion request it sent and the answer it got.
func exchange(b *testing.B, set *prompt.Set, req *email.Request) (chat, answer []byte) {
	b.Helper()
	h := openaitest.NewHandler(openaitest.Config{DiscardRequests: true})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chat, _ = io.ReadAll(r.Body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.Method, r.URL.Path, bytes.NewReader(chat)))
		answer = rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	wr, err := openai.New(openai.Config{APIKey: "sk-bench", BaseURL: srv.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := set.Prompt(req, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := wr.Write(b.Context(), p); err != nil {
		b.Fatal(err)
	}
	return chat, answer
}
