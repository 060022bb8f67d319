package price_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/price"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestCost(t *testing.T) {
	tab := price.Default()
	for _, tc := range []struct {
		name  string
		model string
		u     email.Usage
		want  float64
		ok    bool
	}{
		// 1M in at $0.15, 1M out at $0.60.
		{"OKRealtime", "gpt-4o-mini", email.Usage{PromptTokens: 1e6, CompletionTokens: 1e6}, 0.75, true},
		{"OKDatedSnapshot", "gpt-4o-mini-2024-07-18", email.Usage{PromptTokens: 1e6}, 0.15, true},
		// All batch: half.
		{"OKBatch", "gpt-4o-mini", email.Usage{PromptTokens: 1e6, CompletionTokens: 1e6, BatchPromptTokens: 1e6, BatchCompletionTokens: 1e6}, 0.375, true},
		// Half the prompt cached: 0.5M × 0.15 + 0.5M × 0.075.
		{"OKCached", "gpt-4o-mini", email.Usage{PromptTokens: 1e6, CachedPromptTokens: 5e5}, 0.1125, true},
		{"ErrUnknownModel", "llama-3-70b", email.Usage{PromptTokens: 1e6}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tab.Cost(tc.model, tc.u)
			if ok != tc.ok || !near(got, tc.want) {
				t.Fatalf("Cost(%s, %+v) = %v, %v; want %v, %v", tc.model, tc.u, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"models": {"my-model": {"input": 1, "cached_input": 0.5, "output": 2, "batch": 0.5}}}`), 0o600)
	tab, err := price.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tab.Cost("my-model", email.Usage{PromptTokens: 1e6, CompletionTokens: 1e6}); !ok || !near(got, 3) {
		t.Fatalf("my-model: %v, %v; want 3", got, ok)
	}
	if _, ok := tab.Cost("gpt-4o-mini", email.Usage{PromptTokens: 1}); ok {
		t.Fatal("a loaded table must replace the embedded one")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"models": {"a": {"input": -1, "output": 1, "batch": 2}}}`), 0o600)
	_, err = price.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "models.a.input") || !strings.Contains(err.Error(), "models.a.batch") {
		t.Fatalf("err = %v; want both problems named", err)
	}
	if _, err := price.Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("a missing file: no error")
	}
}
