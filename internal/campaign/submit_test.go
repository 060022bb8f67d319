package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

func TestDecodeSubmissionMergesDefaults(t *testing.T) {
	body := `{"defaults": {"cta": {"ask": "Chat?", "calendar_link": "cal.example/x"}, "sender": {"name": "Alex", "title": "AE"},
	          "options": {"tone": "direct", "max_words": 80}},
	  "prospects": [
	    {"prospect": {"first_name": "A"}, "company": {"company_name": "X"}},
	    {"prospect": {"first_name": "B"}, "company": {"company_name": "Y"}, "cta": {"ask": "Call?"}, "sender": {"name": "Sam"}, "options": {"tone": "formal"}}
	  ], "extra_top": 1}`
	sub, reqs, warnings, err := campaign.DecodeSubmission([]byte(body), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Prospects) != 2 || len(warnings) != 1 || !strings.Contains(warnings[0], "extra_top") {
		t.Fatalf("submission %+v, warnings %q", sub, warnings)
	}
	a, b := reqs[0], reqs[1]
	if a.CTA.Ask != "Chat?" || a.Sender.Name != "Alex" || a.Options.Tone != "direct" || a.Options.MaxWords != 80 {
		t.Errorf("entry 0 must take every default: %+v", a)
	}
	if b.CTA.Ask != "Call?" || b.CTA.CalendarLink != "cal.example/x" || b.Sender.Name != "Sam" || b.Sender.Title != "AE" ||
		b.Options.Tone != "formal" || b.Options.MaxWords != 80 {
		t.Errorf("entry 1 must keep its own fields and take the rest: %+v", b)
	}
}

func TestDecodeSubmissionErrors(t *testing.T) {
	long := strings.Repeat("r", 201)
	cases := map[string]struct {
		body   string
		fields []string
	}{
		"ErrRefTooLong": {`{"prospects": [{"ref": "` + long + `", "prospect": {"first_name": "A"}, "company": {"company_name": "X"}}]}`,
			[]string{"prospects[0].ref"}},
		"ErrWebhookCredentials": {`{"webhook_url": "https://u:p@example.com/h", "prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}]}`,
			[]string{"webhook_url"}},
		"ErrDefaultsInvalidForEveryEntry": {`{"defaults": {"options": {"max_words": 1}}, "prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}, {"prospect": {"first_name": "B"}, "company": {"company_name": "Y"}}]}`,
			[]string{"prospects[0].options.max_words", "prospects[1].options.max_words"}},
		"ErrWrongTypeNamesTheEntry": {`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}, {"prospect": {"first_name": 7}, "company": {"company_name": "X"}}, {"prospect": {"first_name": "C"}, "company": {"employee_count": "many", "company_name": "Z"}}]}`,
			[]string{"prospects[1].prospect.first_name", "prospects[2].company.employee_count"}},
		"ErrEntryNotAnObject": {`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}, "nope"]}`,
			[]string{"prospects[1]"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := campaign.DecodeSubmission([]byte(tc.body), 10)
			var v *email.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("err %v, want a *ValidationError", err)
			}
			var got []string
			for _, f := range v.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}
