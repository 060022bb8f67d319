package stack

import (
	"encoding/json"
	"slices"
	"strings"
)

// gatewayError is an answer API Gateway gives by itself, before the api
// function runs, put in Ingren's error envelope, {"error": {"code",
// "message", "request_id"}}, with the code the api function would use.
type gatewayError struct {
	// Type is API Gateway's response type.
	Type string
	// Status replaces the type's own; "" keeps it (the DEFAULT_ types
	// stand for many types, each with its status).
	Status string
	Code   string
	// Message is what clients read; "" passes on API Gateway's own.
	Message string
	// RetryAfter is the Retry-After header in seconds; "" for none.
	RetryAfter string
}

// gatewayErrors are every answer API Gateway gives itself that clients
// meet. A missing key and a wrong one are both INVALID_API_KEY. A path
// that does not exist is MISSING_AUTHENTICATION_TOKEN, whatever the key;
// a wrong method on a real path reaches the api function (each route has
// an ANY method), which answers 405.
var gatewayErrors = []gatewayError{
	{Type: "INVALID_API_KEY", Status: "401", Code: "unauthorized",
		Message: "missing or invalid API key (send it in the x-api-key header)"},
	{Type: "MISSING_AUTHENTICATION_TOKEN", Status: "404", Code: "not_found",
		Message: "no such route: see the API reference for the paths under /api/v1"},
	// The usage plan's token bucket refills every second.
	{Type: "THROTTLED", Status: "429", Code: "rate_limited",
		Message: "too many requests for this API key; retry after a second", RetryAfter: "1"},
	// The quota restarts with the next period (day, week or month, UTC),
	// which a static header cannot count down to: an hour is a polite retry.
	{Type: "QUOTA_EXCEEDED", Status: "429", Code: "rate_limited",
		Message: "this API key has used its request quota for the period; it renews with the next period", RetryAfter: "3600"},
	{Type: "REQUEST_TOO_LARGE", Status: "413", Code: "body_too_large",
		Message: "the request is larger than API Gateway accepts"},
	{Type: "INTEGRATION_TIMEOUT", Status: "504", Code: "upstream_timeout",
		Message: "the request took longer than API Gateway's 29 s limit"},
	{Type: "DEFAULT_4XX", Code: "bad_request"},
	{Type: "DEFAULT_5XX", Code: "internal_error", Message: "internal error"},
}

// exposedHeaders are the headers a browser script may read; the api
// function sends the same list (internal/api/middleware.go).
const exposedHeaders = "X-Request-Id, Retry-After, Location, ETag, X-Next-Cursor"

// gatewayResponse is one apigateway.Response's settings.
type gatewayResponse struct {
	Type       string
	Status     string
	Template   string
	Parameters map[string]string
}

// gatewayResponses returns the gateway responses for corsAllowOrigins, the
// stack's comma-separated origins. API Gateway maps a header either to a
// static value or to a request header: with "*" or one origin the header
// is that value; with several, it echoes the request's Origin, since a
// static value cannot name the right one. That allows no more than the api
// function does: a browser sends a request with a key only after the api
// function's preflight allowed its origin, and these answers hold no data.
func gatewayResponses(corsAllowOrigins string) ([]gatewayResponse, error) {
	var origins []string
	for _, o := range strings.Split(corsAllowOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	cors := map[string]string{"Access-Control-Expose-Headers": quote(exposedHeaders)}
	switch {
	case slices.Contains(origins, "*"):
		cors["Access-Control-Allow-Origin"] = quote("*")
	case len(origins) == 1:
		cors["Access-Control-Allow-Origin"] = quote(origins[0])
	default:
		cors["Access-Control-Allow-Origin"] = "method.request.header.Origin"
		cors["Vary"] = quote("Origin")
	}

	out := make([]gatewayResponse, 0, len(gatewayErrors))
	for _, e := range gatewayErrors {
		// Templates are not run through VTL, but $context variables are
		// substituted; $context.error.messageString is already quoted.
		message := "$context.error.messageString"
		if e.Message != "" {
			b, err := json.Marshal(e.Message)
			if err != nil {
				return nil, err
			}
			message = string(b)
		}
		code, err := json.Marshal(e.Code)
		if err != nil {
			return nil, err
		}
		params := map[string]string{}
		for h, v := range cors {
			params["gatewayresponse.header."+h] = v
		}
		if e.RetryAfter != "" {
			params["gatewayresponse.header.Retry-After"] = quote(e.RetryAfter)
		}
		out = append(out, gatewayResponse{
			Type:       e.Type,
			Status:     e.Status,
			Template:   `{"error":{"code":` + string(code) + `,"message":` + message + `,"request_id":"$context.requestId"}}`,
			Parameters: params,
		})
	}
	return out, nil
}

// quote makes v a static value of a response parameter mapping.
func quote(v string) string { return "'" + v + "'" }
