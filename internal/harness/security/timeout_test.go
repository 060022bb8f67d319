package security_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// TestOpenAITimeoutBoundsGenerateEmail: a generate-email request, retries
// and repair round included, gets at most OPENAI_TIMEOUT (never more than
// the 25 s API Gateway leaves). Each model call here answers in 2 s, within
// an OPENAI_TIMEOUT of 3 s, but the first answer is unusable and the
// repair call would end at 4 s: the request stops at 3 s with 504
// upstream_timeout instead of running to 25 s.
func TestOpenAITimeoutBoundsGenerateEmail(t *testing.T) {
	up := openaitest.New(t, openaitest.WithLatency(2*time.Second, 0), openaitest.WithScript(openaitest.Malformed()))
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL,
		"OPENAI_API_KEY": openAIKey, "OPENAI_TIMEOUT": "3s"})
	status, _, body := testprog.Do(t, "POST", prog.URL+"/api/v1/generate-email", apiKey, distinctive())
	if status != http.StatusGatewayTimeout || !strings.Contains(string(body), `"upstream_timeout"`) {
		t.Fatalf("%d %s; want 504 upstream_timeout", status, body)
	}
}
