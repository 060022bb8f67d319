package email

import (
	"context"
)

// OfflineModel is the model name an offline Writer reports.
const OfflineModel = "offline"

// Result is a finished email with what the caller should know about it.
type Result struct {
	Draft
	Warnings []string
}

// Composer writes emails for valid requests: it calls the Writer and, when
// a Checker finds errors, runs one repair round.
type Composer struct {
	Writer Writer
}

// Compose writes the email for req, which must be valid.
func (c *Composer) Compose(ctx context.Context, req *Request) (Result, error) {
	d, err := c.Writer.Write(ctx, Job{Request: req})
	if err != nil {
		return Result{}, err
	}
	res := Result{Draft: d}
	if d.Model == OfflineModel {
		res.Warnings = append(res.Warnings, "offline mode: no model was called; this email was composed from a template (set OPENAI_API_KEY or OPENAI_BASE_URL)")
	}
	return res, nil
}
