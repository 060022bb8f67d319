package campaign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// failFinish is a Store whose Finish always fails.
type failFinish struct{ campaign.Store }

func (failFinish) Finish(context.Context, string, int, campaign.EmailStatus, campaign.Outcome, time.Time) error {
	return errors.New("the table is unreachable")
}

// TestWorkerLinesNameTheProspect works an email whose model call is retried
// after a 429 and whose write fails, with the program's logger at debug:
// every line, the model client's retry included, names the message, the
// campaign and the prospect's index (issue 9, E15: they did not, so an
// operator could not tell which prospect a line was about).
func TestWorkerLinesNameTheProspect(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	id, msgs := oneEmail(t, store, queue)
	var logs bytes.Buffer
	log := slog.New(campaign.LogHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	up := openaitest.New(t, openaitest.WithScript(openaitest.RateLimited(time.Millisecond)))
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	worker := &campaign.Worker{Store: failFinish{store}, Queue: queue, Composer: &email.Composer{Writer: writer, Prompts: set}, Log: log}
	if failed := worker.Process(ctx, msgs); len(failed) != 1 {
		t.Fatalf("failed %v, want the message back", failed)
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		seen[line["msg"].(string)] = true
		if line["campaign_id"] != id || line["index"] != float64(0) || line["message_id"] != msgs[0].ID || line["tenant"] != "t" {
			t.Errorf("line without its campaign_id %s, index 0, message_id and tenant: %s", id, l)
		}
	}
	for _, want := range []string{"model call retry", "message failed; it will be delivered again"} {
		if !seen[want] {
			t.Errorf("no %q line: the test did not drive the path it means to:\n%s", want, logs.String())
		}
	}
}
