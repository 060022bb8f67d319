package lint_test

import "testing"

func TestCheckQuestions(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Two", withSnippet(t, "Is ramp time a priority? Open to a 15-min chat next Tuesday?"), []string{"too_many_questions"}},
		{"NearMiss_Quoted", withSnippet(t, `Your post asked "who owns outbound?" and I liked it. Open to a 15-min chat next Tuesday?`), nil},
		{"NearMiss_CurlyQuoted", withSnippet(t, "Your post asked “who owns outbound?” and I liked it. Open to a 15-min chat next Tuesday?"), nil},
		{"NearMiss_URLQuery", withSnippet(t, "Open to a 15-min chat next Tuesday? calendly.com/ingren/demo?week=next"), nil},
		{"NearMiss_DoubleMark", withSnippet(t, "Open to a 15-min chat next Tuesday??"), nil},
	})
}
