// Package cli is the ingren command line: it parses the arguments,
// calls Ingren's API through internal/client, and prints. The local
// program's own subcommands (serve, eval) run through app.Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/client"
	"github.com/ingren/ingren/internal/config"
)

// Exit statuses.
const (
	// ExitOK: the command did what it was asked; for campaign run, every
	// prospect has an email (needs_review included).
	ExitOK = 0
	// ExitError: the command failed; for campaign run, nothing was
	// submitted.
	ExitError = 1
	// ExitUsage: the arguments were wrong.
	ExitUsage = 2
	// ExitSomeFailed: campaign run ended with prospects that have no
	// email (failed, or the campaign was cancelled).
	ExitSomeFailed = 3
	// ExitNeedsReview: lint found an error-level problem; the email must
	// not be sent as it is.
	ExitNeedsReview = 4
	// ExitInterrupted: Ctrl-C stopped the command (not the campaign).
	ExitInterrupted = 130
)

// DefaultURL is the API the CLI calls without INGREN_URL: the local
// program's default address.
const DefaultURL = "http://localhost:8080"

// Env is what a command runs with.
type Env struct {
	Getenv         func(string) string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Poll is how often watch reads the campaign; 0 is every second.
	Poll time.Duration
	// Terminal says whether Stderr is a terminal (a progress bar) or not
	// (plain periodic lines).
	Terminal bool
	// Interactive says whether Stdin and Stderr are a terminal, so that a
	// question (submit a costly campaign?) can be asked and answered.
	Interactive bool
}

const usage = `ingren writes personalized sales emails with LLMs.

Usage:
  ingren serve                 start the local program (API and worker) on $PORT (default 8080)
  ingren eval [flags]          write an email quality report
  ingren campaign run FILE     submit a campaign, show its progress, download its emails
  ingren campaign submit FILE  submit a campaign (.json or .csv) and print its id
  ingren campaign status ID    print a campaign's progress
  ingren campaign watch ID     show a campaign's progress until it ends
  ingren campaign download ID  write a campaign's emails as CSV
  ingren campaign cancel ID    cancel a campaign
  ingren campaign list         list your campaigns
  ingren campaign emails ID    list a campaign's emails, by status or review (--status)
  ingren campaign show ID N    print email N of a campaign, its findings and review
  ingren campaign approve ID N...  approve emails (reject rejects them)
  ingren campaign retry ID     write a finished campaign's failed emails again
  ingren generate FILE.json    write one email and print it
  ingren lint FILE             check an email (text or .json) as written emails are checked
  ingren usage                 print what your key used and spent, per day and campaign, and its budget
  ingren mcp                   serve Ingren's tools to an AI agent (Model Context Protocol, stdio)
  ingren help [COMMAND]        describe a command (or run any command with -h)

The campaign, generate, lint, usage and mcp commands call the API at INGREN_URL (default
http://localhost:8080) with the key INGREN_API_KEY; without one, they use the
key the local program keeps in DATA_DIR/api_key (default ./data/api_key).
`

// Main runs the command args and returns its exit status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Poll <= 0 {
		env.Poll = time.Second
	}
	if len(args) == 0 {
		return runApp(ctx, []string{"serve"}, env)
	}
	switch args[0] {
	case "serve", "eval":
		return runApp(ctx, args, env)
	case "campaign":
		return campaignMain(ctx, args[1:], env)
	case "generate":
		return generate(ctx, args[1:], env)
	case "lint":
		return lintCmd(ctx, args[1:], env)
	case "usage":
		return usageCmd(ctx, args[1:], env)
	case "mcp":
		return mcpCmd(ctx, args[1:], env)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return Main(ctx, append(args[1:], "-h"), env)
		}
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "ingren: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}

// runApp runs the local program's subcommands.
func runApp(ctx context.Context, args []string, env Env) int {
	if args[0] == "serve" && len(args) > 1 && isHelp(args[1]) {
		fmt.Fprint(env.Stdout, "Usage: ingren serve\n\nStarts the local program, the API and the campaign worker on SQLite in DATA_DIR,\non $PORT (default 8080). Its settings come from the environment (README.md, Configuration).\n")
		return ExitOK
	}
	err := app.Main(ctx, args, env.Getenv, env.Stdout, env.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case err != nil:
		fmt.Fprintln(env.Stderr, "ingren:", err)
		return ExitError
	}
	return ExitOK
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// newClient is the API client that INGREN_URL and INGREN_API_KEY (or the
// local program's key file) configure.
func newClient(env Env) (*client.Client, error) {
	base := env.Getenv("INGREN_URL")
	if base == "" {
		base = DefaultURL
	}
	key := env.Getenv("INGREN_API_KEY")
	if key == "" {
		path := app.LocalKeyFile(config.DataDir(env.Getenv))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no INGREN_API_KEY, and no key of a local program in %s (run `make run` or `ingren serve` first, or set INGREN_API_KEY): %w", path, err)
		}
		key = strings.TrimSpace(string(b))
	}
	return client.New(base, key), nil
}

// command is a subcommand's flags, with its usage line and description for
// -h.
func command(env Env, name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: ingren %s %s\n\n%s\n", name, args, about)
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(env.Stdout, "\nFlags:")
			fs.SetOutput(env.Stdout)
			fs.PrintDefaults()
			fs.SetOutput(env.Stderr)
		}
	}
	return fs
}

// parse parses args with fs, flags before and after the positional
// arguments alike, and checks that there are want of those (any number
// when want is negative).
// start parses a command's arguments and builds its API client. A code of
// ExitOK or more means the command is over (help was asked for, the
// arguments are wrong, or there is no key) and returns it.
func start(env Env, fs *flag.FlagSet, args []string, want int) ([]string, *client.Client, int) {
	pos, code := parse(fs, args, want)
	if code >= 0 {
		return nil, nil, code
	}
	c, err := newClient(env)
	if err != nil {
		return nil, nil, fail(env, err)
	}
	return pos, c, -1
}

func parse(fs *flag.FlagSet, args []string, want int) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK
			}
			return nil, ExitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want {
		fmt.Fprintf(fs.Output(), "ingren %s: want %d argument(s), got %d (see ingren %s -h)\n", fs.Name(), want, len(pos), fs.Name())
		return nil, ExitUsage
	}
	return pos, -1
}

// fail prints err, an API's field errors one a line, and returns
// ExitError.
func fail(env Env, err error) int {
	var e *client.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		fmt.Fprintln(env.Stderr, "ingren:", e.Message)
		for _, f := range e.Fields {
			fmt.Fprintln(env.Stderr, fieldLine(f))
		}
		return ExitError
	}
	fmt.Fprintln(env.Stderr, "ingren:", err)
	return ExitError
}

// fieldLine is one invalid field as a person reads it: a CSV row as the
// spreadsheet numbers it (rows[12].first_name → row 12: first_name ...).
func fieldLine(f client.FieldError) string {
	if rest, ok := strings.CutPrefix(f.Field, "rows["); ok {
		if n, field, ok := strings.Cut(rest, "]"); ok {
			field = strings.TrimPrefix(field, ".")
			if field == "" {
				return fmt.Sprintf("row %s: %s", n, f.Message)
			}
			return fmt.Sprintf("row %s: %s %s", n, field, f.Message)
		}
	}
	return f.Field + " " + f.Message
}

// defaultOut is where campaign run writes the emails of file:
// prospects.csv → prospects.emails.csv.
func defaultOut(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file)) + ".emails.csv"
}
