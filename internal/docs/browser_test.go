package docs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/ingren/ingren/internal/browsertest"
	"github.com/ingren/ingren/internal/testprog"
)

const apiKey = "docs-page-test-key-0123456789"

// lint is the POST /api/v1/lint operation on the page: it needs no model,
// so "Try it out" answers at once and the same on every machine.
const lint = `.opblock-post:has(.opblock-summary-path[data-path="/api/v1/lint"])`

// TestPageInChromium loads the docs page in headless Chromium, as a person
// would: every operation of the served contract shows, "Try it out" on
// POST /api/v1/lint answers 401 before Authorize and 200 after, the page
// asks no host but its own, and the console stays free of errors (a
// Content-Security-Policy violation is one). It visits the local program,
// and the program behind a proxy that serves it under /dev as API Gateway
// serves a stage, both under a host name that is not localhost (Swagger UI
// treats localhost apart).
//
// Set INGREN_DOCS_SCREENSHOT to a .png path to keep what the page looked
// like at the end of the local visit.
func TestPageInChromium(t *testing.T) {
	exe := browsertest.Chromium(t)
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey})
	want := operations(t, prog.URL)
	progURL, err := url.Parse(prog.URL)
	if err != nil {
		t.Fatal(err)
	}
	stage := browsertest.Stage(t, prog.URL, "/dev")

	browser := browsertest.Start(t, exe, 3*time.Minute)
	for _, tc := range []struct{ name, base, screenshot string }{
		{"Local", "http://ingren.test:" + progURL.Port(), os.Getenv("INGREN_DOCS_SCREENSHOT")},
		{"StagePrefix", "http://ingren.test:" + strings.TrimPrefix(stage, "http://127.0.0.1:"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) { visit(t, browser, tc.base, want, tc.screenshot) })
	}
}

// visit opens base+"/docs" in a new tab of the browser and uses the page.
func visit(t *testing.T, browser context.Context, base string, want []string, screenshot string) {
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	var rec browsertest.Recorder
	if err := chromedp.Listen(ctx, rec.Event); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body?.innerText ?? ""`))
		t.Fatalf("%s\npage: %.2000s\nconsole errors: %q", fmt.Sprintf(format, args...), text, errors(&rec, base))
	}
	// run runs one step with a minute to do it in.
	run := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			fail("%s: %v", name, err)
		}
	}

	run("open the page", chromedp.Navigate(base+"/docs"))

	// The operations render once Swagger UI has the contract; the page says
	// so when it could not get it.
	pollCtx, cancelPoll := context.WithTimeout(ctx, time.Minute)
	defer cancelPoll()
	shown, err := chromedp.Run(pollCtx, chromedp.Poll[[]string](fmt.Sprintf(`(() => {
		if (document.getElementById("swagger-ui").textContent.startsWith("The API's contract could not be loaded")) {
			return ["failed"];
		}
		const ops = [...document.querySelectorAll(".opblock")].map(b =>
			b.querySelector(".opblock-summary-method").textContent.trim() + " " +
			b.querySelector("[data-path]").dataset.path);
		return ops.length >= %d && ops;
	})()`, len(want)), chromedp.WithPollingTimeout(0)))
	if err != nil || slices.Equal(shown, []string{"failed"}) {
		fail("the page did not show the %d operations of the contract: %v", len(want), err)
	}
	slices.Sort(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("the page shows the operations\n%q\nwant the contract's\n%q", shown, want)
	}

	// Try it out without a key: the API answers 401 on the page.
	run("try it out on POST /api/v1/lint",
		chromedp.Click(chromedp.CSS(lint+" .opblock-summary-control")),
		chromedp.Click(chromedp.CSS(lint+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(lint+" textarea.body-param__text")),
		chromedp.Click(chromedp.CSS(lint+" .btn.execute")),
	)
	if got := responseStatus(t, ctx, ""); got != "401" {
		t.Errorf("Execute before Authorize shows status %s, want 401", got)
	}

	// Authorize with the key, and execute again.
	run("authorize",
		chromedp.Click(chromedp.CSS(".auth-wrapper .btn.authorize")),
		chromedp.SendKeys(chromedp.CSS(".modal-ux input"), apiKey),
		chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .btn.authorize")),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		chromedp.WaitNotPresent(chromedp.CSS(".modal-ux")),
	)
	run("execute with the key", chromedp.Click(chromedp.CSS(lint+" .btn.execute")))
	if got := responseStatus(t, ctx, "401"); got != "200" {
		t.Errorf("Execute after Authorize shows status %s, want 200", got)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(lint+" .live-responses-table .response-col_description pre")))
	if err != nil {
		fail("read the response body on the page: %v", err)
	}
	if !strings.Contains(body, `"quality"`) {
		t.Errorf("the response body on the page lacks \"quality\":\n%s", body)
	}

	if screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	requests := rec.Requests()
	if !slices.Contains(requests, "POST "+base+"/api/v1/lint") {
		t.Errorf("Try it out did not call %s/api/v1/lint; the page's requests: %q", base, requests)
	}
	for _, r := range requests {
		_, u, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page asked for something outside %s/: %s", base, r)
		}
	}
	if errs := errors(&rec, base); len(errs) > 0 {
		t.Errorf("the console shows errors:\n%s", strings.Join(errs, "\n"))
	}
}

// operations lists the contract's operations as the page shows them:
// "POST /api/v1/lint", and a webhook by its name ("POST campaignFinished"),
// sorted.
func operations(t *testing.T, base string) []string {
	t.Helper()
	status, _, body := testprog.Do(t, http.MethodGet, base+"/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", status, body)
	}
	var spec struct {
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
		Webhooks map[string]map[string]json.RawMessage `json:"webhooks"`
	}
	if err := json.Unmarshal(body, &spec); err != nil {
		t.Fatalf("decode /openapi.json: %v", err)
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	var ops []string
	for _, items := range []map[string]map[string]json.RawMessage{spec.Paths, spec.Webhooks} {
		for path, item := range items {
			for m := range item {
				if slices.Contains(methods, m) {
					ops = append(ops, strings.ToUpper(m)+" "+path)
				}
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("/openapi.json has no operations: the test would prove nothing")
	}
	slices.Sort(ops)
	return ops
}

// responseStatus waits for the lint operation's response panel to show a
// status other than before (the one of the previous Execute, or "" for
// none), and returns it.
func responseStatus(t *testing.T, ctx context.Context, before string) string {
	t.Helper()
	// The cell holds the code, then "Undocumented" for a code the contract
	// lacks.
	const status = `(document.querySelector('` + lint + ` .live-responses-table .response .response-col_status')` +
		`?.textContent.trim().match(/^\d+/)?.[0] ?? "")`
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`%s !== %q && %s`, status, before, status),
		chromedp.WithPollingTimeout(0)))
	if err != nil {
		t.Fatalf("wait for the response panel to show a status other than %q: %v", before, err)
	}
	return got
}

// errors are the console's errors but the one the test causes: Chromium
// logs the 401 that Execute gets before Authorize.
func errors(rec *browsertest.Recorder, base string) []string {
	var out []string
	for _, p := range rec.Problems() {
		if p.Source == string(log.EntrySourceNetwork) && p.URL == base+"/api/v1/lint" && strings.Contains(p.Text, "status of 401") {
			continue
		}
		out = append(out, p.String())
	}
	return out
}
