package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/testprog"
)

// batchRecords is the local store with batch records and warnings that a
// test sets, as the worker would write them: the API only reads them.
// It also keeps each campaign's mode as Create got it, for a store that
// does not keep it itself.
type batchRecords struct {
	campaign.Store
	mu       sync.Mutex
	modes    map[string]campaign.Mode
	warnings map[string][]string
	batches  map[string][]campaign.Batch
}

func (s *batchRecords) Create(ctx context.Context, c *campaign.Campaign, emails []campaign.Email) (*campaign.Campaign, error) {
	out, err := s.Store.Create(ctx, c, emails)
	if err == nil {
		s.mu.Lock()
		s.modes[c.ID] = c.Mode
		s.mu.Unlock()
	}
	return out, err
}

func (s *batchRecords) Get(ctx context.Context, tenant, id string) (*campaign.Campaign, error) {
	c, err := s.Store.Get(ctx, tenant, id)
	if err == nil {
		s.fill(c)
	}
	return c, err
}

func (s *batchRecords) List(ctx context.Context, tenant string, p campaign.Page) ([]campaign.Campaign, string, error) {
	cs, next, err := s.Store.List(ctx, tenant, p)
	for i := range cs {
		s.fill(&cs[i])
	}
	return cs, next, err
}

func (s *batchRecords) fill(c *campaign.Campaign) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Mode == "" {
		c.Mode = s.modes[c.ID]
	}
	if w, ok := s.warnings[c.ID]; ok {
		c.Warnings = w
	}
}

func (s *batchRecords) Batches(ctx context.Context, campaignID string) ([]campaign.Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]campaign.Batch{}, s.batches[campaignID]...), nil
}

// modeAPI serves the API over a batchRecords store, with no worker: every
// campaign stays queued.
func modeAPI(t *testing.T) (string, *batchRecords) {
	t.Helper()
	store, queue := testprog.LocalParts(t, time.Minute)
	recs := &batchRecords{Store: store, modes: map[string]campaign.Mode{}, warnings: map[string][]string{}, batches: map[string][]campaign.Batch{}}
	svc := &campaign.Service{Store: recs, Queue: queue, MaxProspects: 20}
	h := api.NewServer(api.Config{}, keyTenants{keyA: "tenant_a"}, nil, svc, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(contract.Handler(t, h))
	t.Cleanup(srv.Close)
	return srv.URL, recs
}

// campaignMode is the part of a campaign's view that mode_test reads.
type campaignMode struct {
	CampaignID string          `json:"campaign_id"`
	Mode       string          `json:"mode"`
	Warnings   []string        `json:"warnings"`
	Batches    json.RawMessage `json:"batches"`
}

// TestCampaignMode: a campaign's mode is taken from each form of submit,
// and every view of the campaign shows it, its warnings and, on the
// campaign's own answers, its batches.
func TestCampaignMode(t *testing.T) {
	base, recs := modeAPI(t)
	url := base + "/api/v1/campaigns"
	submit := func(t *testing.T, target string, body any, hdr ...string) campaignMode {
		t.Helper()
		status, _, b := testprog.Do(t, "POST", target, keyA, body, hdr...)
		if status != http.StatusAccepted {
			t.Fatalf("status %d: %s", status, b)
		}
		return testprog.MustDecode[campaignMode](t, b)
	}
	get := func(t *testing.T, method, id string) (campaignMode, string) {
		t.Helper()
		status, _, b := testprog.Do(t, method, url+"/"+id, keyA, nil)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", method, status, b)
		}
		return testprog.MustDecode[campaignMode](t, b), string(b)
	}
	csvFile := "First Name,Company Name\nAda,Acme\n"
	csvType := []string{"Content-Type", "text/csv"}

	t.Run("Batch", func(t *testing.T) {
		acc := submit(t, url, map[string]any{"mode": "batch", "prospects": testprog.Prospects(3)})
		if acc.Mode != "batch" {
			t.Fatalf("202 mode %q, want batch", acc.Mode)
		}
		id := acc.CampaignID
		c, raw := get(t, "GET", id)
		if c.Mode != "batch" || c.Warnings == nil || len(c.Warnings) != 0 || string(c.Batches) != "[]" {
			t.Fatalf("before the worker split it: %s; want mode batch, warnings [], batches []", raw)
		}
		recs.mu.Lock()
		recs.batches[id] = []campaign.Batch{
			{Key: "1-0", Attempt: 1, Indexes: []int{0, 1}, Status: campaign.BatchInProgress, ProviderID: "batch_abc", Completed: 1, Failed: 1},
			{Key: "2-2", Attempt: 2, Indexes: []int{2}, Status: campaign.BatchPreparing},
		}
		recs.warnings[id] = []string{"batch 1 failed: retried"}
		recs.mu.Unlock()
		want := `[{"id":"batch_abc","status":"in_progress","total":2,"completed":1,"failed":1},{"id":null,"status":"preparing","total":1,"completed":0,"failed":0}]`
		c, raw = get(t, "GET", id)
		if string(c.Batches) != want || !slices.Equal(c.Warnings, []string{"batch 1 failed: retried"}) {
			t.Fatalf("GET %s\nwant batches %s and the warning", raw, want)
		}
		if c, raw = get(t, "DELETE", id); string(c.Batches) != want {
			t.Fatalf("DELETE %s\nwant batches %s", raw, want)
		}
		status, _, b := testprog.Do(t, "GET", url, keyA, nil)
		var list struct{ Campaigns []campaignMode }
		if err := json.Unmarshal(b, &list); status != http.StatusOK || err != nil {
			t.Fatalf("list: status %d: %s", status, b)
		}
		for _, c := range list.Campaigns {
			if c.CampaignID == id && (c.Mode != "batch" || len(c.Warnings) != 1 || c.Batches != nil) {
				t.Fatalf("list entry %+v: want mode batch, the warning, no batches", c)
			}
		}
	})

	t.Run("RealtimeByDefault", func(t *testing.T) {
		acc := submit(t, url, map[string]any{"prospects": testprog.Prospects(1)})
		c, raw := get(t, "GET", acc.CampaignID)
		if acc.Mode != "realtime" || c.Mode != "realtime" || c.Warnings == nil || c.Batches != nil {
			t.Fatalf("202 mode %q, GET %s: want realtime, warnings [], no batches", acc.Mode, raw)
		}
	})

	t.Run("CSVQuery", func(t *testing.T) {
		acc := submit(t, url+"?mode=batch", csvFile, csvType...)
		if c, raw := get(t, "GET", acc.CampaignID); acc.Mode != "batch" || c.Mode != "batch" {
			t.Fatalf("202 mode %q, GET %s: want batch", acc.Mode, raw)
		}
	})

	t.Run("CSVMultipart", func(t *testing.T) {
		form, ctype := multipartForm(t, csvFile, `{"mode": "batch"}`)
		acc := submit(t, url, form, "Content-Type", ctype)
		if c, raw := get(t, "GET", acc.CampaignID); acc.Mode != "batch" || c.Mode != "batch" {
			t.Fatalf("202 mode %q, GET %s: want batch", acc.Mode, raw)
		}
	})

	t.Run("ErrUnknownMode", func(t *testing.T) {
		form, ctype := multipartForm(t, csvFile, `{"mode": "bulk"}`)
		for name, tc := range map[string]struct {
			target string
			body   any
			hdr    []string
		}{
			"JSON":      {url, map[string]any{"mode": "bulk", "prospects": testprog.Prospects(1)}, nil},
			"CSVQuery":  {url + "?mode=bulk", csvFile, csvType},
			"Multipart": {url, form, []string{"Content-Type", ctype}},
		} {
			status, _, b := testprog.Do(t, "POST", tc.target, keyA, tc.body, tc.hdr...)
			a := decode(t, b)
			if status != http.StatusUnprocessableEntity || a.Error == nil || len(a.Error.Fields) != 1 ||
				a.Error.Fields[0].Field != "mode" || a.Error.Fields[0].Message != `must be "realtime" or "batch"` {
				t.Errorf("%s: status %d: %s; want 422 naming mode", name, status, b)
			}
		}
	})
}

// multipartForm is a CSV campaign as multipart/form-data: the file and
// the campaign part.
func multipartForm(t *testing.T, file, settings string) (string, string) {
	t.Helper()
	const boundary = "mode-test-boundary"
	var b strings.Builder
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n" + file + "\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"campaign\"\r\n\r\n" + settings + "\r\n")
	b.WriteString("--" + boundary + "--\r\n")
	return b.String(), "multipart/form-data; boundary=" + boundary
}
