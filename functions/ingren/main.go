// Command ingren is the local all-in-one program: the API and the campaign
// worker on embedded SQLite, with no cloud account.
//
//	ingren serve        start on $PORT (default 8080)
//	ingren eval [DIR]   write an email quality report
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ingren/ingren/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ingren:", err)
		os.Exit(1)
	}
}
