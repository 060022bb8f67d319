package app_test

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// API Gateway hands a CSV campaign's body to the API Lambda in base64
// (text/csv is one of the stack's binary media types), so a Windows-1252
// file arrives byte for byte and its accented names come out as written.
func TestAWSCSVCampaignBase64Windows1252(t *testing.T) {
	up := openaitest.New(t)
	w := newAWSWorld(t, up.URL, nil) // no poller: the campaign stays queued
	file := mustCSV(t, "excel-semicolon-1252.csv")
	if utf8.Valid(file) {
		t.Fatal("the sample file is not Windows-1252 any more")
	}

	ev := testprog.APIEvent(t, "POST", "/api/v1/campaigns?name=1252&sender_name=Alex", nil)
	ev.RequestContext.Identity.APIKeyID = "key-a"
	ev.Headers["Content-Type"] = "text/csv"
	ev.MultiValueHeaders["Content-Type"] = []string{"text/csv"}
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(file), true
	res, err := w.api(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var acc csvAccepted
	if res.StatusCode != 202 || json.Unmarshal([]byte(res.Body), &acc) != nil || acc.Total != 3 {
		t.Fatalf("submit: %d %s, want 202 with 3 prospects", res.StatusCode, res.Body)
	}

	out := w.send(t, "GET", "/api/v1/campaigns/"+acc.CampaignID+"/emails?format=csv&columns=input", "key-a", nil)
	body := out.Body
	if out.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if out.StatusCode != 200 || err != nil || len(rows) != 4 {
		t.Fatalf("export: %d, %v, %q", out.StatusCode, err, body)
	}
	want := [][]string{
		{"First Name", "Last Name", "Company"},
		{"François", "Lefèvre", "Café Étoile, S.A."},
		{"Zoë", "Müller", "Bäckerei Müller GmbH"},
		{"Søren", "Ødegaard", "Fjord Analytics"},
	}
	for i, row := range rows {
		if !slices.Equal(row[:3], want[i]) {
			t.Errorf("row %d starts %q, want %q", i+1, row[:3], want[i])
		}
	}
}
