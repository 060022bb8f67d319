package testprog

import (
	"crypto/rand"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// APIEvent returns the API Gateway REST proxy event recorded in
// testdata/events/apigw-generate-email.json, made into a request for
// method and path (its query string included) with body, as MustJSON makes
// it, and a request id of its own. Callers that play API Gateway after its
// key check set RequestContext.Identity.APIKeyID.
func APIEvent(tb testing.TB, method, path string, body any) events.APIGatewayProxyRequest {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(ModuleRoot(tb), "testdata/events/apigw-generate-email.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatal(err)
	}
	p, q, _ := strings.Cut(path, "?")
	query, err := url.ParseQuery(q)
	if err != nil {
		tb.Fatalf("query of %s: %v", path, err)
	}
	ev.HTTPMethod, ev.Path, ev.Resource = method, p, p
	ev.MultiValueQueryStringParameters = query
	ev.Body = string(MustJSON(tb, body))
	ev.RequestContext.RequestID = "test-" + rand.Text()
	return ev
}
