package security_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/webhook"
)

// hookServer records the webhook calls it gets.
type hookServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []webhook.Payload
	bad   int // calls whose signature did not verify
}

func newHookServer(t *testing.T, secret string) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		_ = json.Unmarshal(body, &p)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !webhook.Verify([]byte(secret), r.Header.Get(webhook.TimestampHeader), body, r.Header.Get(webhook.SignatureHeader)) {
			h.bad++
		}
		h.calls = append(h.calls, p)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) got() ([]webhook.Payload, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]webhook.Payload(nil), h.calls...), h.bad
}

// TestWebhookPrivateAddresses checks the SSRF guard as the local program is
// configured: a campaign's webhook to a loopback address, by IP or by a
// name that resolves to it, is refused after DNS unless
// WEBHOOK_ALLOW_PRIVATE is set; when it is, the call arrives once, signed.
func TestWebhookPrivateAddresses(t *testing.T) {
	hook := newHookServer(t, webhookSecret)
	port := hook.URL[strings.LastIndex(hook.URL, ":")+1:]
	env := func(allow string) map[string]string {
		return map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "WEBHOOK_SECRET": webhookSecret,
			"WEBHOOK_ALLOW_PRIVATE": allow}
	}
	campaign := func(url string) map[string]any {
		return map[string]any{"webhook_url": url, "prospects": []any{distinctive()}}
	}

	t.Run("RefusedByDefault", func(t *testing.T) {
		prog := testprog.Start(t, env(""))
		for _, url := range []string{hook.URL + "/ip", "http://localhost:" + port + "/name", "http://[::ffff:127.0.0.1]:" + port + "/mapped"} {
			id := testprog.HTTP(prog.URL, apiKey).Submit(t, campaign(url))
			if c := testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final); c.Status != "completed" {
				t.Fatalf("campaign %+v: a refused webhook must not fail the campaign", c)
			}
			waitLog(t, prog.Logs, `"webhook failed"`, id, webhook.ErrBlockedAddress.Error())
		}
		if calls, _ := hook.got(); len(calls) != 0 {
			t.Fatalf("the loopback webhook was called %d times", len(calls))
		}
	})

	t.Run("AllowedWithWEBHOOK_ALLOW_PRIVATE", func(t *testing.T) {
		prog := testprog.Start(t, env("true"))
		id := testprog.HTTP(prog.URL, apiKey).Submit(t, campaign(hook.URL+"/ok"))
		testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final)
		waitLog(t, prog.Logs, `"campaign finished"`, id)
		prog.Shutdown(t, time.Minute) // the webhook is sent before the worker stops
		calls, bad := hook.got()
		if len(calls) != 1 || bad != 0 || calls[0].CampaignID != id || calls[0].Event != "campaign.finished" {
			t.Fatalf("webhook calls %+v (%d with a bad signature), want one signed call for %s", calls, bad, id)
		}
	})
}
