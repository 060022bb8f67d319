package openaitest

import (
	"net/http/httptest"
	"testing"
)

// Server is a Handler listening on a loopback port for one test.
type Server struct {
	*Handler
	// URL is the base URL for an OpenAI client: it ends in /v1.
	URL  string
	HTTP *httptest.Server
}

// New starts a server configured by opts and stops it when the test ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	h := NewHandler(cfg)
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		// Release stalled requests first: Close waits for every handler.
		h.Close()
		srv.Close()
	})
	return &Server{Handler: h, URL: srv.URL + "/v1", HTTP: srv}
}
