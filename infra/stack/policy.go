package stack

import (
	"fmt"
	"slices"
	"strings"
)

// policyDocument is an IAM policy, marshalled to the JSON IAM reads.
type policyDocument struct {
	Version   string
	Statement []policyStatement
}

type policyStatement struct {
	Sid       string `json:",omitempty"`
	Effect    string
	Principal map[string]string `json:",omitempty"`
	Action    []string
	Resource  []string `json:",omitempty"`
}

// resourceARNs are the ARNs of this stack that a function's policy may name.
type resourceARNs struct {
	Table           string
	Queue           string
	DeadLetterQueue string
	Parameters      []string
	LogGroup        string
}

// grant is one IAM action on one kind of this stack's resources, named as
// testdata/iam/operations.json names them: table, table/index/NAME, queue,
// parameter; and, for what AWS itself does with a role, dead-letter-queue
// and log-group.
type grant struct {
	Action   string
	Resource string
}

// apiCalls and workerCalls are the IAM actions each function's code needs:
// what internal/app's tests record it calling against the emulators
// (testdata/iam/operations.json). TestPoliciesGrantWhatTheFunctionsCall
// fails until these are the recorded list, no more and no less.
// TransactWriteItems is no IAM action: a transaction needs the actions of
// its items (Store.Finish: PutItem and UpdateItem).
var (
	apiCalls = []grant{
		{"dynamodb:BatchWriteItem", "table"}, // Store.Create's items
		{"dynamodb:DeleteItem", "table"},     // a failed Create frees its idempotency key
		{"dynamodb:GetItem", "table"},
		{"dynamodb:PutItem", "table"},
		{"dynamodb:Query", "table"},
		{"dynamodb:Query", "table/index/gsi1"}, // listing a tenant's campaigns
		{"dynamodb:UpdateItem", "table"},
		{"sqs:SendMessage", "queue"}, // SendMessageBatch is authorised as SendMessage
		{"ssm:GetParameter", "parameter"},
	}
	workerCalls = []grant{
		{"dynamodb:DeleteItem", "table"}, // Store.Release of an item's lease
		{"dynamodb:GetItem", "table"},
		{"dynamodb:PutItem", "table"},
		{"dynamodb:Query", "table"},
		{"dynamodb:UpdateItem", "table"},
		{"sqs:ChangeMessageVisibility", "queue"}, // a failed message's backoff
		{"sqs:SendMessage", "queue"},             // a campaign's expansion
		{"ssm:GetParameter", "parameter"},
	}
)

// What AWS does with a function's role, which no test of the code records.
var (
	// logGrants let Lambda write the function's logs into its own group,
	// which exists already: no logs:CreateLogGroup.
	logGrants = []grant{{"logs:CreateLogStream", "log-group"}, {"logs:PutLogEvents", "log-group"}}
	// mappingGrants let the worker's event source mappings poll the work
	// queue and the dead-letter queue, and delete what the worker finished.
	mappingGrants = []grant{
		{"sqs:ReceiveMessage", "queue"}, {"sqs:DeleteMessage", "queue"}, {"sqs:GetQueueAttributes", "queue"},
		{"sqs:ReceiveMessage", "dead-letter-queue"}, {"sqs:DeleteMessage", "dead-letter-queue"},
		{"sqs:GetQueueAttributes", "dead-letter-queue"},
	}
)

// apiPolicy allows what the api function does: read and write campaigns,
// enqueue them, and read its secrets.
func apiPolicy(a resourceARNs) (policyDocument, error) {
	return policyFor(a, slices.Concat(apiCalls, logGrants))
}

// workerPolicy allows what the worker function does, and what its event
// source mappings do for it.
func workerPolicy(a resourceARNs) (policyDocument, error) {
	return policyFor(a, slices.Concat(workerCalls, mappingGrants, logGrants))
}

// policyFor allows grants with one statement per kind of resource, each
// naming only the ARNs of that kind.
func policyFor(a resourceARNs, grants []grant) (policyDocument, error) {
	doc := policyDocument{Version: "2012-10-17"}
	byResource := map[string][]string{}
	var order []string
	for _, g := range grants {
		if _, ok := byResource[g.Resource]; !ok {
			order = append(order, g.Resource)
		}
		byResource[g.Resource] = append(byResource[g.Resource], g.Action)
	}
	slices.Sort(order)
	for _, res := range order {
		sid, arns, err := a.of(res)
		if err != nil {
			return policyDocument{}, err
		}
		actions := slices.Compact(slices.Sorted(slices.Values(byResource[res])))
		doc.Statement = append(doc.Statement, allowAll(sid, arns, actions...))
	}
	return doc, nil
}

// of returns a statement id and the ARNs for a kind of resource.
func (a resourceARNs) of(resource string) (sid string, arns []string, err error) {
	switch {
	case resource == "table":
		return "Table", []string{a.Table}, nil
	case strings.HasPrefix(resource, "table/index/"):
		index := strings.TrimPrefix(resource, "table/index/")
		return "TableIndex" + alnum(index), []string{a.Table + "/index/" + index}, nil
	case resource == "queue":
		return "Queue", []string{a.Queue}, nil
	case resource == "dead-letter-queue":
		return "DeadLetterQueue", []string{a.DeadLetterQueue}, nil
	case resource == "parameter":
		return "Parameters", a.Parameters, nil
	case resource == "log-group":
		return "Logs", []string{a.LogGroup, a.LogGroup + ":*"}, nil
	}
	return "", nil, fmt.Errorf("policy: no ARN for resource kind %q", resource)
}

// alnum keeps the letters and digits of s, capitalising the first: a
// statement id allows nothing else.
func alnum(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out != "" && out[0] >= 'a' && out[0] <= 'z' {
		out = string(out[0]-'a'+'A') + out[1:]
	}
	return out
}

// assumeRolePolicy lets an AWS service, e.g. lambda.amazonaws.com, assume a role.
func assumeRolePolicy(service string) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect:    "Allow",
		Principal: map[string]string{"Service": service},
		Action:    []string{"sts:AssumeRole"},
	}}}
}

func allowAll(sid string, resources []string, actions ...string) policyStatement {
	return policyStatement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}
