package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ingren/ingren/internal/browsertest"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

const apiKey = "console-test-key-0123456789"

// prospects are testdata/prospects.csv's first names, in row order: email
// i is written to prospects[i].
var prospects = []string{"Samir", "Grace", "Tomás", "Aisha", "Jonas"}

// TestReviewInChromium goes the way a reviewer does, in headless Chromium
// against the local program: enter the key, upload a CSV, watch the
// campaign finish, edit one email in place, approve two with the keyboard
// and reject one, and download the approved CSV, whose rows must be
// exactly the approved emails, the edited one with its edited text.
func TestReviewInChromium(t *testing.T) {
	// Two emails come out with clichés, for the review to show highlighted;
	// the model writes the others as a well-behaved model does.
	cliche := openaitest.Reply{Content: mustJSON(t, map[string]string{
		"subject": "Quick idea for your team",
		"body": "Hi,\n\nI hope this email finds you well. I wanted to reach out because sales teams leverage outreach to grow, " +
			"and replies drop when every message sounds the same.\n\nWould a short call next week be useful?\n\nBest,",
	})}
	// A little latency lets the progress screenshot catch the campaign
	// under way (most of the time; nothing depends on it).
	s := openWith(t, "review", openaitest.New(t, openaitest.WithScript(cliche, cliche), openaitest.WithLatency(300*time.Millisecond, 0)))
	file, err := filepath.Abs(filepath.Join("testdata", "prospects.csv")) // the browser's own working directory is not ours
	if err != nil {
		t.Fatal(err)
	}
	s.signIn()

	s.do("upload the CSV",
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#csv-file"), []string{file}),
		chromedp.SendKeys(chromedp.CSS("#campaign-name"), "Console test"),
		chromedp.SendKeys(chromedp.CSS("#campaign-ask"), "a 15-minute call next week"),
	)
	s.shot("upload-form")
	s.do("submit the upload", chromedp.Click(chromedp.CSS("#upload")))
	s.wait("the campaign page", `location.hash.startsWith("#/campaigns/") && !!document.querySelector("#progress")`)
	s.shot("progress")
	s.wait("the campaign to finish, every email listed", fmt.Sprintf(
		`document.querySelector("#campaign-title + .badge")?.textContent === "Completed" &&
		 document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		 document.querySelectorAll("#email-list tbody tr .badge.succeeded").length === %d`, len(prospects)))
	id := strings.TrimPrefix(eval[string](s, `location.hash`), "#/campaigns/")

	// Edit email 2 (index 1) in place: e opens the form, Enter in the
	// subject saves.
	const subject, body = "Cobalt question, edited", "Hi Grace,\n\nEdited by the reviewer: one short idea for Tallow & Pine.\n\nBest,"
	// (The Edit button, not e: Chromium's protocol types a key's
	// character even when the page cancels the key, as a keyboard does
	// not, and e moves the focus into the form.)
	s.do("select email 2 and edit it",
		chromedp.Click(chromedp.CSS("#email-1")),
		chromedp.WaitVisible(chromedp.CSS("#edit")),
		chromedp.Click(chromedp.CSS("#edit")),
		chromedp.WaitVisible(chromedp.CSS("#edit-body")),
	)
	s.retype("#edit-body", body)
	s.retype("#edit-subject", subject)
	s.shot("edit")
	s.do("save the edit", chromedp.SendKeys(chromedp.CSS("#edit-subject"), "\r"))
	s.wait("the edit saved", fmt.Sprintf(`!document.querySelector("#edit-form") && !document.querySelector("#busy") &&
		document.querySelector("#email-body")?.textContent === %q &&
		document.querySelector("#email-1 .badge.edited") !== null`, body))
	s.wait("whom email 2 is to, in the table and above the email",
		`document.querySelector("#email-1 .to")?.textContent === "Grace Liu · Tallow & Pine" &&
		 document.querySelector("#detail-to")?.textContent === "To: Grace Liu · Tallow & Pine, RevOps Manager"`)

	// a approves and moves to the next email; j moves on; r rejects.
	s.do("approve email 2, skip email 3, approve email 4, reject email 5",
		chromedp.KeyEvent("a"))
	s.wait("email 2 approved and email 3 selected",
		`document.querySelector("#email-1 .badge.approved") !== null && document.querySelector("#email-2")?.getAttribute("aria-selected") === "true" && !document.querySelector("#busy")`)
	s.do("skip email 3", chromedp.KeyEvent("j"))
	s.wait("email 4 selected", `document.querySelector("#email-3")?.getAttribute("aria-selected") === "true"`)
	s.do("approve email 4", chromedp.KeyEvent("a"))
	s.wait("email 4 approved and email 5 selected",
		`document.querySelector("#email-3 .badge.approved") !== null && document.querySelector("#email-4")?.getAttribute("aria-selected") === "true" && !document.querySelector("#busy")`)
	s.do("reject email 5", chromedp.KeyEvent("r"))
	s.wait("email 5 rejected and the counts updated",
		`document.querySelector("#email-4 .badge.rejected") !== null &&
		 document.querySelector(".count-approved b")?.textContent === "2" &&
		 document.querySelector(".count-rejected b")?.textContent === "1"`)
	s.do("show an email with findings", chromedp.Click(chromedp.CSS(`#email-list tbody tr:has(.score:not(.high)):not(:has(.edited))`)))
	s.wait("its findings highlighted", `document.querySelector("#email-body mark") !== null`)
	s.shot("review-table")
	// make console-screenshot keeps this one for the README.
	if path := os.Getenv("INGREN_CONSOLE_README_PNG"); path != "" {
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("screenshot the review: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The approved CSV, downloaded as the button does it.
	rows := s.download("download-approved", "-approved.csv")
	header, rows := rows[0], rows[1:]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("the CSV has no column %q: %q", name, header)
		}
		return i
	}
	first, subj, text, review := col("first_name"), col("subject"), col("body"), col("review")
	var names []string
	for _, r := range rows {
		names = append(names, r[first])
		if r[review] != "approved" {
			t.Errorf("row of %s: review %q, want approved", r[first], r[review])
		}
	}
	if want := []string{prospects[1], prospects[3]}; !slices.Equal(names, want) {
		t.Fatalf("the approved CSV holds %q, want exactly the approved %q", names, want)
	}
	if rows[0][subj] != subject || rows[0][text] != body {
		t.Errorf("the edited email's row: subject %q body %q, want the edit: %q %q", rows[0][subj], rows[0][text], subject, body)
	}
	// The other approved row is the model's draft as the API shows it.
	status, _, b := testprog.Do(t, http.MethodGet, s.base+"/api/v1/campaigns/"+id+"/emails/3", apiKey, nil)
	if status != http.StatusOK {
		t.Fatalf("GET email 3: %d %s", status, b)
	}
	var e struct{ Subject, Body string }
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if rows[1][subj] != e.Subject || rows[1][text] != e.Body {
		t.Errorf("the approved draft's row: %q %q, want the API's %q %q", rows[1][subj], rows[1][text], e.Subject, e.Body)
	}
	s.noProblems()
}

// TestProspectDataIsText: prospect data is untrusted. A prospect named
// <img src=x onerror=alert(1)>, at a company named <script>…, in a
// campaign so named, with a model that writes markup into the email, shows
// as text everywhere the console shows it, and nothing of it runs: no
// dialog opens, no flag is set, no element is made of it.
func TestProspectDataIsText(t *testing.T) {
	const (
		name    = `<img src=x onerror=alert(1)>`
		company = `<script>window.__xss=1</script>Acme`
		title   = `<img src=x onerror="window.__xss=2">`
	)
	payload := `<img src=x onerror="window.__xss=3"><b onmouseover=alert(3)>bold</b>`
	// Every call answers the markup, repair rounds included.
	reply := openaitest.Reply{Content: mustJSON(t, map[string]string{"subject": "Hi " + payload, "body": "Hi there,\n\n" + payload + "\n\nBest,"})}
	up := openaitest.New(t, openaitest.WithScript(slices.Repeat([]openaitest.Reply{reply}, 50)...))
	s := openWith(t, "xss", up)
	csvFile := filepath.Join(t.TempDir(), "xss.csv")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll([][]string{{"First Name", "Last Name", "Account Name"}, {name, "Lee", company}, {"Pat", "<i>Lee</i>", company}})
	if err := os.WriteFile(csvFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s.signIn()
	s.do("upload the CSV",
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#csv-file"), []string{csvFile}),
		chromedp.SendKeys(chromedp.CSS("#campaign-name"), title),
		chromedp.Click(chromedp.CSS("#upload")),
	)
	s.wait("the campaign to finish, every email listed",
		`["Completed", "Completed with errors"].includes(document.querySelector("#campaign-title + .badge")?.textContent) &&
		 document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		 document.querySelectorAll("#email-list tbody tr").length === 2`)
	for i := range 2 {
		s.do("show email "+strconv.Itoa(i+1), chromedp.Click(chromedp.CSS(fmt.Sprintf("#email-%d", i))))
		s.wait("email shown", fmt.Sprintf(`document.querySelector("#detail-title")?.textContent.startsWith("Email %d") &&
			document.querySelector("#email-body") !== null`, i+1))
		s.shot("email-" + strconv.Itoa(i+1))
		s.noScriptRan()
		// The model's markup is the email's text, as text.
		if got := eval[string](s, `document.querySelector("#email-body").textContent`); !strings.Contains(got, payload) {
			t.Errorf("email %d's body shows %q, want it to hold %q as text", i+1, got, payload)
		}
		if got := eval[string](s, `document.querySelector("#email-subject").textContent`); got != "Hi "+payload {
			t.Errorf("email %d's subject shows %q, want %q as text", i+1, got, "Hi "+payload)
		}
	}
	s.do("open the campaigns list", chromedp.Navigate(s.base+"/#/"))
	s.wait("the campaign listed", `document.querySelector(".campaigns tbody tr a") !== null`)
	s.shot("campaigns")
	s.noScriptRan()
	if got := eval[string](s, `document.querySelector(".campaigns tbody tr a").textContent`); got != title {
		t.Errorf("the campaigns list names the campaign %q, want %q as text", got, title)
	}
	s.noProblems()
}

// TestStaleEditShowsConflict: a reviewer edits an email that someone
// else changed meanwhile (here through the API). Saving must not
// overwrite the other change: the API answers 412, and the console says
// so and shows the current text.
func TestStaleEditShowsConflict(t *testing.T) {
	s := open(t, "stale")
	api := testprog.HTTP(s.base, apiKey)
	id := api.Submit(t, map[string]any{"name": "Stale edit", "prospects": testprog.Prospects(2)})
	api.WaitFor(t, id, 2*time.Minute, testprog.Campaign.Final)

	s.signIn()
	s.do("open the campaign", chromedp.Navigate(s.base+"/#/campaigns/"+id))
	s.wait("the emails listed", `document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr").length === 2 && document.querySelector("#edit") !== null`)
	s.do("edit email 1", chromedp.Click(chromedp.CSS("#edit")), chromedp.WaitVisible(chromedp.CSS("#edit-body")))
	s.retype("#edit-body", "Hi Pat0,\n\nMy version of the email.\n\nBest,")

	// Someone else changes the email meanwhile.
	const theirs = "Their subject, saved first"
	status, _, b := testprog.Do(t, http.MethodPatch, s.base+"/api/v1/campaigns/"+id+"/emails/0", apiKey, map[string]string{"subject": theirs})
	if status != http.StatusOK {
		t.Fatalf("PATCH email 0 through the API: %d %s", status, b)
	}

	s.do("save the stale edit", chromedp.Click(chromedp.CSS("#save")))
	s.wait("the conflict shown", `document.querySelector("#detail-alert")?.textContent.includes("changed by someone else")`)
	s.wait("the current text shown", `document.querySelector("#email-subject")?.textContent === `+strconv.Quote(theirs))
	s.shot("stale-edit")
	// The 412 is the one error the test causes: the browser logs it.
	s.noProblems(`status of 412`)
}

// TestRetryAndRegenerateInChromium: the model refuses one prospect, so
// the campaign ends with a failed email; Retry failed writes it again.
// Then g-for-regenerate's form sends the reviewer's instructions to the
// model and shows the new draft.
func TestRetryAndRegenerateInChromium(t *testing.T) {
	up := openaitest.New(t, openaitest.WithScript(openaitest.Status(http.StatusBadRequest)))
	s := openWith(t, "retry", up)
	api := testprog.HTTP(s.base, apiKey)
	id := api.Submit(t, map[string]any{"name": "Retry and regenerate", "prospects": testprog.Prospects(3)})
	api.WaitFor(t, id, 2*time.Minute, testprog.Campaign.Final)

	s.signIn()
	s.do("open the campaign", chromedp.Navigate(s.base+"/#/campaigns/"+id))
	s.wait("one email failed", `document.querySelector(".count-failed b")?.textContent === "1" &&
		document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr").length === 3 && !document.querySelector("#retry").disabled`)
	s.shot("failed")
	s.do("retry the failed", chromedp.Click(chromedp.CSS("#retry")))
	s.wait("the failed one written again", `document.querySelector(".count-failed b")?.textContent === "0" &&
		document.querySelector(".count-succeeded b")?.textContent === "3" &&
		document.querySelector("#campaign-title + .badge")?.textContent === "Completed" &&
		document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr .badge.succeeded").length === 3`)
	s.shot("retried")

	calls := up.Count()
	s.do("regenerate email 1 with instructions",
		chromedp.Click(chromedp.CSS("#email-0")),
		chromedp.Click(chromedp.CSS("#regenerate")), // g, but see TestReviewInChromium's note on e
		chromedp.WaitVisible(chromedp.CSS("#regen-instructions")),
		chromedp.SendKeys(chromedp.CSS("#regen-instructions"), "mention the funding round\r"),
	)
	s.wait("the new draft shown", `document.querySelector("#flash")?.textContent.includes("new draft of email 1") &&
		document.querySelector("#approve") !== null`)
	s.shot("regenerated")
	if up.Count() <= calls {
		t.Fatalf("regenerate made no model call (%d before, %d after)", calls, up.Count())
	}
	last := up.Requests()[up.Count()-1].Body.Messages
	if !strings.Contains(last[len(last)-1].Content, "mention the funding round") {
		t.Errorf("the model was not given the instructions; the last message:\n%s", last[len(last)-1].Content)
	}
	s.noProblems()
}

// TestSkippedInChromium: a campaign whose max_cost_usd leaves room for
// no email shows its prospects as skipped: the count, the badges, the
// filter, and a retry that would give them another go.
func TestSkippedInChromium(t *testing.T) {
	up := openaitest.New(t)
	s := openWith(t, "skipped", up)
	api := testprog.HTTP(s.base, apiKey)
	id := api.Submit(t, map[string]any{"name": "Capped", "prospects": testprog.Prospects(3), "max_cost_usd": 0.000001})
	api.WaitFor(t, id, 2*time.Minute, testprog.Campaign.Final)

	s.signIn()
	s.do("open the campaign", chromedp.Navigate(s.base+"/#/campaigns/"+id))
	s.wait("every prospect skipped", `document.querySelector(".count-skipped b")?.textContent === "3" &&
		document.querySelector(".count-failed b")?.textContent === "0" &&
		document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr .badge.skipped").length === 3 &&
		document.querySelector("#retry")?.textContent === "Retry failed (3)"`)
	s.shot("skipped")
	// As a person's choice in the list does: set it, and say it changed.
	eval[bool](s, `(() => { const f = document.querySelector("#filter"); f.value = "skipped";
		return f.dispatchEvent(new Event("change")); })()`)
	s.wait("the filter lists them", `document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr .badge.skipped").length === 3`)
	if !slices.Contains(s.rec.Requests(), "GET "+s.base+"/api/v1/campaigns/"+id+"/emails?limit=1000&status=skipped") {
		t.Errorf("the filter did not ask for the skipped emails; the page asked for %q", s.rec.Requests())
	}
	// Retry failed gives the skipped prospects another go: within a cap
	// that still has no room, they end skipped again.
	s.do("retry the skipped", chromedp.Click(chromedp.CSS("#retry")))
	s.wait("the retry accepted", `document.querySelector("#flash")?.textContent.includes("3 prospects are being written again")`)
	if got := api.WaitFor(t, id, 2*time.Minute, testprog.Campaign.Final); got.Skipped != 3 || got.Status != "completed_with_errors" {
		t.Errorf("after the retry: %+v", got)
	}
	s.wait("the page follows the retry to its end", `document.querySelector("#campaign-title + .badge")?.textContent === "Completed with errors" &&
		document.querySelector(".count-skipped b")?.textContent === "3"`)
	if !slices.Contains(s.rec.Requests(), "POST "+s.base+"/api/v1/campaigns/"+id+"/retry") {
		t.Errorf("the page did not retry; it asked for %q", s.rec.Requests())
	}
	if up.Count() != 0 {
		t.Errorf("%d model calls for a campaign with no room for one", up.Count())
	}
	s.noProblems()
}

// TestConsoleUnderAStagePrefix: on AWS the console is at the stage's URL,
// /dev without a slash, where relative URLs would leave the stage. Behind
// a proxy that serves the program under /dev as API Gateway does (and says
// so in X-Forwarded-Prefix, as internal/apigw does), the page loads its
// files and calls the API under /dev.
func TestConsoleUnderAStagePrefix(t *testing.T) {
	s := open(t, "stage")
	s.base = browsertest.Stage(t, s.base, "/dev")

	s.do("open the console at the stage's URL", chromedp.Navigate(s.base))
	// A wrong key is refused, and the page asks for the key again.
	s.do("enter a wrong key", chromedp.WaitVisible(chromedp.CSS("#api-key")), chromedp.SendKeys(chromedp.CSS("#api-key"), "not-the-key"),
		chromedp.Click(chromedp.CSS("#key-form button")))
	s.wait("the key refused", `document.querySelector("#flash")?.textContent.includes("refused") &&
		document.querySelector("#key-form").hidden === false && sessionStorage.length === 0`)
	s.shot("wrong-key")
	s.do("enter the key", chromedp.WaitVisible(chromedp.CSS("#api-key")), chromedp.SendKeys(chromedp.CSS("#api-key"), apiKey),
		chromedp.Click(chromedp.CSS("#key-form button")))
	s.wait("the campaigns listed", `document.querySelector(".empty, .campaigns") !== null`)
	s.shot("campaigns")
	if got := eval[string](s, `document.querySelector('nav a[href$="docs"]').href`); got != s.base+"/docs" {
		t.Errorf("the docs link goes to %s, want %s/docs", got, s.base)
	}
	if !slices.Contains(s.rec.Requests(), "GET "+s.base+"/api/v1/campaigns?limit=50") {
		t.Errorf("the console did not list the campaigns under the stage; it asked for %q", s.rec.Requests())
	}
	s.noProblems("status of 401") // the wrong key's
}

// session is one tab of the browser on the console of a program of its
// own.
type session struct {
	t         *testing.T
	ctx       context.Context
	rec       *browsertest.Recorder
	base      string
	shots     string
	step      int
	mu        sync.Mutex
	dialogs   []string
	downloads string // where the tab's downloads land
}

// open starts the local program, with the test model answering at once,
// and a browser tab on its console.
func open(t *testing.T, name string) *session {
	return openWith(t, name, openaitest.New(t))
}

func openWith(t *testing.T, name string, up *openaitest.Server) *session {
	t.Helper()
	exe := browsertest.Chromium(t)
	prog := testprog.Start(t, map[string]string{
		"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL, "OPENAI_API_KEY": "sk-console-test",
	})
	browser := browsertest.Start(t, exe, 4*time.Minute)
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	s := &session{t: t, ctx: ctx, rec: &browsertest.Recorder{}, base: prog.URL, downloads: t.TempDir()}
	s.shots = os.Getenv("INGREN_CONSOLE_SCREENSHOTS")
	if s.shots == "" {
		s.shots = t.TempDir()
	}
	s.shots = filepath.Join(s.shots, name)
	if err := os.MkdirAll(s.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, s.rec.Event); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	// A dialog would block the page: note it, and close it.
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			s.mu.Lock()
			s.dialogs = append(s.dialogs, string(e.Type)+": "+e.Message)
			s.mu.Unlock()
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: s.downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	t.Logf("screenshots in %s", s.shots)
	return s
}

// signIn opens the console and enters the key.
func (s *session) signIn() {
	s.t.Helper()
	s.do("open the console", chromedp.Navigate(s.base+"/"))
	s.do("enter the key",
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), apiKey),
	)
	s.shot("key")
	s.do("use the key", chromedp.Click(chromedp.CSS("#key-form button")))
	s.wait("the key taken", `document.querySelector("#key-set")?.hidden === false && document.querySelector("#upload-form, #campaign-title") !== null`)
	if got := eval[string](s, `sessionStorage.getItem("ingren.apiKey")`); got != apiKey {
		s.t.Errorf("sessionStorage holds %q, want the key", got)
	}
	if got := eval[string](s, `localStorage.length + " " + document.cookie + " " + location.href`); strings.Contains(got, apiKey) {
		s.t.Errorf("the key is kept beyond sessionStorage: %q", got)
	}
}

// retype empties the field sel, as selecting all of it would, and types
// text into it.
func (s *session) retype(sel, text string) {
	s.t.Helper()
	eval[bool](s, `(document.querySelector(`+strconv.Quote(sel)+`).value = "") === ""`)
	s.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
	if got := eval[string](s, `document.querySelector(`+strconv.Quote(sel)+`).value`); got != text {
		s.fail("%s holds %q after typing %q", sel, got, text)
	}
}

// fail stops the test with what the page shows and what its console said.
func (s *session) fail(format string, args ...any) {
	s.t.Helper()
	text, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.body?.innerText ?? ""`))
	s.shot("failed")
	s.t.Fatalf("%s\npage: %.3000s\nconsole errors: %q", fmt.Sprintf(format, args...), text, s.rec.Problems())
}

// do runs one step with a minute to do it in.
func (s *session) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.fail("%s: %v", name, err)
	}
}

// wait polls the page until js is true, for up to two minutes: a busy
// machine is slow, never wrong.
func (s *session) wait(name, js string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+js+`)`, chromedp.WithPollingTimeout(0))); err != nil {
		s.fail("wait for %s: %v", name, err)
	}
}

func eval[T any](s *session, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.fail("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves what the page looks like, as step NN-name.png.
func (s *session) shot(name string) {
	s.t.Helper()
	s.step++
	s.screenshotTo(filepath.Join(s.shots, fmt.Sprintf("%02d-%s.png", s.step, name)))
}

func (s *session) screenshotTo(path string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		s.t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Error(err)
	}
}

// download clicks the button with id button and returns the CSV file it
// saves, whose name ends in suffix, as rows.
func (s *session) download(button, suffix string) [][]string {
	s.t.Helper()
	s.do("click "+button, chromedp.Click(chromedp.CSS("#"+button)))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		entries, err := os.ReadDir(s.downloads)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				b, err := os.ReadFile(filepath.Join(s.downloads, e.Name()))
				if err != nil {
					s.t.Fatal(err)
				}
				rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				if err != nil || len(rows) == 0 {
					s.t.Fatalf("the downloaded %s is not CSV (%v):\n%s", e.Name(), err, b)
				}
				return rows
			}
		}
		if time.Now().After(deadline) {
			s.fail("no file *%s downloaded after 2 minutes; the folder holds %v", suffix, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noScriptRan fails the test if prospect data ran as script: a dialog,
// the flag the payloads set, or an element made of the data.
func (s *session) noScriptRan() {
	s.t.Helper()
	s.mu.Lock()
	dialogs := slices.Clone(s.dialogs)
	s.mu.Unlock()
	if len(dialogs) > 0 {
		s.t.Errorf("prospect data opened dialogs: %q", dialogs)
	}
	if got := eval[string](s, `String(window.__xss)`); got != "undefined" {
		s.t.Errorf("prospect data ran: window.__xss = %s", got)
	}
	if n := eval[int](s, `document.querySelectorAll("main img, main script, main [onerror], main [onmouseover]").length +
		[...document.querySelectorAll("main b, main i")].filter(e => e.textContent === "bold" || e.textContent === "Lee").length`); n > 0 {
		s.t.Errorf("prospect data became %d elements", n)
	}
}

// noProblems fails the test on console errors (a CSP violation is one)
// but those holding one of expected.
func (s *session) noProblems(expected ...string) {
	s.t.Helper()
	var out []string
	for _, p := range s.rec.Problems() {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(p.Text, e) }) {
			out = append(out, p.String())
		}
	}
	if len(out) > 0 {
		s.t.Errorf("the console shows errors:\n%s", strings.Join(out, "\n"))
	}
	for _, r := range s.rec.Requests() {
		_, u, _ := strings.Cut(r, " ")
		if u != s.base && !strings.HasPrefix(u, s.base+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			s.t.Errorf("the console asked for something outside %s/: %s", s.base, r)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
