// Command upstream serves internal/openaitest on a loopback port: an
// OpenAI-compatible chat completions server to point the local program at
// for a benchmark by hand (make bench serves the same handler in-process).
//
//	go run ./internal/harness/bench/upstream -addr 127.0.0.1:9999 -latency 500ms -jitter 200ms -rpm 1200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "listen address (keep it on loopback)")
	latency := flag.Duration("latency", 0, "added before every answer")
	jitter := flag.Duration("jitter", 0, "varies the latency by up to ± this")
	rpm := flag.Int("rpm", 0, "requests per minute before 429s (0: no limit)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := openaitest.NewHandler(openaitest.Config{Latency: *latency, Jitter: *jitter, RPM: *rpm, DiscardRequests: true})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		h.Close()
		_ = srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "upstream: OPENAI_BASE_URL=http://%s/v1\n", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "upstream: %d requests, statuses %v\n", h.Count(), h.StatusCounts())
}
