package openai

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// mustProblems returns the problems a repair message lists in its
// <problems> fence, as a JSON array.
func mustProblems(tb testing.TB, repair string) []string {
	tb.Helper()
	before, rest, ok1 := strings.Cut(repair, "<problems>")
	inside, _, ok2 := strings.Cut(rest, "</problems>")
	var problems []string
	if !ok1 || !ok2 || before == "" || json.Unmarshal([]byte(inside), &problems) != nil {
		tb.Fatalf("no JSON array in a <problems> fence:\n%s", repair)
	}
	return problems
}

func mustPrompts(tb testing.TB) *prompt.Set {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// mustPrompt renders the call that writes req, as the composer does: on a
// repair round previous is the draft to fix and problems what is wrong.
func mustPrompt(tb testing.TB, req *email.Request, previous *email.Draft, problems ...string) email.Prompt {
	tb.Helper()
	p, err := mustPrompts(tb).Prompt(req, previous, problems)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// newPrompt is the call that writes newRequest.
func newPrompt(tb testing.TB) email.Prompt {
	tb.Helper()
	return mustPrompt(tb, newRequest(), nil)
}

// mustWriter returns a Writer for s, changed by opts.
func mustWriter(tb testing.TB, s *openaitest.Server, opts ...func(*Config)) *Writer {
	tb.Helper()
	cfg := Config{APIKey: "sk-test", BaseURL: s.URL}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func newRequest() *email.Request {
	return &email.Request{
		Prospect: email.Prospect{FirstName: "Sarah", LastName: "Johnson", JobTitle: "VP of Sales"},
		Company:  email.Company{CompanyName: "TechNova Solutions", Industry: "SaaS", RecentNews: "Opened a Berlin office"},
		CTA:      email.CTA{Ask: "Open to a 15-minute chat next week?"},
		Sender:   email.Sender{Name: "Alex", Company: "Ingren"},
	}
}

// fakeClock is a clock that moves only when someone sleeps on it, and
// remembers every sleep.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func (c *fakeClock) use(cfg *Config) { cfg.Now, cfg.Sleep = c.Now, c.Sleep }
