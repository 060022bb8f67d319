// Package offline is the email.Writer that calls no model: it renders the
// offline template from the request's own fields. It serves demos, tests
// and a campaign run without an API key.
package offline

import (
	"context"
	"errors"
	"fmt"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/prompt"
)

// Model is the Draft.Model of every offline draft.
const Model = "offline"

// Writer renders prompt.OfflineFile. It is deterministic and safe for
// concurrent use.
type Writer struct {
	prompts *prompt.Set
}

var _ email.Writer = (*Writer)(nil)

// New returns a Writer that renders with prompts.
func New(prompts *prompt.Set) *Writer { return &Writer{prompts: prompts} }

// Write renders the offline email for job.Request. A repair job renders the
// same email again: there is no model to take the problems into account,
// so the caller's checks decide what to do with it. Usage is zero.
func (w *Writer) Write(ctx context.Context, job email.Job) (email.Draft, error) {
	if err := ctx.Err(); err != nil {
		return email.Draft{}, fmt.Errorf("offline: %w", err)
	}
	if job.Request == nil {
		return email.Draft{}, errors.New("offline: job has no request")
	}
	d := email.Draft{Model: Model}
	data := prompt.NewData(job.Request, nil)
	// One render per email asked for: the template sees .Step (0 for the
	// first email) to write variants or follow-ups.
	for step := range job.Request.Options.Emails() {
		data.Step = step
		subject, body, err := w.prompts.Offline(data)
		if err != nil {
			return email.Draft{}, fmt.Errorf("offline: %w", err)
		}
		if subject == "" || body == "" {
			// A replaced template (PROMPTS_DIR) that renders nothing for this
			// request is a template bug; calling again will not fix it.
			return email.Draft{}, &email.Error{Kind: email.KindBadOutput, Err: errors.New("offline template rendered an empty subject or body")}
		}
		if step == 0 {
			d.Subject, d.Body = subject, body
		} else {
			d.More = append(d.More, email.Message{Subject: subject, Body: body})
		}
	}
	return d, nil
}
