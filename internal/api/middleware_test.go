package api_test

import (
	"bufio"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/openaitest"
)

// TestBodyDeadlineReachesTheConnection: the body's read deadline is set
// through the logging middleware's writer, so with no server ReadTimeout
// to fall back on, a stalled generate-email body still gets 408
// request_timeout once EmailBodyTimeout has passed.
func TestBodyDeadlineReachesTheConnection(t *testing.T) {
	up := openaitest.New(t)
	h := api.NewServer(api.Config{EmailBodyTimeout: 100 * time.Millisecond}, twoTenants,
		MustComposer(t, up, 10*time.Second), nil, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(contract.Handler(t, h)) // no ReadTimeout
	t.Cleanup(srv.Close)
	body := sarah(t)
	c := rawPost(t, srv.Listener.Addr().String(), "/api/v1/generate-email", keyA, len(body), body[:len(body)/2])

	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // far past EmailBodyTimeout
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: the read deadline did not reach the connection: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", res.StatusCode)
	}
}
