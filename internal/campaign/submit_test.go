package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/fault"
)

func TestDecodeSubmissionMergesDefaults(t *testing.T) {
	body := `{"defaults": {"cta": {"ask": "Chat?", "calendar_link": "cal.example/x"}, "sender": {"name": "Alex", "title": "AE"},
	          "options": {"tone": "direct", "max_words": 80}},
	  "prospects": [
	    {"prospect": {"first_name": "A"}, "company": {"company_name": "X"}},
	    {"prospect": {"first_name": "B"}, "company": {"company_name": "Y"}, "cta": {"ask": "Call?"}, "sender": {"name": "Sam"}, "options": {"tone": "formal"}}
	  ], "extra_top": 1}`
	sub, reqs, warnings, err := campaign.DecodeSubmission([]byte(body), 10, nil)
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
		// A member of the wrong type in one entry used to hide every
		// other entry's problems.
		"ErrEveryEntryNamed": {`{"prospects": [
		    {"prospect": {"first_name": "A", "tenure_months": "ten"}, "company": {"company_name": "X"}},
		    {"prospect": {"first_name": "B"}, "company": {"company_name": "X"}},
		    {"prospect": {"last_name": "C"}, "company": {"company_name": "X"}},
		    {"prospect": {"first_name": "D"}, "company": {"company_name": "X"}},
		    {"prospect": {"first_name": "E"}, "company": {"company_name": "X"}},
		    {"prospect": {"first_name": "F"}, "company": {"industry": "SaaS"}}]}`,
			[]string{"prospects[0].prospect.tenure_months", "prospects[2].prospect.first_name", "prospects[5].company.company_name"}},
		"ErrWrongTopLevelTypesNamedWithEntries": {`{"name": 5, "defaults": {"options": {"max_words": "many"}}, "prospects": [{"prospect": {"first_name": 1}}]}`,
			[]string{"name", "defaults.options.max_words", "prospects[0].prospect.first_name", "prospects[0].company.company_name"}},
		"ErrProspectsNotAnArray": {`{"prospects": {}}`, []string{"prospects"}},
		"ErrModelNotAllowed": {`{"defaults": {"options": {"model": "o1-pro"}}, "prospects": [
		    {"prospect": {"first_name": "A"}, "company": {"company_name": "X"}, "options": {"model": "gpt-4o-mini"}},
		    {"prospect": {"first_name": "B"}, "company": {"company_name": "X"}, "options": {"model": "o3"}}]}`,
			[]string{"defaults.options.model", "prospects[1].options.model"}},
		"ErrControlCharacters": {`{"name": "Q4\u0000", "prospects": [{"ref": "crm\u0001", "prospect": {"first_name": "A\u001f"}, "company": {"company_name": "X"}}]}`,
			[]string{"name", "prospects[0].ref", "prospects[0].prospect.first_name"}},
		"ErrEntryNotAnObject": {`{"prospects": [{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}}, "nope"]}`,
			[]string{"prospects[1]"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := campaign.DecodeSubmission([]byte(tc.body), 10, []string{"gpt-4o-mini"})
			var v *fault.Error
			if !errors.As(err, &v) || v.Code != fault.Invalid {
				t.Fatalf("err %v, want a fault.Invalid error", err)
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

func TestDecodeSubmissionWarnings(t *testing.T) {
	body := `{"name": "Q4", "Webhook-URL": "https://example.com/h", "defaults": {"options": {"maxWords": 80}}, "prospects": [
	    {"prospect": {"first_name": "A", "jobTitle": "VP"}, "company": {"company_name": "X", "hobby": "sailing"}},
	    {"prospect": {"first_name": "B", "jobTitle": "VP"}, "company": {"company_name": "X"}},
	    {"prospect": {"first_name": "C", "jobTitle": "VP"}, "company": {"company_name": "X"}, "options": {"tones": "warm"}}]}`
	sub, reqs, warnings, err := campaign.DecodeSubmission([]byte(body), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Webhook-URL: unknown field ignored, did you mean webhook_url?",
		"defaults.options.maxWords: unknown field ignored, did you mean max_words?",
		"prospects[0].prospect.jobTitle: unknown field, did you mean job_title? (and in 2 other prospects)",
		"prospects[2].options.tones: unknown field ignored, did you mean tone?",
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(sub.Prospects) != 3 || string(reqs[1].Prospect.Extra["jobTitle"]) != `"VP"` {
		t.Fatalf("a near miss stays extra context for the model: %+v", reqs[1].Prospect)
	}
}
