package stack

import (
	"encoding/json"
	"strings"
	"testing"
)

// What API Gateway answers by itself, before the api function runs (a
// missing or wrong key, no such route, throttling, quota, a body too large,
// its own failures), comes in Ingren's error envelope with the CORS headers,
// so that a browser sees the reason instead of a CORS error.
func TestGatewayAnswersInTheErrorEnvelope(t *testing.T) {
	type answer struct {
		status, code string
		retryAfter   bool
	}
	// "" keeps the status of the response type API Gateway picked.
	want := map[string]answer{
		"INVALID_API_KEY":              {status: "401", code: "unauthorized"},
		"MISSING_AUTHENTICATION_TOKEN": {status: "404", code: "not_found"},
		"THROTTLED":                    {status: "429", code: "rate_limited", retryAfter: true},
		"QUOTA_EXCEEDED":               {status: "429", code: "rate_limited", retryAfter: true},
		"REQUEST_TOO_LARGE":            {status: "413", code: "body_too_large"},
		"INTEGRATION_TIMEOUT":          {status: "504", code: "upstream_timeout"},
		"DEFAULT_4XX":                  {code: "bad_request"},
		"DEFAULT_5XX":                  {code: "internal_error"},
	}
	tests := []struct {
		name    string
		origins string
		// allowOrigin is the header's mapping: a quoted static value, or
		// the request's Origin header.
		allowOrigin, vary string
	}{
		{name: "OKAnyOrigin", origins: "", allowOrigin: "'*'"},
		{name: "OKOneOrigin", origins: "https://app.example.com", allowOrigin: "'https://app.example.com'"},
		// A static header cannot name one of several origins: the request's
		// own is echoed. Only an origin the api function's preflight
		// allowed sends a request with a key, and these bodies hold no data.
		{name: "OKSeveralOrigins", origins: "https://app.example.com, https://admin.example.com",
			allowOrigin: "method.request.header.Origin", vary: "'Origin'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var config map[string]string
			if tt.origins != "" {
				config = map[string]string{"corsAllowOrigins": tt.origins}
			}
			d := mustDeploy(t, "dev", config)
			api := d.mustGet(t, typeRestAPI, "ingren-api")
			got := map[string]bool{}
			for _, r := range d.ofType(typeResponse) {
				typ := r.str("responseType")
				got[typ] = true
				w, ok := want[typ]
				if !ok {
					continue
				}
				if r.str("restApiId") != api.ID {
					t.Errorf("%s: on API %s, want %s", typ, r.str("restApiId"), api.ID)
				}
				if r.str("statusCode") != w.status {
					t.Errorf("%s: status %q, want %q", typ, r.str("statusCode"), w.status)
				}
				templates, _ := r.in("responseTemplates").(map[string]any)
				tmpl, _ := templates["application/json"].(string)
				// API Gateway substitutes $context variables; the message
				// variable is already a quoted JSON string.
				body := strings.NewReplacer(`$context.requestId`, "req-123",
					`$context.error.messageString`, `"Forbidden"`).Replace(tmpl)
				var env struct {
					Error struct {
						Code, Message string
						RequestID     string `json:"request_id"`
					}
				}
				if err := json.Unmarshal([]byte(body), &env); err != nil {
					t.Errorf("%s: template is not JSON once substituted: %v\n%s", typ, err, tmpl)
					continue
				}
				if env.Error.Code != w.code || env.Error.Message == "" || env.Error.RequestID != "req-123" {
					t.Errorf("%s: body %s, want code %s, a message and the request id", typ, body, w.code)
				}

				params, _ := r.in("responseParameters").(map[string]any)
				header := func(name string) string { s, _ := params["gatewayresponse.header."+name].(string); return s }
				if got := header("Access-Control-Allow-Origin"); got != tt.allowOrigin {
					t.Errorf("%s: Access-Control-Allow-Origin from %q, want %q", typ, got, tt.allowOrigin)
				}
				if got := header("Vary"); got != tt.vary {
					t.Errorf("%s: Vary %q, want %q", typ, got, tt.vary)
				}
				if got := header("Access-Control-Expose-Headers"); !strings.Contains(got, "Retry-After") || !strings.Contains(got, "ETag") {
					t.Errorf("%s: Access-Control-Expose-Headers %q, want Retry-After and ETag readable", typ, got)
				}
				if ra := header("Retry-After"); w.retryAfter != (ra != "") || (ra != "" && !isQuotedSeconds(ra)) {
					t.Errorf("%s: Retry-After %q, want it set: %v, as a quoted number of seconds", typ, ra, w.retryAfter)
				}
			}
			for typ := range want {
				if !got[typ] {
					t.Errorf("no gateway response for %s: API Gateway answers it as {\"message\": ...} without CORS headers", typ)
				}
			}
		})
	}
}

func isQuotedSeconds(v string) bool {
	s, ok1 := strings.CutPrefix(v, "'")
	s, ok2 := strings.CutSuffix(s, "'")
	return ok1 && ok2 && s != "" && strings.Trim(s, "0123456789") == ""
}
