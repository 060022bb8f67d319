package mcp

import (
	"context"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ingren/ingren/internal/client"
	"github.com/ingren/ingren/internal/email"
)

const generateAbout = `Writes one personalized cold sales email to one prospect and checks it (POST /api/v1/generate-email).
COSTS MONEY: it calls a paid language model and takes a few seconds. For many prospects use create_campaign.
Give the prospect's first_name and the company's company_name, plus every fact you have about them:
a number or name the email uses must come from the data given, or the email is flagged (invented_fact).
cta.ask is what the email asks for; sender.value_proposition is what the sender offers.
options may ask for A/B variants or a sequence with follow-ups.
Returns subject, body, the quality report (score out of 100, findings) and needs_review:
true means an error-level finding remains and the email must not be sent as it is.`

const lintAbout = `Checks an email written elsewhere, or one edited by hand, with the checks Ingren's own emails get
(POST /api/v1/lint): placeholders, AI chatter, markdown, length, spam phrases, cliches, the greeting's name,
and invented facts (a number or name that none of prospect, company, cta and sender gives).
FREE: no model is called, it answers at once. Give what the email was written from, or every number in it
is flagged as invented. Returns the quality report (score out of 100, findings) and needs_review: true means
an error-level finding and the email must not be sent as it is.`

// addEmail adds the tools that write or check one email.
func (t *tools) addEmail(s *sdk.Server) {
	gen := inferred[email.Request]()
	requestSchema(gen, true)
	gen.Required = []string{"prospect", "company"}
	sdk.AddTool(s, &sdk.Tool{
		Name: "generate_email", Title: "Write a sales email", Description: generateAbout, InputSchema: gen,
		Annotations: &sdk.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}, t.generate)

	lint := inferred[email.LintRequest]()
	requestSchema(lint, false)
	lint.Required = []string{"subject", "body"}
	sdk.AddTool(s, &sdk.Tool{
		Name: "lint_email", Title: "Check an email", Description: lintAbout, InputSchema: lint,
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, t.lint)
}

// generate sends the arguments as they came: they are the API's body,
// and the API, not the typed copy, is the one that validates them and
// warns of members it does not know.
func (t *tools) generate(ctx context.Context, req *sdk.CallToolRequest, _ email.Request) (*sdk.CallToolResult, *client.Email, error) {
	res, err := t.api.Generate(ctx, req.Params.Arguments)
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	return text(emailText(res)), res, nil
}

func (t *tools) lint(ctx context.Context, req *sdk.CallToolRequest, _ email.LintRequest) (*sdk.CallToolResult, *client.Linted, error) {
	res, err := t.api.Lint(ctx, req.Params.Arguments)
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	var b strings.Builder
	qualityText(&b, res.Quality, res.NeedsReview)
	warningsText(&b, res.Warnings)
	return text(b.String()), res, nil
}

// emailText is a written email as a person reads it: the email, its
// variants or sequence, its quality.
func emailText(e *client.Email) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\n\n%s\n\n", e.Subject, e.Body)
	for i, v := range e.Variants {
		if i > 0 {
			fmt.Fprintf(&b, "--- Variant %d\nSubject: %s\n\n%s\n\n", i+1, v.Subject, v.Body)
		}
	}
	for i, s := range e.Sequence {
		if i > 0 && s.Day != nil {
			fmt.Fprintf(&b, "--- Follow-up %d, day %d\nSubject: %s\n\n%s\n\n", i, *s.Day, s.Subject, s.Body)
		}
	}
	qualityText(&b, e.Quality, e.NeedsReview)
	warningsText(&b, e.Warnings)
	return b.String()
}

func qualityText(b *strings.Builder, q client.Quality, needsReview bool) {
	verdict := "may be sent"
	if needsReview {
		verdict = "NEEDS REVIEW: must not be sent as it is"
	}
	fmt.Fprintf(b, "Quality %d/100, %s.\n", q.Score, verdict)
	for _, f := range q.Findings {
		fmt.Fprintf(b, "- %s %s: %s\n", f.Severity, f.Code, f.Message)
	}
}

func warningsText(b *strings.Builder, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(b, "Warning: %s\n", w)
	}
}

// text is a tool result whose content is s; the SDK adds the structured
// output.
func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

func ptr[T any](v T) *T { return &v }
