package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testKey = "test-key-0123456789abcdef"

// do sends a request with the test key and returns the status and body.
func do(tb testing.TB, method, url, key string, body any, hdr ...string) (int, http.Header, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, res.Header, out
}

// MustDecode decodes b into a T or fails.
func MustDecode[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// prospects makes n valid campaign entries.
func prospects(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{
			"ref":      fmt.Sprintf("crm-%04d", i),
			"prospect": map[string]any{"first_name": fmt.Sprintf("Pat%d", i), "last_name": "Lee", "job_title": "Head of Sales"},
			"company":  map[string]any{"company_name": fmt.Sprintf("Co%d Inc", i), "industry": "SaaS"},
		}
	}
	return out
}

type campaignView struct {
	CampaignID  string     `json:"campaign_id"`
	Status      string     `json:"status"`
	Total       int        `json:"total"`
	Succeeded   int        `json:"succeeded"`
	Failed      int        `json:"failed"`
	Pending     int        `json:"pending"`
	CompletedAt *time.Time `json:"completed_at"`
	Usage       struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

type emailsView struct {
	Emails []struct {
		Index   int    `json:"index"`
		Ref     string `json:"ref"`
		Status  string `json:"status"`
		Subject string `json:"subject"`
		Body    string `json:"body"`
		Error   string `json:"error"`
	} `json:"emails"`
	NextCursor string `json:"next_cursor"`
}

// waitFor polls the campaign until done reports true or the deadline passes.
func waitFor(tb testing.TB, base, key, id string, timeout time.Duration, done func(campaignView) bool) campaignView {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var last campaignView
	for time.Now().Before(deadline) {
		status, _, body := do(tb, "GET", base+"/api/v1/campaigns/"+id, key, nil)
		if status != http.StatusOK {
			tb.Fatalf("GET campaign: %d %s", status, body)
		}
		last = MustDecode[campaignView](tb, body)
		if done(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("campaign %s not done after %v: %+v", id, timeout, last)
	return last
}
