package contract

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/apigw"
)

// LambdaHandler is the API Lambda's handler.
type LambdaHandler = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Lambda returns h with every event and answer checked against the API's
// spec as Handler checks HTTP ones; mismatches fail tb. An event with an
// API key id passed API Gateway's key check: it is checked as a request
// that sent a key.
func Lambda(tb testing.TB, h LambdaHandler) LambdaHandler {
	tb.Helper()
	c, err := Spec()
	if err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		res, err := h(ctx, ev)
		if err != nil {
			return res, err
		}
		req, reqErr := apigw.Request(ctx, ev)
		if reqErr != nil { // the adapter answered 400 malformed_request
			req, _ = http.NewRequestWithContext(ctx, ev.HTTPMethod, ev.Path, nil)
		}
		if ev.RequestContext.Identity.APIKeyID != "" {
			req.Header.Set("x-api-key", "checked by API Gateway")
		}
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
		}
		header := http.Header{}
		for k, v := range res.Headers {
			header.Set(k, v)
		}
		for k, vs := range res.MultiValueHeaders {
			header[http.CanonicalHeaderKey(k)] = vs
		}
		out := []byte(res.Body)
		if res.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				tb.Errorf("contract: %s %s answered %d with a body that is not base64: %v", ev.HTTPMethod, ev.Path, res.StatusCode, err)
				return res, nil
			}
		}
		answer := &http.Response{StatusCode: res.StatusCode, Header: header, Body: io.NopCloser(strings.NewReader(string(out)))}
		for _, p := range c.Check(req, body, answer) {
			tb.Errorf("contract: %s %s answered %d: %s", req.Method, req.URL.RequestURI(), res.StatusCode, p)
		}
		return res, nil
	}
}
