// Command api is the API Lambda: API Gateway REST proxy events served by
// the same http.Handler as the local program.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ingren/ingren/internal/app"
)

func main() {
	h, err := app.NewAPILambda(context.Background(), os.Getenv, app.WithMetrics(os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
