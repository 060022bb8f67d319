package campaign_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// fuzzMaxProspects keeps the fuzzer's campaigns small; the limit itself is
// one of the things it probes.
const fuzzMaxProspects = 8

// fuzzModels are the models the fuzzed campaigns may name.
var fuzzModels = []string{"gpt-4o-mini", "gpt-4o"}

// FuzzDecodeSubmission feeds any body to DecodeSubmission, as POST
// /api/v1/campaigns does. It may not panic; a failure is a *SyntaxError or
// a fault.Invalid error naming its fields; and an accepted submission holds
// 1 to max requests, each valid on its own and still valid after a trip
// through JSON (how the stores keep emails), with a webhook URL that is an
// absolute http(s) URL without credentials, and every model named one of
// the allowed.
func FuzzDecodeSubmission(f *testing.F) {
	entry := `{"ref": "crm-1", "prospect": {"first_name": "Pat", "hobby": "sailing"}, "company": {"company_name": "Acme"}}`
	for _, s := range []string{
		`{"name": "Q4", "prospects": [` + entry + `]}`,
		`{"name": "Q4", "defaults": {"sender": {"name": "Alex"}, "cta": {"ask": "Chat?"}, "options": {"tone": "direct", "variants": 2}},
		  "prospects": [` + entry + `, {"prospect": {"first_name": "Li"}, "company": {"company_name": "B"}, "options": {"sequence": {"follow_ups": 2}}}],
		  "webhook_url": "https://hooks.example.com/ingren?x=1"}`,
		`{"prospects": [` + entry + `], "webhook_url": "http://user:pass@example.com/"}`,
		`{"prospects": [` + entry + `], "webhook_url": "ftp://example.com/"}`,
		`{"prospects": [` + entry + `], "webhook_url": "http://exa mple.com/"}`,
		`{"prospects": [{}, null, {"prospect": []}]}`,
		`{"prospects": {}}`,
		`{"prospects": [], "extra": true}`,
		`{"prospects": [` + entry + `,` + entry + `,` + entry + `,` + entry + `,` + entry + `,` + entry + `,` + entry + `,` + entry + `,` + entry + `]}`,
		`{"PROSPECTS": [` + entry + `]}`,
		`{"defaults": {"options": {"model": "gpt-4o"}}, "prospects": [` + entry + `, {"prospect": {"first_name": "B"}, "company": {"company_name": "C"}, "options": {"model": "o1-pro"}}]}`,
		`{"prospects": [{"prospect": {"firstName": "A", "tenure_months": "ten"}, "company": {"company_Name": "B"}, "cta": {"askk": 1}}, {"prospect": {"first_name": "A\u0000"}}]}`,
		`null`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sub, reqs, warnings, err := campaign.DecodeSubmission(body, fuzzMaxProspects, fuzzModels)
		if err != nil {
			var syn *email.SyntaxError
			var v *fault.Error
			switch {
			case errors.As(err, &syn):
			case errors.As(err, &v) && v.Code == fault.Invalid:
				if len(v.Fields) == 0 {
					t.Fatal("a fault.Invalid error with no field")
				}
				for _, f := range v.Fields {
					if f.Field == "" || f.Message == "" {
						t.Fatalf("field error %+v", f)
					}
				}
			default:
				t.Fatalf("DecodeSubmission: %T %v, want a *SyntaxError or a fault.Invalid error", err, err)
			}
			return
		}
		for _, w := range warnings {
			if w == "" {
				t.Fatal("an empty warning")
			}
		}
		if len(reqs) == 0 || len(reqs) > fuzzMaxProspects || len(reqs) != len(sub.Prospects) {
			t.Fatalf("accepted %d requests for %d prospects (max %d)", len(reqs), len(sub.Prospects), fuzzMaxProspects)
		}
		if u := sub.WebhookURL; u != "" {
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
				t.Fatalf("accepted webhook_url %q", u)
			}
		}
		for i := range reqs {
			prefix := fmt.Sprintf("prospects[%d]", i)
			if err := reqs[i].Validate(prefix); err != nil {
				t.Fatalf("accepted an invalid request: %v", err)
			}
			if m := reqs[i].Options.Model; m != "" && !slices.Contains(fuzzModels, m) {
				t.Fatalf("%s: accepted model %q, allowed %q", prefix, m, fuzzModels)
			}
			stored, err := json.Marshal(reqs[i])
			if err != nil {
				t.Fatalf("%s does not marshal: %v", prefix, err)
			}
			var back email.Request
			if err := json.Unmarshal(stored, &back); err != nil {
				t.Fatalf("%s does not read back: %v\n%s", prefix, err, stored)
			}
			if err := back.Validate(prefix); err != nil {
				t.Fatalf("%s is invalid once stored: %v\n%s", prefix, err, stored)
			}
		}
	})
}
