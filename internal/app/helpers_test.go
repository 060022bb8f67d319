package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/config"
)

const testKey = "test-key-0123456789abcdef"

// serveLocal builds the local program on cfg, serves its handler on a
// test server and runs its worker, all stopped when the test ends, and
// returns the server's URL.
func serveLocal(t *testing.T, cfg config.Config, keys []string) string {
	t.Helper()
	l, err := app.NewLocal(cfg, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(contract.Handler(t, l.Handler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.RunWorker(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		l.Close()
	})
	return srv.URL
}
