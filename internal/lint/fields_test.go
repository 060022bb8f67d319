package lint_test

import (
	"testing"

	"github.com/ingren/ingren/internal/lint"
)

func TestWords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"Empty", "", 0},
		{"Greeting", "Hi Sarah,", 2},
		{"DashIsNoWord", "15-min chat — next Tuesday?", 4},
		{"LinkIsOneWord", "calendly.com/ingren/demo", 1},
		{"Whitespace", "  a\n\tb  ", 2},
		{"Unicode", "Grüße aus München", 3},
		{"Filler", filler, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lint.Words(tt.in); got != tt.want {
				t.Errorf("Words(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
