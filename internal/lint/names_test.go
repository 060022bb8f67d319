package lint_test

import "testing"

func TestCheckInventedName(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Customer", withSnippet(t, "Teams like Gong and Acme Corp use it daily."), []string{"possible_invented_name"}},
		{"Hit_Phrase", withSnippet(t, "You made the Gartner Magic Quadrant this year."), []string{"possible_invented_name"}},
		{"NearMiss_FactNames", withSnippet(t, "Your Salesforce and Marketo data is enough for TechNova's reps."), nil},
		{"NearMiss_SentenceStart", withSnippet(t, "Reps ramp faster. Managers review less."), nil},
		{"NearMiss_DaysMonths", withSnippet(t, "Since March, new reps start on a Monday."), nil},
		{"NearMiss_TitleFromFacts", withSnippet(t, "As VP of Sales, you own ramp time."), nil},
	})
}
