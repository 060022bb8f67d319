// Command ingren is the local all-in-one program (the API and the campaign
// worker on embedded SQLite, with no cloud account) and the command line
// that calls Ingren's API, local or on AWS. ingren help lists its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/ingren/ingren/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Terminal:    term.IsTerminal(int(os.Stderr.Fd())),
		Interactive: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}
