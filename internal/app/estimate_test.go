package app_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/client"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// campaignCount is how many campaigns the key has.
func campaignCount(t *testing.T, base string) int {
	t.Helper()
	status, _, b := testprog.Do(t, "GET", base+campaignsURL, testKey, nil)
	if status != http.StatusOK {
		t.Fatalf("list: %d %s", status, b)
	}
	var list struct {
		Campaigns []json.RawMessage `json:"campaigns"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Campaigns)
}

// TestLocalCampaignDryRun: ?dry_run=true answers every form of the body
// with the estimate, refuses what a submit refuses with the same answer,
// and stores and queues nothing.
func TestLocalCampaignDryRun(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)
	dry := base + campaignsURL + "?dry_run=true"
	body := map[string]any{"name": "Q4", "mode": "batch", "defaults": map[string]any{"sender": map[string]any{"name": "Alex"}},
		"prospects": testprog.Prospects(3)}

	status, _, b := testprog.Do(t, "POST", dry, testKey, body)
	if status != http.StatusOK {
		t.Fatalf("JSON dry run: %d %s", status, b)
	}
	est := testprog.MustDecode[client.Estimate](t, b)
	e := est.Estimate
	if est.Total != 3 || e.PromptTokens < 3*500 || e.CompletionTokens == 0 || e.CostUSD.Realtime == nil || e.CostUSD.Batch == nil ||
		*e.CostUSD.Realtime <= 0 || math.Abs(*e.CostUSD.Batch-*e.CostUSD.Realtime/2) > 2e-6 {
		t.Fatalf("JSON dry run: %s", b)
	}

	t.Run("CSV", func(t *testing.T) {
		file := []byte("First Name,Company Name\nAda,Acme\n,Beta\nCy,Cee\n")
		status, b := postCSV(t, base, file, url.Values{"dry_run": {"true"}, "skip_invalid": {"true"}, "sender_name": {"Alex"}})
		got := testprog.MustDecode[client.Estimate](t, b)
		if status != http.StatusOK || got.Total != 2 || len(got.Skipped) != 1 || got.Skipped[0].Row != 3 || got.Estimate.PromptTokens == 0 {
			t.Fatalf("CSV dry run: %d %s", status, b)
		}
		mp, ctype := multipartBody(t, file, `{"defaults": {"sender": {"name": "Alex"}}}`)
		status, _, b = testprog.Do(t, "POST", dry+"&skip_invalid=true", testKey, mp, "Content-Type", ctype)
		if status != http.StatusOK || !reflect.DeepEqual(testprog.MustDecode[client.Estimate](t, b), got) {
			t.Fatalf("multipart dry run: %d %s; want the text/csv one", status, b)
		}
	})
	t.Run("ErrSameAsSubmit", func(t *testing.T) {
		bad := map[string]any{"mode": "slow", "prospects": []any{map[string]any{"prospect": map[string]any{"first_name": ""}}}}
		s1, _, b1 := testprog.Do(t, "POST", dry, testKey, bad)
		s2, _, b2 := testprog.Do(t, "POST", base+campaignsURL, testKey, bad)
		var e1, e2 struct {
			Error struct {
				Code   string            `json:"code"`
				Fields []json.RawMessage `json:"fields"`
			} `json:"error"`
		}
		json.Unmarshal(b1, &e1)
		json.Unmarshal(b2, &e2)
		if s1 != http.StatusUnprocessableEntity || s2 != s1 || !reflect.DeepEqual(e1, e2) {
			t.Fatalf("dry run %d %s, submit %d %s: want the same 422", s1, b1, s2, b2)
		}
		s, _, b := testprog.Do(t, "POST", base+campaignsURL+"?dry_run=maybe", testKey, body)
		if s != http.StatusUnprocessableEntity {
			t.Fatalf("dry_run=maybe: %d %s, want 422", s, b)
		}
	})
	if n := campaignCount(t, base); n != 0 {
		t.Fatalf("%d campaigns stored, want none", n)
	}
	if n := up.Count(); n != 0 {
		t.Fatalf("%d model calls, want none", n)
	}
}

// TestEstimateWithinTenPercent is issue 15's done criterion: the estimate
// of the 34 eval prospects is within 10% of the tokens the test server,
// counting as OpenAI does, reports for the campaign.
func TestEstimateWithinTenPercent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testprog.ModuleRoot(t), "testdata", "eval", "prospects.json"))
	if err != nil {
		t.Fatal(err)
	}
	var eval struct {
		Prospects []struct {
			Name    string          `json:"name"`
			Request json.RawMessage `json:"request"`
		} `json:"prospects"`
	}
	if err := json.Unmarshal(raw, &eval); err != nil {
		t.Fatal(err)
	}
	var prospects []json.RawMessage
	for _, p := range eval.Prospects {
		prospects = append(prospects, p.Request)
	}
	if len(prospects) != 34 {
		t.Fatalf("%d eval prospects, want 34", len(prospects))
	}
	body := map[string]any{"name": "eval", "prospects": prospects}

	up := openaitest.New(t, openaitest.WithCountTokens())
	base := startLocal(t, up.URL, nil)
	status, _, b := testprog.Do(t, "POST", base+campaignsURL+"?dry_run=true", testKey, body)
	if status != http.StatusOK {
		t.Fatalf("dry run: %d %s", status, b)
	}
	est := testprog.MustDecode[client.Estimate](t, b).Estimate

	id := testprog.HTTP(base, testKey).Submit(t, body)
	testprog.HTTP(base, testKey).WaitFor(t, id, 60*time.Second, testprog.Campaign.Final)
	status, _, b = testprog.Do(t, "GET", base+campaignsURL+"/"+id, testKey, nil)
	if status != http.StatusOK {
		t.Fatalf("campaign: %d %s", status, b)
	}
	var c struct {
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	t.Logf("prompt tokens: estimated %d, counted %d; completion tokens: estimated %d, counted %d (%d model calls)",
		est.PromptTokens, c.Usage.PromptTokens, est.CompletionTokens, c.Usage.CompletionTokens, up.Count())
	for _, x := range []struct {
		what          string
		est, measured int
	}{{"prompt", est.PromptTokens, c.Usage.PromptTokens}, {"completion", est.CompletionTokens, c.Usage.CompletionTokens}} {
		if x.measured == 0 || math.Abs(float64(x.est-x.measured)) > 0.1*float64(x.measured) {
			t.Errorf("%s tokens: estimated %d, the test server counted %d: more than 10%% apart", x.what, x.est, x.measured)
		}
	}
}
