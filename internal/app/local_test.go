package app_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// startLocal runs the local program in-process against upstream, with its
// worker, and returns its base URL.
func startLocal(t *testing.T, upstream string, mod func(*config.Config)) string {
	t.Helper()
	cfg := config.Config{
		OpenAIAPIKey: "sk-test", OpenAIBaseURL: upstream, OpenAIModel: "gpt-4o-mini",
		OpenAITimeout: 5 * time.Second, DataDir: t.TempDir(), WorkerConcurrency: 8,
		MaxCampaignProspects: 10000, MaxReceiveCount: 5, CampaignTTL: 24 * time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	return serveLocal(t, cfg, []string{testKey, testKey + "-other"})
}

func TestLocalCampaign(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)

	status, hdr, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{
		"name":      "Q4 outbound",
		"defaults":  map[string]any{"cta": map[string]any{"ask": "Worth a 15-min chat?"}, "sender": map[string]any{"name": "Alex"}},
		"prospects": testprog.Prospects(45),
	})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	acc := testprog.MustDecode[testprog.Campaign](t, body)
	if acc.Status != "queued" || acc.Total != 45 || hdr.Get("Location") != "/api/v1/campaigns/"+acc.CampaignID {
		t.Fatalf("accepted %+v, Location %q", acc, hdr.Get("Location"))
	}

	c := testprog.HTTP(base, testKey).WaitFor(t, acc.CampaignID, 30*time.Second, func(c testprog.Campaign) bool { return c.Status == "completed" })
	if c.Succeeded != 45 || c.Failed != 0 || c.Pending != 0 || c.CompletedAt == "" || c.Usage.TotalTokens == 0 {
		t.Fatalf("completed campaign %+v", c)
	}
	if got := up.Count(); got != 45 {
		t.Errorf("model calls = %d, want exactly 45", got)
	}

	t.Run("EmailsPagedInOrder", func(t *testing.T) {
		var idx []int
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("too many pages")
			}
			status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+acc.CampaignID+"/emails?limit=20&cursor="+cursor, testKey, nil)
			if status != http.StatusOK {
				t.Fatalf("emails: %d %s", status, body)
			}
			page := testprog.MustDecode[testprog.Emails](t, body)
			for _, e := range page.Emails {
				if e.Status != "succeeded" || e.Subject == "" || !strings.Contains(e.Body, fmt.Sprintf("Pat%d", e.Index)) || e.Ref != testprog.Ref(e.Index) {
					t.Fatalf("email %d: %+v", e.Index, e)
				}
				idx = append(idx, e.Index)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		for i, v := range idx {
			if i != v {
				t.Fatalf("indices %v: want 0..44 in order", idx)
			}
		}
		if len(idx) != 45 {
			t.Fatalf("got %d emails, want 45", len(idx))
		}
	})

	t.Run("CSVExport", func(t *testing.T) {
		status, hdr, body := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+acc.CampaignID+"/emails?format=csv", testKey, nil)
		if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", status, hdr.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 46 || strings.Join(rows[0][:12], ",") != "ref,first_name,last_name,company_name,email,job_title,linkedin_url,website,status,subject,body,error" {
			t.Fatalf("csv has %d rows, header %v", len(rows), rows[0])
		}
		if rows[1][0] != testprog.Ref(0) || rows[1][1] != "Pat0" || rows[1][8] != "succeeded" || rows[1][10] == "" {
			t.Fatalf("first row %v", rows[1])
		}
		status, _, _ = testprog.Do(t, "GET", base+"/api/v1/campaigns/"+acc.CampaignID+"/emails", testKey, nil, "Accept", "text/csv")
		if status != http.StatusOK {
			t.Fatalf("csv by Accept: %d", status)
		}
	})

	t.Run("ErrUnknownFormat", func(t *testing.T) {
		// Not JSON in its place: format=CSV is a typo of csv.
		status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+acc.CampaignID+"/emails?format=CSV", testKey, nil)
		if fields, _ := MustFields(t, status, body); !slices.Equal(fields, []string{"format"}) {
			t.Fatalf("format=CSV: %d %s, want 422 naming format", status, body)
		}
	})

	t.Run("OtherKeyGets404", func(t *testing.T) {
		for _, path := range []string{"", "/emails", "/emails?format=csv"} {
			status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+acc.CampaignID+path, testKey+"-other", nil)
			if status != http.StatusNotFound {
				t.Fatalf("GET %s with another key: %d %s", path, status, body)
			}
		}
		status, _, _ := testprog.Do(t, "DELETE", base+"/api/v1/campaigns/"+acc.CampaignID, testKey+"-other", nil)
		if status != http.StatusNotFound {
			t.Fatalf("DELETE with another key: %d", status)
		}
		status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns", testKey+"-other", nil)
		if status != http.StatusOK || strings.Contains(string(body), acc.CampaignID) {
			t.Fatalf("list with another key: %d %s", status, body)
		}
	})

	t.Run("List", func(t *testing.T) {
		status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns?limit=5", testKey, nil)
		if status != http.StatusOK || !strings.Contains(string(body), acc.CampaignID) {
			t.Fatalf("list: %d %s", status, body)
		}
	})
}

func TestLocalCampaignRejected(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, func(c *config.Config) { c.MaxCampaignProspects = 100 })
	bad := testprog.Prospects(8)
	bad[2]["prospect"] = map[string]any{"last_name": "NoFirst"}
	bad[5]["company"] = map[string]any{"industry": "no name"}

	cases := []struct {
		name   string
		body   any
		status int
		want   []string
	}{
		{"ErrEntriesInvalid", map[string]any{"prospects": bad}, 422, []string{"prospects[2].prospect.first_name", "prospects[5].company.company_name"}},
		{"ErrTooMany", map[string]any{"prospects": testprog.Prospects(101)}, 422, []string{"at most 100"}},
		{"ErrEmpty", map[string]any{"prospects": []any{}}, 422, []string{`"field":"prospects"`}},
		{"ErrMalformed", `{"prospects": [`, 400, []string{"malformed_json"}},
		{"ErrWebhookScheme", map[string]any{"prospects": testprog.Prospects(1), "webhook_url": "ftp://x"}, 422, []string{"webhook_url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s lacks %q", body, w)
				}
			}
		})
	}
	status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns", testKey, nil)
	if status != http.StatusOK || strings.Contains(string(body), "cmp_") {
		t.Fatalf("a rejected submit stored something: %s", body)
	}
	if n := up.Count(); n != 0 {
		t.Fatalf("rejected submits reached the model %d times", n)
	}
}

func TestLocalIdempotencyKey(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)
	body := map[string]any{"prospects": testprog.Prospects(3)}
	s1, _, b1 := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, body, "Idempotency-Key", "abc-1")
	s2, _, b2 := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, body, "Idempotency-Key", "abc-1")
	if s1 != 202 || s2 != 202 || testprog.MustDecode[testprog.Campaign](t, b1).CampaignID != testprog.MustDecode[testprog.Campaign](t, b2).CampaignID {
		t.Fatalf("same key and body: %d %s / %d %s", s1, b1, s2, b2)
	}
	s3, _, b3 := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{"prospects": testprog.Prospects(4)}, "Idempotency-Key", "abc-1")
	if s3 != http.StatusConflict || !strings.Contains(string(b3), "idempotency_conflict") {
		t.Fatalf("same key, other body: %d %s", s3, b3)
	}
	s4, _, b4 := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey+"-other", body, "Idempotency-Key", "abc-1")
	if s4 != 202 || testprog.MustDecode[testprog.Campaign](t, b4).CampaignID == testprog.MustDecode[testprog.Campaign](t, b1).CampaignID {
		t.Fatalf("another tenant's key must not collide: %d %s", s4, b4)
	}
	id := testprog.MustDecode[testprog.Campaign](t, b1).CampaignID
	testprog.HTTP(base, testKey).WaitFor(t, id, 20*time.Second, func(c testprog.Campaign) bool { return c.Status == "completed" })
}

func TestLocalCancel(t *testing.T) {
	up := openaitest.New(t, openaitest.WithLatency(200*time.Millisecond, 0))
	base := startLocal(t, up.URL, func(c *config.Config) { c.WorkerConcurrency = 2 })
	status, _, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{"prospects": testprog.Prospects(40)})
	if status != 202 {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	testprog.HTTP(base, testKey).WaitFor(t, id, 20*time.Second, func(c testprog.Campaign) bool { return c.Succeeded >= 2 })
	status, _, body = testprog.Do(t, "DELETE", base+"/api/v1/campaigns/"+id, testKey, nil)
	if status != http.StatusOK || testprog.MustDecode[testprog.Campaign](t, body).Status != "cancelled" {
		t.Fatalf("cancel: %d %s", status, body)
	}
	// The calls in flight at cancel time finish and count; every other
	// prospect is skipped without a model call. Absence can only be seen
	// by waiting: give the 40 queued messages time to drain.
	var c testprog.Campaign
	deadline := time.Now().Add(10 * time.Second)
	for {
		c = testprog.HTTP(base, testKey).WaitFor(t, id, time.Second, func(testprog.Campaign) bool { return true })
		if up.Count() == c.Succeeded+c.Failed || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	c = testprog.HTTP(base, testKey).WaitFor(t, id, time.Second, func(testprog.Campaign) bool { return true })
	if c.Status != "cancelled" || c.Pending == 0 {
		t.Fatalf("after cancel: %+v", c)
	}
	if calls := up.Count(); calls != c.Succeeded+c.Failed || calls >= 40 {
		t.Fatalf("model calls %d after cancel with %d done: pending prospects reached the model", calls, c.Succeeded+c.Failed)
	}
}

func TestLocalCampaignSequenceAndVariants(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)
	entries := testprog.Prospects(4)
	entries[3]["options"] = map[string]any{"variants": 2, "sequence": nil}
	status, _, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{
		"defaults":  map[string]any{"options": map[string]any{"sequence": map[string]any{"follow_ups": 2, "days": []int{3, 8}}}},
		"prospects": entries,
	})
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "prospects[3].options.sequence") {
		t.Fatalf("variants with a default sequence: %d %s; want 422 naming the entry", status, body)
	}
	entries[3]["options"] = map[string]any{"variants": 2}
	delete(entries[3], "sequence")
	status, _, body = testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{
		"prospects": entries[3:],
	})
	if status != 202 {
		t.Fatalf("variants: %d %s", status, body)
	}
	variantsID := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	status, _, body = testprog.Do(t, "POST", base+"/api/v1/campaigns", testKey, map[string]any{
		"defaults":  map[string]any{"options": map[string]any{"sequence": map[string]any{"follow_ups": 2, "days": []int{3, 8}}}},
		"prospects": entries[:3],
	})
	if status != 202 {
		t.Fatalf("sequence: %d %s", status, body)
	}
	seqID := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	for _, id := range []string{variantsID, seqID} {
		c := testprog.HTTP(base, testKey).WaitFor(t, id, 30*time.Second, func(c testprog.Campaign) bool { return c.Pending == 0 })
		if c.Failed != 0 {
			t.Fatalf("campaign %+v", c)
		}
	}

	_, _, body = testprog.Do(t, "GET", base+"/api/v1/campaigns/"+seqID+"/emails", testKey, nil)
	var page struct {
		Emails []struct {
			Sequence []struct {
				Day     *int   `json:"day"`
				Subject string `json:"subject"`
				Quality struct {
					Score int `json:"score"`
				} `json:"quality"`
			} `json:"sequence"`
		} `json:"emails"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Emails) != 3 {
		t.Fatalf("emails: %v %s", err, body)
	}
	for _, e := range page.Emails {
		if len(e.Sequence) != 3 || *e.Sequence[0].Day != 0 || *e.Sequence[1].Day != 3 || *e.Sequence[2].Day != 8 {
			t.Fatalf("sequence %+v", e.Sequence)
		}
	}
	_, _, body = testprog.Do(t, "GET", base+"/api/v1/campaigns/"+seqID+"/emails?format=csv", testKey, nil)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 1+3*3 {
		t.Fatalf("csv: %v, %d rows; want a row per email", err, len(rows))
	}
	if rows[1][12] != "1" || rows[2][12] != "2" || rows[2][13] != "3" || rows[3][13] != "8" || rows[1][14] == "" {
		t.Fatalf("csv rows %v", rows[1:4])
	}
	_, _, body = testprog.Do(t, "GET", base+"/api/v1/campaigns/"+variantsID+"/emails?format=csv", testKey, nil)
	rows, _ = csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if len(rows) != 3 || rows[1][9] == rows[2][9] && rows[1][10] == rows[2][10] {
		t.Fatalf("variants csv: %v", rows)
	}
}
