package lint_test

import (
	"testing"

	"github.com/ingren/ingren/internal/lint"
)

func TestCheckLength(t *testing.T) {
	testRules(t, []ruleCase{
		{"Hit_TooLong", withBody(t, "Hi Sarah,\n\n"+words(130)), []string{"too_long"}},
		{"Hit_WayTooLong", withBody(t, "Hi Sarah,\n\n"+words(190)), []string{"too_long"}},
		{"Hit_OverCustomLimit", func() lint.Input { in := withBody(t, "Hi Sarah,\n\n"+words(70)); in.MaxWords = 60; return in }(), []string{"too_long"}},
		{"NearMiss_AtLimit", withBody(t, "Hi Sarah,\n\n"+words(123)), nil},
		{"NearMiss_ShortUnderSmallLimit", func() lint.Input {
			in := withBody(t, "Hi Sarah,\n\n"+words(18))
			in.MaxWords = 30
			return in
		}(), nil},
		{"Hit_TooShort", withBody(t, "Hi Sarah,\n\nOpen to a 15-min chat next Tuesday?\n\nAlex"), []string{"too_short"}},
		{"NearMiss_25Words", withBody(t, "Hi Sarah,\n\n"+words(23)), nil},
		{"Hit_EmptySubject", withSubject(t, "  "), []string{"empty_subject"}},
		{"Hit_EmptyBody", withBody(t, " \n "), []string{"empty_body"}},
		{"NearMiss_OneWordSubject", withSubject(t, "Ramp"), nil},
		{"Hit_SubjectMultiline", withSubject(t, "New reps\nat TechNova"), []string{"subject_multiline"}},
		{"NearMiss_SubjectTrailingNewline", withSubject(t, "New reps at TechNova\r\n"), nil},
		{"Hit_SubjectTooLong", withSubject(t, "Onboarding new reps after the TechNova launch"), []string{"subject_too_long"}},
		{"NearMiss_Subject40", withSubject(t, "Onboarding new reps at TechNova this May"), nil},
		{"Hit_SubjectManyWords", withSubject(t, "is it ok if we talk on a call"), []string{"subject_too_many_words"}},
		{"NearMiss_Subject8Words", withSubject(t, "is it ok if we talk on calls"), nil},
	})
}

func TestCheckTooLongSeverity(t *testing.T) {
	tests := []struct {
		name  string
		words int
		want  lint.Severity
	}{
		{"Warning", 130, lint.SeverityWarning},
		{"WarningAt1.5x", 187, lint.SeverityWarning},
		{"ErrorPast1.5x", 190, lint.SeverityError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lint.Check(withBody(t, words(tt.words)))
			if len(r.Findings) != 1 || r.Findings[0].Code != "too_long" || r.Findings[0].Severity != tt.want {
				t.Fatalf("findings = %+v, want one too_long %s", r.Findings, tt.want)
			}
		})
	}
}
