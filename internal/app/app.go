// Package app assembles Ingren from its configuration: the pieces every
// program shares (logger, prompts, model writer), the local all-in-one
// program and the two Lambdas. The mains in functions/ only call it.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/metrics"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// Logger returns the JSON logger every program uses. A line logged while
// the campaign worker works a prospect names its campaign and index, down
// to the model client's retries (campaign.LogHandler).
func Logger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(campaign.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// Prompts loads the embedded prompts, or those in cfg.PromptsDir.
func Prompts(cfg config.Config) (*prompt.Set, error) {
	if cfg.PromptsDir == "" {
		return prompt.Load(prompts.FS)
	}
	set, err := prompt.Load(os.DirFS(cfg.PromptsDir))
	if err != nil {
		return nil, fmt.Errorf("PROMPTS_DIR %s: %w", cfg.PromptsDir, err)
	}
	return set, nil
}

// Composer returns the email composer cfg asks for: its prompts, its model
// writer, and the models a client may choose. Its repair rounds and its
// writer's model calls are told to obs (nil for none).
func Composer(cfg config.Config, log *slog.Logger, obs metrics.Sink) (*email.Composer, error) {
	set, err := Prompts(cfg)
	if err != nil {
		return nil, err
	}
	writer, err := Writer(cfg, log, obs)
	if err != nil {
		return nil, err
	}
	// A nil obs stays nil through the conversions: no observer.
	return &email.Composer{Writer: writer, Prompts: set, AllowedModels: cfg.Models(), Observer: obs}, nil
}

// Prices returns the price table cfg asks for: MODEL_PRICES's file, or
// the embedded one. A file that cannot be read or is not a valid table
// stops the start, its problems named.
func Prices(cfg config.Config) (*price.Table, error) {
	if cfg.ModelPrices == "" {
		return price.Default(), nil
	}
	t, err := price.Load(cfg.ModelPrices)
	if err != nil {
		return nil, fmt.Errorf("MODEL_PRICES: %w", err)
	}
	return t, nil
}

// BatchesOf returns the Batch API of the composer's model provider, or nil
// in offline mode, where a batch campaign falls back to realtime.
func BatchesOf(c *email.Composer) campaign.Batches {
	if w, ok := c.Writer.(*openai.Writer); ok {
		return w.Batches()
	}
	return nil
}

// Writer returns the model writer cfg asks for: an OpenAI-compatible
// server, or the offline template writer when none is configured. It logs
// which, once, at start-up (the local program's start, a Lambda's cold
// start): the model and base URL, never the key. The model client logs its
// retries and rate-limit waits to log at debug, and each model call and
// repair round to obs (nil for none).
func Writer(cfg config.Config, log *slog.Logger, obs openai.Observer) (email.Writer, error) {
	if cfg.Offline() {
		log.Warn("OFFLINE MODE: no OPENAI_API_KEY or OPENAI_BASE_URL is set; emails are composed from prompts/offline_email.txt and no model is used")
		return offline.New(), nil
	}
	w, err := openai.New(openai.Config{
		APIKey:   cfg.OpenAIAPIKey,
		BaseURL:  cfg.OpenAIBaseURL,
		Model:    cfg.OpenAIModel,
		Timeout:  cfg.OpenAITimeout,
		RPM:      cfg.OpenAIRPM,
		TPM:      cfg.OpenAITPM,
		Logger:   log,
		Observer: obs,
	})
	if err != nil {
		return nil, fmt.Errorf("model client: %w", err)
	}
	model, base := cfg.OpenAIModel, cfg.OpenAIBaseURL
	if model == "" {
		model = openai.DefaultModel
	}
	if base == "" {
		base = openai.DefaultBaseURL
	}
	log.Info("model", slog.String("model", model), slog.String("base_url", safeURL(base)),
		slog.Duration("timeout", cfg.OpenAITimeout), slog.Int("rpm", cfg.OpenAIRPM), slog.Int("tpm", cfg.OpenAITPM))
	return w, nil
}

// safeURL is u without what can hold a credential: user info, query and
// fragment (some gateways take their key there).
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

// keyBudgets is cfg's API_KEY_BUDGETS, or nil for none: a nil interface,
// not a nil map in one.
func keyBudgets(cfg config.Config) campaign.KeyBudgets {
	if len(cfg.KeyBudgets) == 0 {
		return nil
	}
	return cfg.KeyBudgets
}

// newMeter is the generate-email calls' budget keeper and bookkeeper.
func newMeter(cfg config.Config, ledger campaign.Ledger, composer *email.Composer, prices campaign.Prices, obs campaign.Observer, log *slog.Logger) *campaign.Meter {
	return &campaign.Meter{Ledger: ledger, Composer: composer, KeyBudgets: keyBudgets(cfg), Prices: prices,
		Model: cfg.OpenAIModel, Observer: obs, Log: log}
}
