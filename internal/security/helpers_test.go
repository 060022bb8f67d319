package security_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/app"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// program is the local program run in-process through app.Main, as
// functions/ingren runs it, on a port the OS picks.
type program struct {
	base   string
	stdout *syncBuffer
	logs   *syncBuffer // stderr: the JSON log
	stop   context.CancelFunc
	done   chan error
}

// start runs app.Main serve with env (PORT is set to 0) and returns once
// it listens. The test stops it at the end.
func start(tb testing.TB, env map[string]string) *program {
	tb.Helper()
	env["PORT"] = "0"
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{stdout: &syncBuffer{}, logs: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		err := app.Main(ctx, []string{"serve"}, func(k string) string { return env[k] }, pw, p.logs)
		pw.Close()
		p.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			fmt.Fprintln(p.stdout, lines.Text())
			if a, ok := strings.CutPrefix(lines.Text(), "Ingren is listening on http://"); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			cancel()
			tb.Fatalf("the program stopped before listening: %v\n%s", <-p.done, p.logs)
		}
		p.base = "http://127.0.0.1:" + a[strings.LastIndex(a, ":")+1:]
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("the program did not listen within 30 s")
	}
	tb.Cleanup(func() { p.shutdown(tb) })
	return p
}

// shutdown stops the program as SIGTERM would and waits for it.
func (p *program) shutdown(tb testing.TB) {
	tb.Helper()
	if p.done == nil {
		return
	}
	p.stop()
	select {
	case err := <-p.done:
		if err != nil {
			tb.Errorf("the program stopped with %v", err)
		}
	case <-time.After(time.Minute):
		tb.Error("the program did not stop within a minute")
	}
	p.done = nil
}

// do sends a request with key (none when "") and returns status, headers
// and body.
func do(tb testing.TB, method, url, key string, body any, hdr ...string) (int, http.Header, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// MustDecode decodes b into a T or fails.
func MustDecode[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type campaignView struct {
	CampaignID string `json:"campaign_id"`
	Status     string `json:"status"`
	Total      int    `json:"total"`
	Succeeded  int    `json:"succeeded"`
	Failed     int    `json:"failed"`
}

// submit posts a campaign and returns its id.
func submit(tb testing.TB, base, key string, body map[string]any) string {
	tb.Helper()
	status, _, b := do(tb, "POST", base+"/api/v1/campaigns", key, body)
	if status != http.StatusAccepted {
		tb.Fatalf("submit: %d %s", status, b)
	}
	return MustDecode[campaignView](tb, b).CampaignID
}

// waitFinished polls the campaign until it is in a final state.
func waitFinished(tb testing.TB, base, key, id string) campaignView {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _, b := do(tb, "GET", base+"/api/v1/campaigns/"+id, key, nil)
		if status != http.StatusOK {
			tb.Fatalf("GET campaign: %d %s", status, b)
		}
		c := MustDecode[campaignView](tb, b)
		if c.Status == "completed" || c.Status == "completed_with_errors" || c.Status == "cancelled" {
			return c
		}
		if time.Now().After(deadline) {
			tb.Fatalf("campaign %s not finished after 60 s: %+v", id, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog polls logs until a line has every one of want, or fails.
func waitLog(tb testing.TB, logs *syncBuffer, want ...string) string {
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
