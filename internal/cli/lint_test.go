package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/testprog"
)

// An email ingren generate printed lints as it was written; edited with an
// invented number, through the standard input, it needs review.
func TestLint(t *testing.T) {
	l := startLocal(t, "", nil)
	root := testprog.ModuleRoot(t)
	sarah := filepath.Join(root, "testdata/requests/sarah.json")
	g := ingren(t, l.env, "generate", sarah)
	if g.code != 0 {
		t.Fatalf("generate: exit %d\n%s", g.code, g.stderr)
	}
	text := filepath.Join(l.dir, "email.txt")
	if err := os.WriteFile(text, []byte(g.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ingren(t, l.env, "lint", "-context", sarah, text)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "quality ") || !strings.Contains(r.stdout, "may be sent") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	t.Run("StdinEdited", func(t *testing.T) {
		cmd := exec.Command(bin, "lint", "-context", sarah, "-")
		cmd.Env = l.env
		cmd.Stdin = strings.NewReader(g.stdout + "\nP.S. Teams like yours close 63% more deals with us.\n")
		out, err := cmd.Output()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 4 {
			t.Fatalf("err %v, stdout %q", err, out)
		}
		if !strings.Contains(string(out), "needs review") || !strings.Contains(string(out), "invented_fact") || !strings.Contains(string(out), "63%") {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("JSONFile", func(t *testing.T) {
		r := ingren(t, l.env, "lint", "-json", filepath.Join(root, "testdata/requests/lint-sarah.json"))
		var a struct {
			Quality struct {
				Score    int
				Findings []struct{ Code, Message string }
			}
			NeedsReview bool `json:"needs_review"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || r.code != 4 || !a.NeedsReview {
			t.Fatalf("exit %d, %v, stdout %q", r.code, err, r.stdout)
		}
		if len(a.Quality.Findings) == 0 || !strings.Contains(r.stdout, "40%") || strings.Contains(r.stdout, "27%\\\"") {
			t.Errorf("findings %+v", a.Quality.Findings)
		}
	})
	t.Run("ErrNoSubjectLine", func(t *testing.T) {
		file := mustWrite(t, l.dir, "plain.txt", "Hi Sarah,\n\nShall we talk?")
		r := ingren(t, l.env, "lint", file)
		if r.code != 1 || !strings.Contains(r.stderr, `plain.txt: line 1 must be "Subject: ..."`) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		file := mustWrite(t, l.dir, "empty.json", map[string]any{"prospect": map[string]any{"email": "nope"}})
		r := ingren(t, l.env, "lint", file)
		for _, want := range []string{"body is required", "subject is required", "prospect.email must be an email address"} {
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
			}
		}
	})
}
