package security_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/testprog"
)

// TestEveryRouteNeedsAKey calls every API route without a key and with a
// wrong one: always 401, never the route's work. Only /healthz is open.
func TestEveryRouteNeedsAKey(t *testing.T) {
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey})
	id := testprog.HTTP(prog.URL, apiKey).Submit(t, map[string]any{"prospects": []any{distinctive()}})
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/generate-email"},
		{"POST", "/api/v1/campaigns"},
		{"GET", "/api/v1/campaigns"},
		{"GET", "/api/v1/campaigns/" + id},
		{"DELETE", "/api/v1/campaigns/" + id},
		{"GET", "/api/v1/campaigns/" + id + "/emails"},
		{"GET", "/api/v1/campaigns/" + id + "/emails?format=csv"},
	}
	for _, r := range routes {
		for name, key := range map[string]string{"NoKey": "", "WrongKey": wrongKey, "KeyPrefix": apiKey[:len(apiKey)-1]} {
			status, _, body := testprog.Do(t, r.method, prog.URL+r.path, key, distinctive())
			if status != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthorized"`) {
				t.Errorf("%s %s %s: %d %s, want 401", name, r.method, r.path, status, body)
			}
		}
	}
	if status, _, _ := testprog.Do(t, "GET", prog.URL+"/healthz", "", nil); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
	// The campaign was not cancelled by the DELETEs without a key.
	status, _, body := testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id, apiKey, nil)
	if status != http.StatusOK || testprog.MustDecode[testprog.Campaign](t, body).Status == "cancelled" {
		t.Fatalf("after unauthorised DELETEs: %d %s", status, body)
	}
}

// TestBodySizeLimits sends bodies one byte over each route's limit (64 KiB
// for an email, 6 MiB for a campaign) through the local program's real
// HTTP server: 413, and nothing is stored.
func TestBodySizeLimits(t *testing.T) {
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey})
	for _, tc := range []struct {
		path  string
		limit int
	}{{"/api/v1/generate-email", 64 << 10}, {"/api/v1/campaigns", 6 << 20}} {
		pad := tc.limit - len(`{"pad":""}`) + 1
		body := `{"pad":"` + strings.Repeat("x", pad) + `"}`
		status, _, b := testprog.Do(t, "POST", prog.URL+tc.path, apiKey, body)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "body_too_large") {
			t.Errorf("POST %s with %d bytes: %d %.200s, want 413", tc.path, len(body), status, b)
		}
	}
	_, _, b := testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns", apiKey, nil)
	if strings.Contains(string(b), "cmp_") {
		t.Fatalf("an oversized submit stored a campaign: %s", b)
	}
}

// TestShortAPIKeysRefused: the local program will not start with a key
// shorter than 16 characters, which could be guessed.
func TestShortAPIKeysRefused(t *testing.T) {
	_, err := config.FromEnv(func(k string) string {
		return map[string]string{"API_KEYS": apiKey + ",short-key-15chr"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "API_KEYS") || strings.Contains(err.Error(), "short-key") {
		t.Fatalf("err = %v; want API_KEYS refused, without echoing the key", err)
	}
}

// TestInternalErrorsStayInTheLog breaks the local program's database under
// it: the client gets "internal error" and a request id, the log gets the
// cause under the same request id.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"DATA_DIR": t.TempDir()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	l, err := app.NewLocal(cfg, []string{apiKey}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(contract.Handler(t, l.Handler))
	t.Cleanup(srv.Close)
	if err := l.Close(); err != nil { // the database goes away
		t.Fatal(err)
	}
	status, hdr, body := testprog.Do(t, "GET", srv.URL+"/api/v1/campaigns", apiKey, nil)
	reqID := hdr.Get("X-Request-Id")
	if status != http.StatusInternalServerError || reqID == "" ||
		!strings.Contains(string(body), `"message":"internal error"`) || !strings.Contains(string(body), reqID) {
		t.Fatalf("%d %s (request id %q), want 500 internal error with the request id", status, body, reqID)
	}
	if strings.Contains(string(body), "closed") || strings.Contains(string(body), "sql") {
		t.Errorf("the cause reached the client: %s", body)
	}
	var cause string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"internal error"`) && strings.Contains(line, reqID) {
			cause = line
		}
	}
	if !strings.Contains(cause, "closed") {
		t.Fatalf("no log line with the cause under request id %s:\n%s", reqID, logs.String())
	}
}
