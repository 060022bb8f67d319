// Command profiled is the local program (functions/ingren) with a CPU
// profile written to $INGREN_CPUPROFILE when it stops. The program serves
// no pprof endpoint, so the benchmark runs this build under the same load
// to see where the time goes; it is not for anything else.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/ingren/ingren/internal/app"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "profiled:", err)
		os.Exit(1)
	}
}

// run is functions/ingren's main inside a CPU profile, which its defers
// write out before main exits.
func run() error {
	if path := os.Getenv("INGREN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
}
