package cli_test

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/cli"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// bin is the ingren binary, built once by TestMain as a user builds it.
var bin string

func TestMain(m *testing.M) { os.Exit(testprog.RunWithBinary(m, testprog.IngrenPackage, &bin)) }

// local is the local program, run in-process, and the environment that
// points the CLI at it. The CLI finds the key in DATA_DIR, as after
// make run: no INGREN_API_KEY.
type local struct {
	prog *testprog.Program
	env  []string
	dir  string // a folder for the test's files
}

// startLocal starts the local program with extra settings; a model
// provider at upstream, or offline when upstream is "".
func startLocal(t *testing.T, upstream string, extra map[string]string) *local {
	t.Helper()
	data := t.TempDir()
	env := map[string]string{"DATA_DIR": data, "LOG_LEVEL": "error", "WORKER_CONCURRENCY": "4"}
	if upstream != "" {
		env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"] = upstream, "sk-cli-test"
	}
	for k, v := range extra {
		env[k] = v
	}
	p := testprog.Start(t, env)
	return &local{prog: p, env: []string{"INGREN_URL=" + p.URL, "DATA_DIR=" + data}, dir: t.TempDir()}
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// ingren runs the binary with env as its whole environment.
func ingren(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("ingren %v: %v", args, err)
	}
	return r
}

// mustWrite writes v (JSON unless a string) to name in dir and returns the
// path.
func mustWrite(t *testing.T, dir, name string, v any) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, testprog.MustJSON(t, v), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustCSV reads the CSV file at path.
func mustCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func campaignOf(n int) map[string]any {
	return map[string]any{"name": "cli test", "prospects": testprog.Prospects(n)}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"Help", []string{"help"}, "ingren campaign run FILE"},
		{"DashH", []string{"-h"}, "ingren campaign run FILE"},
		{"HelpCommand", []string{"help", "generate"}, "Usage: ingren generate FILE.json"},
		{"Campaign", []string{"campaign", "-h"}, "Usage: ingren campaign COMMAND"},
		{"Run", []string{"campaign", "run", "-h"}, "-calendar-link"},
		{"RunSkipInvalid", []string{"campaign", "run", "-h"}, "-skip-invalid"},
		{"RunBatch", []string{"campaign", "run", "-h"}, "-batch"},
		{"SubmitSkipInvalid", []string{"campaign", "submit", "-h"}, "-skip-invalid"},
		{"Submit", []string{"campaign", "submit", "-h"}, "Usage: ingren campaign submit FILE"},
		{"Status", []string{"campaign", "status", "-h"}, "Usage: ingren campaign status ID"},
		{"Watch", []string{"campaign", "watch", "-h"}, "Ctrl-C stops watching, not the campaign"},
		{"Download", []string{"campaign", "download", "-h"}, "X-Next-Cursor"},
		{"Cancel", []string{"campaign", "cancel", "-h"}, "Usage: ingren campaign cancel ID"},
		{"List", []string{"campaign", "list", "-h"}, "Usage: ingren campaign list"},
		{"Emails", []string{"campaign", "emails", "-h"}, "-status"},
		{"Show", []string{"campaign", "show", "-h"}, "Usage: ingren campaign show ID INDEX"},
		{"Approve", []string{"campaign", "approve", "-h"}, "Usage: ingren campaign approve ID INDEX..."},
		{"Reject", []string{"campaign", "reject", "-h"}, "Usage: ingren campaign reject ID INDEX..."},
		{"Retry", []string{"campaign", "retry", "-h"}, "-include-needs-review"},
		{"DownloadStatus", []string{"campaign", "download", "-h"}, "-status"},
		{"HelpListsRetry", []string{"help"}, "ingren campaign retry ID"},
		{"Generate", []string{"generate", "-h"}, "Usage: ingren generate FILE.json"},
		{"Lint", []string{"lint", "-h"}, "Usage: ingren lint [-context REQUEST.json] [-json] FILE"},
		{"MCP", []string{"mcp", "-h"}, "Usage: ingren mcp"},
		{"HelpListsMCP", []string{"help"}, "ingren mcp "},
		{"Serve", []string{"serve", "-h"}, "Usage: ingren serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ingren(t, nil, tc.args...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
	t.Run("ErrUnknownCommand", func(t *testing.T) {
		r := ingren(t, nil, "campaign", "launch")
		if r.code != 2 || !strings.Contains(r.stderr, `unknown command "launch"`) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestCampaignRun(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		l := startLocal(t, "", nil)
		file := mustWrite(t, l.dir, "prospects.json", campaignOf(5))
		r := ingren(t, l.env, "campaign", "run", file)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		rows := mustCSV(t, filepath.Join(l.dir, "prospects.emails.csv"))
		if len(rows) != 6 || rows[0][0] != "ref" {
			t.Fatalf("%d rows, header %v; want the header and 5 emails", len(rows), rows[0])
		}
		status, subject := slices.Index(rows[0], "status"), slices.Index(rows[0], "subject")
		for i, row := range rows[1:] {
			if row[0] != testprog.Ref(i) || row[status] != "succeeded" || row[subject] == "" {
				t.Errorf("row %d: %v, want %s with an email", i+1, row, testprog.Ref(i))
			}
		}
		// stderr is a pipe: plain lines, the last one the campaign's end.
		if !strings.Contains(r.stderr, "completed: 5/5 done, 0 failed") || !strings.Contains(r.stderr, "wrote ") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
	})

	t.Run("ProgressBarOnATerminal", func(t *testing.T) {
		l := startLocal(t, "", nil)
		file := mustWrite(t, l.dir, "c.json", campaignOf(3))
		env := map[string]string{}
		for _, kv := range l.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		var stdout, stderr strings.Builder
		code := cli.Main(context.Background(), []string{"campaign", "run", file}, cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr,
			Terminal: true, Poll: 50 * time.Millisecond,
		})
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		if out := stderr.String(); !strings.Contains(out, "100% |") || !strings.Contains(out, "(3/3, ") || !strings.Contains(out, "completed, 0 failed") {
			t.Fatalf("stderr %q, want a bar at 3/3", out)
		}
	})

	t.Run("OutFlagAfterFile", func(t *testing.T) {
		l := startLocal(t, "", nil)
		file := mustWrite(t, l.dir, "c.json", campaignOf(2))
		out := filepath.Join(l.dir, "out.csv")
		if r := ingren(t, l.env, "campaign", "run", file, "-o", out); r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if rows := mustCSV(t, out); len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
	})

	t.Run("SomeFailedExit3", func(t *testing.T) {
		// Every model call stalls, is cut at OPENAI_TIMEOUT and not retried:
		// every prospect fails.
		up := openaitest.New(t, openaitest.WithStallRate(1))
		l := startLocal(t, up.URL, map[string]string{"OPENAI_TIMEOUT": "300ms", "MAX_RECEIVE_COUNT": "1"})
		file := mustWrite(t, l.dir, "c.json", campaignOf(2))
		r := ingren(t, l.env, "campaign", "run", file)
		if r.code != 3 || !strings.Contains(r.stderr, "2 failed") {
			t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
		}
		if rows := mustCSV(t, filepath.Join(l.dir, "c.emails.csv")); len(rows) != 3 || rows[1][slices.Index(rows[0], "status")] != "failed" {
			t.Fatalf("rows %v, want 2 failed ones", rows)
		}
	})

	t.Run("ErrInvalidFieldsOneALine", func(t *testing.T) {
		l := startLocal(t, "", nil)
		file := mustWrite(t, l.dir, "bad.json", map[string]any{"prospects": []any{
			map[string]any{"prospect": map[string]any{"first_name": "Pat"}, "company": map[string]any{"company_name": "Co"}},
			map[string]any{"prospect": map[string]any{}, "company": map[string]any{"company_name": "Co"}},
		}})
		r := ingren(t, l.env, "campaign", "run", file)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if !slicesContain(lines, "prospects[1].prospect.first_name is required") {
			t.Fatalf("stderr lines %q, want the invalid field on a line of its own", lines)
		}
		if _, err := os.Stat(filepath.Join(l.dir, "bad.emails.csv")); !os.IsNotExist(err) {
			t.Fatalf("an output file was written: %v", err)
		}
	})

	t.Run("ErrNoKey", func(t *testing.T) {
		dir := t.TempDir()
		file := mustWrite(t, dir, "c.json", campaignOf(1))
		r := ingren(t, []string{"INGREN_URL=http://127.0.0.1:1", "DATA_DIR=" + dir}, "campaign", "run", file)
		if r.code != 1 || !strings.Contains(r.stderr, "no INGREN_API_KEY") || !strings.Contains(r.stderr, filepath.Join(dir, "api_key")) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func slicesContain(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// A campaign whose model calls never answer stays running, so that each
// step sees it mid-way: submit, status, list, download, cancel.
func TestCampaignSteps(t *testing.T) {
	up := openaitest.New(t, openaitest.WithStallRate(1))
	l := startLocal(t, up.URL, map[string]string{"OPENAI_TIMEOUT": "10m"})
	t.Cleanup(up.Close) // before the program's shutdown, which waits for its calls
	file := mustWrite(t, l.dir, "c.json", campaignOf(3))

	r := ingren(t, l.env, "campaign", "submit", file)
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(id, "cmp_") {
		t.Fatalf("submit: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}

	r = ingren(t, l.env, "campaign", "status", id)
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "total         3") {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = ingren(t, l.env, "campaign", "list")
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "cli test") {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = ingren(t, l.env, "campaign", "download", id)
	if rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); r.code != 0 || err != nil || len(rows) != 4 {
		t.Fatalf("download: exit %d, %v, %d rows\n%s", r.code, err, len(rows), r.stderr)
	}

	r = ingren(t, l.env, "campaign", "cancel", id)
	if r.code != 0 || strings.TrimSpace(r.stdout) != id+" cancelled" {
		t.Fatalf("cancel: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	c := testprog.HTTP(l.prog.URL, mustKey(t, l)).Campaign(t, id)
	if c.Status != "cancelled" {
		t.Fatalf("after cancel: %+v", c)
	}

	r = ingren(t, l.env, "campaign", "status", "cmp_nosuchcampaign")
	if r.code != 1 || !strings.Contains(r.stderr, "no such campaign (HTTP 404") {
		t.Fatalf("status of no campaign: exit %d, stderr %q", r.code, r.stderr)
	}
}

// mustKey is the key the local program keeps in its DATA_DIR.
func mustKey(t *testing.T, l *local) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(strings.TrimPrefix(l.env[1], "DATA_DIR="), "api_key"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Ctrl-C while watching stops the watching and names the command that
// resumes it; the campaign runs on.
func TestCampaignWatchInterrupted(t *testing.T) {
	up := openaitest.New(t, openaitest.WithStallRate(1))
	l := startLocal(t, up.URL, map[string]string{"OPENAI_TIMEOUT": "10m"})
	t.Cleanup(up.Close) // before the program's shutdown, which waits for its calls
	id := testprog.HTTP(l.prog.URL, mustKey(t, l)).Submit(t, campaignOf(2))

	cmd := exec.Command(bin, "campaign", "watch", id)
	cmd.Env = l.env
	var stderr testprog.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr.String(), "0/2 done") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no progress line within a minute: %q", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130", err)
	}
	if !strings.Contains(stderr.String(), "ingren campaign watch "+id) {
		t.Fatalf("stderr %q, want the command that resumes", stderr.String())
	}
	if c := testprog.HTTP(l.prog.URL, mustKey(t, l)).Campaign(t, id); c.Final() {
		t.Fatalf("the campaign stopped: %+v", c)
	}
}

func TestGenerate(t *testing.T) {
	l := startLocal(t, "", nil)
	req, err := os.ReadFile(filepath.Join(testprog.ModuleRoot(t), "testdata/requests/sarah.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := mustWrite(t, l.dir, "sarah.json", req)
	r := ingren(t, l.env, "generate", file)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Subject: ") || !strings.Contains(r.stdout, "Sarah") {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		file := mustWrite(t, l.dir, "bad.json", map[string]any{"prospect": map[string]any{}})
		r := ingren(t, l.env, "generate", file)
		if r.code != 1 || !strings.Contains(r.stderr, "prospect.first_name is required") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// The CSV intake (issue 11) runs once the API takes text/csv; until then
// the test says why it skips.
func TestCampaignRunCSV(t *testing.T) {
	l := startLocal(t, "", nil)
	const file = "First Name,Last Name,Title,Company Name,Industry\n" +
		"Pat,Lee,VP Sales,Acme Corp,SaaS\n" +
		"Sam,Roe,Head of Growth,Globex,Fintech\n"
	path := mustWrite(t, l.dir, "apollo.csv", file)
	r := ingren(t, l.env, "campaign", "run", path, "--ask", "a 15-minute call", "--sender-name", "Alex")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	rows := mustCSV(t, filepath.Join(l.dir, "apollo.emails.csv"))
	if len(rows) != 3 {
		t.Fatalf("%d rows, want the header and 2 emails: %v", len(rows), rows)
	}
	want := []string{"First Name", "Last Name", "Title", "Company Name", "Industry",
		"status", "subject", "body", "error", "step", "send_day", "quality_score", "findings", "review", "cost_usd"}
	if !slices.Equal(rows[0], want) {
		t.Fatalf("header %q, want the input columns then the email's: %q", rows[0], want)
	}
	if !slices.Equal(rows[2][:6], []string{"Sam", "Roe", "Head of Growth", "Globex", "Fintech", "succeeded"}) || rows[2][6] == "" {
		t.Fatalf("row 3 %q, want the file's row 3 then its email", rows[2])
	}
}

// Every sample file in testdata/csv runs end to end against the local
// program: the emails come back under the file's own header, one row a
// prospect.
func TestCampaignRunSampleFiles(t *testing.T) {
	dir := filepath.Join(testprog.ModuleRoot(t), "testdata/csv")
	cases := map[string]struct {
		firstColumn string // the file's first header cell, decoded
		prospects   int
	}{
		"apollo.csv":               {"First Name", 3},
		"hubspot.csv":              {"Record ID", 5 - 2}, // two trailing empty rows
		"salesnav.csv":             {"First Name", 2},
		"excel-semicolon-1252.csv": {"First Name", 3},
		"excel-utf16.csv":          {"First Name", 2},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample files in %s: %v", dir, err)
	}
	l := startLocal(t, "", nil)
	for _, file := range files {
		name := filepath.Base(file)
		if name == "bad-rows.csv" {
			continue // TestCampaignRunBadRows
		}
		t.Run(strings.TrimSuffix(name, ".csv"), func(t *testing.T) {
			tc, ok := cases[name]
			if !ok {
				t.Fatalf("%s is a sample file this test does not know: add it to the table", name)
			}
			out := filepath.Join(l.dir, name+".out.csv")
			r := ingren(t, l.env, "campaign", "run", file, "-o", out, "--ask", "a 15-minute call", "--sender-name", "Alex")
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
			}
			rows := mustCSV(t, out)
			if len(rows) != tc.prospects+1 {
				t.Fatalf("%d rows, want the header and %d prospects: %q", len(rows), tc.prospects, rows)
			}
			status := slices.Index(rows[0], "status")
			if rows[0][0] != tc.firstColumn || status < 1 {
				t.Fatalf("header %q, want the file's own (from %q) then the email columns", rows[0], tc.firstColumn)
			}
			for i, row := range rows[1:] {
				if row[status] != "succeeded" || row[status+1] == "" {
					t.Errorf("row %d: %q, want an email", i+2, row)
				}
			}
		})
	}
}

// bad-rows.csv has invalid rows: the run refuses the file and names each
// row, or with --skip-invalid runs the rest and names the rows left out.
func TestCampaignRunBadRows(t *testing.T) {
	file := filepath.Join(testprog.ModuleRoot(t), "testdata/csv/bad-rows.csv")
	l := startLocal(t, "", nil)

	t.Run("ErrRowsNamed", func(t *testing.T) {
		out := filepath.Join(l.dir, "refused.csv")
		r := ingren(t, l.env, "campaign", "run", file, "-o", out)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		for _, row := range []string{"row 3: ", "row 4: ", "row 5: ", "row 6: "} {
			if !strings.Contains(r.stderr, "\n"+row) {
				t.Errorf("stderr has no line starting %q:\n%s", row, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "row 2:") || strings.Contains(r.stderr, "row 7:") {
			t.Errorf("a valid row is named:\n%s", r.stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("an output file was written: %v", err)
		}
	})

	t.Run("SkipInvalid", func(t *testing.T) {
		out := filepath.Join(l.dir, "skipped.csv")
		r := ingren(t, l.env, "campaign", "run", file, "-o", out, "--skip-invalid")
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
		}
		lines := strings.Split(r.stderr, "\n")
		for _, want := range []string{"row 3: first_name is required", "row 4: email must be an email address",
			"row 5: company_name is required", "row 6: has 7 cells; the header has 6 columns"} {
			if !slicesContain(lines, want) {
				t.Errorf("stderr has no line %q:\n%s", want, r.stderr)
			}
		}
		rows := mustCSV(t, out)
		if len(rows) != 3 || rows[1][0] != "r1" || rows[2][0] != "r6" {
			t.Fatalf("rows %q, want the header, r1 and r6", rows)
		}
	})
}

// --batch submits a JSON or CSV campaign in batch mode, and says so; a
// JSON file that asks for realtime itself is refused before anything is
// sent.
func TestCampaignSubmitBatch(t *testing.T) {
	l := startLocal(t, "", nil)
	csvFile := filepath.Join(testprog.ModuleRoot(t), "testdata/csv/salesnav.csv")
	jsonFile := mustWrite(t, l.dir, "prospects.json", campaignOf(2))
	for _, file := range []string{jsonFile, csvFile} {
		r := ingren(t, l.env, "campaign", "submit", file, "--batch")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "cmp_") || !strings.Contains(r.stderr, "batch mode: the emails come within 24 hours") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, the id and batch mode", filepath.Base(file), r.code, r.stdout, r.stderr)
		}
	}
	realtime := mustWrite(t, l.dir, "realtime.json", map[string]any{"mode": "realtime", "prospects": testprog.Prospects(1)})
	r := ingren(t, l.env, "campaign", "submit", realtime, "--batch")
	if r.code != 1 || !strings.Contains(r.stderr, `--batch: the campaign sets "mode" to "realtime", not "batch"`) {
		t.Fatalf("exit %d, stderr %q; want 1 and why", r.code, r.stderr)
	}
}

// --max-cost caps a JSON or CSV campaign: the prospects the cap leaves
// no room for end skipped, run says how many and exits 3, and status
// shows the cap; a JSON file that sets another cap itself is refused
// before anything is sent.
func TestCampaignRunMaxCost(t *testing.T) {
	up := openaitest.New(t, openaitest.WithCountTokens())
	l := startLocal(t, up.URL, nil)
	file := mustWrite(t, l.dir, "prospects.json", campaignOf(12))
	// gpt-4o-mini's email here costs about $0.00017: room for two or three.
	r := ingren(t, l.env, "campaign", "run", file, "--max-cost", "0.0005", "--yes")
	if r.code != 3 || !regexp.MustCompile(`\d with an email \(0 need review\), 0 failed, (9|10) skipped`).MatchString(r.stderr) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := up.Count(); got < 2 || got > 3 {
		t.Errorf("%d model calls under a cap of about three emails", got)
	}
	csvFile := filepath.Join(testprog.ModuleRoot(t), "testdata/csv/salesnav.csv")
	r = ingren(t, l.env, "campaign", "submit", csvFile, "--max-cost", "0.0005", "--yes")
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(id, "cmp_") {
		t.Fatalf("submit CSV: exit %d\n%s", r.code, r.stderr)
	}
	r = ingren(t, l.env, "campaign", "status", id)
	if r.code != 0 || !regexp.MustCompile(`(?m)^max_cost_usd +0\.0005$`).MatchString(r.stdout) {
		t.Errorf("status: exit %d\n%s", r.code, r.stdout)
	}
	// usage: what the two campaigns spent, each on its line, once the
	// second has ended too.
	if r = ingren(t, l.env, "campaign", "watch", id); r.code != 0 && r.code != 3 {
		t.Fatalf("watch: exit %d\n%s", r.code, r.stderr)
	}
	r = ingren(t, l.env, "usage")
	if r.code != 0 || !regexp.MustCompile(`(?m)^key +key_[0-9a-f]{16}$`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, id+` "salesnav"`) || !regexp.MustCompile(`(?m)^campaign cmp_\w+ "cli test" +\d emails, \d+ tokens \(\d+ prompt, \d+ completion\), \$0\.000\d$`).MatchString(r.stdout) {
		t.Errorf("usage: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = ingren(t, l.env, "usage", "-from", "2026-12-31", "-to", "2026-12-01")
	if r.code != 1 || !strings.Contains(r.stderr, "to must not be before from") {
		t.Errorf("usage with days out of order: exit %d\n%s", r.code, r.stderr)
	}
	capped := mustWrite(t, l.dir, "capped.json", map[string]any{"max_cost_usd": 1, "prospects": testprog.Prospects(1)})
	r = ingren(t, l.env, "campaign", "submit", capped, "--max-cost", "0.0005")
	if r.code != 1 || !strings.Contains(r.stderr, `--max-cost: the campaign sets "max_cost_usd" to 1, not 0.0005`) {
		t.Fatalf("exit %d, stderr %q; want 1 and why", r.code, r.stderr)
	}
}

// campaign run --batch against a provider with a Batch API: the CLI waits
// for the batch, and the CSV it writes holds every email, written from the
// batch's answers.
func TestCampaignRunBatch(t *testing.T) {
	up := openaitest.New(t, openaitest.WithBatch(openaitest.BatchConfig{StageTime: 200 * time.Millisecond}))
	l := startLocal(t, up.URL, map[string]string{"BATCH_POLL_INTERVAL": "1s"})
	file := mustWrite(t, l.dir, "prospects.json", campaignOf(4))
	r := ingren(t, l.env, "campaign", "run", file, "--batch")
	if r.code != 0 || !strings.Contains(r.stderr, "completed: 4/4 done, 0 failed") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	rows := mustCSV(t, filepath.Join(l.dir, "prospects.emails.csv"))
	if len(rows) != 5 {
		t.Fatalf("%d rows, want the header and 4 emails", len(rows))
	}
	if st := up.BatchStats(); st.BatchesCreated != 1 || st.LinesAnswered != 4 || up.Count() != 0 {
		t.Fatalf("server: %+v, %d realtime calls; want one batch of 4 lines and none", st, up.Count())
	}
}

// batchCampaign is a batch campaign as the API shows it: one batch the
// provider is working, one it has not got yet, and a warning.
const batchCampaign = `{"campaign_id": "cmp_1", "name": "Q4", "status": "running", "total": 3, "succeeded": 0, "failed": 0,
	"needs_review": 0, "skipped": 0, "pending": 3, "max_cost_usd": null, "approved": 0, "rejected": 0, "unreviewed": 0, "retries": 0,
	"created_at": "2026-12-01T16:43:04.628Z", "updated_at": "2026-12-01T16:43:04.669Z", "completed_at": null,
	"usage": {"prompt_tokens": 40, "completion_tokens": 20, "total_tokens": 60, "batch_prompt_tokens": 40, "batch_completion_tokens": 20, "cost_usd": 0.000009},
	"mode": "batch", "warnings": ["the first batch expired: its lines were retried"],
	"batches": [{"id": "batch_abc", "status": "in_progress", "total": 2, "completed": 1, "failed": 1},
		{"id": null, "status": "preparing", "total": 1, "completed": 0, "failed": 0}]}`

// status and watch show a batch campaign's mode and its batches'
// progress, read from an API that answers batchCampaign (checked against
// the spec, so that it is the API's shape).
func TestCampaignStatusBatch(t *testing.T) {
	spec, err := contract.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if p := spec.CheckSchema("Campaign", []byte(batchCampaign)); p != "" {
		t.Fatalf("batchCampaign is not the API's: %s", p)
	}
	var body atomic.Value // the answer; the test changes it between runs
	body.Store(batchCampaign)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	env := []string{"INGREN_URL=" + srv.URL, "INGREN_API_KEY=k"}
	r := ingren(t, env, "campaign", "status", "cmp_1")
	var lines []string
	for _, l := range strings.Split(r.stdout, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	for _, want := range []string{"mode batch", "batch_tokens 60", "cost_usd 0.000009",
		"batch batch_abc in_progress: 1 of 2 completed, 1 failed", "batch (not created yet) preparing: 0 of 1 completed, 0 failed",
		"warning the first batch expired: its lines were retried"} {
		if r.code != 0 || !slices.Contains(lines, want) {
			t.Errorf("exit %d, no line %q in:\n%s", r.code, want, r.stdout)
		}
	}
	body.Store(strings.Replace(strings.Replace(batchCampaign, `"running"`, `"completed"`, 1), `"completed_at": null`, `"completed_at": "2026-12-02T16:43:04Z"`, 1))
	r = ingren(t, env, "campaign", "watch", "cmp_1")
	if r.code != 0 || !strings.Contains(r.stderr, "; batch: 1/3 requests answered in 2 batch(es)") {
		t.Fatalf("exit %d, stderr %q; want the batches' progress", r.code, r.stderr)
	}
}
