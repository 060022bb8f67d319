package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ingren/ingren/internal/client"
)

// Every error answer becomes an *Error carrying what the answer said: the
// API's envelope, API Gateway's own {"message"}, or a proxy's page.
func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		status           int
		fields           int
	}{
		{"Envelope", `{"error":{"code":"validation_failed","message":"the request has 1 invalid field(s)","fields":[{"field":"prospects[0].prospect.first_name","message":"is required"}],"request_id":"req_1"}}`,
			"the request has 1 invalid field(s) (HTTP 422, request req_1)", 422, 1},
		{"APIGateway", `{"message":"Forbidden"}`, "Forbidden (HTTP 403)", 403, 0},
		{"ProxyPage", "<html>Bad Gateway</html>", "<html>Bad Gateway</html> (HTTP 502)", 502, 0},
		{"Empty", "", "Not Found (HTTP 404)", 404, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("x-api-key") != "k" {
					t.Errorf("x-api-key %q", r.Header.Get("x-api-key"))
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := client.New(srv.URL, "k").Campaign(context.Background(), "cmp_1")
			var e *client.Error
			if !errors.As(err, &e) || e.Error() != tc.want || len(e.Fields) != tc.fields || !client.IsStatus(err, tc.status) {
				t.Fatalf("err %v (%#v), want %q with %d field(s)", err, e, tc.want, tc.fields)
			}
		})
	}
}
