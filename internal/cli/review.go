package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ingren/ingren/internal/client"
)

// The review of a campaign from the terminal: list its emails by status or
// decision, read one, approve or reject some, retry the failed ones. The
// web console (GET /) does the same for people who prefer a browser.

// statusList splits a --status flag's comma-separated list.
func statusList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func emailsCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign emails", "ID [--status LIST]",
		"Lists a campaign's emails, one a line: index, status, review decision, quality score,\n"+
			"ref and subject. --status keeps those of any of the statuses (succeeded, needs_review,\n"+
			"failed, pending) and any of the decisions (approved, rejected, unreviewed) given.")
	status := fs.String("status", "", "comma-separated statuses and decisions, as needs_review,unreviewed")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tSTATUS\tREVIEW\tSCORE\tREF\tSUBJECT")
	cursor := ""
	for {
		page, err := c.Emails(ctx, pos[0], cursor, 1000, statusList(*status)...)
		if err != nil {
			tw.Flush()
			return fail(env, err)
		}
		for _, e := range page.Emails {
			review, score := "-", "-"
			if e.Review != nil {
				review = *e.Review
			}
			if e.Quality != nil {
				score = strconv.Itoa(e.Quality.Score)
			}
			subject := e.Subject
			if e.Status == "failed" {
				subject = "(" + e.Error + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Index, e.Status, review, score, e.Ref, oneLine(subject))
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	tw.Flush()
	return ExitOK
}

// oneLine keeps a table's cell on its line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func showCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign show", "ID INDEX", "Prints one email of a campaign: its status, review, quality findings, subject and body.")
	pos, c, code := start(env, fs, args, 2)
	if code >= 0 {
		return code
	}
	index, err := strconv.Atoi(pos[1])
	if err != nil || index < 0 {
		fmt.Fprintf(env.Stderr, "ingren campaign show: INDEX must be a whole number from 0, not %q\n", pos[1])
		return ExitUsage
	}
	e, err := c.Email(ctx, pos[0], index)
	if err != nil {
		return fail(env, err)
	}
	printEmail(env, e)
	return ExitOK
}

func printEmail(env Env, e *client.CampaignEmail) {
	review := "-"
	if e.Review != nil {
		review = *e.Review
	}
	fmt.Fprintf(env.Stdout, "email %d (%s): %s, review %s, version %d\n", e.Index, e.Ref, e.Status, review, e.Version)
	if e.Error != "" {
		fmt.Fprintf(env.Stdout, "error: %s\n", e.Error)
	}
	if e.Quality != nil {
		fmt.Fprintf(env.Stdout, "quality: %d\n", e.Quality.Score)
		for _, f := range e.Quality.Findings {
			fmt.Fprintf(env.Stdout, "  %s %s: %s\n", f.Severity, f.Code, f.Message)
		}
	}
	if e.Edited {
		fmt.Fprintln(env.Stdout, "edited by a reviewer")
	}
	if e.Note != "" {
		fmt.Fprintf(env.Stdout, "note: %s\n", e.Note)
	}
	if e.Subject != "" || e.Body != "" {
		fmt.Fprintf(env.Stdout, "\nSubject: %s\n\n%s\n", e.Subject, e.Body)
	}
}

// reviewCmd approves or rejects emails by index, each whatever its
// version: the reviewer names what they read in the listing.
func reviewCmd(ctx context.Context, args []string, env Env, verb, decision string) int {
	fs := command(env, "campaign "+verb, "ID INDEX... [--note TEXT]",
		"Marks emails "+decision+" (an email without a draft, pending or failed, is refused).\n"+
			"download --status approved then writes the approved emails alone.")
	note := fs.String("note", "", "a note for the team, on each email")
	pos, code := parse(fs, args, -1)
	if code >= 0 {
		return code
	}
	if len(pos) < 2 {
		fmt.Fprintf(env.Stderr, "ingren campaign %s: want a campaign id and at least one index (see ingren campaign %s -h)\n", verb, verb)
		return ExitUsage
	}
	indexes := make([]int, len(pos)-1)
	for i, v := range pos[1:] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(env.Stderr, "ingren campaign %s: INDEX must be a whole number from 0, not %q\n", verb, v)
			return ExitUsage
		}
		indexes[i] = n
	}
	c, err := newClient(env)
	if err != nil {
		return fail(env, err)
	}
	ch := client.EmailChange{Review: &decision}
	if *note != "" {
		ch.Note = note
	}
	code = ExitOK
	for _, i := range indexes {
		if _, err := c.ChangeEmail(ctx, pos[0], i, client.AnyVersion, ch); err != nil {
			fmt.Fprintf(env.Stderr, "email %d: ", i)
			code = fail(env, err)
			continue
		}
		fmt.Fprintf(env.Stdout, "email %d %s\n", i, decision)
	}
	return code
}

func retryCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign retry", "ID [--include-needs-review]",
		"Writes a finished campaign's failed emails again (and, with --include-needs-review,\n"+
			"its flagged ones not approved), then shows its progress until it ends.")
	include := fs.Bool("include-needs-review", false, "retry the needs_review emails not approved too")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	r, err := c.Retry(ctx, pos[0], *include)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stderr, "campaign %s: retrying %d email(s)\n", r.CampaignID, r.Retried)
	final, err := watch(ctx, c, r.CampaignID, env)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(env.Stderr, "\nstopped watching; the campaign goes on. Resume with:\n  ingren campaign watch %s\n", r.CampaignID)
			return ExitInterrupted
		}
		return fail(env, err)
	}
	fmt.Fprintf(env.Stderr, "%d with an email (%d need review), %d failed\n", final.Drafts(), final.NeedsReview, final.Failed)
	if final.Failed > 0 {
		return ExitSomeFailed
	}
	return ExitOK
}
