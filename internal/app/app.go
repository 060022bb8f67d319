// Package app assembles Ingren from its configuration: the pieces every
// program shares (logger, prompts, model writer), the local all-in-one
// program and the two Lambdas. The mains in functions/ only call it.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// Logger returns the JSON logger every program uses.
func Logger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
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

// Writer returns the model writer cfg asks for: an OpenAI-compatible
// server, or the offline template writer when none is configured.
func Writer(cfg config.Config, set *prompt.Set, log *slog.Logger) (email.Writer, error) {
	if cfg.Offline() {
		log.Warn("OFFLINE MODE: no OPENAI_API_KEY or OPENAI_BASE_URL is set; emails are composed from prompts/offline_email.txt and no model is used")
		return offline.New(set), nil
	}
	w, err := openai.New(openai.Config{
		APIKey:  cfg.OpenAIAPIKey,
		BaseURL: cfg.OpenAIBaseURL,
		Model:   cfg.OpenAIModel,
		Timeout: cfg.OpenAITimeout,
		RPM:     cfg.OpenAIRPM,
		TPM:     cfg.OpenAITPM,
	}, set)
	if err != nil {
		return nil, fmt.Errorf("model client: %w", err)
	}
	return w, nil
}
