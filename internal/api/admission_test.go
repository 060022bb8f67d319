package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// Two tenants' keys. The tests name tenants through their own
// Authenticator, so they depend on nothing but the x-api-key header.
const (
	keyA = "tenant-a-key-0123456789"
	keyB = "tenant-b-key-0123456789"
)

// keyTenants is an Authenticator: key → tenant.
type keyTenants map[string]string

func (k keyTenants) Tenant(r *http.Request) (string, error) {
	if t, ok := k[r.Header.Get("x-api-key")]; ok {
		return t, nil
	}
	return "", api.ErrUnauthorized
}

var twoTenants = keyTenants{keyA: "tenant_a", keyB: "tenant_b"}

// MustComposer composes with the openai writer against up: no retries, so
// a stalled call ends at the per-call timeout.
func MustComposer(tb testing.TB, up *openaitest.Server, timeout time.Duration) *email.Composer {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL, Timeout: timeout, MaxRetries: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return &email.Composer{Writer: w, Prompts: set}
}

// MustCampaigns is a campaign service on SQLite in a temporary directory,
// with no worker.
func MustCampaigns(tb testing.TB) *campaign.Service {
	tb.Helper()
	store, queue := testprog.LocalParts(tb, time.Minute)
	return &campaign.Service{Store: store, Queue: queue, MaxProspects: 20}
}

// bodyWatch wraps a handler and counts the requests that have started
// reading their body or have been answered, whichever comes first: once a
// request is counted, it either waits for its body or is done.
type bodyWatch struct {
	settled atomic.Int32
}

func (b *bodyWatch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var once sync.Once
		settle := func() { once.Do(func() { b.settled.Add(1) }) }
		r.Body = &firstRead{ReadCloser: r.Body, settle: settle}
		h.ServeHTTP(w, r)
		settle()
	})
}

type firstRead struct {
	io.ReadCloser
	settle func()
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.settle()
	return f.ReadCloser.Read(p)
}

// waitFor polls cond until it holds, or fails after a generous deadline.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after 30 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawPost opens a connection and sends a POST whose Content-Length
// announces total bytes but whose body is only part: the rest never comes
// unless the caller writes it.
func rawPost(tb testing.TB, addr, path, key string, total int, part string) *net.TCPConn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, addr, key, total)
	if _, err := io.WriteString(c, head+part); err != nil {
		tb.Fatal(err)
	}
	return c.(*net.TCPConn)
}

// readAnswer reads the HTTP answer on c and its error code.
func readAnswer(tb testing.TB, c net.Conn) (*http.Response, string) {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a hung test, not a timing assertion
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		tb.Fatalf("no answer: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return res, e.Error.Code
}

// postAs sends a generate-email request from a goroutine: it returns the
// status, or 0 when the request failed.
func postAs(url, key, body string) int {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestSlowBodiesTakeNoSlot: twice as many generate-email requests as there
// are slots, from one key, each with half its body sent and the rest held
// back, do not keep another key's request out. A slot is taken only once
// the body is in.
func TestSlowBodiesTakeNoSlot(t *testing.T) {
	const slots = 4
	up := openaitest.New(t)
	watch := &bodyWatch{}
	h := api.NewServer(api.Config{MaxEmailsInFlight: slots, EmailBodyTimeout: time.Hour}, twoTenants,
		MustComposer(t, up, 10*time.Second), nil, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(contract.Handler(t, watch.wrap(h)))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	body := sarah(t)
	for range 2 * slots {
		rawPost(t, addr, "/api/v1/generate-email", keyA, len(body), body[:len(body)/2])
	}
	waitFor(t, "every slow request reads its body or is answered", func() bool { return watch.settled.Load() == 2*slots })

	res, b := post(t, srv.URL+"/api/v1/generate-email", keyB, body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("another key while %d slow bodies trickle in: %d %s", 2*slots, res.StatusCode, b)
	}
	res, b = post(t, srv.URL+"/api/v1/generate-email", keyA, body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the slow key itself, with a whole body: %d %s", res.StatusCode, b)
	}
}

// TestFairShareOfSlots: a key may take a slot only while it holds fewer
// than 7 times the free slots. With 4 slots, a key holding 3 stalled
// requests gets 503 overloaded for a fourth, while another key still gets
// its email.
func TestFairShareOfSlots(t *testing.T) {
	const slots = 4
	up := openaitest.New(t, openaitest.WithScript(openaitest.Stalled(), openaitest.Stalled(), openaitest.Stalled()))
	h := api.NewServer(api.Config{MaxEmailsInFlight: slots}, twoTenants,
		MustComposer(t, up, time.Minute), nil, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(contract.Handler(t, h))
	t.Cleanup(srv.Close)
	url := srv.URL + "/api/v1/generate-email"
	body := sarah(t)

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { postAs(url, keyA, body) })
	}
	waitFor(t, "key A's three requests reach the model", func() bool { return up.Count() == 3 })

	res, b := post(t, url, keyA, body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" || decode(t, b).Error.Code != "overloaded" {
		t.Errorf("key A's fourth request, holding 3 of 4 slots with 1 free: %d %s; want 503 overloaded", res.StatusCode, b)
	}
	res, b = post(t, url, keyB, body)
	if res.StatusCode != http.StatusOK {
		t.Errorf("key B while key A holds its share: %d %s", res.StatusCode, b)
	}
	if n := up.Count(); n != 4 {
		t.Errorf("%d model calls, want 4: key A's three and key B's", n)
	}
	up.Handler.Close() // ends the stalled calls
	wg.Wait()
}

// TestBodyCutShortIsTheClients: a body that stops coming is the client's
// doing: cut short (the client closed its side) it is 400
// malformed_request, stalled past the read deadline 408 request_timeout,
// on both routes that read a body, and the log says so at INFO, never as
// an ERROR.
func TestBodyCutShortIsTheClients(t *testing.T) {
	up := openaitest.New(t)
	logs := &testprog.Buffer{}
	h := api.NewServer(api.Config{EmailBodyTimeout: 200 * time.Millisecond}, twoTenants,
		MustComposer(t, up, 10*time.Second), MustCampaigns(t),
		slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewUnstartedServer(contract.Handler(t, h))
	// The local program's whole-request bound, shortened: it is what stops
	// a stalled campaign body.
	srv.Config.ReadTimeout = time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	one, camp := sarah(t), `{"prospects": [`+sarah(t)+`]}`

	cases := []struct {
		name, path, body string
		closeWrite       bool
		status           int
		code             string
	}{
		{"GenerateEmailClosedMidBody400", "/api/v1/generate-email", one, true, http.StatusBadRequest, "malformed_request"},
		{"GenerateEmailStalledMidBody408", "/api/v1/generate-email", one, false, http.StatusRequestTimeout, "request_timeout"},
		{"CampaignClosedMidBody400", "/api/v1/campaigns", camp, true, http.StatusBadRequest, "malformed_request"},
		{"CampaignStalledMidBody408", "/api/v1/campaigns", camp, false, http.StatusRequestTimeout, "request_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawPost(t, addr, tc.path, keyA, len(tc.body), tc.body[:len(tc.body)/2])
			if tc.closeWrite {
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			res, code := readAnswer(t, c)
			if res.StatusCode != tc.status || code != tc.code {
				t.Errorf("%d %s, want %d %s", res.StatusCode, code, tc.status, tc.code)
			}
		})
	}
	// One more that goes away altogether: nobody reads the answer.
	c := rawPost(t, addr, "/api/v1/generate-email", keyA, len(one), one[:len(one)/2])
	c.Close()
	waitFor(t, "5 request lines", func() bool { return strings.Count(logs.String(), `"msg":"request"`) == 5 })
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Level  string
			Msg    string
			Status int
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l.Level != "INFO" && l.Level != "DEBUG" {
			t.Errorf("a client's broken body logged at %s: %s", l.Level, line)
		}
		if l.Msg == "request" && l.Status != http.StatusBadRequest && l.Status != http.StatusRequestTimeout {
			t.Errorf("request line with status %d: %s", l.Status, line)
		}
	}
	if n := up.Count(); n != 0 {
		t.Errorf("%d model calls for requests whose body never came", n)
	}
}

// TestClientGoneMidAnswerIsNotAnError: a client that sends its whole body
// and leaves while the model writes has not met a server error: the
// request's line says 499 (nobody reads it) at INFO, with no ERROR.
func TestClientGoneMidAnswerIsNotAnError(t *testing.T) {
	up := openaitest.New(t, openaitest.WithScript(openaitest.Stalled()))
	logs := &testprog.Buffer{}
	h := api.NewServer(api.Config{}, twoTenants, MustComposer(t, up, time.Minute), nil,
		slog.New(slog.NewJSONHandler(logs, nil)))
	srv := httptest.NewServer(contract.Handler(t, h))
	t.Cleanup(srv.Close)
	body := sarah(t)
	c := rawPost(t, srv.Listener.Addr().String(), "/api/v1/generate-email", keyA, len(body), body)
	waitFor(t, "the model call starts", func() bool { return up.Count() == 1 })
	c.Close()
	waitFor(t, "the request's log line", func() bool { return strings.Contains(logs.String(), `"msg":"request"`) })
	if !strings.Contains(logs.String(), `"level":"INFO","msg":"request"`) || !strings.Contains(logs.String(), `"status":499`) ||
		strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("want one INFO request line with status 499 and no ERROR:\n%s", logs)
	}
}
