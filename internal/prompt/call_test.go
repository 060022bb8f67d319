package prompt_test

import (
	"slices"
	"testing"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/prompt"
)

// TestPrompt checks that a call carries the templates rendered from one
// data, the options' model and temperature, and the answer's form and
// limit: what every Writer sends and reads.
func TestPrompt(t *testing.T) {
	set := mustSet(t)
	temp := 0.3
	tests := []struct {
		name      string
		options   email.Options
		rewrite   *email.Rewrite
		previous  *email.Draft
		problems  []string
		wantRoles []email.Role
		wantPrev  string // the assistant message of a repair round
		wantN     int
	}{
		{name: "OKSingle", wantRoles: []email.Role{email.RoleSystem, email.RoleUser}, wantN: 1},
		{name: "OKOptions", options: email.Options{Model: "gpt-4o", Temperature: &temp, MaxWords: 60, Language: "German"},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser}, wantN: 1},
		{name: "OKSequence", options: email.Options{Sequence: &email.Sequence{FollowUps: 2, Days: []int{2}}},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser}, wantN: 3},
		{name: "OKRepairRound", previous: &email.Draft{Subject: "Old <subject>", Body: "Hi Mark,\n\nA & B."},
			problems:  []string{"The greeting names Mark, not Sarah."},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser, email.RoleAssistant, email.RoleUser},
			wantPrev:  `{"subject":"Old <subject>","body":"Hi Mark,\n\nA & B."}`, wantN: 1},
		{name: "OKRepairRoundVariants", options: email.Options{Variants: 2},
			previous:  &email.Draft{Subject: "A", Body: "a", More: []email.Message{{Subject: "B", Body: "b"}}},
			problems:  []string{"email_2: too short"},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser, email.RoleAssistant, email.RoleUser},
			wantPrev:  `{"email_1":{"subject":"A","body":"a"},"email_2":{"subject":"B","body":"b"}}`, wantN: 2},
		{name: "OKRewrite", rewrite: &email.Rewrite{Subject: "Quick idea", Body: "Hi Sarah,\n\nA line.", Instructions: "shorter"},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser, email.RoleUser}, wantN: 1},
		{name: "OKRewriteRepairRound", rewrite: &email.Rewrite{Instructions: "mention the funding round"},
			previous:  &email.Draft{Subject: "A", Body: "a"},
			problems:  []string{"too short"},
			wantRoles: []email.Role{email.RoleSystem, email.RoleUser, email.RoleUser, email.RoleAssistant, email.RoleUser},
			wantPrev:  `{"subject":"A","body":"a"}`, wantN: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := MustRequest(t, "sarah.json")
			req.Options = tt.options
			req.Rewrite = tt.rewrite
			p, err := set.Prompt(req, tt.previous, tt.problems)
			if err != nil {
				t.Fatal(err)
			}
			roles := make([]email.Role, len(p.Messages))
			for i, m := range p.Messages {
				roles[i] = m.Role
			}
			if !slices.Equal(roles, tt.wantRoles) {
				t.Fatalf("roles %v, want %v", roles, tt.wantRoles)
			}
			d := prompt.NewData(req, tt.problems)
			want := []string{mustRun(t, set.System, d), mustRun(t, set.User, d)}
			if tt.rewrite != nil {
				want = append(want, mustRun(t, set.Rewrite, d))
			}
			if tt.previous != nil {
				want = append(want, tt.wantPrev, mustRun(t, set.Repair, d))
			}
			for i, m := range p.Messages {
				if m.Content != want[i] {
					t.Errorf("message %d:\n%s\nwant:\n%s", i, m.Content, want[i])
				}
			}
			maxWords := req.Options.WithDefaults().MaxWords
			if p.Model != tt.options.Model || p.Temperature != tt.options.Temperature ||
				p.Answer.Emails != tt.wantN || p.MaxTokens != tt.wantN*(4*maxWords+100) {
				t.Errorf("model %q, temperature %v, answer %+v, max tokens %d", p.Model, p.Temperature, p.Answer, p.MaxTokens)
			}
			fix, err := p.Repair([]string{"the body is missing or empty"})
			if want := mustRun(t, set.Repair, prompt.NewData(req, []string{"the body is missing or empty"})); err != nil || fix != want {
				t.Errorf("Repair = %q, %v; want %q", fix, err, want)
			}
			for step := range tt.wantN {
				d.Step = step
				subject, body, err := set.Offline(d)
				if err != nil {
					t.Fatal(err)
				}
				if m, err := p.Offline(step); err != nil || m != (email.Message{Subject: subject, Body: body}) {
					t.Errorf("Offline(%d) = %+v, %v; want %q / %q", step, m, err, subject, body)
				}
			}
		})
	}
}

func mustRun(tb testing.TB, render func(prompt.Data) (string, error), d prompt.Data) string {
	tb.Helper()
	s, err := render(d)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
