package prompt_test

import (
	"testing"

	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// BenchmarkPrompt measures rendering the call for
// testdata/requests/sarah.json: the fenced data, the system prompt and the
// user message.
func BenchmarkPrompt(b *testing.B) {
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		b.Fatal(err)
	}
	req := MustRequest(b, "sarah.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Prompt(req, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
