package openai

import (
	"context"
	"errors"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

func TestWriteAnswered(t *testing.T) {
	okJSON := `{"subject":"Berlin and TechNova","body":"Hi Sarah,\n\nCongrats on Berlin. Open to a 15-minute chat next week?\n\nBest,\nAlex"}`
	batchUsage := email.Usage{PromptTokens: 100, CompletionTokens: 40, TotalTokens: 140}.AsBatch()

	t.Run("OKNoCall", func(t *testing.T) {
		s := openaitest.New(t)
		p := newPrompt(t)
		p.Answered = &email.Completion{Content: okJSON, Model: "gpt-4o-mini-2024-07-18", Usage: batchUsage}
		d, err := mustWriter(t, s).Write(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if d.Subject != "Berlin and TechNova" || d.Model != "gpt-4o-mini-2024-07-18" || d.Usage != batchUsage {
			t.Errorf("draft = %+v", d)
		}
		if n := s.Count(); n != 0 {
			t.Errorf("%d calls made, want none", n)
		}
	})

	t.Run("MalformedOneRepairCall", func(t *testing.T) {
		s := openaitest.New(t)
		p := newPrompt(t)
		const bad = "Sure! Subject: Hi"
		p.Answered = &email.Completion{Content: bad, Usage: batchUsage}
		d, err := mustWriter(t, s).Write(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Count(); n != 1 {
			t.Fatalf("%d calls made, want the repair round alone", n)
		}
		req := s.Requests()[0].Body
		msgs := req.Messages
		if len(msgs) != len(p.Messages)+2 || msgs[len(msgs)-2].Role != goopenai.ChatMessageRoleAssistant ||
			msgs[len(msgs)-2].Content != bad || len(mustProblems(t, msgs[len(msgs)-1].Content)) == 0 {
			t.Fatalf("repair request messages = %+v", msgs)
		}
		if d.Subject == "" || d.Model != req.Model {
			t.Errorf("draft = %+v", d)
		}
		// The batch answer's usage stays batch usage; the repair call adds
		// realtime usage.
		u := d.Usage
		if u.BatchPromptTokens != 100 || u.BatchCompletionTokens != 40 || u.PromptTokens <= 100 ||
			u.CompletionTokens <= 40 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
			t.Errorf("usage = %+v", u)
		}
	})

	t.Run("ErrRefused", func(t *testing.T) {
		s := openaitest.New(t)
		p := newPrompt(t)
		p.Answered = &email.Completion{Refusal: "I can't help with that.", Usage: batchUsage}
		d, err := mustWriter(t, s).Write(context.Background(), p)
		var e *email.Error
		if !errors.As(err, &e) || e.Kind != email.KindBadOutput {
			t.Fatalf("err = %v, want KindBadOutput", err)
		}
		if s.Count() != 0 || d.Usage != batchUsage {
			t.Errorf("%d calls, usage %+v", s.Count(), d.Usage)
		}
	})
}
