package console_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ingren/ingren/internal/openaitest"
)

// TestWalkthrough200 is the measure of the console, run by hand
// (INGREN_CONSOLE_WALKTHROUGH=1 go test -v -run TestWalkthrough200
// ./internal/console): a 200-prospect CSV to an approved-only CSV in the
// browser, the way a reviewer goes, and how long each part took. The
// model answers after 1 s (±0.5 s), as a small model does; its first
// replies have placeholders, so a few emails end needs_review. The reviewer fixes each flagged email by editing it,
// then goes through all 200 with a (approve and move on), and downloads
// the approved CSV, which must hold all 200 with the edits.
//
// The times are the machine's: a person adds their reading, which the
// note of issue 13 estimates beside them.
func TestWalkthrough200(t *testing.T) {
	if os.Getenv("INGREN_CONSOLE_WALKTHROUGH") == "" {
		t.Skip("a measurement: INGREN_CONSOLE_WALKTHROUGH=1 runs it")
	}
	const n = 200
	flagged := openaitest.Reply{Content: mustJSON(t, map[string]string{
		"subject": "Idea for {{company}}",
		"body":    "Hi {{first_name}},\n\nWe help teams like yours.\n\nWorth a chat?\n\nBest,",
	})}
	// 16 workers: the first 16 calls are first writes, and about half of
	// the next 8 are their repairs, which stay flagged.
	script := slices.Repeat([]openaitest.Reply{flagged}, 24)
	s := openWith(t, "walkthrough", openaitest.New(t, openaitest.WithScript(script...), openaitest.WithLatency(time.Second, 500*time.Millisecond)))

	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"First Name", "Last Name", "Job Title", "Company", "Industry"})
	for i := range n {
		w.Write([]string{fmt.Sprintf("Pat%d", i), "Lee", "Head of Sales", fmt.Sprintf("Co%d Inc", i), "SaaS"})
	}
	w.Flush()
	file := filepath.Join(t.TempDir(), "prospects-200.csv")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	mark := func(what string, since time.Time) time.Time {
		now := time.Now()
		t.Logf("%-44s %6.1f s", what, now.Sub(since).Seconds())
		return now
	}
	s.signIn()
	s.do("upload the CSV",
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#csv-file"), []string{file}),
		chromedp.SendKeys(chromedp.CSS("#campaign-name"), "Walkthrough 200"),
		chromedp.Click(chromedp.CSS("#upload")),
	)
	s.wait("the campaign page", `location.hash.startsWith("#/campaigns/") && !!document.querySelector("#progress")`)
	t0 := mark("key, upload, campaign page", start)
	s.wait("the campaign to finish", `["Completed", "Completed with errors"].includes(document.querySelector("#campaign-title + .badge")?.textContent)`)
	t1 := mark("all 200 written (watching progress)", t0)
	nFlagged, _ := strconv.Atoi(eval[string](s, `document.querySelector(".count-needs_review b")?.textContent ?? "0"`))

	// The flagged ones first: filter, edit each in place.
	s.do("show the flagged", chromedp.SetValue(chromedp.CSS("#filter"), "needs_review"))
	eval[bool](s, `document.querySelector("#filter").dispatchEvent(new Event("change"))`)
	s.wait("the flagged listed", fmt.Sprintf(`document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr").length === %d`, nFlagged))
	rows := eval[[]int](s, `[...document.querySelectorAll("#email-list tbody tr")].map(tr => +tr.dataset.index)`)
	for _, i := range rows {
		body := fmt.Sprintf("Hi Pat%d,\n\nTeams like Co%d Inc use us to write outreach that sounds like them.\n\nWorth a chat?\n\nBest,", i, i)
		s.do("edit a flagged email",
			chromedp.Click(chromedp.CSS(fmt.Sprintf("#email-%d", i))),
			chromedp.WaitVisible(chromedp.CSS("#edit")),
			chromedp.Click(chromedp.CSS("#edit")),
			chromedp.WaitVisible(chromedp.CSS("#edit-body")))
		s.retype("#edit-body", body)
		s.retype("#edit-subject", fmt.Sprintf("An idea for Co%d Inc", i))
		s.do("save", chromedp.SendKeys(chromedp.CSS("#edit-subject"), "\r"))
		s.wait("the edit saved", fmt.Sprintf(`!document.querySelector("#edit-form") && !document.querySelector("#busy") &&
			document.querySelector("#email-%d .badge.edited") !== null`, i))
	}
	t2 := mark(fmt.Sprintf("%d flagged emails edited", len(rows)), t1)

	// Then every email, in order: a approves and moves on.
	s.do("show all", chromedp.SetValue(chromedp.CSS("#filter"), ""))
	eval[bool](s, `document.querySelector("#filter").dispatchEvent(new Event("change"))`)
	s.wait("all listed", fmt.Sprintf(`document.querySelector("#email-list")?.getAttribute("aria-busy") === "false" &&
		document.querySelectorAll("#email-list tbody tr").length === %d`, n))
	s.do("select the first", chromedp.Click(chromedp.CSS("#email-0")))
	for i := range n {
		s.do("approve", chromedp.KeyEvent("a"))
		s.wait("approved", fmt.Sprintf(`document.querySelector("#email-%d .badge.approved") !== null && !document.querySelector("#busy")`, i))
	}
	t3 := mark("200 approved with a", t2)
	s.wait("the counts", fmt.Sprintf(`document.querySelector(".count-approved b")?.textContent === "%d"`, n))
	got := s.download("download-approved", "-approved.csv")
	mark("approved CSV downloaded", t3)
	mark("in all", start)
	if len(got)-1 != n {
		t.Fatalf("the approved CSV has %d rows, want %d", len(got)-1, n)
	}
	subj := slices.Index(got[0], "subject")
	edited := 0
	for _, r := range got[1:] {
		if len(r[subj]) > 13 && r[subj][:13] == "An idea for C" {
			edited++
		}
	}
	if edited != len(rows) {
		t.Errorf("%d edited rows in the CSV, want %d", edited, len(rows))
	}
	s.noProblems()
}
