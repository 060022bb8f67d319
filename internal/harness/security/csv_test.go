package security_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// TestCSVExportDefusesFormulas submits prospects whose fields, and a model
// whose answers, start with what a spreadsheet runs as a formula (= + - @
// tab CR). In the CSV export no cell starts with one of those: each such
// value is prefixed with ', and otherwise kept whole. The JSON listing is
// not a spreadsheet and keeps the values as they are.
func TestCSVExportDefusesFormulas(t *testing.T) {
	formula := openaitest.Reply{Content: `{"subject": "=HYPERLINK(\"http://evil.example\",\"open\")", "body": "@SUM(1+1)*cmd|' /C calc'!A0\n\nHi there"}`}
	script := make([]openaitest.Reply, 20) // every call, repair rounds included
	for i := range script {
		script[i] = formula
	}
	up := openaitest.New(t, openaitest.WithScript(script...))
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL,
		"OPENAI_API_KEY": openAIKey, "WORKER_CONCURRENCY": "1"})
	entries := []map[string]any{
		{"ref": "@SUM(A1)", "prospect": map[string]any{"first_name": "=1+1", "last_name": "+cmd", "job_title": "-VP"}, "company": map[string]any{"company_name": "-2+3 Corp"}},
		{"ref": `=HYPERLINK("http://x")`, "prospect": map[string]any{"first_name": "\tTab", "last_name": "Lee"}, "company": map[string]any{"company_name": "\rCR Inc"}},
		{"ref": "crm-3", "prospect": map[string]any{"first_name": "Ann", "last_name": "O'Neil"}, "company": map[string]any{"company_name": "Acme"}},
	}
	id := testprog.HTTP(prog.URL, apiKey).Submit(t, map[string]any{"prospects": entries})
	if c := testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final); c.Succeeded != len(entries) {
		t.Fatalf("campaign %+v", c)
	}

	status, hdr, body := testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id+"/emails?format=csv", apiKey, nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", status, hdr.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(entries)+1 {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(entries))
	}
	for r, row := range rows {
		for c, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d column %s starts a formula: %q", r, rows[0][c], cell)
			}
		}
	}
	want := map[string][]string{ // by column: what each row's cell must be
		"ref":          {"'@SUM(A1)", `'=HYPERLINK("http://x")`, "crm-3"},
		"first_name":   {"'=1+1", "'\tTab", "Ann"},
		"last_name":    {"'+cmd", "Lee", "O'Neil"},
		"company_name": {"'-2+3 Corp", "'\rCR Inc", "Acme"},
		"job_title":    {"'-VP", "", ""},
		"subject":      {`'=HYPERLINK("http://evil.example","open")`, `'=HYPERLINK("http://evil.example","open")`, `'=HYPERLINK("http://evil.example","open")`},
	}
	for c, name := range rows[0] {
		for i, w := range want[name] {
			if got := rows[i+1][c]; got != w {
				t.Errorf("row %d %s = %q, want %q", i+1, name, got, w)
			}
		}
	}

	_, _, body = testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id+"/emails", apiKey, nil)
	if !strings.Contains(string(body), `"ref":"@SUM(A1)"`) || !strings.Contains(string(body), `"subject":"=HYPERLINK(`) {
		t.Errorf("the JSON listing must keep values as they are: %s", body)
	}
}

// TestCSVInputExportDefusesFormulas: with columns=input a CSV campaign's
// export starts each row with the file's own header and cells, which are
// as untrusted as the prospect's fields: each one that starts a formula is
// prefixed with ' too.
func TestCSVInputExportDefusesFormulas(t *testing.T) {
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey})
	const file = "First Name,Company Name,=Score\n=1+1,+Acme,@SUM(A1)\n"
	status, _, body := testprog.Do(t, "POST", prog.URL+"/api/v1/campaigns", apiKey, file, "Content-Type", "text/csv")
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final)
	status, _, body = testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id+"/emails?format=csv&columns=input", apiKey, nil)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if status != http.StatusOK || err != nil || len(rows) != 2 {
		t.Fatalf("csv: %d %v %s", status, err, body)
	}
	if got, want := strings.Join(rows[0][:4], ","), "First Name,Company Name,'=Score,status"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if got, want := strings.Join(rows[1][:3], ","), "'=1+1,'+Acme,'@SUM(A1)"; got != want {
		t.Errorf("row 2 %q, want %q", got, want)
	}
	status, _, body = testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id+"/emails?format=csv&columns=all", apiKey, nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"columns"`) {
		t.Errorf("columns=all: %d %s, want a 422 naming columns", status, body)
	}
}

// TestCSVExportDefusesHiddenFormulas: a spreadsheet skips what it does not
// show (whitespace, control characters, NBSP, a BOM, zero-width
// characters) and reads full-width ＝ ＋ － ＠ as their ASCII forms, so a
// formula hidden behind them runs too (OWASP, CSV injection). Each case is
// a prospect's ref, or, for the characters validation refuses in input,
// the model's subject and body: the export prefixes ' to every cell whose
// first visible character starts a formula, and leaves other cells whole.
func TestCSVExportDefusesHiddenFormulas(t *testing.T) {
	refs := []struct{ name, in, want string }{
		{"Formula", "=1+1", "'=1+1"},
		{"LF", "\n=1+1", "'\n=1+1"},
		{"Space", " =1+1", "' =1+1"},
		{"Spaces", "   +1", "'   +1"},
		{"NBSP", "\u00a0=1+1", "'\u00a0=1+1"},
		{"BOM", "\ufeff=1+1", "'\ufeff=1+1"},
		{"ZeroWidthSpace", "\u200b@SUM(A1)", "'\u200b@SUM(A1)"},
		{"WordJoiner", "\u2060+1", "'\u2060+1"},
		{"IdeographicSpace", "\u3000-1", "'\u3000-1"},
		{"FullWidthEquals", "＝1+1", "'＝1+1"},
		{"FullWidthPlus", "＋1", "'＋1"},
		{"FullWidthMinus", "－1", "'－1"},
		{"FullWidthAt", "＠SUM(A1)", "'＠SUM(A1)"},
		{"Mixed", " \u00a0\ufeff\u200b\t＝1+1", "' \u00a0\ufeff\u200b\t＝1+1"},
		{"TabAlone", "\tTab", "'\tTab"},
		{"PlainKept", "crm-3", "crm-3"},
		{"LeadingSpaceKept", " Ann", " Ann"},
		{"NBSPKept", "\u00a0Ann", "\u00a0Ann"},
		{"FormulaInsideKept", "a=1+1", "a=1+1"},
		{"FullWidthDigitKept", "１+1", "１+1"},
	}
	const subject, body = "\u0000=1+1", "\u0001@SUM(1)\n\nHi there"
	reply := openaitest.Reply{Content: `{"subject": "\u0000=1+1", "body": "\u0001@SUM(1)\n\nHi there"}`}
	script := make([]openaitest.Reply, 4*len(refs)) // every call: two writes of two calls at most each
	for i := range script {
		script[i] = reply
	}
	up := openaitest.New(t, openaitest.WithScript(script...))
	prog := testprog.Start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL,
		"OPENAI_API_KEY": openAIKey})
	entries := make([]map[string]any, len(refs))
	for i, r := range refs {
		entries[i] = map[string]any{"ref": r.in, "prospect": map[string]any{"first_name": "Ann"}, "company": map[string]any{"company_name": "Acme"}}
	}
	id := testprog.HTTP(prog.URL, apiKey).Submit(t, map[string]any{"prospects": entries})
	if c := testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final); c.Succeeded != len(entries) {
		t.Fatalf("campaign %+v", c)
	}
	status, _, b := testprog.Do(t, "GET", prog.URL+"/api/v1/campaigns/"+id+"/emails?format=csv", apiKey, nil)
	if status != http.StatusOK {
		t.Fatalf("csv: %d %s", status, b)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(refs)+1 {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(refs))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for i, r := range refs {
		row := rows[i+1]
		t.Run(r.name, func(t *testing.T) {
			if got := row[col["ref"]]; got != r.want {
				t.Errorf("ref %q exported as %q, want %q", r.in, got, r.want)
			}
			if got := row[col["subject"]]; got != "'"+subject {
				t.Errorf("subject %q exported as %q", subject, got)
			}
			if got := row[col["body"]]; got != "'"+body {
				t.Errorf("body %q exported as %q", body, got)
			}
		})
	}
	for r, row := range rows {
		for c, cell := range row {
			if startsFormula(cell) {
				t.Errorf("row %d column %s starts a formula: %q", r, rows[0][c], cell)
			}
		}
	}
}

// startsFormula reports whether a spreadsheet could run cell: its first
// character a spreadsheet shows is = + - @ or a full-width form of one.
func startsFormula(cell string) bool {
	for _, r := range cell {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune("=+-@＝＋－＠", r):
			return true
		}
		return false
	}
	return false
}
