package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// logLines decodes a JSON log, one object a line.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// findLine returns the first line whose msg is msg, or fails.
func findLine(t *testing.T, log, msg string) map[string]any {
	t.Helper()
	for _, l := range logLines(t, log) {
		if l["msg"] == msg {
			return l
		}
	}
	t.Fatalf("no %q line in the log:\n%s", msg, log)
	return nil
}

// TestWriterLogsRetriesAtDebug calls a model that answers 429, then 200:
// at LOG_LEVEL=debug the retry is in the program's log (issue 9, E15: the
// model client was built without the logger, so retries and rate-limit
// waits were invisible).
func TestWriterLogsRetriesAtDebug(t *testing.T) {
	up := openaitest.New(t, openaitest.WithScript(openaitest.RateLimited(time.Millisecond)))
	var logs bytes.Buffer
	cfg := config.Config{OpenAIAPIKey: "sk-test", OpenAIBaseURL: up.URL, OpenAIModel: "gpt-4o-mini", OpenAITimeout: 5 * time.Second}
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	w, err := app.Writer(cfg, app.Logger(&logs, slog.LevelDebug), nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := email.Decode([]byte(`{"prospect": {"first_name": "Sarah"}, "company": {"company_name": "TechNova"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&email.Composer{Writer: w, Prompts: set}).Compose(context.Background(), &req); err != nil {
		t.Fatal(err)
	}
	if sc := up.StatusCounts(); sc[429] != 1 {
		t.Fatalf("status counts %v: the 429 did not happen", sc)
	}
	line := findLine(t, logs.String(), "model call retry")
	if line["level"] != "DEBUG" || line["status"] != float64(429) {
		t.Fatalf("retry line %v", line)
	}
}

// TestStartLogsModelAndBaseURL checks that the local program's start and a
// Lambda's cold start log the model and base URL in use, never the key nor
// what in the URL may be a credential (issue 9, E15).
func TestStartLogsModelAndBaseURL(t *testing.T) {
	const key, user, query = "sk-test-7Hq2Wd9Lp4", "gw-user-Zx81", "token-Pq53Rk"
	base := "https://" + user + ":pw@llm.example.com/v1?key=" + query
	check := func(t *testing.T, log string) {
		t.Helper()
		line := findLine(t, log, "model")
		if line["model"] != "llama3.1" || line["base_url"] != "https://llm.example.com/v1" {
			t.Errorf("start-up line %v, want model llama3.1 at https://llm.example.com/v1", line)
		}
		for _, secret := range []string{key, user, query} {
			if strings.Contains(log, secret) {
				t.Errorf("the log holds %q:\n%s", secret, log)
			}
		}
	}
	t.Run("Local", func(t *testing.T) {
		var logs bytes.Buffer
		cfg := config.Config{OpenAIAPIKey: key, OpenAIBaseURL: base, OpenAIModel: "llama3.1", DataDir: t.TempDir(),
			WorkerConcurrency: 1, MaxCampaignProspects: 10, MaxReceiveCount: 5, CampaignTTL: time.Hour}
		l, err := app.NewLocal(cfg, []string{testKey}, app.Logger(&logs, slog.LevelInfo))
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		check(t, logs.String())
	})
	t.Run("LambdaColdStart", func(t *testing.T) {
		env := map[string]string{"TABLE_NAME": "t", "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/work",
			"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base, "OPENAI_MODEL": "llama3.1",
			"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
		for k, v := range env {
			t.Setenv(k, v)
		}
		log := stderrOf(t, func() {
			if _, err := app.NewWorkerLambda(context.Background(), func(k string) string { return env[k] }); err != nil {
				t.Error(err)
			}
		})
		check(t, log)
	})
}

// stderrOf runs f with os.Stderr, where the Lambdas log, sent to a pipe,
// and returns what f wrote there.
func stderrOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	old := os.Stderr
	os.Stderr = w
	func() {
		defer func() {
			os.Stderr = old
			w.Close()
		}()
		f()
	}()
	return <-out
}
