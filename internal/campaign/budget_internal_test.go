package campaign

import (
	"fmt"
	"testing"

	"github.com/ingren/ingren/internal/email"
)

// onePrompt renders a prompt whose user message is the prospect's name.
type onePrompt struct{}

func (onePrompt) FirstPrompt(req *email.Request) (email.Prompt, error) {
	return email.Prompt{Messages: []email.Turn{
		{Role: email.RoleSystem, Content: "You write short sales emails."},
		{Role: email.RoleUser, Content: "Write to " + req.Prospect.FirstName},
	}}, nil
}

// TestHoldMemoIsBounded: the memo of a long-lived worker or server starts
// over every memoUses counts, so that one new message per prospect cannot
// grow it for ever, and it counts the same with or without a memo.
func TestHoldMemoIsBounded(t *testing.T) {
	var h holdMemo
	var first int
	for i := range 3*memoUses + 1 {
		req := &email.Request{Prospect: email.Prospect{FirstName: fmt.Sprintf("Pat%d", i%7)}}
		_, prompt, _, err := h.callTokens(onePrompt{}, req, "gpt-4o-mini")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = prompt
		}
		if i%7 == 0 && prompt != first {
			t.Fatalf("count %d: %d prompt tokens, want %d as the first time", i, prompt, first)
		}
		if h.uses > memoUses {
			t.Fatalf("count %d: the memo has served %d counts, want at most %d before it starts over", i, h.uses, memoUses)
		}
	}
}
