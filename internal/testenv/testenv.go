// Package testenv connects tests to the local AWS emulators that
// .ci/emulators.sh starts (DynamoDB Local and fauxqs for SQS) and gives each
// test throwaway tables and queues on them. Only tests import it.
//
// Without the emulators' endpoints in the environment the helpers skip the
// test, so `go test` works alone; with CI=true they fail instead, so CI never
// passes by skipping. `make test` runs the tests through
// `.ci/emulators.sh run -- ...`, which sets the endpoints.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Environment variables that .ci/emulators.sh sets to the emulators' base URLs.
const (
	EnvDynamoDBEndpoint = "INGREN_DYNAMODB_ENDPOINT"
	EnvSQSEndpoint      = "INGREN_SQS_ENDPOINT"
)

// Region is the region every test client uses. DynamoDB Local runs with
// -sharedDb, so tables are visible whatever region or keys a client sends.
const Region = "us-east-1"

// MaxAttempts is how many times a test's SDK client tries a call (the SDK's
// default is 4 for DynamoDB and 3 for SQS). On a loaded 2-core CI machine a
// connection to an emulator now and then breaks in the middle of a response
// body ("deserialization failed ... use of closed network connection",
// aws-sdk-go-v2#2737), which the SDK retries; CI once saw DynamoDB's 4
// attempts of one Query all break within 3 s. Tests that build their
// clients from the environment set AWS_MAX_ATTEMPTS to it.
const MaxAttempts = 10

// opTimeout bounds each setup or cleanup call, so a hung emulator fails the
// test instead of the whole binary at go test's -timeout.
const opTimeout = 30 * time.Second

// DynamoDB returns a client for the DynamoDB emulator at
// INGREN_DYNAMODB_ENDPOINT. When the variable is unset it skips the test, or
// fails it when CI=true.
func DynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(emulatorConfig(endpoint(tb, EnvDynamoDBEndpoint, "DynamoDB Local")))
}

// SQS returns a client for the SQS emulator at INGREN_SQS_ENDPOINT. When the
// variable is unset it skips the test, or fails it when CI=true.
func SQS(tb testing.TB) *sqs.Client {
	tb.Helper()
	return sqs.NewFromConfig(emulatorConfig(endpoint(tb, EnvSQSEndpoint, "fauxqs (SQS)")))
}

// emulatorConfig is the configuration of a client of the emulator at
// endpoint. A literal rather than config.LoadDefaultConfig: nothing from
// ~/.aws or AWS_* variables (a profile, an endpoint override) can leak in.
func emulatorConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:           Region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: MaxAttempts,
	}
}

func endpoint(tb testing.TB, env, emulator string) string {
	tb.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	msg := "set " + env + " or run make test, which starts " + emulator
	if inCI() {
		tb.Fatalf("%s is not set; CI=true, so this fails instead of skipping: %s", env, msg)
	}
	tb.Skip(msg)
	return ""
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// opContext returns a context for one setup or cleanup step. It does not
// derive from tb.Context, which is already cancelled when Cleanup runs.
func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// deleteAtEnd calls del, which deletes what a test made, when the test
// ends. An error of type Gone says it is deleted already, and is none.
func deleteAtEnd[Gone error](tb testing.TB, what string, del func(context.Context) error) {
	tb.Cleanup(func() {
		ctx, cancel := opContext()
		defer cancel()
		var gone Gone
		if err := del(ctx); err != nil && !errors.As(err, &gone) {
			tb.Errorf("delete %s: %v", what, err)
		}
	})
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// uniqueName returns a name made of the test's name, cut to fit, and a random
// suffix: valid for both DynamoDB tables and SQS queues, easy to trace back
// to its test in an emulator's log.
func uniqueName(tb testing.TB, maxLen int) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("random name: %v", err)
	}
	suffix := "-" + hex.EncodeToString(b[:])
	prefix := unsafeName.ReplaceAllString(tb.Name(), "-")
	if n := maxLen - len(suffix); len(prefix) > n {
		prefix = prefix[:n]
	}
	return prefix + suffix
}
