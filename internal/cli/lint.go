package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

const lintAbout = `Checks an email as Ingren checks the emails it writes (POST /api/v1/lint; no model
is called) and prints its quality score and findings. FILE is "-" for the standard input,
a .json file with the body of POST /api/v1/lint, or text as ingren generate prints it:

  Subject: the subject

  The body, to the end of the file.

With -context, the prospect, company, cta, sender and options of a generate-email request
are what the email was written from: a number or name that none of them gives is flagged
as invented. Exit status: 0 when the email may be sent, 4 when it needs review (an
error-level finding), 1 on any other error.`

func lintCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "lint", "[-context REQUEST.json] [-json] FILE", lintAbout)
	contextFile := fs.String("context", "", "a generate-email request `file` the email was written from")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	body, err := lintBody(env, pos[0], *contextFile)
	if err != nil {
		return fail(env, err)
	}
	res, err := c.Lint(ctx, body)
	if err != nil {
		return fail(env, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		verdict := "may be sent"
		if res.NeedsReview {
			verdict = "needs review"
		}
		fmt.Fprintf(env.Stdout, "quality %d/100: %s\n", res.Quality.Score, verdict)
		for _, f := range res.Quality.Findings {
			fmt.Fprintf(env.Stdout, "%-7s  %s: %s\n", f.Severity, f.Code, f.Message)
		}
	}
	if res.NeedsReview {
		return ExitNeedsReview
	}
	return ExitOK
}

// lintBody builds the JSON of POST /api/v1/lint from the email in file and
// the request in contextFile.
func lintBody(env Env, file, contextFile string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		if env.Stdin == nil {
			return nil, fmt.Errorf("no standard input")
		}
		b, err = io.ReadAll(env.Stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	req := map[string]json.RawMessage{}
	if strings.HasSuffix(strings.ToLower(file), ".json") {
		if err := json.Unmarshal(b, &req); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object: %w", file, err)
		}
	} else {
		subject, body, err := splitEmail(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		req["subject"], _ = json.Marshal(subject)
		req["body"], _ = json.Marshal(body)
	}
	if contextFile != "" {
		cb, err := os.ReadFile(contextFile)
		if err != nil {
			return nil, err
		}
		var ctx map[string]json.RawMessage
		if err := json.Unmarshal(cb, &ctx); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object: %w", contextFile, err)
		}
		for _, k := range []string{"prospect", "company", "cta", "sender", "options"} {
			if v, ok := ctx[k]; ok {
				req[k] = v
			}
		}
	}
	return json.Marshal(req)
}

// splitEmail reads text as ingren generate prints an email: a Subject line,
// a blank line, the body.
func splitEmail(text string) (subject, body string, err error) {
	text = strings.TrimPrefix(strings.ReplaceAll(text, "\r\n", "\n"), "\ufeff")
	head, rest, _ := strings.Cut(text, "\n")
	name, value, ok := strings.Cut(head, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "subject") {
		return "", "", fmt.Errorf(`line 1 must be "Subject: ..." followed by a blank line and the body (or give a .json file with subject and body)`)
	}
	return strings.TrimSpace(value), strings.TrimLeft(rest, "\n"), nil
}
