package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// The SDK's warnings reach the JSON log at warn level; its debug lines stay
// below the default info level.
func TestSDKLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	l := sdkLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Logf(logging.Warn, "failed to close HTTP response body: %v", "closed")
	l.Logf(logging.Debug, "retrying request %s", "SQS/ReceiveMessage")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want the warning only:\n%s", len(lines), buf.String())
	}
	var rec struct{ Level, Msg string }
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	if rec.Level != "WARN" || rec.Msg != "aws sdk: failed to close HTTP response body: closed" {
		t.Fatalf("got %+v", rec)
	}
}
