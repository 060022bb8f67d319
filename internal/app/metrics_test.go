package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// scrapeMetrics GETs /metrics with no API key, as Prometheus does, and
// returns its lines.
func scrapeMetrics(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return strings.Split(string(b), "\n")
}

// missing returns the lines of want that lines lacks.
func missing(lines []string, want ...string) []string {
	var out []string
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

// assertNoSecrets fails if the metrics name the API key, the OpenAI key or
// a prospect (goodProspect's, testprog.Prospects').
func assertNoSecrets(t *testing.T, lines []string, key string) {
	t.Helper()
	text := strings.Join(lines, "\n")
	for _, secret := range []string{key, "sk-test", "Sarah", "TechNova", "Pat0", "Pat1"} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
}

// TestLocalMetrics: the local program serves GET /metrics on its own port
// in Prometheus text format, with no API key, and counts a generate-email
// call and a campaign's email there by model and status, naming no
// prospect and no key.
func TestLocalMetrics(t *testing.T) {
	up := openaitest.New(t)
	cfg := localConfig(t, t.TempDir(), map[string]string{"PORT": "0", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL})
	_, key, base, _ := serve(t, cfg)

	status, _, body := testprog.Do(t, "POST", base+emailURL, key, `{`+goodProspect+`}`)
	if status != http.StatusOK {
		t.Fatalf("generate-email: %d %s", status, body)
	}
	lines := scrapeMetrics(t, base)
	if m := missing(lines,
		"# TYPE ingren_emails_total counter",
		`ingren_emails_total{model="gpt-4o-mini",status="succeeded"} 1`,
		"# TYPE ingren_tokens_total counter",
		"# TYPE ingren_cost_usd_total counter",
		"# TYPE ingren_model_latency_seconds histogram",
		`ingren_model_latency_seconds_count{model="gpt-4o-mini"} 1`,
	); m != nil {
		t.Errorf("after a generate-email call, /metrics lacks %q:\n%s", m, strings.Join(lines, "\n"))
	}
	assertNoSecrets(t, lines, key)

	t.Run("CountsACampaignsEmails", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", key, map[string]any{
			"defaults":  map[string]any{"cta": map[string]any{"ask": "Worth a 15-min chat?"}, "sender": map[string]any{"name": "Alex"}},
			"prospects": testprog.Prospects(2),
		})
		if status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", status, body)
		}
		id := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
		testprog.HTTP(base, key).WaitFor(t, id, 30*time.Second, func(c testprog.Campaign) bool { return c.Status == "completed" })
		// The worker tells the metrics after it stores each email: the
		// campaign may complete before the last email is counted.
		deadline := time.Now().Add(30 * time.Second)
		for {
			lines := scrapeMetrics(t, base)
			m := missing(lines, `ingren_emails_total{model="gpt-4o-mini",status="succeeded"} 3`,
				`ingren_model_latency_seconds_count{model="gpt-4o-mini"} 3`)
			if m == nil {
				assertNoSecrets(t, lines, key)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after a campaign of 2, /metrics lacks %q:\n%s", m, strings.Join(lines, "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("OnlyGet", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+"/metrics", "", nil)
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics: %d %s, want the API's 404 or 405", status, body)
		}
	})
}
