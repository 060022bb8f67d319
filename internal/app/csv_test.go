package app_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// csvAccepted is the 202 of a CSV campaign.
type csvAccepted struct {
	testprog.Campaign
	Warnings []string `json:"warnings"`
	Skipped  []struct {
		Row    int `json:"row"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	} `json:"skipped"`
}

func mustCSV(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testprog.ModuleRoot(tb), "testdata", "csv", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// postCSV posts file as text/csv with the query q.
func postCSV(t *testing.T, base string, file []byte, q url.Values, hdr ...string) (int, []byte) {
	t.Helper()
	status, _, body := testprog.Do(t, "POST", base+campaignsURL+"?"+q.Encode(), testKey, file, append([]string{"Content-Type", "text/csv"}, hdr...)...)
	return status, body
}

// multipartBody is a multipart/form-data body with a file part and, when
// meta is not empty, a campaign part.
func multipartBody(tb testing.TB, file []byte, meta string) ([]byte, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "prospects.csv")
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(file)
	if meta != "" {
		if err := mw.WriteField("campaign", meta); err != nil {
			tb.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// waitForEmails waits for campaign id to complete and returns its emails.
func waitForEmails(t *testing.T, base, id string, total int) []testprog.Email {
	t.Helper()
	c := testprog.HTTP(base, testKey).WaitFor(t, id, 30*time.Second, testprog.Campaign.Final)
	if c.Status != "completed" || c.Succeeded != total {
		t.Fatalf("campaign %+v: want completed with %d emails", c, total)
	}
	status, _, body := testprog.Do(t, "GET", base+campaignsURL+"/"+id+"/emails?limit=100", testKey, nil)
	if status != http.StatusOK {
		t.Fatalf("emails: %d %s", status, body)
	}
	return testprog.MustDecode[testprog.Emails](t, body).Emails
}

func TestLocalCSVCampaign(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)
	tests := []struct {
		file   string
		firsts []string
		refs   []string
		// context is a column that maps to no field: it must reach the model.
		context string
	}{
		{"apollo.csv", []string{"Maya", "Tomás", "Priya"}, nil, "Apollo Contact Id"},
		{"hubspot.csv", []string{"Lena", "Jordan", "Aiko"}, []string{"51001", "51002", "51003"}, "Lifecycle Stage"},
		{"salesnav.csv", []string{"Samir", "Grace"}, nil, "Time in Role"},
		{"excel-semicolon-1252.csv", []string{"François", "Zoë", "Søren"}, nil, "Notes"},
		{"excel-utf16.csv", []string{"Nadia", "Olu"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run("OK_"+tt.file, func(t *testing.T) {
			before := up.Count()
			status, body := postCSV(t, base, mustCSV(t, tt.file), url.Values{"name": {tt.file}, "ask": {"A 15-minute call?"}, "sender_name": {"Alex"}})
			if status != http.StatusAccepted {
				t.Fatalf("submit: %d %s", status, body)
			}
			acc := testprog.MustDecode[csvAccepted](t, body)
			if acc.Total != len(tt.firsts) || len(acc.Skipped) != 0 {
				t.Fatalf("accepted %s: want %d prospects", body, len(tt.firsts))
			}
			emails := waitForEmails(t, base, acc.CampaignID, len(tt.firsts))
			for i, e := range emails {
				if e.Subject == "" || !strings.Contains(e.Body, tt.firsts[i]) {
					t.Errorf("email %d: %+v, want one to %s", i, e, tt.firsts[i])
				}
				if tt.refs != nil && e.Ref != tt.refs[i] {
					t.Errorf("email %d: ref %q, want %q", i, e.Ref, tt.refs[i])
				}
			}
			if tt.context == "" {
				return
			}
			reqs := up.Requests()[before:]
			found := false
			for _, r := range reqs {
				for _, m := range r.Body.Messages {
					found = found || strings.Contains(m.Content, tt.context)
				}
			}
			if !found {
				t.Errorf("no model call had the column %q as context", tt.context)
			}
		})
	}

	t.Run("OKMultipartWithColumnMap", func(t *testing.T) {
		file := []byte("Name,Org,Role\nRia,Moonbeam Foods,Buyer\n")
		body, ctype := multipartBody(t, file, `{"name": "mapped", "defaults": {"cta": {"ask": "A quick call?"}}, "column_map": {"Name": "first_name", "Org": "company_name", "Role": "job_title"}, "mode": "realtime"}`)
		status, _, b := testprog.Do(t, "POST", base+campaignsURL, testKey, body, "Content-Type", ctype)
		if status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", status, b)
		}
		emails := waitForEmails(t, base, testprog.MustDecode[csvAccepted](t, b).CampaignID, 1)
		if !strings.Contains(emails[0].Body, "Ria") {
			t.Fatalf("email %+v", emails[0])
		}
	})

	t.Run("OKSkipInvalid", func(t *testing.T) {
		status, body := postCSV(t, base, mustCSV(t, "bad-rows.csv"), url.Values{"skip_invalid": {"true"}})
		if status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", status, body)
		}
		acc := testprog.MustDecode[csvAccepted](t, body)
		var rows []int
		for _, s := range acc.Skipped {
			rows = append(rows, s.Row)
		}
		if acc.Total != 2 || !slices.Equal(rows, []int{3, 4, 5, 6}) {
			t.Fatalf("accepted %s: want rows 2 and 7 submitted, 3 to 6 skipped", body)
		}
		emails := waitForEmails(t, base, acc.CampaignID, 2)
		if emails[0].Ref != "r1" || emails[1].Ref != "r6" {
			t.Fatalf("emails %+v: want r1 and r6", emails)
		}
	})

	t.Run("OKIdempotencyKey", func(t *testing.T) {
		file := mustCSV(t, "salesnav.csv")
		b1, c1 := multipartBody(t, file, `{"name": "again"}`)
		b2, c2 := multipartBody(t, file, `{"name": "again"}`)
		s1, _, r1 := testprog.Do(t, "POST", base+campaignsURL, testKey, b1, "Content-Type", c1, "Idempotency-Key", "csv-1")
		s2, _, r2 := testprog.Do(t, "POST", base+campaignsURL, testKey, b2, "Content-Type", c2, "Idempotency-Key", "csv-1")
		id1, id2 := testprog.MustDecode[csvAccepted](t, r1).CampaignID, testprog.MustDecode[csvAccepted](t, r2).CampaignID
		if s1 != 202 || s2 != 202 || id1 != id2 {
			t.Fatalf("same file, new boundary: %d %s / %d %s", s1, r1, s2, r2)
		}
		s3, r3 := postCSV(t, base, file, url.Values{"name": {"another name"}}, "Idempotency-Key", "csv-1")
		if s3 != http.StatusConflict || !strings.Contains(string(r3), "idempotency_conflict") {
			t.Fatalf("same key, another campaign: %d %s", s3, r3)
		}
		waitForEmails(t, base, id1, 2)
	})
}

func TestLocalCSVCampaignRejected(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, nil)

	t.Run("ErrBadRows", func(t *testing.T) {
		status, body := postCSV(t, base, mustCSV(t, "bad-rows.csv"), nil)
		fields, _ := MustFields(t, status, body)
		want := []string{"rows[3].first_name", "rows[4].email", "rows[5].company_name", "rows[6]"}
		if !slices.Equal(fields, want) {
			t.Fatalf("fields %q, want %q", fields, want)
		}
	})
	t.Run("ErrUnknownMode", func(t *testing.T) {
		status, body := postCSV(t, base, mustCSV(t, "salesnav.csv"), url.Values{"mode": {"bulk"}})
		fields, v := MustFields(t, status, body)
		if !slices.Equal(fields, []string{"mode"}) || v.Error.Fields[0].Message != `must be "realtime" or "batch"` {
			t.Fatalf("422 %s: want mode, realtime or batch", body)
		}
	})
	t.Run("ErrQueryParams", func(t *testing.T) {
		status, body := postCSV(t, base, mustCSV(t, "salesnav.csv"), url.Values{"webhook_url": {"ftp://x"}, "skip_invalid": {"maybe"}})
		fields, _ := MustFields(t, status, body)
		if !slices.Equal(fields, []string{"skip_invalid"}) {
			t.Fatalf("fields %q: want skip_invalid first", fields)
		}
		status, body = postCSV(t, base, mustCSV(t, "salesnav.csv"), url.Values{"webhook_url": {"ftp://x"}})
		if fields, _ = MustFields(t, status, body); !slices.Equal(fields, []string{"webhook_url"}) {
			t.Fatalf("fields %q: want webhook_url", fields)
		}
	})
	// A typed parameter given with no value is refused, not read as left
	// out: ?skip_invalid= is a client's mistake, and the spec allows no "".
	t.Run("ErrTypedQueryEmpty", func(t *testing.T) {
		for _, q := range []string{"skip_invalid", "skip_invalid=", "mode="} {
			status, _, b := testprog.Do(t, "POST", base+campaignsURL+"?"+q, testKey, mustCSV(t, "salesnav.csv"), "Content-Type", "text/csv")
			if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{strings.TrimSuffix(q, "=")}) {
				t.Fatalf("?%s: fields %q: %s", q, fields, b)
			}
		}
		body, ctype := multipartBody(t, mustCSV(t, "salesnav.csv"), `{"mode": ""}`)
		status, _, b := testprog.Do(t, "POST", base+campaignsURL, testKey, body, "Content-Type", ctype)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"mode"}) {
			t.Fatalf(`"mode": "": fields %q: %s`, fields, b)
		}
		// Parameters are checked before the campaign is looked up.
		emails := campaignsURL + "/cmp_none/emails"
		for _, u := range []string{campaignsURL + "?limit=", emails + "?limit=", emails + "?format=", emails + "?format=csv&columns="} {
			status, _, b := testprog.Do(t, "GET", base+u, testKey, nil)
			want := u[strings.LastIndexAny(u, "?&")+1 : len(u)-1]
			if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{want}) {
				t.Fatalf("%s: fields %q, want %s: %s", u, fields, want, b)
			}
		}
	})
	t.Run("ErrColumnMap", func(t *testing.T) {
		body, ctype := multipartBody(t, mustCSV(t, "salesnav.csv"), `{"column_map": {"Notes": "shoe_size"}}`)
		status, _, b := testprog.Do(t, "POST", base+campaignsURL, testKey, body, "Content-Type", ctype)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{`column_map["Notes"]`}) {
			t.Fatalf("fields %q", fields)
		}
	})
	// A setting the body's form does not read from the query is refused,
	// not ignored: the client would believe it had set it.
	t.Run("ErrQueryOfAnotherForm", func(t *testing.T) {
		body, ctype := multipartBody(t, mustCSV(t, "salesnav.csv"), `{"name": "form"}`)
		status, _, b := testprog.Do(t, "POST", base+campaignsURL+"?webhook_url=https://example.com/h&skip_invalid=true", testKey, body, "Content-Type", ctype)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"webhook_url"}) || !strings.Contains(string(b), "campaign part") {
			t.Fatalf("multipart: fields %q: %s", fields, b)
		}
		status, _, b = testprog.Do(t, "POST", base+campaignsURL+"?mode=batch&name=q", testKey, map[string]any{"prospects": testprog.Prospects(1)})
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"name", "mode"}) || !strings.Contains(string(b), "a JSON campaign sets it in the body") {
			t.Fatalf("JSON: fields %q: %s", fields, b)
		}
	})
	t.Run("ErrProspectsInCampaignPart", func(t *testing.T) {
		body, ctype := multipartBody(t, mustCSV(t, "salesnav.csv"), `{"prospects": [{}], "mode": "bulk"}`)
		status, _, b := testprog.Do(t, "POST", base+campaignsURL, testKey, body, "Content-Type", ctype)
		if fields, _ := MustFields(t, status, b); !slices.Equal(fields, []string{"mode", "campaign.prospects"}) {
			t.Fatalf("fields %q", fields)
		}
	})
	for _, tt := range []struct {
		name, ctype, code string
		body              []byte
	}{
		{"ErrUnreadableXLSX", "text/csv", "unreadable_file", []byte("PK\x03\x04\x14\x00\x06\x00")},
		{"ErrUnreadableQuote", "text/csv", "unreadable_file", []byte("First Name,Company\nAda,\"Acme\n")},
		{"ErrNoFilePart", "multipart/form-data; boundary=x", "missing_file", []byte("--x\r\nContent-Disposition: form-data; name=\"campaign\"\r\n\r\n{}\r\n--x--\r\n")},
		{"ErrNoBoundary", "multipart/form-data", "malformed_request", []byte("x")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := testprog.Do(t, "POST", base+campaignsURL, testKey, tt.body, "Content-Type", tt.ctype)
			if status != http.StatusBadRequest || !strings.Contains(string(b), tt.code) {
				t.Fatalf("%d %s: want 400 %s", status, b, tt.code)
			}
		})
	}
	status, _, body := testprog.Do(t, "GET", base+campaignsURL, testKey, nil)
	if status != http.StatusOK || strings.Contains(string(body), "campaign_id") {
		t.Fatalf("rejected campaigns were stored: %d %s", status, body)
	}
	if n := up.Count(); n != 0 {
		t.Fatalf("rejected campaigns reached the model %d times", n)
	}
}

// TestLocalCSVCampaignLimit holds a CSV campaign to the prospects' limit
// of JSON campaigns.
func TestLocalCSVCampaignLimit(t *testing.T) {
	up := openaitest.New(t)
	base := startLocal(t, up.URL, func(c *config.Config) { c.MaxCampaignProspects = 2 })
	status, body := postCSV(t, base, mustCSV(t, "apollo.csv"), nil)
	fields, v := MustFields(t, status, body)
	if !slices.Equal(fields, []string{"rows"}) || !strings.Contains(v.Error.Fields[0].Message, "at most 2") {
		t.Fatalf("422 %s: want rows, at most 2", body)
	}
	if status, _ := postCSV(t, base, mustCSV(t, "salesnav.csv"), nil); status != http.StatusAccepted {
		t.Fatalf("2 rows: %d, want 202", status)
	}
}
