package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"

	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/testenv"
)

// The IAM permissions each Lambda needs are recorded, not written by hand.
// While this package's tests run, an SDK middleware on the Lambdas' own
// clients notes every AWS operation each one makes, as the IAM actions AWS
// authorises it by, on the kind of resource it names. At the end of a whole
// run against the emulators, TestMain compares that set with operationsFile,
// and infra/stack's tests compare what each function's role grants with the
// file, both ways. A new AWS call therefore fails this package until the file
// is rewritten (-update), and then infra's tests until the policy grants it.

// operationsFile lists, per Lambda, the IAM actions its code calls.
const operationsFile = "../../testdata/iam/operations.json"

var update = flag.Bool("update", false, "rewrite "+operationsFile+" from the AWS operations the Lambdas made (whole package, emulators running)")

// grant is one IAM action on one kind of resource of the stack: "table",
// "table/index/NAME", "queue" (the work queue) or "parameter" (an SSM
// parameter that the Lambda's configuration names).
type grant struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// recorder collects the grants each Lambda's calls need, and calls it cannot
// map: those fail the run whatever was asked.
type recorder struct {
	mu       sync.Mutex
	seen     map[string]map[grant]bool // by Lambda
	problems []string
}

var calls = &recorder{seen: map[string]map[grant]bool{}}

func TestMain(m *testing.M) {
	flag.Parse()
	restore := app.SetSDKMiddleware(func(lambda string, cfg config.Config) []func(*middleware.Stack) error {
		return []func(*middleware.Stack) error{calls.middleware(lambda, cfg), faults.middleware(lambda)}
	})
	code := m.Run()
	restore()
	if code == 0 {
		if err := calls.check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// middleware records each call before anything else runs, so that a call
// the SDK refuses or a fault ends is recorded too: AWS would authorise it.
func (r *recorder) middleware(lambda string, cfg config.Config) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("ingren/record-iam-actions",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				gs, err := grantsFor(cfg, in.Parameters)
				r.mu.Lock()
				if err != nil {
					r.problems = append(r.problems, fmt.Sprintf("%s Lambda, %s: %v", lambda, op, err))
				}
				if r.seen[lambda] == nil {
					r.seen[lambda] = map[grant]bool{}
				}
				for _, g := range gs {
					r.seen[lambda][g] = true
				}
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// grantsFor maps one SDK call to what IAM authorises it by. Batch calls of
// SQS are authorised as their single actions; a DynamoDB transaction as the
// action of each item in it (TransactWriteItems is no IAM action); a Query
// on an index needs the index's ARN.
func grantsFor(cfg config.Config, params any) ([]grant, error) {
	var (
		out  []grant
		errs []error
	)
	add := func(action, resource string) { out = append(out, grant{Action: action, Resource: resource}) }
	table := func(name *string) string {
		if name == nil || *name != cfg.TableName {
			errs = append(errs, fmt.Errorf("table %q is not TABLE_NAME", deref(name)))
		}
		return "table"
	}
	queue := func(url *string) string {
		if url == nil || *url != cfg.QueueURL {
			errs = append(errs, fmt.Errorf("queue %q is not QUEUE_URL", deref(url)))
		}
		return "queue"
	}
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		add("dynamodb:GetItem", table(in.TableName))
	case *dynamodb.PutItemInput:
		add("dynamodb:PutItem", table(in.TableName))
	case *dynamodb.UpdateItemInput:
		add("dynamodb:UpdateItem", table(in.TableName))
	case *dynamodb.DeleteItemInput:
		add("dynamodb:DeleteItem", table(in.TableName))
	case *dynamodb.QueryInput:
		res := table(in.TableName)
		if in.IndexName != nil {
			res += "/index/" + *in.IndexName
		}
		add("dynamodb:Query", res)
	case *dynamodb.BatchWriteItemInput:
		for name := range in.RequestItems {
			add("dynamodb:BatchWriteItem", table(&name))
		}
	case *dynamodb.BatchGetItemInput:
		for name := range in.RequestItems {
			add("dynamodb:BatchGetItem", table(&name))
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				add("dynamodb:PutItem", table(it.Put.TableName))
			case it.Update != nil:
				add("dynamodb:UpdateItem", table(it.Update.TableName))
			case it.Delete != nil:
				add("dynamodb:DeleteItem", table(it.Delete.TableName))
			case it.ConditionCheck != nil:
				add("dynamodb:ConditionCheckItem", table(it.ConditionCheck.TableName))
			default:
				errs = append(errs, fmt.Errorf("a transaction item of no known kind: %+v", it))
			}
		}
	case *dynamodb.TransactGetItemsInput:
		for _, it := range in.TransactItems {
			add("dynamodb:GetItem", table(getTable(it)))
		}
	case *sqs.SendMessageInput:
		add("sqs:SendMessage", queue(in.QueueUrl))
	case *sqs.SendMessageBatchInput:
		add("sqs:SendMessage", queue(in.QueueUrl))
	case *sqs.ReceiveMessageInput:
		add("sqs:ReceiveMessage", queue(in.QueueUrl))
	case *sqs.DeleteMessageInput:
		add("sqs:DeleteMessage", queue(in.QueueUrl))
	case *sqs.DeleteMessageBatchInput:
		add("sqs:DeleteMessage", queue(in.QueueUrl))
	case *sqs.ChangeMessageVisibilityInput:
		add("sqs:ChangeMessageVisibility", queue(in.QueueUrl))
	case *sqs.ChangeMessageVisibilityBatchInput:
		add("sqs:ChangeMessageVisibility", queue(in.QueueUrl))
	case *sqs.GetQueueAttributesInput:
		add("sqs:GetQueueAttributes", queue(in.QueueUrl))
	case *ssm.GetParameterInput:
		if name := deref(in.Name); name == "" || (name != cfg.OpenAIAPIKeyParam && name != cfg.WebhookSecretParam) {
			errs = append(errs, fmt.Errorf("parameter %q is not one the configuration names", name))
		}
		add("ssm:GetParameter", "parameter")
	default:
		errs = append(errs, fmt.Errorf("no IAM action is known for %T: add it to grantsFor in iam_test.go", params))
	}
	return out, errors.Join(errs...)
}

func getTable(it ddbtypes.TransactGetItem) *string {
	if it.Get == nil {
		return nil
	}
	return it.Get.TableName
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// check compares what the Lambdas called with operationsFile, or rewrites
// the file with -update. Only a whole run against the emulators has driven
// every path; a filtered or short run checks nothing but unmapped calls.
func (r *recorder) check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) > 0 {
		slices.Sort(r.problems)
		return fmt.Errorf("AWS calls infra's IAM policies cannot be derived from:\n  %s",
			strings.Join(slices.Compact(r.problems), "\n  "))
	}
	whole := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" &&
		!testing.Short() && os.Getenv(testenv.EnvDynamoDBEndpoint) != "" && os.Getenv(testenv.EnvSQSEndpoint) != ""
	if !whole {
		if *update {
			return fmt.Errorf("-update rewrites %s only after a whole run of the package (no -run, -skip or -short) against the emulators", operationsFile)
		}
		return nil
	}
	got := map[string][]grant{}
	for lambda, set := range r.seen {
		for g := range set {
			got[lambda] = append(got[lambda], g)
		}
		slices.SortFunc(got[lambda], compareGrants)
	}
	if *update {
		if err := os.WriteFile(operationsFile, formatOperations(got), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s; infra/stack's policies must grant the same (cd infra && go test ./...)\n", operationsFile)
		return nil
	}
	b, err := os.ReadFile(operationsFile)
	if err != nil {
		return fmt.Errorf("%w (run the package's tests with -update against the emulators to write it)", err)
	}
	var want map[string][]grant
	if err := json.Unmarshal(b, &want); err != nil {
		return fmt.Errorf("%s: %w", operationsFile, err)
	}
	var diff []string
	for _, lambda := range sortedKeys(got, want) {
		for _, g := range got[lambda] {
			if !slices.Contains(want[lambda], g) {
				diff = append(diff, fmt.Sprintf("+ %s: %s on %s is called but not listed", lambda, g.Action, g.Resource))
			}
		}
		for _, g := range want[lambda] {
			if !slices.Contains(got[lambda], g) {
				diff = append(diff, fmt.Sprintf("- %s: %s on %s is listed but was never called", lambda, g.Action, g.Resource))
			}
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("the Lambdas' AWS calls differ from %s:\n  %s\n"+
			"If the code changed on purpose, rewrite the file with\n"+
			"  bash .ci/emulators.sh run -- go test -count=1 ./internal/app -update\n"+
			"and make infra/stack/policy.go grant the same (cd infra && go test ./...).",
			operationsFile, strings.Join(diff, "\n  "))
	}
	return nil
}

func compareGrants(a, b grant) int {
	if c := strings.Compare(a.Action, b.Action); c != 0 {
		return c
	}
	return strings.Compare(a.Resource, b.Resource)
}

func sortedKeys(ms ...map[string][]grant) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// formatOperations writes one grant a line, so that a change reads as a
// one-line diff.
func formatOperations(ops map[string][]grant) []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	lambdas := sortedKeys(ops)
	for i, lambda := range lambdas {
		fmt.Fprintf(&b, "  %q: [\n", lambda)
		for j, g := range ops[lambda] {
			line, _ := json.Marshal(g)
			b.WriteString("    ")
			b.Write(line)
			if j < len(ops[lambda])-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  ]")
		if i < len(lambdas)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// faultTable makes chosen AWS calls of a Lambda fail before they leave it,
// as a failing or throttling AWS would, so that tests can drive the paths
// that only run after a failure.
type faultTable struct {
	mu   sync.Mutex
	left map[string]int // by "lambda Service.Operation"
}

var faults = &faultTable{left: map[string]int{}}

// failNext makes the next n calls of op (e.g. "DynamoDB.BatchWriteItem") by
// lambda fail, until the test ends.
func failNext(t *testing.T, lambda, op string, n int) {
	t.Helper()
	key := lambda + " " + op
	faults.mu.Lock()
	faults.left[key] = n
	faults.mu.Unlock()
	t.Cleanup(func() {
		faults.mu.Lock()
		delete(faults.left, key)
		faults.mu.Unlock()
	})
}

// errInjected is the failure of a call that failNext chose.
var errInjected = errors.New("fault injected by the test")

func (f *faultTable) middleware(lambda string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("ingren/inject-faults",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				key := lambda + " " + awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				f.mu.Lock()
				fail := f.left[key] > 0
				if fail {
					f.left[key]--
				}
				f.mu.Unlock()
				if fail {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errInjected
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}
