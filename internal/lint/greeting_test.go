package lint_test

import (
	"testing"

	"github.com/ingren/ingren/internal/lint"
)

func TestCheckGreeting(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Hi", withBody(t, "Hi Mark,\n\n"+filler), []string{"wrong_name"}},
		{"Hit_Hello", withBody(t, "Hello Mark\n\n"+filler), []string{"wrong_name"}},
		{"Hit_Dear", withBody(t, "Dear Mark,\n\n"+filler), []string{"wrong_name"}},
		{"Hit_Hey", withBody(t, "Hey Mark! "+filler), []string{"wrong_name"}},
		{"Hit_HiComma", withBody(t, "Hi, Mark,\n\n"+filler), []string{"wrong_name"}},
		{"Hit_Surname", withBody(t, "Dear Ms. Smith,\n\n"+filler), []string{"wrong_name"}},
		{"NearMiss_HiThere", withBody(t, "Hi there,\n\n"+filler), nil},
		{"NearMiss_NoGreeting", withBody(t, filler+"\n\nBest,\nAlex Rivera"), nil},
		{"NearMiss_LowerCase", withBody(t, "hi sarah,\n\n"+filler), nil},
		{"NearMiss_FullName", withBody(t, "Hi Sarah Johnson,\n\n"+filler), nil},
		{"NearMiss_CRMNameWithDigits", func() lint.Input {
			in := withBody(t, "Hi Sarah2,\n\n"+filler)
			in.FirstName = "Sarah2"
			return in
		}(), nil},
		{"Hit_PrefixOfCRMName", func() lint.Input {
			in := withBody(t, "Hi Sar,\n\n"+filler)
			in.FirstName = "Sarah2"
			return in
		}(), []string{"wrong_name"}},
		{"NearMiss_Surname", withBody(t, "Dear Ms. Johnson,\n\n"+filler), nil},
		{"NearMiss_HiCommaIntro", withBody(t, "Hi, I'm Alex from Ingren.\n\n"+filler), nil},
	})
}
