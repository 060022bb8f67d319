package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// header returns an API Lambda answer's header name, however the adapter
// spelt it.
func header(res events.APIGatewayProxyResponse, name string) string {
	for k, v := range res.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range res.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// TestAWSReview reviews a campaign through the API Lambda on DynamoDB
// Local and fauxqs, every answer held to the spec: the filter, an ETag that
// If-Match takes through API Gateway's event, a stale edit, a regenerate,
// and a retry the worker Lambda carries out.
func TestAWSReview(t *testing.T) {
	up := openaitest.New(t, openaitest.WithAPIKey(ssmOpenAIKey), openaitest.WithScript(openaitest.Status(http.StatusBadRequest)))
	w := newAWSWorld(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.poll(t, ctx, nil)
	id := w.submit(t, "key-a", 3)
	if c := w.waitDone(t, "key-a", id, 60*time.Second); c.Status != "completed_with_errors" || c.Failed != 1 || c.Succeeded+c.NeedsReview != 2 {
		t.Fatalf("campaign %+v: want one failed email", c)
	}
	status, body := w.call(t, "GET", "/api/v1/campaigns/"+id+"/emails?status=succeeded,needs_review", "key-a", nil)
	drafts := testprog.MustDecode[testprog.Emails](t, []byte(body)).Emails
	if status != http.StatusOK || len(drafts) != 2 {
		t.Fatalf("drafts: %d %s", status, body)
	}
	one := fmt.Sprintf("/api/v1/campaigns/%s/emails/%d", id, drafts[0].Index)

	res := w.send(t, "GET", one, "key-a", nil)
	etag := header(res, "ETag")
	if res.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("GET email: %d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	res = w.sendHeaders(t, "PATCH", one, "key-a", map[string]any{"review": "approved"}, map[string]string{"If-Match": etag})
	if res.StatusCode != http.StatusOK || header(res, "ETag") == etag || !strings.Contains(res.Body, `"review":"approved"`) {
		t.Fatalf("approve: %d %s", res.StatusCode, res.Body)
	}
	res = w.sendHeaders(t, "PATCH", one, "key-a", map[string]any{"review": "rejected"}, map[string]string{"If-Match": etag})
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale edit: %d %s, want 412", res.StatusCode, res.Body)
	}
	if status, body := w.call(t, "GET", one, "key-b", nil); status != http.StatusNotFound {
		t.Fatalf("another key: %d %s, want 404", status, body)
	}

	calls := up.Count()
	status, body = w.call(t, "POST", fmt.Sprintf("/api/v1/campaigns/%s/emails/%d/regenerate", id, drafts[1].Index), "key-a",
		map[string]any{"instructions": "shorter"})
	if status != http.StatusOK || up.Count() != calls+1 {
		t.Fatalf("regenerate: %d %s after %d model calls", status, body, up.Count()-calls)
	}

	status, body = w.call(t, "POST", "/api/v1/campaigns/"+id+"/retry", "key-a", nil)
	if status != http.StatusAccepted || !strings.Contains(body, `"retried":1`) {
		t.Fatalf("retry: %d %s", status, body)
	}
	c := w.waitDone(t, "key-a", id, 60*time.Second)
	status, body = w.call(t, "GET", "/api/v1/campaigns/"+id, "key-a", nil)
	v := testprog.MustDecode[reviewCampaign](t, []byte(body))
	if c.Status != "completed" || v.Failed != 0 || v.Retries != 1 || v.Approved != 1 {
		t.Fatalf("after the retry: %d %s", status, body)
	}
}
