package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// BenchmarkGenerateEmail measures POST /api/v1/generate-email with
// testdata/requests/sarah.json: the API handler with the openai writer
// against a zero-latency openaitest server on loopback, so each operation
// includes one real HTTP call to the fake upstream, and allocs/op include
// the fake's. Handler calls ServeHTTP with a recorder (no client side);
// Server adds the local program's HTTP hop through httptest.Server.
func BenchmarkGenerateEmail(b *testing.B) {
	const benchKey = "bench-key-0123456789abcdef"
	up := openaitest.New(b, openaitest.WithConfig(openaitest.Config{DiscardRequests: true}))
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		b.Fatal(err)
	}
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL})
	if err != nil {
		b.Fatal(err)
	}
	h := api.NewServer(api.Config{}, api.KeyAuth{Keys: apikey.New([]string{benchKey})},
		&email.Composer{Writer: w, Prompts: set}, nil, slog.New(slog.DiscardHandler))
	body, err := os.ReadFile("../../testdata/requests/sarah.json")
	if err != nil {
		b.Fatal(err)
	}

	b.Run("Handler", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodPost, "/api/v1/generate-email", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-api-key", benchKey)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("status %d: %s", rec.Code, rec.Body)
					return
				}
			}
		})
	})

	b.Run("Server", func(b *testing.B) {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Cleanup(client.CloseIdleConnections)
		url := srv.URL + "/api/v1/generate-email"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-api-key", benchKey)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
	})
}
