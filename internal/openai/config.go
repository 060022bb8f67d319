// Package openai is the email.Writer that calls an OpenAI-compatible chat
// completions API through go-openai: it sends the email.Prompt the composer
// built (package prompt renders it) with strict structured output, and adds
// one repair round for unusable answers, retries, and a rate governor
// shared by every call of one Writer.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/email"
)

// Config configures a Writer. Zero values mean the documented defaults.
type Config struct {
	// APIKey is sent as a bearer token. Required unless BaseURL points at
	// another OpenAI-compatible server.
	APIKey string
	// BaseURL is the API root, with or without /v1 as the server expects;
	// default "https://api.openai.com/v1".
	BaseURL string
	// Model is used when the request does not name one; default
	// "gpt-4o-mini".
	Model string
	// Timeout bounds each model call (one HTTP attempt); default 30s. The
	// caller's deadline wins when it is sooner.
	Timeout time.Duration
	// MaxRetries is how many times one model call is retried after a 429,
	// a 5xx or a connection error; default 3, negative for none.
	MaxRetries int
	// MaxRetryWait bounds the total time one Write spends waiting to
	// retry, including waits for a pause another call's 429 started;
	// default 20s, negative for none.
	MaxRetryWait time.Duration
	// RPM and TPM limit requests and tokens per minute across all calls of
	// the Writer, before they are sent; 0 means no client-side limit.
	RPM, TPM int
	// MaxConcurrency is the ceiling of the adaptive limit on calls in
	// flight; 0 means no ceiling (and no limit until the first 429).
	MaxConcurrency int
	// HTTPClient is copied and its transport wrapped; nil means a client
	// with a transport tuned for many concurrent calls to one host.
	HTTPClient *http.Client
	// Logger gets debug lines about retries and the governor, never the
	// key, prompts or answers; nil means none.
	Logger *slog.Logger
	// Observer is told of each HTTP attempt and each repair round, for
	// metrics; nil means none.
	Observer Observer

	// Now and Sleep are the clock, for tests; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Observer is told what the Writer's model calls do, for metrics. It must
// not block: it is called on the call's path, from many goroutines at once.
type Observer interface {
	// RepairObserver is told of the Writer's own repair rounds
	// (email.RepairAnswer).
	email.RepairObserver
	// ModelCalled is one HTTP attempt that asked model (the model the
	// request named, as the caller chose it): how long it took on the
	// Writer's clock, and the HTTP status of the answer, 0 when none came
	// (a connection error, the timeout). A retried call is one attempt
	// each.
	ModelCalled(model string, took time.Duration, status int)
}

// Defaults.
const (
	DefaultBaseURL      = "https://api.openai.com/v1"
	DefaultModel        = "gpt-4o-mini"
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 20 * time.Second
)

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	switch {
	case c.MaxRetryWait == 0:
		c.MaxRetryWait = DefaultMaxRetryWait
	case c.MaxRetryWait < 0:
		c.MaxRetryWait = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = backoff.Sleep
	}
	return c
}

// validate lists every problem at once.
func (c Config) validate() error {
	var errs []error
	if c.APIKey == "" && (c.BaseURL == "" || c.BaseURL == DefaultBaseURL) {
		errs = append(errs, errors.New("APIKey is required for api.openai.com"))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("BaseURL %q must be an http or https URL", c.BaseURL))
		}
	}
	if c.Timeout < 0 {
		//lint:ignore ST1005 the message starts with the field's name, as its neighbours do
		errs = append(errs, errors.New("Timeout must not be negative"))
	}
	if c.RPM < 0 || c.TPM < 0 {
		errs = append(errs, errors.New("RPM and TPM must not be negative"))
	}
	if c.MaxConcurrency < 0 {
		errs = append(errs, errors.New("MaxConcurrency must not be negative"))
	}
	return errors.Join(errs...)
}

// String hides the API key, so that printing a Config cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("openai.Config{BaseURL: %q, Model: %q, APIKey: %s}", c.BaseURL, c.Model, redact(c.APIKey))
}

// GoString hides the API key from %#v too.
func (c Config) GoString() string { return c.String() }

// LogValue hides the API key from slog.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("model", c.Model),
		slog.String("api_key", redact(c.APIKey)),
		slog.Duration("timeout", c.Timeout),
		slog.Int("rpm", c.RPM),
		slog.Int("tpm", c.TPM),
		slog.Int("max_concurrency", c.MaxConcurrency),
	)
}

func redact(key string) string {
	if key == "" {
		return `""`
	}
	return "[redacted]"
}
