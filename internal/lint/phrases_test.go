package lint_test

import "testing"

func TestCheckMetaText(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_HeresAnEmail", withBody(t, "Here's an email for Sarah:\n\nHi Sarah,\n\n"+filler+"\n\nBest,\nAlex Rivera"), []string{"meta_text"}},
		{"Hit_HereIsADraft", withSnippet(t, "Here is a draft you can send."), []string{"meta_text"}},
		{"Hit_SubjectInBody", withSnippet(t, "Subject: new reps at TechNova"), []string{"meta_text"}},
		{"Hit_SubjectPrefix", withSubject(t, "Subject: new reps at TechNova"), []string{"meta_text"}},
		{"Hit_AsAnAI", withSnippet(t, "As an AI, I cannot know your goals."), []string{"meta_text"}},
		{"Hit_Apology", withSnippet(t, "I apologize for the confusion."), []string{"meta_text"}},
		{"Hit_SorryBut", withSnippet(t, "I’m sorry, but I need more data."), []string{"meta_text"}},
		{"Hit_SureOpener", withBody(t, "Sure!\n\nHi Sarah,\n\n"+filler+"\n\nBest,\nAlex Rivera"), []string{"meta_text"}},
		{"Hit_CertainlyOpener", withBody(t, "Certainly! Hi Sarah,\n\n"+filler+"\n\nBest,\nAlex Rivera"), []string{"meta_text"}},
		{"Hit_FeelFreeToCustomize", withSnippet(t, "Feel free to customize the opening line."), []string{"meta_text"}},
		{"NearMiss_SureMidSentence", withSnippet(t, "I am sure the launch kept your team busy."), nil},
		{"NearMiss_SubjectWord", withSnippet(t, "The subject of ramp time comes up with every sales leader."), nil},
		{"NearMiss_FeelFree", withSnippet(t, "Feel free to forward this to whoever owns outbound."), nil},
	})
}

func TestCheckCliche(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_HopeThisFindsYou", withSnippet(t, "I hope this email finds you well."), []string{"cliche"}},
		{"Hit_Leverage", withSnippet(t, "You could leverage your Salesforce data."), []string{"cliche"}},
		{"Hit_TouchBase", withSnippet(t, "Happy to touch base after the launch."), []string{"cliche"}},
		{"Hit_FastPaced", withSnippet(t, "In today’s fast-paced world, reps need help."), []string{"cliche"}},
		{"Hit_InSubject", withSubject(t, "Unlock TechNova pipeline"), []string{"cliche"}},
		{"NearMiss_Unlocked", withSnippet(t, "Your reps unlocked a new segment with the launch."), nil},
		{"NearMiss_Elevator", withSnippet(t, "The short version fits in one elevator ride."), nil},
		{"NearMiss_InFacts", withFacts(withSnippet(t, "We worked with Elevate Labs last year."), "Elevate Labs"), nil},
	})
}

func TestCheckSpamPhrase(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_FreeTrial", withSnippet(t, "Start a free trial today."), []string{"spam_phrase"}},
		{"Hit_Guaranteed", withSnippet(t, "Results are guaranteed."), []string{"spam_phrase"}},
		{"Hit_ClickHere", withSnippet(t, "Click here to see it."), []string{"spam_phrase"}},
		{"Hit_ActNow", withSnippet(t, "Act now, before the quarter ends."), []string{"spam_phrase"}},
		{"Hit_100Percent", withSnippet(t, "Your reps will be 100% ready."), []string{"spam_phrase", "invented_fact"}},
		{"Hit_FakeReply", withSubject(t, "Re: new reps at TechNova"), []string{"spam_phrase"}},
		{"NearMiss_Regarding", withSubject(t, "Regarding new reps at TechNova"), nil},
		{"NearMiss_AreYouFree", withSnippet(t, "Are you free next Tuesday?"), nil},
		{"NearMiss_InFacts", withFacts(withSnippet(t, "Start a free trial today."), "Start a free trial today"), nil},
	})
}
