package security_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/openaitest"
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
	prog := start(t, map[string]string{"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL,
		"OPENAI_API_KEY": openAIKey, "WORKER_CONCURRENCY": "1"})
	entries := []map[string]any{
		{"ref": "@SUM(A1)", "prospect": map[string]any{"first_name": "=1+1", "last_name": "+cmd"}, "company": map[string]any{"company_name": "-2+3 Corp"}},
		{"ref": `=HYPERLINK("http://x")`, "prospect": map[string]any{"first_name": "\tTab", "last_name": "Lee"}, "company": map[string]any{"company_name": "\rCR Inc"}},
		{"ref": "crm-3", "prospect": map[string]any{"first_name": "Ann", "last_name": "O'Neil"}, "company": map[string]any{"company_name": "Acme"}},
	}
	id := submit(t, prog.base, apiKey, map[string]any{"prospects": entries})
	if c := waitFinished(t, prog.base, apiKey, id); c.Succeeded != len(entries) {
		t.Fatalf("campaign %+v", c)
	}

	status, hdr, body := do(t, "GET", prog.base+"/api/v1/campaigns/"+id+"/emails?format=csv", apiKey, nil)
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
		"subject":      {`'=HYPERLINK("http://evil.example","open")`, `'=HYPERLINK("http://evil.example","open")`, `'=HYPERLINK("http://evil.example","open")`},
	}
	for c, name := range rows[0] {
		for i, w := range want[name] {
			if got := rows[i+1][c]; got != w {
				t.Errorf("row %d %s = %q, want %q", i+1, name, got, w)
			}
		}
	}

	_, _, body = do(t, "GET", prog.base+"/api/v1/campaigns/"+id+"/emails", apiKey, nil)
	if !strings.Contains(string(body), `"ref":"@SUM(A1)"`) || !strings.Contains(string(body), `"subject":"=HYPERLINK(`) {
		t.Errorf("the JSON listing must keep values as they are: %s", body)
	}
}
