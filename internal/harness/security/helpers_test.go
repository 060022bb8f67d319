package security_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/testprog"
)

// waitLog polls logs until a line has every one of want, or fails.
func waitLog(tb testing.TB, logs *testprog.Buffer, want ...string) string {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no log line with %q after 30 s:\n%s", want, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
