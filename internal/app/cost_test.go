package app_test

import (
	"encoding/csv"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/testprog"
)

// costUsage is a usage as the API shows it, with its cost.
type costUsage struct {
	email.Usage
	CostUSD *float64 `json:"cost_usd"`
}

// micro is usd in micro-dollars, the unit cost_usd is rounded to.
func micro(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// wantCost is what the embedded table says u costs on model.
func wantCost(t *testing.T, model string, u email.Usage) int64 {
	t.Helper()
	usd, ok := price.Default().Cost(model, u)
	if !ok {
		t.Fatalf("the embedded table has no price for %s", model)
	}
	return micro(usd)
}

// TestLocalGenerateEmailCost: the answer's cost_usd is its tokens at the
// model's price; a model without a price gets null and a warning.
func TestLocalGenerateEmailCost(t *testing.T) {
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL, "ALLOWED_MODELS": "my-own-model"})
	type answer struct {
		Model    string    `json:"model"`
		Usage    costUsage `json:"usage"`
		Warnings []string  `json:"warnings"`
	}
	t.Run("OKKnownModel", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`}`)
		a := testprog.MustDecode[answer](t, body)
		if status != http.StatusOK || a.Usage.CostUSD == nil || a.Usage.TotalTokens == 0 {
			t.Fatalf("%d %s: want a cost", status, body)
		}
		if got, want := micro(*a.Usage.CostUSD), wantCost(t, a.Model, a.Usage.Usage); got != want || got == 0 {
			t.Errorf("cost_usd %v, want %d µ$", *a.Usage.CostUSD, want)
		}
		if len(a.Warnings) != 0 {
			t.Errorf("warnings %q, want none", a.Warnings)
		}
	})
	t.Run("OKUnknownModelIsNull", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`, "options": {"model": "my-own-model"}}`)
		a := testprog.MustDecode[answer](t, body)
		if status != http.StatusOK || a.Usage.CostUSD != nil || !strings.Contains(string(body), `"cost_usd":null`) {
			t.Fatalf("%d %s: want cost_usd null", status, body)
		}
		if len(a.Warnings) != 1 || a.Warnings[0] != "no price for model my-own-model: cost_usd is null; set MODEL_PRICES" {
			t.Errorf("warnings %q, want the model named", a.Warnings)
		}
	})
}

// TestLocalModelPrices: MODEL_PRICES replaces the embedded table; a file
// that is not a table stops the start, its problem named.
func TestLocalModelPrices(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prices.json")
	// $1 a million in and $2 a million out, dearer than the embedded price.
	if err := os.WriteFile(file, []byte(`{"models": {"gpt-4o-mini": {"input": 1, "cached_input": 0.5, "output": 2, "batch": 0.5}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL, "MODEL_PRICES": file})
	status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`}`)
	a := testprog.MustDecode[struct {
		Usage costUsage `json:"usage"`
	}](t, body)
	if status != http.StatusOK || a.Usage.CostUSD == nil {
		t.Fatalf("%d %s", status, body)
	}
	want := int64(a.Usage.PromptTokens*1 + a.Usage.CompletionTokens*2)
	if got := micro(*a.Usage.CostUSD); got != want {
		t.Errorf("cost_usd %v, want %d µ$ at the file's prices", *a.Usage.CostUSD, want)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"models": {"gpt-4o-mini": {"input": -1, "output": 1}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{bad: "models.gpt-4o-mini.input", filepath.Join(dir, "missing.json"): "missing.json"} {
		cfg, err := config.FromEnv(func(k string) string {
			return map[string]string{"DATA_DIR": t.TempDir(), "MODEL_PRICES": path}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.NewLocal(cfg, []string{testKey}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "MODEL_PRICES") || !strings.Contains(err.Error(), want) {
			t.Errorf("MODEL_PRICES=%s: start error %v; want one naming MODEL_PRICES and %s", path, err, want)
		}
	}
}

// TestLocalCampaignCost: a campaign's cost_usd is the sum of its emails'
// (in JSON and in the CSV's cost_usd column); one email of a model
// without a price makes it null, with a warning.
func TestLocalCampaignCost(t *testing.T) {
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL, "ALLOWED_MODELS": "gpt-4o,my-own-model"})
	api := testprog.HTTP(base, testKey)
	type view struct {
		Usage    costUsage `json:"usage"`
		Warnings []string  `json:"warnings"`
	}
	run := func(t *testing.T, models ...string) (view, []costUsage) {
		prospects := testprog.Prospects(len(models))
		for i, m := range models {
			prospects[i]["options"] = map[string]any{"model": m}
		}
		id := api.Submit(t, map[string]any{"prospects": prospects})
		api.WaitFor(t, id, time.Minute, testprog.Campaign.Final)
		_, b := api(t, "GET", "/api/v1/campaigns/"+id, nil)
		c := testprog.MustDecode[view](t, b)
		_, b = api(t, "GET", "/api/v1/campaigns/"+id+"/emails", nil)
		page := testprog.MustDecode[struct {
			Emails []struct {
				Status string    `json:"status"`
				Usage  costUsage `json:"usage"`
			} `json:"emails"`
		}](t, b)
		var usages []costUsage
		for _, e := range page.Emails {
			if e.Status != "succeeded" {
				t.Fatalf("emails %s: want every one written", b)
			}
			usages = append(usages, e.Usage)
		}
		status, _, csvBody := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id+"/emails?format=csv", testKey, nil)
		rows, err := csv.NewReader(strings.NewReader(string(csvBody))).ReadAll()
		if status != http.StatusOK || err != nil || len(rows) != len(models)+1 || rows[0][len(rows[0])-1] != "cost_usd" {
			t.Fatalf("CSV %d %v:\n%s", status, err, csvBody)
		}
		for i, row := range rows[1:] {
			cell, want := row[len(row)-1], ""
			if u := usages[i]; u.CostUSD != nil {
				want = strconv.FormatFloat(*u.CostUSD, 'f', -1, 64)
			}
			if cell != want {
				t.Errorf("CSV row %d cost_usd %q, want %q as in JSON", i+1, cell, want)
			}
		}
		return c, usages
	}
	t.Run("OKSumOfTheEmails", func(t *testing.T) {
		c, usages := run(t, "gpt-4o-mini", "gpt-4o", "gpt-4o-mini")
		var sum int64
		for _, u := range usages {
			if u.CostUSD == nil {
				t.Fatalf("an email without a cost: %+v", usages)
			}
			sum += micro(*u.CostUSD)
		}
		if c.Usage.CostUSD == nil || micro(*c.Usage.CostUSD) != sum || sum == 0 {
			t.Fatalf("campaign cost_usd %v, want the emails' sum %d µ$", c.Usage.CostUSD, sum)
		}
		if got := wantCost(t, "gpt-4o", usages[1].Usage); micro(*usages[1].CostUSD) != got {
			t.Errorf("gpt-4o email cost_usd %v, want %d µ$", *usages[1].CostUSD, got)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("warnings %q, want none", c.Warnings)
		}
	})
	t.Run("OKUnpricedIsNull", func(t *testing.T) {
		c, usages := run(t, "gpt-4o-mini", "my-own-model")
		if usages[0].CostUSD == nil || usages[1].CostUSD != nil {
			t.Fatalf("emails' cost_usd %v, %v; want a cost and null", usages[0].CostUSD, usages[1].CostUSD)
		}
		if c.Usage.CostUSD != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "MODEL_PRICES") {
			t.Fatalf("campaign cost_usd %v, warnings %q; want null and a warning", c.Usage.CostUSD, c.Warnings)
		}
	})
}
