// Package offline is the email.Writer that calls no model: it answers with
// the offline template (prompts/offline_email.txt), which the Prompt
// renders from the request's own fields and the same data as its messages.
// It serves demos, tests and a campaign run without an API key.
package offline

import (
	"context"
	"errors"
	"fmt"

	"github.com/ingren/ingren/internal/email"
)

// Model is the Draft.Model of every offline draft.
const Model = email.OfflineModel

// Writer answers every Prompt with its offline template. It is
// deterministic and safe for concurrent use.
type Writer struct{}

var _ email.Writer = (*Writer)(nil)

// New returns a Writer.
func New() *Writer { return &Writer{} }

// Write renders the offline email of every email p's answer holds. A repair
// prompt renders the same emails again: there is no model to take the
// problems into account, so the caller's checks decide what to do with
// them. Usage is zero.
func (w *Writer) Write(ctx context.Context, p email.Prompt) (email.Draft, error) {
	if err := ctx.Err(); err != nil {
		return email.Draft{}, fmt.Errorf("offline: %w", err)
	}
	if p.Offline == nil {
		return email.Draft{}, errors.New("offline: the prompt has no offline template")
	}
	d := email.Draft{Model: Model}
	// One render per email asked for: the template sees .Step (0 for the
	// first email) to write variants or follow-ups.
	for step := range p.Answer.Emails {
		m, err := p.Offline(step)
		if err != nil {
			return email.Draft{}, fmt.Errorf("offline: %w", err)
		}
		if m.Subject == "" || m.Body == "" {
			// A replaced template (PROMPTS_DIR) that renders nothing for this
			// request is a template bug; calling again will not fix it.
			return email.Draft{}, &email.Error{Kind: email.KindBadOutput, Err: errors.New("offline template rendered an empty subject or body")}
		}
		if step == 0 {
			d.Subject, d.Body = m.Subject, m.Body
		} else {
			d.More = append(d.More, m)
		}
	}
	return d, nil
}
