package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ingren/ingren/internal/client"
)

const campaignUsage = `Usage: ingren campaign COMMAND

Commands:
  run FILE       submit, show progress until the campaign ends, write its emails
  submit FILE    submit a campaign (.json or .csv) and print its id
  status ID      print a campaign's progress
  watch ID       show a campaign's progress until it ends
  download ID    write a campaign's emails as CSV
  cancel ID      cancel a campaign
  list           list your campaigns
  emails ID      list a campaign's emails (--status approved, needs_review, ...)
  show ID INDEX  print one email, its findings and review
  approve ID INDEX...  approve emails (reject ID INDEX... rejects them)
  retry ID       write a finished campaign's failed emails again

Run ingren campaign COMMAND -h for a command's flags.
`

func campaignMain(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, campaignUsage)
		return ExitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "run":
		return run(ctx, args, env)
	case "submit":
		return submitCmd(ctx, args, env)
	case "status":
		return status(ctx, args, env)
	case "watch":
		return watchCmd(ctx, args, env)
	case "download":
		return download(ctx, args, env)
	case "cancel":
		return cancel(ctx, args, env)
	case "list":
		return list(ctx, args, env)
	case "emails":
		return emailsCmd(ctx, args, env)
	case "show":
		return showCmd(ctx, args, env)
	case "approve":
		return reviewCmd(ctx, args, env, "approve", "approved")
	case "reject":
		return reviewCmd(ctx, args, env, "reject", "rejected")
	case "retry":
		return retryCmd(ctx, args, env)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(env.Stdout, campaignUsage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "ingren campaign: unknown command %q\n\n%s", cmd, campaignUsage)
	return ExitUsage
}

// submitFlags are the flags of submit and run.
type submitFlags struct {
	opts  client.CSVOptions
	batch bool
	// maxCost is --max-cost: the campaign's max_cost_usd, 0 for none.
	maxCost float64
	// yes submits whatever the estimate; confirmAbove is the estimate in
	// US dollars above which the user is asked.
	yes          bool
	confirmAbove float64
}

func (s *submitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.opts.Name, "name", "", "the campaign's name (default: the file's name)")
	fs.StringVar(&s.opts.Ask, "ask", "", "what the emails ask for, for every prospect (CSV)")
	fs.StringVar(&s.opts.CalendarLink, "calendar-link", "", "the link to book a meeting (CSV)")
	fs.StringVar(&s.opts.SenderName, "sender-name", "", "who signs the emails (CSV)")
	fs.StringVar(&s.opts.WebhookURL, "webhook-url", "", "called when the campaign ends (CSV)")
	fs.Func("map", `maps a CSV column to a field, "Column=field" (repeatable)`, func(v string) error {
		col, field, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(col) == "" || strings.TrimSpace(field) == "" {
			return fmt.Errorf("%q is not Column=field", v)
		}
		if s.opts.ColumnMap == nil {
			s.opts.ColumnMap = map[string]string{}
		}
		s.opts.ColumnMap[strings.TrimSpace(col)] = strings.TrimSpace(field)
		return nil
	})
	fs.BoolVar(&s.opts.SkipInvalid, "skip-invalid", false, "submit the valid rows and print each row left out, rather than refusing the file (CSV)")
	fs.BoolVar(&s.batch, "batch", false, "write the emails through the model provider's Batch API: half the price, within 24 hours (JSON and CSV)")
	fs.Float64Var(&s.maxCost, "max-cost", 0, "cap what the campaign's model calls may cost, in US dollars: the prospects it leaves no room for end skipped (JSON and CSV)")
	fs.Float64Var(&s.confirmAbove, "confirm-above", DefaultConfirmAbove, "ask before submitting a campaign estimated above this many US dollars")
	fs.BoolVar(&s.yes, "yes", false, "submit without asking, whatever the estimate")
}

// submit posts file: a .json file as the JSON form, a .csv file as
// text/csv (or multipart/form-data with a column map). It asks for the
// campaign's estimate first, prints it, and submits once confirm agrees.
func (s *submitFlags) submit(ctx context.Context, c *client.Client, file string, env Env) (*client.Accepted, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".json":
		o := s.opts
		if o.Name != "" || o.Ask != "" || o.CalendarLink != "" || o.SenderName != "" || o.WebhookURL != "" || o.ColumnMap != nil || o.SkipInvalid {
			return nil, fmt.Errorf("%s: --name, --ask, --calendar-link, --sender-name, --webhook-url, --map and --skip-invalid are for CSV files; a JSON campaign holds its settings itself", file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if s.batch {
			// The one setting a flag gives a JSON campaign: a file made
			// for realtime runs in batch without an edit.
			if b, err = client.SetMode(b, client.ModeBatch); err != nil {
				return nil, fmt.Errorf("%s: --batch: %w", file, err)
			}
		}
		if s.maxCost != 0 {
			if b, err = client.SetMaxCost(b, s.maxCost); err != nil {
				return nil, fmt.Errorf("%s: --max-cost: %w", file, err)
			}
		}
		est, err := c.EstimateJSON(ctx, b)
		if err != nil {
			return nil, err
		}
		printEstimate(env, est)
		if err := confirm(env, est, batchMode(b), s.confirmAbove, s.yes); err != nil {
			return nil, err
		}
		return c.SubmitJSON(ctx, b)
	case ".csv":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		opts := s.opts
		if s.batch {
			opts.Mode = client.ModeBatch
		}
		opts.MaxCostUSD = s.maxCost
		if opts.Name == "" {
			opts.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
		est, err := c.EstimateCSV(ctx, file, bytes.NewReader(b), opts)
		if err != nil {
			return nil, err
		}
		printEstimate(env, est)
		if err := confirm(env, est, s.batch, s.confirmAbove, s.yes); err != nil {
			return nil, err
		}
		return c.SubmitCSV(ctx, file, bytes.NewReader(b), opts)
	}
	return nil, fmt.Errorf("%s: want a .json or .csv file", file)
}

// printAccepted prints a submit's warnings and the rows --skip-invalid
// left out, one line each: "row 12: first_name is required".
func printAccepted(env Env, acc *client.Accepted) {
	if acc.Mode == client.ModeBatch {
		fmt.Fprintln(env.Stderr, "batch mode: the emails come within 24 hours, at half the price")
	}
	for _, w := range acc.Warnings {
		fmt.Fprintln(env.Stderr, "warning:", w)
	}
	for _, sk := range acc.Skipped {
		for _, f := range sk.Errors {
			fmt.Fprintln(env.Stderr, fieldLine(f)) // f.Field names the row: rows[12].first_name
		}
	}
	if len(acc.Skipped) > 0 {
		fmt.Fprintf(env.Stderr, "skipped %d invalid row(s)\n", len(acc.Skipped))
	}
}

func submitCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign submit", "FILE [flags]",
		"Submits a campaign and prints its id. A .json file is the API's JSON form;\na .csv file is sent as CSV, its columns mapped to fields by header (--map overrides).")
	var sf submitFlags
	sf.register(fs)
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	acc, err := sf.submit(ctx, c, pos[0], env)
	if err != nil {
		return fail(env, err)
	}
	printAccepted(env, acc)
	fmt.Fprintln(env.Stdout, acc.CampaignID)
	return ExitOK
}

func run(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign run", "FILE [flags]",
		"Submits a campaign, shows its progress until it ends, and writes its emails as CSV.\n"+
			"Exit status: 0 when every prospect has an email (needs_review included), 3 when\n"+
			"some have none, 1 when nothing could be submitted. Ctrl-C stops watching, not the campaign.")
	var sf submitFlags
	sf.register(fs)
	out := fs.String("o", "", "where the emails go (default FILE.emails.csv)")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	file := pos[0]
	if *out == "" {
		*out = defaultOut(file)
	}
	acc, err := sf.submit(ctx, c, file, env)
	if err != nil {
		return fail(env, err)
	}
	printAccepted(env, acc)
	fmt.Fprintf(env.Stderr, "campaign %s: %d prospects submitted\n", acc.CampaignID, acc.Total)
	// From here on the campaign runs whatever happens to this command:
	// every way out names the commands that pick it up again.
	input := strings.EqualFold(filepath.Ext(file), ".csv")
	dl := fmt.Sprintf("ingren campaign download %s -o %s", acc.CampaignID, *out)
	if input {
		dl = fmt.Sprintf("ingren campaign download %s --input-columns -o %s", acc.CampaignID, *out)
	}
	resume := func() {
		fmt.Fprintf(env.Stderr, "the campaign goes on. Resume with:\n  ingren campaign watch %s\n  %s\n", acc.CampaignID, dl)
	}
	final, err := watch(ctx, c, acc.CampaignID, env)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprint(env.Stderr, "\nstopped watching; ")
			resume()
			return ExitInterrupted
		}
		code := fail(env, err)
		resume()
		return code
	}
	if _, err := writeCSV(ctx, c, acc.CampaignID, input, *out); err != nil {
		code := fail(env, err)
		fmt.Fprintf(env.Stderr, "download it with: %s\n", dl)
		return code
	}
	fmt.Fprintf(env.Stderr, "wrote %s: %d with an email (%d need review), %d failed, %d skipped\n", *out, final.Drafts(), final.NeedsReview, final.Failed, final.Skipped)
	if final.Failed > 0 || final.Drafts() < final.Total {
		return ExitSomeFailed
	}
	return ExitOK
}

func status(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign status", "ID", "Prints a campaign's status and progress.")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	cmp, err := c.Campaign(ctx, pos[0])
	if err != nil {
		return fail(env, err)
	}
	printCampaign(env, cmp)
	return ExitOK
}

func printCampaign(env Env, c *client.Campaign) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "campaign\t%s\n", c.CampaignID)
	fmt.Fprintf(tw, "name\t%s\n", c.Name)
	fmt.Fprintf(tw, "status\t%s\n", c.Status)
	fmt.Fprintf(tw, "mode\t%s\n", c.Mode)
	fmt.Fprintf(tw, "total\t%d\n", c.Total)
	fmt.Fprintf(tw, "succeeded\t%d\n", c.Succeeded)
	fmt.Fprintf(tw, "needs_review\t%d\n", c.NeedsReview)
	fmt.Fprintf(tw, "failed\t%d\n", c.Failed)
	if c.Skipped > 0 || c.MaxCostUSD != nil {
		fmt.Fprintf(tw, "skipped\t%d\n", c.Skipped)
	}
	fmt.Fprintf(tw, "pending\t%d\n", c.Pending)
	if c.MaxCostUSD != nil {
		fmt.Fprintf(tw, "max_cost_usd\t%s\n", strconv.FormatFloat(*c.MaxCostUSD, 'f', -1, 64))
	}
	fmt.Fprintf(tw, "approved\t%d\n", c.Approved)
	fmt.Fprintf(tw, "rejected\t%d\n", c.Rejected)
	fmt.Fprintf(tw, "unreviewed\t%d\n", c.Unreviewed)
	if c.Retries > 0 {
		fmt.Fprintf(tw, "retries\t%d\n", c.Retries)
	}
	fmt.Fprintf(tw, "created_at\t%s\n", c.CreatedAt.Format(time.RFC3339))
	if c.CompletedAt != nil {
		fmt.Fprintf(tw, "completed_at\t%s\n", c.CompletedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "total_tokens\t%d\n", c.Usage.TotalTokens)
	if u := c.Usage; u.BatchPromptTokens+u.BatchCompletionTokens > 0 {
		fmt.Fprintf(tw, "batch_tokens\t%d\n", u.BatchPromptTokens+u.BatchCompletionTokens)
	}
	if c.Usage.CostUSD != nil {
		fmt.Fprintf(tw, "cost_usd\t%s\n", strconv.FormatFloat(*c.Usage.CostUSD, 'f', -1, 64))
	} else {
		fmt.Fprintf(tw, "cost_usd\tunknown (see the warning)\n")
	}
	// One line per batch, so that one stuck or failed stands out.
	for _, b := range c.Batches {
		id := b.ID
		if id == "" {
			id = "(not created yet)"
		}
		fmt.Fprintf(tw, "batch\t%s %s: %d of %d completed, %d failed\n", id, b.Status, b.Completed, b.Total, b.Failed)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", w)
	}
	tw.Flush()
}

func watchCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign watch", "ID", "Shows a campaign's progress until it ends. Ctrl-C stops watching, not the campaign.")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	final, err := watch(ctx, c, pos[0], env)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(env.Stderr, "\nstopped watching; the campaign goes on. Resume with:\n  ingren campaign watch %s\n", pos[0])
			return ExitInterrupted
		}
		return fail(env, err)
	}
	fmt.Fprintln(env.Stdout, final.Status)
	return ExitOK
}

func download(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign download", "ID [-o OUT.csv]",
		"Writes a campaign's emails as CSV, to OUT.csv or the standard output. It follows\nan AWS deployment's chunks (X-Next-Cursor) until the last.")
	out := fs.String("o", "", "where the CSV goes (default the standard output)")
	input := fs.Bool("input-columns", false, "start each row with a CSV campaign's own columns")
	status := fs.String("status", "", "only the emails of these statuses and decisions, comma-separated: succeeded, needs_review, failed, pending, approved, rejected, unreviewed")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	filter := statusList(*status)
	if *out == "" {
		if _, err := c.Download(ctx, pos[0], *input, env.Stdout, filter...); err != nil {
			return fail(env, err)
		}
		return ExitOK
	}
	chunks, err := writeCSV(ctx, c, pos[0], *input, *out, filter...)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stderr, "wrote %s (%d chunk(s))\n", *out, chunks)
	return ExitOK
}

// writeCSV downloads the campaign's emails to path through a temporary
// file beside it, so that a failed download leaves no half file.
func writeCSV(ctx context.Context, c *client.Client, id string, input bool, path string, status ...string) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	chunks, err := c.Download(ctx, id, input, f, status...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return chunks, fmt.Errorf("download %s: %w", id, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return chunks, err
	}
	return chunks, os.Rename(f.Name(), path)
}

func cancel(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign cancel", "ID", "Cancels a campaign: its pending prospects get no email. Those written stay.")
	pos, c, code := start(env, fs, args, 1)
	if code >= 0 {
		return code
	}
	cmp, err := c.Cancel(ctx, pos[0])
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stdout, "%s %s\n", cmp.CampaignID, cmp.Status)
	return ExitOK
}

func list(ctx context.Context, args []string, env Env) int {
	fs := command(env, "campaign list", "", "Lists your campaigns, newest first.")
	_, c, code := start(env, fs, args, 0)
	if code >= 0 {
		return code
	}
	cs, err := c.List(ctx)
	if err != nil {
		return fail(env, err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tDONE\tFAILED\tCREATED\tNAME")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", c.CampaignID, c.Status, c.Done(), c.Total, c.Failed,
			c.CreatedAt.Local().Format("2006-01-02 15:04"), c.Name)
	}
	tw.Flush()
	return ExitOK
}
