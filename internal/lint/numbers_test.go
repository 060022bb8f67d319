package lint_test

import "testing"

func TestCheckInventedFact(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Percent", withSnippet(t, "Your team grew 45% this year."), []string{"invented_fact"}},
		{"Hit_Money", withSnippet(t, "After your $60M round, hiring makes sense."), []string{"invented_fact"}},
		{"Hit_Multiplier", withSnippet(t, "Teams like yours see 3x more replies."), []string{"invented_fact"}},
		{"Hit_Count", withSnippet(t, "All 300 of your reps write outbound."), []string{"invented_fact"}},
		{"Hit_Year", withSnippet(t, "Since 2023, your team has doubled."), []string{"invented_fact"}},
		{"Hit_InSubject", withSubject(t, "TechNova at 400 reps"), []string{"invented_fact"}},
		{"NearMiss_FactPercent", withSnippet(t, "Beating Q1 targets by 27% is a strong start."), nil},
		{"NearMiss_Money", withSnippet(t, "At $45M in revenue, every rep counts."), nil},
		{"NearMiss_MoneySpelledOut", withSnippet(t, "At $45,000,000 in revenue, or 45 million, every rep counts."), nil},
		{"NearMiss_Employees", withSnippet(t, "With 250 people, every rep counts."), nil},
		{"NearMiss_CTAMinutes", withSnippet(t, "Open to a 15-min chat next Tuesday?"), nil},
		{"NearMiss_SmallCount", withSnippet(t, "I have 2 ideas for your B2B team."), nil},
		{"NearMiss_LinkDigits", withSnippet(t, "Grab a time: calendly.com/ingren/demo-2024"), nil},
	})
}
