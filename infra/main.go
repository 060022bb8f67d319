// Command infra is the Pulumi program that deploys Ingren to AWS; see
// DEPLOYMENT.md at the repository root.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ingren/ingren/infra/stack"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg, err := stack.LoadConfig(ctx)
		if err != nil {
			return err
		}
		outs, err := stack.New(ctx, cfg)
		if err != nil {
			return err
		}
		for name, value := range outs.Map() {
			ctx.Export(name, value)
		}
		return nil
	})
}
