package testprog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/app"
)

// Program is the local program run in-process through app.Main, exactly as
// functions/ingren runs it, on a port the OS picks.
type Program struct {
	// URL is where tests reach it: a proxy in front of the program that
	// holds every request and answer to the API's contract
	// (internal/api/contract), so that a test that meets a mismatch
	// fails.
	URL string
	// Stdout is what it printed; Logs is its stderr, the JSON log.
	Stdout, Logs *Buffer

	stop context.CancelFunc
	done chan error // nil once it has stopped
}

// Start runs app.Main serve with env as its whole environment (PORT set to
// 0) and returns once it listens. The test stops it at the end, as
// Shutdown does, if it still runs.
func Start(tb testing.TB, env map[string]string) *Program {
	tb.Helper()
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["PORT"] = "0"
	ctx, cancel := context.WithCancel(context.Background())
	p := &Program{Stdout: &Buffer{}, Logs: &Buffer{}, stop: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		err := app.Main(ctx, []string{"serve"}, func(k string) string { return env[k] }, pw, p.Logs)
		pw.Close()
		p.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			fmt.Fprintln(p.Stdout, lines.Text())
			if a, ok := strings.CutPrefix(lines.Text(), "Ingren is listening on http://"); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			cancel()
			tb.Fatalf("the program stopped before listening: %v\n%s", <-p.done, p.Logs)
		}
		p.URL = "http://127.0.0.1:" + a[strings.LastIndex(a, ":")+1:]
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("the program did not listen within 30 s")
	}
	proxy := checked(tb, p.URL)
	p.URL = proxy.URL
	tb.Cleanup(func() {
		p.Shutdown(tb, time.Minute)
		proxy.Close()
	})
	return p
}

// checked serves a proxy to the program at target whose requests and
// answers contract.Handler checks. A request the program cannot take
// (it has stopped) breaks the proxy's connection, as it would the
// program's, rather than getting an answer the program never gave.
func checked(tb testing.TB, target string) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
	return httptest.NewServer(contract.Handler(tb, proxy))
}

// Shutdown stops the program as SIGTERM would and returns how long it
// took. It fails the test if that is longer than limit, or if the program
// stops with an error. Once the program has stopped it returns 0 at once.
func (p *Program) Shutdown(tb testing.TB, limit time.Duration) time.Duration {
	tb.Helper()
	if p.done == nil {
		return 0
	}
	start := time.Now()
	p.stop()
	var err error
	select {
	case err = <-p.done:
		p.done = nil
	case <-time.After(limit):
		tb.Fatalf("the program did not stop within %v of its shutdown", limit)
	}
	if err != nil {
		tb.Errorf("the program stopped with %v", err)
	}
	return time.Since(start)
}
