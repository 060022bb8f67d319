package lint_test

import "testing"

func TestCheckAllCaps(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Shouting", withSnippet(t, "This is HUGE for your team."), []string{"all_caps"}},
		{"NearMiss_Acronyms", withSnippet(t, "Most SaaS VPs want ROI from their CRM within a quarter, and B2B is no different for the CEO."), nil},
		{"NearMiss_LongAcronym", withSnippet(t, "It also keeps outbound GDPR-safe in EMEA."), nil},
		{"NearMiss_InFacts", withFacts(withSnippet(t, "Congrats on the NVIDIA partnership."), "Partnered with NVIDIA"), nil},
	})
}

func TestCheckExclamation(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Two", withSnippet(t, "Congrats on the launch! Big moment!"), []string{"exclamation"}},
		{"Hit_Triple", withSnippet(t, "Congrats on the launch!!!"), []string{"exclamation"}},
		{"NearMiss_One", withSnippet(t, "Congrats on the launch!"), nil},
	})
}
