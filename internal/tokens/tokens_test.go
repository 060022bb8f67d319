package tokens_test

import (
	"testing"

	"github.com/ingren/ingren/internal/tokens"
)

func TestEncoding(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-4o":                      tokens.O200kBase,
		"gpt-4o-mini-2024-07-18":      tokens.O200kBase,
		"gpt-4.1-nano":                tokens.O200kBase,
		"gpt-5-mini":                  tokens.O200kBase,
		"o3-mini":                     tokens.O200kBase,
		"o1":                          tokens.O200kBase,
		"ft:gpt-4o-mini:acme::abc123": tokens.O200kBase,
		"gpt-4":                       tokens.Cl100kBase,
		"gpt-4-turbo":                 tokens.Cl100kBase,
		"gpt-3.5-turbo-0125":          tokens.Cl100kBase,
		"some-local-model":            tokens.O200kBase,
	} {
		if got := tokens.Encoding(model); got != want {
			t.Errorf("Encoding(%q) = %s, want %s", model, got, want)
		}
		if got := tokens.For(model).Encoding(); got != want {
			t.Errorf("For(%q).Encoding() = %s, want %s", model, got, want)
		}
	}
}

// The counts are tiktoken's (hello world is [24912, 2375] in o200k_base
// and [15339, 1917] in cl100k_base, as in tiktoken's README).
func TestText(t *testing.T) {
	for _, c := range []struct {
		model, text string
		want        int
	}{
		{"gpt-4o-mini", "hello world", 2},
		{"gpt-4", "hello world", 2},
		{"gpt-4o-mini", "tiktoken is great!", 6},
		{"gpt-4o-mini", "Grüße aus Köln — 東京", 7},
		{"gpt-4", "Grüße aus Köln — 東京", 10},
		{"gpt-4o-mini", "", 0},
	} {
		if got := tokens.For(c.model).Text(c.text); got != c.want {
			t.Errorf("%s: Text(%q) = %d, want %d", c.model, c.text, got, c.want)
		}
	}
}

// OpenAI's API reference answers the system message "You are a helpful
// assistant." and the user message "Hello!" with prompt_tokens 19.
func TestChat(t *testing.T) {
	msgs := []tokens.Message{
		{Role: "system", Content: "You are a helpful assistant."},
		{Role: "user", Content: "Hello!"},
	}
	c := tokens.For("gpt-4o")
	if got := c.Chat(msgs, "", nil); got != 19 {
		t.Errorf("Chat = %d, want 19", got)
	}
	schema := []byte(`{"type":"object","properties":{"subject":{"type":"string"}},"required":["subject"],"additionalProperties":false}`)
	want := 19 + tokens.PerMessage + c.Text("email") + c.Text(string(schema))
	if got := c.Chat(msgs, "email", schema); got != want {
		t.Errorf("Chat with a schema = %d, want %d", got, want)
	}
}
