package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/ingren/ingren/internal/testprog"
)

// Lambda is one function's bootstrap running under the AWS Lambda Runtime
// Interface Emulator, as functions/rie_test.go runs it.
type Lambda struct {
	url    string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	log    testprog.Buffer // the emulator's stdout and stderr
}

var initReportRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// StartLambda starts emulator with bootstrap and only env (PATH and HOME
// aside). Both of the emulator's addresses are free loopback ports: the
// Runtime API's default (9001) would be shared by two emulators.
func StartLambda(emulator, bootstrap string, env map[string]string) (*Lambda, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, emulator, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	// The emulator starts the bootstrap as its child: give both a process
	// group of their own and stop the group, so no function outlives its
	// emulator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	l := &Lambda{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, cancel: cancel}
	cmd.Stdout, cmd.Stderr = &l.log, &l.log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return l, nil
		}
		if time.Now().After(deadline) {
			l.Stop()
			return nil, fmt.Errorf("emulator did not listen on %s:\n%s", addr, l.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns the emulator's output so far.
func (l *Lambda) Log() string { return l.log.String() }

// Invoke sends one event and returns the function's answer.
func (l *Lambda) Invoke(event []byte) ([]byte, error) {
	res, err := http.Post(l.url, "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return b, fmt.Errorf("invoke: %d %s", res.StatusCode, b)
	}
	return b, nil
}

// InitDuration is the cold start the emulator reported after the first
// invocation (its INIT REPORT line).
func (l *Lambda) InitDuration() (time.Duration, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := initReportRE.FindStringSubmatch(l.Log()); m != nil {
			ms, err := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no INIT REPORT in the emulator log:\n%s", l.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the emulator and its function.
func (l *Lambda) Stop() {
	l.cancel()
	_ = l.cmd.Wait()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
