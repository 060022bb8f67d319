package email_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// MustInvalid returns the fields err names, failing unless it is a
// fault.Invalid error.
func MustInvalid(tb testing.TB, err error) []string {
	tb.Helper()
	var v *fault.Error
	if !errors.As(err, &v) || v.Code != fault.Invalid {
		tb.Fatalf("err %v, want a fault.Invalid error", err)
	}
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestDecodeNamesEveryProblem(t *testing.T) {
	cases := map[string]struct {
		body   string
		fields []string
	}{
		// A member of the wrong type used to stop decoding (Prospect's
		// UnmarshalJSON) and hide the rest.
		"ErrWrongTypesAndMissingFields": {
			`{"prospect": {"first_name": 7, "tenure_months": "ten", "email": "x"}, "company": {"employee_count": "many"},
			  "options": {"max_words": 1, "sequence": {"follow_ups": 1, "days": ["3"]}}}`,
			[]string{"prospect.first_name", "prospect.tenure_months", "company.employee_count", "options.sequence.days[0]",
				"prospect.email", "company.company_name", "options.max_words"}},
		"ErrObjectOfTheWrongType": {`{"prospect": "Sarah", "company": {}, "cta": [1]}`,
			[]string{"prospect", "cta", "company.company_name"}},
		"ErrCaseVariantOfTheWrongType": {`{"prospect": {"FIRST_NAME": 7}, "company": {"company_name": "A"}}`,
			[]string{"prospect.first_name"}},
		"ErrRepeatedMemberOfTheWrongType": {`{"prospect": {"first_name": 7, "first_name": "A"}, "company": {"company_name": "A"}}`,
			[]string{"prospect.first_name"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := email.Decode([]byte(tc.body))
			if got := MustInvalid(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

func TestDecodeRefusesControlCharacters(t *testing.T) {
	body := `{"prospect": {"first_name": "Sa\u0000rah", "notable_achievement": "Line one\nline two\r\n\tindented", "hobby": "sail\u001b[31m"},
	          "company": {"company_name": "Acme", "recent_news": "bell\u0007"}, "sender": {"signature": "Alex\u0008"}}`
	req, _, err := email.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"prospect.first_name", "prospect.hobby", "company.recent_news", "sender.signature"}
	if got := MustInvalid(t, req.Validate("")); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v: tab, line feed and carriage return are allowed, other C0 controls not", got, want)
	}
}

func TestDecodeWarnsOfNearMisses(t *testing.T) {
	cases := map[string]struct {
		body string
		want []string
	}{
		"CamelCase": {`{"prospect": {"first_name": "A", "jobTitle": "VP"}, "company": {"company_name": "B"}}`,
			[]string{"prospect.jobTitle: unknown field, did you mean job_title?"}},
		"SpacesAndDashes": {`{"prospect": {"first_name": "A", "last name": "B", "Notable-Achievement": "C"}, "company": {"company_name": "B"}}`,
			[]string{"prospect.last name: unknown field, did you mean last_name?", "prospect.Notable-Achievement: unknown field, did you mean notable_achievement?"}},
		"Typo": {`{"prospect": {"first_name": "A"}, "company": {"company_name": "B", "industy": "SaaS"}}`,
			[]string{"company.industy: unknown field, did you mean industry?"}},
		"CaseVariantIsReadAsTheField": {`{"PROSPECT": {"first_name": "A"}, "company": {"company_Name": "B"}}`,
			[]string{"PROSPECT: read as prospect; send it as prospect", "company.company_Name: read as company_name; send it as company_name"}},
		"TopLevelIgnored": {`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "optoins": {}, "campaign_hint": 1}`,
			[]string{"optoins: unknown field ignored, did you mean options?", "campaign_hint: unknown field ignored"}},
		"OptionsIgnored": {`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"maxWords": 80}}`,
			[]string{"options.maxWords: unknown field ignored, did you mean max_words?"}},
		"TrueExtrasAreSilent": {`{"prospect": {"first_name": "A", "hobby": "sailing", "favourite_team": "Celtics"}, "company": {"company_name": "B", "tools": ["x"]}}`,
			nil},
		"NoGuessWhenTheFieldIsSentToo": {`{"prospect": {"first_name": "A", "firstName": "A"}, "company": {"company_name": "B"}}`,
			nil},
		"NoGuessWhenFar": {`{"prospect": {"first_name": "A", "name": "B", "title": "C"}, "company": {"company_name": "B", "company": "D"}}`,
			nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, warnings, err := email.Decode([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(warnings, tc.want) {
				t.Fatalf("warnings %q, want %q", warnings, tc.want)
			}
			if name == "CamelCase" && string(req.Prospect.Extra["jobTitle"]) != `"VP"` {
				t.Fatalf("a near miss stays extra context for the model: %q", req.Prospect.Extra)
			}
		})
	}
	t.Run("EmbeddedFieldsAreKnown", func(t *testing.T) {
		// encoding/json fills an embedded struct's fields as the outer
		// one's: they are no unknown members.
		type Inner struct {
			Name string `json:"name"`
		}
		var v struct {
			Inner
			Mode string `json:"mode"`
		}
		rep, err := email.DecodeJSON([]byte(`{"name": "Q4", "mode": "realtime", "hint": "x"}`), &v, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rep.Messages(), []string{"hint: unknown field ignored"}; !slices.Equal(got, want) || v.Name != "Q4" {
			t.Fatalf("warnings %q (name %q), want %q", got, v.Name, want)
		}
	})
	t.Run("ErrMissingFieldNamesTheNearMiss", func(t *testing.T) {
		c := &email.Composer{}
		_, warnings, err := c.Decode([]byte(`{"prospect": {"firstName": "A"}, "company": {"company_name": "B"}}`))
		var v *fault.Error
		if !errors.As(err, &v) || v.Code != fault.Invalid || len(v.Fields) != 1 || v.Fields[0].Field != "prospect.first_name" ||
			!strings.Contains(v.Fields[0].Message, "prospect.firstName was sent: did you mean first_name?") {
			t.Fatalf("err %v", err)
		}
		if !slices.Equal(warnings, []string{"prospect.firstName: unknown field, did you mean first_name?"}) {
			t.Fatalf("warnings %q", warnings)
		}
	})
	t.Run("OKBounded", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "cta": {`)
		for i := range 1000 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `": 1`)
		}
		b.WriteString(`}}`)
		_, warnings, err := email.Decode([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 25 || !strings.Contains(warnings[len(warnings)-1], "more warnings left out") {
			t.Fatalf("%d warnings, last %q: want a few and a count", len(warnings), warnings[len(warnings)-1])
		}
	})
}

func TestComposerDecodeAllowsOnlyConfiguredModels(t *testing.T) {
	c := &email.Composer{AllowedModels: []string{"gpt-4o-mini", "gpt-4o"}}
	body := func(model string) []byte {
		return []byte(`{"prospect": {"first_name": "A"}, "company": {"company_name": "B"}, "options": {"model": "` + model + `"}}`)
	}
	for _, ok := range []string{"", "gpt-4o-mini", "gpt-4o"} {
		if _, _, err := c.Decode(body(ok)); err != nil {
			t.Errorf("model %q: %v", ok, err)
		}
	}
	_, _, err := c.Decode(body("o1-pro"))
	var v *fault.Error
	if !errors.As(err, &v) || v.Code != fault.Invalid || len(v.Fields) != 1 || v.Fields[0].Field != "options.model" ||
		!strings.Contains(v.Fields[0].Message, "gpt-4o-mini, gpt-4o") {
		t.Fatalf("err %v: want options.model refused, naming the allowed models", err)
	}
	if _, _, err := (&email.Composer{}).Decode(body("gpt-4o-mini")); err == nil {
		t.Fatal("a composer that allows no model must refuse every options.model")
	}
}
