package cli_test

import (
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/openaitest"
)

// indexes reads the INDEX column of campaign emails' table.
func indexes(t *testing.T, table string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "INDEX") {
		t.Fatalf("not the emails table:\n%s", table)
	}
	var out []string
	for _, l := range lines[1:] {
		out = append(out, strings.Fields(l)[0])
	}
	return out
}

// TestReviewFromTheTerminal: a campaign with a failed email, reviewed with
// the CLI alone: list by status, approve, download the approved ones,
// retry the failed one.
func TestReviewFromTheTerminal(t *testing.T) {
	// One worker: the first call (refused) is the failed email's.
	up := openaitest.New(t, openaitest.WithScript(openaitest.Status(http.StatusBadRequest)))
	l := startLocal(t, up.URL, map[string]string{"WORKER_CONCURRENCY": "1"})
	file := mustWrite(t, l.dir, "four.json", campaignOf(4))
	r := ingren(t, l.env, "campaign", "run", file)
	id := regexp.MustCompile(`campaign (cmp_[0-9a-f]+)`).FindStringSubmatch(r.stderr)
	if r.code != 3 || id == nil || !strings.Contains(r.stderr, "3 with an email (0 need review), 1 failed") {
		t.Fatalf("run: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	r = ingren(t, l.env, "campaign", "emails", id[1], "--status", "failed")
	failed := indexes(t, r.stdout)
	if r.code != 0 || len(failed) != 1 || !strings.Contains(r.stdout, "failed") {
		t.Fatalf("emails --status failed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = ingren(t, l.env, "campaign", "emails", id[1], "--status", "succeeded,unreviewed")
	good := indexes(t, r.stdout)
	if len(good) != 3 || !strings.Contains(r.stdout, "unreviewed") {
		t.Fatalf("emails --status succeeded,unreviewed:\n%s", r.stdout)
	}

	r = ingren(t, l.env, "campaign", "approve", id[1], good[0], good[2], "--note", "ok to send")
	if r.code != 0 || strings.Count(r.stdout, " approved\n") != 2 {
		t.Fatalf("approve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = ingren(t, l.env, "campaign", "reject", id[1], failed[0])
	if r.code != 1 || !strings.Contains(r.stderr, "no draft") {
		t.Fatalf("reject a failed email: exit %d, stderr %q; want 1 and why", r.code, r.stderr)
	}
	r = ingren(t, l.env, "campaign", "show", id[1], good[0])
	if r.code != 0 || !strings.Contains(r.stdout, "review approved") || !strings.Contains(r.stdout, "note: ok to send") || !strings.Contains(r.stdout, "Subject: ") {
		t.Fatalf("show: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	out := filepath.Join(l.dir, "approved.csv")
	r = ingren(t, l.env, "campaign", "download", id[1], "--status", "approved", "-o", out)
	rows := mustCSV(t, out)
	review := slices.Index(rows[0], "review")
	if r.code != 0 || len(rows) != 3 || review < 0 {
		t.Fatalf("download --status approved: exit %d, rows %q", r.code, rows)
	}
	for _, row := range rows[1:] {
		if row[review] != "approved" || row[slices.Index(rows[0], "status")] != "succeeded" {
			t.Errorf("row %q, want an approved email", row)
		}
	}

	r = ingren(t, l.env, "campaign", "retry", id[1])
	if r.code != 0 || !strings.Contains(r.stderr, "retrying 1 email(s)") || !strings.Contains(r.stderr, "4 with an email (0 need review), 0 failed") {
		t.Fatalf("retry: exit %d\n%s", r.code, r.stderr)
	}
	r = ingren(t, l.env, "campaign", "status", id[1])
	for _, want := range []string{"failed        0", "approved      2", "unreviewed    2", "retries       1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = ingren(t, l.env, "campaign", "retry", id[1])
	if r.code != 1 || !strings.Contains(r.stderr, "nothing to retry") {
		t.Fatalf("second retry: exit %d, stderr %q", r.code, r.stderr)
	}
}
