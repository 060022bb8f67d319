package email

import (
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

// Limits of an email given to be linted. A written email's body is at most
// MaxMaxWords words; these leave room for one written elsewhere.
const (
	MaxLintSubject = 300
	MaxLintBody    = 20000
)

// LintRequest is an email written elsewhere, or one of ours edited, with
// whatever it was written from. The context is optional: a number or name
// that none of it gives is an invented fact, so the more context, the
// fewer false alarms; without a first name the greeting is not checked.
type LintRequest struct {
	Subject  string   `json:"subject" jsonschema:"The email's subject line."`
	Body     string   `json:"body" jsonschema:"The email's text, greeting and sign-off included."`
	Prospect Prospect `json:"prospect" jsonschema:"Who the email was written to: the facts it may use."`
	Company  Company  `json:"company" jsonschema:"The prospect's company: facts the email may use."`
	CTA      CTA      `json:"cta" jsonschema:"What the email asks for."`
	Sender   Sender   `json:"sender" jsonschema:"Who signs the email."`
	// Options: max_words sets the length limit; the rest is checked as in
	// a request to write, and otherwise unused.
	Options Options `json:"options" jsonschema:"max_words sets the length limit."`
}

// Linted is what the checks found in a LintRequest's email.
type Linted struct {
	Quality lint.Report `json:"quality"`
	// NeedsReview: the email has an error-level finding and must not be
	// sent as it is.
	NeedsReview bool `json:"needs_review"`
}

// request is the context l gives, as a request to write it.
func (l *LintRequest) request() *Request {
	return &Request{Prospect: l.Prospect, Company: l.Company, CTA: l.CTA, Sender: l.Sender, Options: l.Options}
}

// DecodeLint reads and checks a lint request body, as Decode does a
// request to write: every problem at once, unknown members as warnings.
func (c *Composer) DecodeLint(b []byte) (LintRequest, []string, error) {
	var req LintRequest
	warnings, err := decodeChecked(b, &req, func(v *fault.Fields) {
		required(v, "subject", req.Subject, MaxLintSubject)
		required(v, "body", req.Body, MaxLintBody)
		req.request().check(v, "", optional)
	})
	return req, warnings, err
}

// Lint runs on l's email the checks a written email gets, against the
// facts its context gives and the system prompt: the same report, without
// a model call or a repair round.
func (c *Composer) Lint(l *LintRequest) Linted {
	rep := c.CheckEdit(l.request(), l.Subject, l.Body)
	return Linted{Quality: rep, NeedsReview: rep.HasErrors()}
}

// CheckEdit runs on a reviewer's edit of the main email written for req
// the checks a written email gets (as Lint does): the same report,
// without a model call or a repair round.
func (c *Composer) CheckEdit(req *Request, subject, body string) lint.Report {
	return lint.Check(lint.Input{
		Subject: subject, Body: body, FirstName: req.Prospect.FirstName,
		MaxWords: req.Options.WithDefaults().MaxWords, Facts: Facts(req), Prompt: c.lintPrompt(),
	})
}
