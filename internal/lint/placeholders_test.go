package lint_test

import "testing"

func TestCheckPlaceholder(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Brackets", withSnippet(t, "Congrats on the launch at [Company Name]."), []string{"placeholder"}},
		{"Hit_BracketsInSubject", withSubject(t, "Idea for [Company]"), []string{"placeholder"}},
		{"Hit_DoubleBraces", withSnippet(t, "Congrats on the launch at {{company}}."), []string{"placeholder"}},
		{"Hit_SingleBraces", withSnippet(t, "Congrats on the launch, {first_name}."), []string{"placeholder"}},
		{"Hit_Angle", withSnippet(t, "Congrats on the launch, <FIRST_NAME>."), []string{"placeholder"}},
		{"Hit_AngleWords", withSnippet(t, "Congrats on the launch at <Company Name>."), []string{"placeholder"}},
		{"Hit_FormatVerb", withSnippet(t, "Congrats on the launch at %s."), []string{"placeholder"}},
		{"Hit_Null", withSnippet(t, "Congrats on the launch at null."), []string{"placeholder"}},
		{"Hit_Undefined", withSnippet(t, "Your recent news: undefined."), []string{"placeholder"}},
		{"Hit_NaN", withSnippet(t, "Your team grew by NaN this year."), []string{"placeholder"}},
		{"Hit_UnfilledPercent", withSnippet(t, "That could lift replies by X%."), []string{"placeholder"}},
		{"Hit_UnfilledMoney", withSnippet(t, "That could add $XX in pipeline."), []string{"placeholder"}},
		{"NearMiss_Heart", withSnippet(t, "We <3 the new enterprise product line."), nil},
		{"NearMiss_Nullify", withSnippet(t, "None of this would nullify the work your team already did."), nil},
		{"NearMiss_NaNa", withSnippet(t, "The launch video had the NaNa song stuck in my head."), []string{"possible_invented_name"}},
		{"NearMiss_URLQuery", withSnippet(t, "Open to a 15-min chat next Tuesday? calendly.com/ingren/demo?utm=a&b=c"), nil},
		{"NearMiss_AngleURL", withSnippet(t, "Open to a 15-min chat next Tuesday? <https://calendly.com/ingren/demo>"), nil},
		{"NearMiss_Percent", withSnippet(t, "Beating Q1 targets by 27%, so far."), nil},
		{"NearMiss_SixX", withSnippet(t, "Your next hire will not need a crash course."), nil},
	})
}
