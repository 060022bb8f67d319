package app

import (
	"context"
	"fmt"
	"io"

	"github.com/ingren/ingren/internal/config"
)

// Main runs the local program's subcommands.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := Logger(stderr, cfg.LogLevel)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		tuneGC(getenv)
		return Serve(ctx, cfg, stdout, log)
	case "eval":
		return Eval(ctx, cfg, args, stdout, log)
	default:
		return fmt.Errorf("unknown command %q (commands: serve, eval)", cmd)
	}
}
