package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/cli"
)

// watch reads through a few failed reads (a 503 from a load balancer, a
// Lambda cold start) and gives up, saying why, when they go on.
func TestWatchRetriesFailedReads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int32
		code     int
		want     string
	}{
		{"OK", 3, 0, "completed"},
		{"ErrUnavailable", 100, 1, "the API is unavailable (HTTP 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if reads.Add(1) <= tc.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"the API is unavailable"}}`))
					return
				}
				_, _ = w.Write([]byte(`{"campaign_id":"cmp_1","status":"completed","total":1,"succeeded":1}`))
			}))
			defer srv.Close()
			var stdout, stderr strings.Builder
			env := map[string]string{"INGREN_URL": srv.URL, "INGREN_API_KEY": "k"}
			code := cli.Main(context.Background(), []string{"campaign", "watch", "cmp_1"}, cli.Env{
				Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr, Poll: time.Millisecond,
			})
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout.String(), stderr.String(), tc.code, tc.want)
			}
		})
	}
}
