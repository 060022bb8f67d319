package testprog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// IngrenPackage is the all-in-one program that users install and MCP
// clients start.
const IngrenPackage = "github.com/ingren/ingren/functions/ingren"

// RunWithBinary is a TestMain for tests that run a command as a user
// does: it builds pkg into a temporary folder, sets *bin to the binary,
// runs m and removes the folder, and returns m's exit code.
func RunWithBinary(m *testing.M, pkg string, bin *string) int {
	dir, err := os.MkdirTemp("", "ingren-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", *bin, pkg).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
		return 1
	}
	return m.Run()
}
