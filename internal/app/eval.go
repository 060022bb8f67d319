package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/eval"
)

// Eval runs the eval set through the configured model and prompts (and a
// second prompt folder with -compare) and writes eval.md and eval.json.
func Eval(ctx context.Context, cfg config.Config, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(out)
	cases := fs.String("cases", "testdata/eval/prospects.json", "the eval set")
	prompts := fs.String("prompts", cfg.PromptsDir, "prompt folder (default: the embedded prompts)")
	compare := fs.String("compare", "", "a second prompt folder, reported side by side")
	dir := fs.String("out", "eval-report", "where eval.md and eval.json go")
	concurrency := fs.Int("concurrency", 4, "requests in flight")
	priceIn := fs.Float64("price-in", -1, "input price in $ per million tokens (default: the model's list price)")
	priceOut := fs.Float64("price-out", -1, "output price in $ per million tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set, err := eval.Load(*cases)
	if err != nil {
		return err
	}
	var price *eval.Price
	if *priceIn >= 0 && *priceOut >= 0 {
		price = &eval.Price{Input: *priceIn, Output: *priceOut}
	}
	labels := []string{"prompts"}
	dirs := []string{*prompts}
	if *compare != "" {
		labels = []string{"A: " + name(*prompts), "B: " + name(*compare)}
		dirs = append(dirs, *compare)
	}
	var results []*eval.Result
	for i, d := range dirs {
		c := cfg
		c.PromptsDir = d
		ps, err := Prompts(c)
		if err != nil {
			return err
		}
		w, err := Writer(c, log, nil)
		if err != nil {
			return err
		}
		r := eval.Run(ctx, labels[i], &email.Composer{Writer: w, Prompts: ps}, set, *concurrency, price)
		results = append(results, r)
	}
	md := eval.Markdown(results...)
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "eval.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "eval.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprint(out, md)
	fmt.Fprintf(out, "\nwrote %s and %s\n", filepath.Join(*dir, "eval.md"), filepath.Join(*dir, "eval.json"))
	return nil
}

func name(dir string) string {
	if dir == "" {
		return "embedded"
	}
	return dir
}
