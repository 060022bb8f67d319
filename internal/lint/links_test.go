package lint_test

import "testing"

func TestCheckLinks(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Two", withSnippet(t, "Case study: https://ingren.com/case-study and a calendar: calendly.com/ingren/demo"), []string{"too_many_links"}},
		{"Hit_BareDomains", withSnippet(t, "See ingren.com/how and calendly.com/ingren/demo."), []string{"too_many_links"}},
		{"NearMiss_ToolName", withSnippet(t, "It works with Outreach.io. Grab a time: calendly.com/ingren/demo"), nil},
		{"NearMiss_EmailAddress", withSnippet(t, "Reply to alex@ingren.com or grab a time: calendly.com/ingren/demo"), nil},
		{"NearMiss_Abbreviation", withSnippet(t, "Small teams, e.g. five reps, feel it first: calendly.com/ingren/demo"), nil},
	})
}
