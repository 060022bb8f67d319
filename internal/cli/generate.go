package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
)

func generate(ctx context.Context, args []string, env Env) int {
	fs := command(env, "generate", "FILE.json",
		"Writes one email for the request in FILE.json (the body of POST /api/v1/generate-email)\nand prints it: the subject, a blank line, the body. Warnings go to the standard error.")
	pos, code := parse(fs, args, 1)
	if code >= 0 {
		return code
	}
	body, err := os.ReadFile(pos[0])
	if err != nil {
		return fail(env, err)
	}
	c, err := newClient(env)
	if err != nil {
		return fail(env, err)
	}
	e, err := c.Generate(ctx, body)
	if err != nil {
		return fail(env, err)
	}
	for _, w := range e.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	if e.NeedsReview {
		fmt.Fprintf(env.Stderr, "warning: the email needs review (quality score %d)\n", e.Quality.Score)
	}
	steps := e.Sequence
	if len(steps) == 0 {
		steps = e.Variants
	}
	if len(steps) == 0 {
		fmt.Fprintf(env.Stdout, "Subject: %s\n\n%s\n", e.Subject, strings.TrimRight(e.Body, "\n"))
		return ExitOK
	}
	for i, s := range steps {
		if i > 0 {
			fmt.Fprintln(env.Stdout, "\n---")
		}
		if s.Day != nil {
			fmt.Fprintf(env.Stdout, "Day %d\n", *s.Day)
		}
		fmt.Fprintf(env.Stdout, "Subject: %s\n\n%s\n", s.Subject, strings.TrimRight(s.Body, "\n"))
	}
	return ExitOK
}
