// Package price turns a model's token usage into dollars: a table of
// per-model prices, embedded for the common OpenAI models and replaceable
// with a file (MODEL_PRICES).
package price

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/ingren/ingren/internal/email"
)

//go:embed prices.json
var defaultPrices []byte

// Price is one model's price in US dollars per million tokens. Batch is
// the share of these the provider's Batch API charges (0.5: half); 0
// means the model has no batch price, and batch tokens cost the full one.
type Price struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input"`
	Output      float64 `json:"output"`
	Batch       float64 `json:"batch"`
}

// Table maps model names to prices. The zero Table knows no model.
type Table struct {
	models map[string]Price
}

type file struct {
	Models map[string]Price `json:"models"`
}

// Default returns the embedded table.
func Default() *Table {
	t, err := Parse(defaultPrices)
	if err != nil {
		panic("price: the embedded table: " + err.Error())
	}
	return t
}

// Load reads a table from a file of prices.json's form.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model prices: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("model prices %s: %w", path, err)
	}
	return t, nil
}

// Parse reads a table: {"models": {"name": {"input": …, "cached_input": …,
// "output": …, "batch": …}}}, every price finite and not negative, batch
// from 0 to 1. It names every problem at once.
func Parse(b []byte) (*Table, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a price table: %w", err)
	}
	if len(f.Models) == 0 {
		return nil, fmt.Errorf(`no "models"`)
	}
	var problems []string
	names := make([]string, 0, len(f.Models))
	for name := range f.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := f.Models[name]
		for _, v := range []struct {
			field string
			v     float64
		}{{"input", p.Input}, {"cached_input", p.CachedInput}, {"output", p.Output}, {"batch", p.Batch}} {
			if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
				problems = append(problems, fmt.Sprintf("models.%s.%s: must be a price of 0 or more", name, v.field))
			}
		}
		if p.Batch > 1 {
			problems = append(problems, fmt.Sprintf("models.%s.batch: must be a share from 0 to 1 (0.5 is half price)", name))
		}
		if strings.TrimSpace(name) == "" {
			problems = append(problems, "models: a model has no name")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return &Table{models: f.Models}, nil
}

// dated is a dated snapshot's suffix, as in gpt-4o-mini-2024-07-18.
var dated = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)

// Lookup returns model's price: its own, or that of the model it is a
// dated snapshot of. ok is false for a model the table does not know.
func (t *Table) Lookup(model string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	if p, ok := t.models[model]; ok {
		return p, true
	}
	p, ok := t.models[dated.ReplaceAllString(model, "")]
	return p, ok
}

// Cost is what u cost on model, in US dollars: cached prompt tokens at the
// cached price, the batch share of the tokens at the batch price. ok is
// false for a model the table does not know: never a guess.
func (t *Table) Cost(model string, u email.Usage) (usd float64, ok bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	batch := p.Batch
	if batch == 0 {
		batch = 1
	}
	cached := min(u.CachedPromptTokens, u.PromptTokens)
	realtimeIn := float64(u.PromptTokens - u.BatchPromptTokens)
	realtimeOut := float64(u.CompletionTokens - u.BatchCompletionTokens)
	// Cached tokens are counted among the realtime ones: a batch's cache
	// hits are not reported apart.
	cachedRT := min(float64(cached), realtimeIn)
	usd = ((realtimeIn-cachedRT)*p.Input + cachedRT*p.CachedInput + realtimeOut*p.Output +
		batch*(float64(u.BatchPromptTokens)*p.Input+float64(u.BatchCompletionTokens)*p.Output)) / 1e6
	return usd, true
}
