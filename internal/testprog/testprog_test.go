package testprog_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/testprog"
)

// TestOnlyTestsImportIt fails when a program's build (go list -deps of
// ./functions/..., which holds every main that ships) reaches a package
// written for tests: this one, the emulators', the fake model provider,
// the conformance suites or the harness.
func TestOnlyTestsImportIt(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./functions/...")
	cmd.Dir = testprog.ModuleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/ingren/ingren/"
	support := []string{
		"internal/testprog", "internal/testenv", "internal/openaitest", "internal/api/contract",
		"internal/campaign/storetest", "internal/campaign/queuetest", "internal/harness/", "internal/browsertest",
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"internal/app") {
		t.Fatalf("go list -deps ./functions/... does not list internal/app; the check would prove nothing:\n%s", out)
	}
	for _, dep := range deps {
		for _, s := range support {
			if strings.HasPrefix(dep, module+s) {
				t.Errorf("a program imports %s, which is for tests only", dep)
			}
		}
	}
}
