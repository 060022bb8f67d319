// Package browsertest drives Debian's chromium headless for the tests of
// the pages the program serves (internal/docs, internal/console): Chromium
// finds the browser or skips, Start starts it for one test, Stage serves
// the program under a path prefix as API Gateway does, and Recorder keeps
// what a tab asked for and what its console said.
//
// Only tests import it (testprog's TestOnlyTestsImportIt).
package browsertest

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the browser to drive: $CHROMIUM, or Debian's chromium.
// Without one the test skips, or fails on CI, where make test installs it.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if exe := os.Getenv("CHROMIUM"); exe != "" {
		return exe
	}
	exe, err := exec.LookPath("chromium")
	if err == nil {
		return exe
	}
	msg := "chromium not found: make chromium installs it (Debian's chromium package), or set CHROMIUM to a Chromium or Chrome binary"
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("%s; CI=true, so this fails instead of skipping", msg)
	}
	tb.Skip(msg)
	return ""
}

// Start starts the browser exe for the test, with budget for the whole
// test: generous for a busy 2-core machine, since the steps wait on the
// page, never on the clock. The host ingren.test resolves to 127.0.0.1, for
// tests that must not use localhost (which browsers treat apart).
func Start(tb testing.TB, exe string, budget time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	tb.Cleanup(cancel)
	ctx, cancelBrowser := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(1280, 1000),
		// Without these, Chromium reaches for Google's services at start,
		// and its connections are refused on a closed network.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.Flag("host-resolver-rules", "MAP ingren.test 127.0.0.1"),
	)
	tb.Cleanup(cancelBrowser) // stops the browser and waits for it
	ctx, cancelTab := chromedp.NewContext(ctx)
	tb.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// Stage serves the program at target under prefix (as "/dev"), the way
// API Gateway serves a stage: a path outside prefix is not found, the
// prefix is taken off, and X-Forwarded-Prefix names it, as internal/apigw
// does. It returns the stage's URL, prefix included.
func Stage(tb testing.TB, target, prefix string) string {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("stage: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	stage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok || (p != "" && !strings.HasPrefix(p, "/")) {
			http.NotFound(w, r) // outside the stage: API Gateway's 403
			return
		}
		r.URL.Path = cmp.Or(p, "/")
		r.Header.Set("X-Forwarded-Prefix", prefix)
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(stage.Close)
	return stage.URL + prefix
}

// Recorder keeps what a tab asked for and what its console said. Listen
// it on a tab: chromedp.Listen(ctx, rec.Event).
type Recorder struct {
	mu       sync.Mutex
	asked    []string // "METHOD URL"
	problems []Problem
}

// Problem is an error the tab's console showed: an exception, a
// console.error, or a browser log entry (a failed load, a
// Content-Security-Policy violation).
type Problem struct {
	Source, URL, Text string
}

func (p Problem) String() string { return fmt.Sprintf("%s %s: %s", p.Source, p.URL, p.Text) }

// Event is a chromedp listener: it runs on the tab's reading goroutine,
// so it only records.
func (r *Recorder) Event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.asked = append(r.asked, e.Request.Method+" "+e.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, cmp.Or(a.Description, string(a.Value)))
			}
			r.problems = append(r.problems, Problem{"console." + string(e.Type), "", strings.Join(args, " ")})
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		r.problems = append(r.problems, Problem{"exception", d.URL, text})
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			r.problems = append(r.problems, Problem{string(e.Entry.Source), e.Entry.URL, e.Entry.Text})
		}
	}
}

// Requests are what the tab asked for, "METHOD URL", in order.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked)
}

// Problems are the console's errors so far.
func (r *Recorder) Problems() []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.problems)
}
