package testprog

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the module's root: the nearest folder above the
// test's working directory (its package's folder) that holds a go.mod.
// Tests use it to read testdata and to build commands wherever their
// package sits in the tree.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
