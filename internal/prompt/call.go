package prompt

import "github.com/ingren/ingren/internal/email"

var _ email.Prompter = (*Set)(nil)

// Prompt renders the model call that writes req: the system prompt and the
// user message, for a rewrite (req.Rewrite set) the message asking for a
// new version of the draft, and, on a repair round (previous is not nil),
// previous as the model's answer and the repair message listing problems. Model,
// temperature and the answer's form and limit come from req's options; the
// Prompt's Repair and Offline render from the same data as its messages.
func (s *Set) Prompt(req *email.Request, previous *email.Draft, problems []string) (email.Prompt, error) {
	d := NewData(req, problems)
	system, err := s.System(d)
	if err != nil {
		return email.Prompt{}, err
	}
	user, err := s.User(d)
	if err != nil {
		return email.Prompt{}, err
	}
	answer := email.Answer{Emails: d.Emails}
	p := email.Prompt{
		Messages:    []email.Turn{{Role: email.RoleSystem, Content: system}, {Role: email.RoleUser, Content: user}},
		Model:       d.Options.Model,
		Temperature: d.Options.Temperature,
		MaxTokens:   answer.MaxTokens(d.Options.MaxWords),
		Answer:      answer,
		Repair: func(problems []string) (string, error) {
			return s.Repair(d.withProblems(problems))
		},
		Offline: func(step int) (email.Message, error) {
			d := d
			d.Step = step
			subject, body, err := s.Offline(d)
			return email.Message{Subject: subject, Body: body}, err
		},
	}
	if req.Rewrite != nil {
		rewrite, err := s.Rewrite(d)
		if err != nil {
			return email.Prompt{}, err
		}
		p.Messages = append(p.Messages, email.Turn{Role: email.RoleUser, Content: rewrite})
	}
	if previous == nil {
		return p, nil
	}
	fix, err := s.Repair(d)
	if err != nil {
		return email.Prompt{}, err
	}
	p.Messages = append(p.Messages, email.Turn{Role: email.RoleAssistant, Content: email.EncodeAnswer(previous.All())},
		email.Turn{Role: email.RoleUser, Content: fix})
	return p, nil
}
