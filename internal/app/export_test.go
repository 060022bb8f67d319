package app

import (
	"github.com/aws/smithy-go/middleware"

	"github.com/ingren/ingren/internal/config"
)

// SetLambdaMaxListBytes sets the API Lambda's bound on email listings for
// the Lambdas built after it, and returns a func that restores it.
func SetLambdaMaxListBytes(n int) (restore func()) {
	old := lambdaMaxListBytes
	lambdaMaxListBytes = n
	return func() { lambdaMaxListBytes = old }
}

// SetSDKMiddleware makes the Lambdas built after it add the middleware that
// add returns to their SDK clients, and returns a func that restores the
// hook.
func SetSDKMiddleware(add func(lambda string, cfg config.Config) []func(*middleware.Stack) error) (restore func()) {
	old := sdkMiddleware
	sdkMiddleware = add
	return func() { sdkMiddleware = old }
}
