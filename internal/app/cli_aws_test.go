package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/cli"
	"github.com/ingren/ingren/internal/testprog"
)

// ingren campaign download against the API Lambda under a tiny list bound:
// it follows X-Next-Cursor from chunk to chunk, and the file it writes is
// the whole CSV.
func TestAWSCLIDownloadFollowsChunks(t *testing.T) {
	const bound = 8 << 10
	w := boundedWorld(t, bound)
	const n = 30
	id := w.submit(t, "key-a", n)
	if c := w.waitDone(t, "key-a", id, 60*time.Second); c.Succeeded != n {
		t.Fatalf("campaign %+v", c)
	}

	var requests atomic.Int32
	srv := httptest.NewServer(contract.Handler(t, apiGateway(t, w, "key-a", &requests)))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "emails.csv")
	var stdout, stderr strings.Builder
	env := map[string]string{"INGREN_URL": srv.URL, "INGREN_API_KEY": "a-key-api-gateway-checks"}
	code := cli.Main(context.Background(), []string{"campaign", "download", id, "-o", out}, cli.Env{
		Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr,
	})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || rows[0][0] != "ref" {
		t.Fatalf("%d rows, want the header and %d emails", len(rows), n)
	}
	for i, row := range rows[1:] {
		if row[0] != testprog.Ref(i) || row[9] == "" {
			t.Fatalf("row %d: ref %q subject %q, want %s with an email", i+1, row[0], row[9], testprog.Ref(i))
		}
	}
	if requests.Load() < 2 || !strings.Contains(stderr.String(), "chunk(s)") {
		t.Fatalf("%d requests, stderr %q: the bound did not cut the export", requests.Load(), stderr.String())
	}
	t.Logf("%d chunks: %s", requests.Load(), strings.TrimSpace(stderr.String()))
}

// apiGateway plays API Gateway in front of the API Lambda's handler: each
// HTTP request becomes a REST proxy event whose key check passed as keyID.
func apiGateway(t *testing.T, w *awsWorld, keyID string, requests *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		path := r.URL.Path
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		ev := testprog.APIEvent(t, r.Method, path, body)
		ev.RequestContext.Identity.APIKeyID = keyID
		res, err := w.api(r.Context(), ev)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range res.Headers {
			rw.Header().Set(k, v)
		}
		for k, vs := range res.MultiValueHeaders {
			rw.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		out := []byte(res.Body)
		if res.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
		}
		rw.WriteHeader(res.StatusCode)
		_, _ = rw.Write(out)
	})
}
