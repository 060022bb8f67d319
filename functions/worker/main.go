// Command worker is the worker Lambda: SQS events from the campaign queue,
// answered with BatchItemFailures for the transient failures only.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ingren/ingren/internal/app"
)

func main() {
	h, err := app.NewWorkerLambda(context.Background(), os.Getenv, app.WithMetrics(os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
