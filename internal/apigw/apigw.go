// Package apigw adapts an http.Handler to API Gateway REST API proxy
// events, so the API Lambda runs the same handler as the local program.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/console"
)

type ctxKey struct{}

// Handler returns a Lambda handler serving h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayProxyResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json; charset=utf-8"},
				Body:       `{"error":{"code":"malformed_request","message":"the request could not be read"}}`,
			}, nil
		}
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.response(), nil
	}
}

// Request builds the http.Request an event describes. The API key id that
// API Gateway checked travels in the context, for Auth; the key itself,
// which API Gateway forwards in x-api-key (and in the event's identity),
// is left out, so the handler never holds it and cannot log it.
func Request(ctx context.Context, ev events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	u := url.URL{Path: ev.Path}
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = append(q[k], vs...)
	}
	if len(ev.MultiValueQueryStringParameters) == 0 {
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	ctx = context.WithValue(ctx, ctxKey{}, ev.RequestContext.Identity.APIKeyID)
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range ev.MultiValueHeaders {
		if !isAPIKey(k) {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	if len(ev.MultiValueHeaders) == 0 {
		for k, v := range ev.Headers {
			if !isAPIKey(k) {
				req.Header.Set(k, v)
			}
		}
	}
	// What API Gateway took off the path (the stage, or a custom domain's
	// base path), as a reverse proxy says it: the console names its files
	// under it. The client's own is never passed on.
	req.Header.Del(console.PrefixHeader)
	if p, ok := strings.CutSuffix(strings.TrimSuffix(ev.RequestContext.Path, "/"), strings.TrimSuffix(ev.Path, "/")); ok && p != "" {
		req.Header.Set(console.PrefixHeader, p)
	}
	if id := ev.RequestContext.RequestID; id != "" {
		req.Header.Set(api.RequestIDHeader, id)
	}
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	req.Host = req.Header.Get("Host")
	return req, nil
}

// isAPIKey reports whether a header name is x-api-key, in any case: HTTP
// header names are case-insensitive, and API Gateway passes on the
// client's spelling.
func isAPIKey(name string) bool { return strings.EqualFold(name, "x-api-key") }

// Auth is the API Lambda's Authenticator: API Gateway has checked the key
// already; the tenant is the key's id from the event, never the key.
type Auth struct{}

// Tenant implements api.Authenticator.
func (Auth) Tenant(r *http.Request) (string, error) {
	id, _ := r.Context().Value(ctxKey{}).(string)
	if id == "" {
		return "", api.ErrUnauthorized
	}
	return "apikey_" + id, nil
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) response() events.APIGatewayProxyResponse {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	res := events.APIGatewayProxyResponse{StatusCode: r.status, MultiValueHeaders: map[string][]string(r.header)}
	b := r.body.Bytes()
	if isText(r.header.Get("Content-Type")) && utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(b)
		res.IsBase64Encoded = true
	}
	return res
}

func isText(ct string) bool {
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json")
}
