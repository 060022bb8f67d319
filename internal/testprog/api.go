package testprog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// client bounds each request, so that a program that stops answering fails
// the test instead of hanging it until go test's -timeout.
var client = &http.Client{Timeout: time.Minute}

// Do sends a request to url with the API key key (none when "") and hdr
// (name, value pairs), its body made by MustJSON, and returns the status,
// headers and body of the answer. A request that gets no answer fails the
// test.
func Do(tb testing.TB, method, url, key string, body any, hdr ...string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(MustJSON(tb, body)))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	return res.StatusCode, res.Header, b
}

// MustJSON returns body as a request sends it: nil is no body, a string
// or a []byte is sent as it is, anything else as JSON.
func MustJSON(tb testing.TB, body any) []byte {
	tb.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	j, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// MustDecode decodes b into a T or fails the test.
func MustDecode[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// API sends one request to the service under test, however it is deployed
// (HTTP, or an API Gateway event to the API Lambda's handler), and returns
// the status and body. path starts at the root: /api/v1/campaigns.
type API func(tb testing.TB, method, path string, body any) (int, []byte)

// HTTP is the API of a program listening at base, called with key.
func HTTP(base, key string) API {
	return func(tb testing.TB, method, path string, body any) (int, []byte) {
		tb.Helper()
		status, _, b := Do(tb, method, base+path, key, body)
		return status, b
	}
}

// Submit posts a campaign and returns its id. Any answer but 202 fails the
// test.
func (a API) Submit(tb testing.TB, body any) string {
	tb.Helper()
	status, b := a(tb, "POST", "/api/v1/campaigns", body)
	if status != http.StatusAccepted {
		tb.Fatalf("submit: %d %s", status, b)
	}
	return MustDecode[Campaign](tb, b).CampaignID
}

// Campaign reads the campaign id. Any answer but 200 fails the test.
func (a API) Campaign(tb testing.TB, id string) Campaign {
	tb.Helper()
	status, b := a(tb, "GET", "/api/v1/campaigns/"+id, nil)
	if status != http.StatusOK {
		tb.Fatalf("GET campaign: %d %s", status, b)
	}
	return MustDecode[Campaign](tb, b)
}

// WaitFor reads the campaign id until ok says so, and returns what it read
// last. It fails the test once timeout has passed.
func (a API) WaitFor(tb testing.TB, id string, timeout time.Duration, ok func(Campaign) bool) Campaign {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := a.Campaign(tb, id)
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			tb.Fatalf("campaign %s: condition not met after %v: %+v", id, timeout, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Prospects makes n valid campaign entries: entry i is "Pat<i>" at
// "Co<i> Inc", with the ref Ref(i).
func Prospects(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{
			"ref":      Ref(i),
			"prospect": map[string]any{"first_name": fmt.Sprintf("Pat%d", i), "last_name": "Lee", "job_title": "Head of Sales"},
			"company":  map[string]any{"company_name": fmt.Sprintf("Co%d Inc", i), "industry": "SaaS"},
		}
	}
	return out
}

// Ref is the ref of Prospects' entry i.
func Ref(i int) string { return fmt.Sprintf("crm-%05d", i) }
