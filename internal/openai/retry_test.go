package openai

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryHint(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		header  http.Header
		errType string
		want    time.Duration
	}{
		{"RetryAfterSeconds", header("Retry-After", "2"), "", 2 * time.Second},
		{"RetryAfterHTTPDate", header("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), "", 90 * time.Second},
		{"RetryAfterDateInThePast", header("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), "", 0},
		{"RetryAfterMS", header("retry-after-ms", "250", "Retry-After", "1"), "", 250 * time.Millisecond},
		{"ResetRequests", header("x-ratelimit-reset-requests", "20ms", "x-ratelimit-reset-tokens", "6m0s"), "requests", 20 * time.Millisecond},
		{"ResetTokensForTokenLimit", header("x-ratelimit-reset-requests", "20ms", "x-ratelimit-reset-tokens", "6m0s"), "tokens", 6 * time.Minute},
		{"ResetTokensAlone", header("x-ratelimit-reset-tokens", "1m30.5s"), "requests", 90*time.Second + 500*time.Millisecond},
		{"RetryAfterWinsOverReset", header("Retry-After", "3", "x-ratelimit-reset-requests", "20ms"), "requests", 3 * time.Second},
		{"NoneWhenUnreadable", header("Retry-After", "soon", "x-ratelimit-reset-requests", "later"), "", 0},
		{"NoneWithoutHeaders", nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryAfter(tt.header, now)
			if got <= 0 {
				got = resetHint(tt.header, tt.errType)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for retry, ceiling := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if got := jitter(retry, 0); got != 0 {
			t.Errorf("retry %d, r=0: %v, want 0 (full jitter)", retry, got)
		}
		if got := jitter(retry, 0.999999); got > ceiling || got < ceiling*99/100 {
			t.Errorf("retry %d, r→1: %v, want just under %v", retry, got, ceiling)
		}
	}
	if got := jitter(1000, 0.5); got != 4*time.Second {
		t.Errorf("retry 1000: %v, want half the cap", got)
	}
}

func TestNew(t *testing.T) {
	t.Run("ErrEveryProblemListed", func(t *testing.T) {
		_, err := New(Config{BaseURL: "ftp://x", Timeout: -1, RPM: -1, MaxConcurrency: -2})
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"BaseURL", "Timeout", "RPM", "MaxConcurrency"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %s: %v", want, err)
			}
		}
	})
	t.Run("ErrAPIKeyRequired", func(t *testing.T) {
		if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "APIKey") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKDefaults", func(t *testing.T) {
		w, err := New(Config{APIKey: "sk-secret", MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		c := w.cfg
		if c.BaseURL != DefaultBaseURL || c.Model != DefaultModel || c.Timeout != DefaultTimeout ||
			c.MaxRetries != 0 || c.MaxRetryWait != DefaultMaxRetryWait {
			t.Errorf("cfg = %v", c)
		}
	})
	t.Run("OKKeyRedacted", func(t *testing.T) {
		c := Config{APIKey: "sk-secret", Model: "m"}
		var b strings.Builder
		for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
			b.WriteString(s)
		}
		if strings.Contains(b.String(), "sk-secret") || !strings.Contains(b.String(), "[redacted]") {
			t.Errorf("printed config = %s", b.String())
		}
	})
}
