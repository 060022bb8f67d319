package openai

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
)

// calls records what an Observer is told.
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) ModelCalled(model string, took time.Duration, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if took < 0 {
		status = -1 // a negative duration would be a bug: make it show
	}
	c.got = append(c.got, fmt.Sprintf("call %s %d", model, status))
}

func (c *calls) Repaired(model string, reason email.RepairReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("repair %s %s", model, reason))
}

// TestWriteObserver: the Writer tells its Observer of every HTTP attempt,
// 429s included, with the status each got, and of its own repair round.
func TestWriteObserver(t *testing.T) {
	okJSON := `{"subject":"Berlin and TechNova","body":"Hi Sarah,\n\nCongrats on Berlin. Open to a 15-minute chat next week?\n\nBest,\nAlex"}`
	tests := []struct {
		name   string
		script []openaitest.Reply
		cfg    func(*Config)
		want   []string
	}{
		{"OK", nil, nil, []string{"call gpt-4o-mini 200"}},
		{"RateLimitedThenOK", []openaitest.Reply{openaitest.RateLimited(time.Second)}, nil,
			[]string{"call gpt-4o-mini 429", "call gpt-4o-mini 200"}},
		{"RateLimitedEveryTime", slices.Repeat([]openaitest.Reply{openaitest.RateLimited(time.Second)}, 3),
			func(c *Config) { c.MaxRetries = 2 },
			[]string{"call gpt-4o-mini 429", "call gpt-4o-mini 429", "call gpt-4o-mini 429"}},
		{"ServerErrorThenOK", []openaitest.Reply{openaitest.Status(http.StatusInternalServerError)}, nil,
			[]string{"call gpt-4o-mini 500", "call gpt-4o-mini 200"}},
		{"RepairRound", []openaitest.Reply{openaitest.Malformed(), {Content: okJSON}}, nil,
			[]string{"call gpt-4o-mini 200", "repair gpt-4o-mini answer", "call gpt-4o-mini 200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := openaitest.New(t, openaitest.WithScript(tt.script...))
			obs := &calls{}
			w := mustWriter(t, srv, newFakeClock().use, func(c *Config) {
				c.Observer = obs
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			_, _ = w.Write(context.Background(), newPrompt(t))
			if !slices.Equal(obs.got, tt.want) {
				t.Errorf("observed %q, want %q", obs.got, tt.want)
			}
		})
	}
}
