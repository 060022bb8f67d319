package openai

import (
	"context"
	"net/http"
)

// go-openai turns a failed response into an *openai.APIError or
// *openai.RequestError that carries the status code but not the headers,
// and the headers are where the provider says how long to wait
// (Retry-After, x-ratelimit-reset-*). So the Writer wraps the HTTP
// transport, and each attempt puts an *attempt in its request context for
// the transport to fill in. The retry loop stays in the Writer, next to the
// governor and the error mapping, rather than inside the transport, where
// it would be invisible to both.

// attempt is what the transport saw of one model call.
type attempt struct {
	// sent is false when go-openai refused the request before sending it
	// (an unknown model for the endpoint, a parameter the model rejects).
	sent   bool
	status int
	header http.Header
}

type attemptKey struct{}

// attemptContext is a context carrying an attempt under attemptKey: one
// allocation where context.WithValue and the attempt were two.
type attemptContext struct {
	context.Context
	a attempt
}

func (c *attemptContext) Value(key any) any {
	if key == (attemptKey{}) {
		return &c.a
	}
	return c.Context.Value(key)
}

// transport records each response's status and headers in the attempt
// found in the request's context.
type transport struct{ base http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	a, _ := req.Context().Value(attemptKey{}).(*attempt)
	if a != nil {
		a.sent = true
	}
	resp, err := t.base.RoundTrip(req)
	if a != nil && resp != nil {
		// http.Client calls RoundTrip on the caller's goroutine, and the
		// caller reads a after CreateChatCompletion returns: no race.
		a.status, a.header = resp.StatusCode, resp.Header
	}
	return resp, err
}

// httpClient returns a copy of c (or a new client) whose transport records
// attempts.
func httpClient(c *http.Client) *http.Client {
	var hc http.Client
	if c != nil {
		hc = *c
	}
	base := hc.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// The default keeps 2 idle connections per host; a campaign runs
		// many calls at once against one host.
		t.MaxIdleConnsPerHost = 100
		base = t
	}
	hc.Transport = transport{base: base}
	return &hc
}
