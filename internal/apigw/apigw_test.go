package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/apigw"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// MustEvent reads an API Gateway REST proxy event from testdata/events.
func MustEvent(tb testing.TB, name string) events.APIGatewayProxyRequest {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/events/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatal(err)
	}
	return ev
}

func handler(t *testing.T) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	h := api.NewServer(api.Config{CORSAllowOrigins: []string{"*"}}, apigw.Auth{},
		&email.Composer{Writer: offline.New(), Prompts: set}, nil, slog.New(slog.DiscardHandler))
	return apigw.Handler(h)
}

func TestHandler(t *testing.T) {
	h := handler(t)
	t.Run("OK", func(t *testing.T) {
		res, err := h(context.Background(), MustEvent(t, "apigw-generate-email.json"))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Subject, Body, Model string }
		if res.StatusCode != 200 || json.Unmarshal([]byte(res.Body), &body) != nil || !strings.Contains(body.Body, "Hi Sarah,") || body.Model != "offline" {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
		if got := res.MultiValueHeaders["X-Request-Id"]; len(got) != 1 || got[0] != "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" {
			t.Fatalf("X-Request-Id %v: want API Gateway's request id", got)
		}
	})
	t.Run("OKBase64Body", func(t *testing.T) {
		ev := MustEvent(t, "apigw-generate-email.json")
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(ev.Body)), true
		res, _ := h(context.Background(), ev)
		if res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
	t.Run("ErrNoAPIKeyID", func(t *testing.T) {
		ev := MustEvent(t, "apigw-generate-email.json")
		ev.RequestContext.Identity.APIKeyID = ""
		res, _ := h(context.Background(), ev)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, `"unauthorized"`) {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
	t.Run("OKPreflight", func(t *testing.T) {
		ev := MustEvent(t, "apigw-generate-email.json")
		ev.HTTPMethod, ev.Body = "OPTIONS", ""
		ev.RequestContext.Identity.APIKeyID = ""
		ev.MultiValueHeaders["Origin"] = []string{"https://app.example.com"}
		ev.MultiValueHeaders["Access-Control-Request-Method"] = []string{"POST"}
		res, _ := h(context.Background(), ev)
		if res.StatusCode != http.StatusNoContent || res.MultiValueHeaders["Access-Control-Allow-Origin"][0] != "*" {
			t.Fatalf("%d %v", res.StatusCode, res.MultiValueHeaders)
		}
	})
	t.Run("ErrValidation", func(t *testing.T) {
		ev := MustEvent(t, "apigw-generate-email.json")
		ev.Body = `{"prospect": {}, "company": {"company_name": "X"}}`
		res, _ := h(context.Background(), ev)
		if res.StatusCode != 422 || !strings.Contains(res.Body, "prospect.first_name") {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
	t.Run("ErrBadBase64", func(t *testing.T) {
		ev := MustEvent(t, "apigw-generate-email.json")
		ev.Body, ev.IsBase64Encoded = "%%%", true
		res, _ := h(context.Background(), ev)
		if res.StatusCode != 400 {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
}

func TestTenantIsTheKeyIDNotTheKey(t *testing.T) {
	ev := MustEvent(t, "apigw-generate-email.json")
	req, err := apigw.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := apigw.Auth{}.Tenant(req)
	if err != nil || tenant != "apikey_a1b2c3d4e5" {
		t.Fatalf("tenant %q, %v", tenant, err)
	}
}

// TestHandlerNeverSeesTheAPIKey: API Gateway forwards the key it checked
// in x-api-key. The adapter drops it, whatever its case and however many
// values, from single- and multi-value headers alike, so the API handler
// (and anything it logs) never holds it; the tenant still comes from the
// key id.
func TestHandlerNeverSeesTheAPIKey(t *testing.T) {
	const secret = "k3yVa1ueFromTheClient0123456789"
	cases := []struct {
		name   string
		single map[string]string
		multi  map[string][]string
	}{
		{"MultiValueLowerCase", nil, map[string][]string{"x-api-key": {secret}, "Accept": {"*/*"}}},
		{"MultiValueTwoValues", nil, map[string][]string{"X-Api-Key": {secret, secret + "2"}, "Accept": {"*/*"}}},
		{"MultiValueTwoCases", nil, map[string][]string{"X-API-KEY": {secret}, "x-Api-key": {secret}, "Accept": {"*/*"}}},
		{"SingleValueOnly", map[string]string{"x-api-key": secret, "Accept": "*/*"}, nil},
		{"SingleValueUpperCase", map[string]string{"X-API-KEY": secret, "Accept": "*/*"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := MustEvent(t, "apigw-generate-email.json")
			ev.Headers, ev.MultiValueHeaders = tc.single, tc.multi
			var seen http.Header
			var tenant string
			h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Header.Clone()
				tenant, _ = apigw.Auth{}.Tenant(r)
			}))
			if _, err := h(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if seen == nil {
				t.Fatal("the handler did not run")
			}
			for k, vs := range seen {
				for _, v := range vs {
					if strings.EqualFold(k, "x-api-key") || strings.Contains(v, secret) {
						t.Errorf("the handler sees %s: %s", k, v)
					}
				}
			}
			if seen.Get("Accept") != "*/*" {
				t.Errorf("other headers lost: %v", seen)
			}
			if tenant != "apikey_a1b2c3d4e5" {
				t.Errorf("tenant %q, want the key id's", tenant)
			}
		})
	}
}

// TestRequestNamesTheStagePrefix: the request says what API Gateway took
// off the path, as a reverse proxy would, so that the console at /dev
// (no slash) names its files under /dev; a client's own header is not
// passed on.
func TestRequestNamesTheStagePrefix(t *testing.T) {
	for _, tc := range []struct{ name, path, contextPath, want string }{
		{"StageRoot", "/", "/dev", "/dev"},
		{"StageRootSlash", "/", "/dev/", "/dev"},
		{"StageRoute", "/api/v1/campaigns", "/dev/api/v1/campaigns", "/dev"},
		{"BasePath", "/console/app.js", "/ingren/console/app.js", "/ingren"},
		{"NoPrefix", "/", "/", ""},
		{"NoContext", "/", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: tc.path,
				Headers: map[string]string{"X-Forwarded-Prefix": "/evil"}}
			ev.RequestContext.Path = tc.contextPath
			req, err := apigw.Request(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("X-Forwarded-Prefix"); got != tc.want {
				t.Errorf("X-Forwarded-Prefix %q, want %q", got, tc.want)
			}
		})
	}
}
