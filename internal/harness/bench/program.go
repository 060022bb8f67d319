package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// Program is the local program (functions/ingren) running as a process of
// its own, serving on a loopback port the kernel picked.
type Program struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

var listeningRE = regexp.MustCompile(`listening on http://\S*:(\d+)`)

// StartProgram runs `bin serve` with env and nothing else from this
// process's environment (PATH and HOME aside), PORT=0, and its log (stderr)
// appended to logPath. It returns once GET /healthz answers 200.
func StartProgram(ctx context.Context, bin, logPath string, env map[string]string) (*Program, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=0"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Program{cmd: cmd, done: make(chan struct{})}
	port := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if m := listeningRE.FindStringSubmatch(s.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.err = cmd.Wait()
		close(p.done)
	}()
	fail := func(err error) (*Program, error) {
		p.Stop()
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	select {
	case n := <-port:
		p.URL = "http://127.0.0.1:" + n
	case <-p.done:
		return nil, fmt.Errorf("%s exited at start: %v (log: %s)", bin, p.err, logPath)
	case <-time.After(30 * time.Second):
		return fail(errors.New("the program did not say where it listens within 30 s"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(p.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("GET /healthz did not answer 200 within 10 s: %v", err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID is the process id.
func (p *Program) PID() int { return p.cmd.Process.Pid }

// CPU is the CPU time the program has used so far.
func (p *Program) CPU() time.Duration {
	d, _ := ProcessCPU(p.PID())
	return d
}

// PeakRSS is the program's VmHWM so far, in bytes (0 if unreadable).
func (p *Program) PeakRSS() int64 {
	n, _ := PeakRSS(p.PID())
	return n
}

// Stop sends SIGTERM, waits up to 15 s for a clean exit, then kills.
// It returns the exit error of a program that did not exit cleanly.
func (p *Program) Stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("did not stop within 15 s of SIGTERM; killed")
	}
}
