package lint_test

import "testing"

func TestCheckMarkdown(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_Bold", withSnippet(t, "The **new enterprise product line** looks strong."), []string{"markdown"}},
		{"Hit_Emphasis", withSnippet(t, "That is *exactly* the moment to act."), []string{"markdown"}},
		{"Hit_Heading", withSnippet(t, "## Why now\nThe launch changes what reps sell."), []string{"markdown"}},
		{"Hit_Code", withSnippet(t, "Your `Salesforce` data is enough."), []string{"markdown"}},
		{"Hit_Link", withSnippet(t, "Grab a time [here](https://calendly.com/ingren/demo)."), []string{"markdown"}},
		{"Hit_HTML", withSnippet(t, "Congrats on the launch.<br>"), []string{"markdown"}},
		{"Hit_HTMLAnchor", withSnippet(t, `See <a href="https://calendly.com/ingren/demo">my calendar</a>.`), []string{"markdown"}},
		{"Hit_HTMLSelfClosing", withSnippet(t, "Congrats on the launch.<br/>"), []string{"markdown"}},
		{"Hit_Citation", withSnippet(t, "The launch got good coverage [1]."), []string{"markdown"}},
		{"Hit_Rule", withSnippet(t, "The launch changes what reps sell.\n---"), []string{"markdown"}},
		{"NearMiss_Multiply", withSnippet(t, "Ten reps * four hours a day is a lot of writing."), nil},
		{"NearMiss_NumberSign", withSnippet(t, "#1 on most sales leaders' lists is ramp time."), nil},
		{"NearMiss_SignatureDashes", withBody(t, "Hi Sarah,\n\n"+filler+"\n\n--\nAlex Rivera"), nil},
	})
}

func TestCheckBulletList(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_TwoBullets", withSnippet(t, "Two ideas:\n- faster ramp for new reps\n- fewer blank pages"), []string{"bullet_list"}},
		{"Hit_Numbered", withSnippet(t, "Two ideas:\n1. faster ramp for new reps\n2. fewer blank pages"), []string{"bullet_list"}},
		{"NearMiss_DashSignature", withBody(t, "Hi Sarah,\n\n"+filler+"\n\n- Alex"), nil},
	})
}
