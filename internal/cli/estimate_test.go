package cli_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/cli"
)

// campaignIDs lists the campaigns `ingren campaign list` shows.
func campaignIDs(t *testing.T, l *local) []string {
	t.Helper()
	r := ingren(t, l.env, "campaign", "list")
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s", r.code, r.stderr)
	}
	return regexp.MustCompile(`cmp_[0-9a-f]+`).FindAllString(r.stdout, -1)
}

// TestCampaignEstimate: submit and run print the campaign's estimate first,
// and above --confirm-above ask on a terminal, refuse without one, and
// submit at once with --yes.
func TestCampaignEstimate(t *testing.T) {
	l := startLocal(t, "", nil)
	file := mustWrite(t, l.dir, "c.json", campaignOf(3))
	line := regexp.MustCompile(`estimate: 3 emails, ~\d+k? prompt \+ ~\d+k? completion tokens, \$0\.\d{4} realtime / \$0\.\d{4} batch\n`)

	t.Run("UnderTheLimit", func(t *testing.T) {
		r := ingren(t, l.env, "campaign", "submit", file)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "cmp_") || !line.MatchString(r.stderr) {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the estimate line and an id", r.code, r.stdout, r.stderr)
		}
	})
	before := len(campaignIDs(t, l))

	t.Run("ErrNoTerminal", func(t *testing.T) {
		r := ingren(t, l.env, "campaign", "run", file, "--confirm-above", "0")
		if r.code != cli.ExitError || !line.MatchString(r.stderr) || !strings.Contains(r.stderr, "is above --confirm-above $0.00; pass --yes") {
			t.Fatalf("exit %d, stderr %q; want 1 and the advice to pass --yes", r.code, r.stderr)
		}
		if n := len(campaignIDs(t, l)); n != before {
			t.Fatalf("%d campaigns, want %d: nothing submitted", n, before)
		}
	})
	t.Run("Yes", func(t *testing.T) {
		r := ingren(t, l.env, "campaign", "submit", file, "--confirm-above", "0", "--yes")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "cmp_") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("AskOnATerminal", func(t *testing.T) {
		env := map[string]string{}
		for _, kv := range l.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		for _, tc := range []struct {
			answer string
			code   int
		}{{"\n", cli.ExitError}, {"n\n", cli.ExitError}, {"y\n", cli.ExitOK}} {
			var stdout, stderr strings.Builder
			code := cli.Main(context.Background(), []string{"campaign", "submit", "--confirm-above", "0.000001", file}, cli.Env{
				Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(tc.answer), Stdout: &stdout, Stderr: &stderr,
				Interactive: true, Poll: 50 * time.Millisecond,
			})
			if code != tc.code || !strings.Contains(stderr.String(), "Submit? [y/N] ") {
				t.Fatalf("answer %q: exit %d, stderr %q; want %d after the question", tc.answer, code, stderr.String(), tc.code)
			}
		}
	})
	t.Run("CSV", func(t *testing.T) {
		csvFile := l.dir + "/p.csv"
		if err := os.WriteFile(csvFile, []byte("First Name,Company Name\nAda,Acme\nBo,Beta\nCy,Cee\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := ingren(t, l.env, "campaign", "submit", csvFile, "--batch", "--sender-name", "Alex")
		if r.code != 0 || !line.MatchString(r.stderr) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
