package stack

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
	Table      string
	Queue      string
	Parameters []string
	LogGroup   string
}

// apiPolicy allows what the api function does: read and write campaigns,
// enqueue them, and read its secrets.
func apiPolicy(a resourceARNs) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		allow("Table", a.Table,
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
			"dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:TransactWriteItems"),
		allow("TableIndexes", a.Table+"/index/*", "dynamodb:Query"),
		allow("Queue", a.Queue, "sqs:SendMessage", "sqs:GetQueueAttributes"),
		allowAll("Parameters", a.Parameters, "ssm:GetParameter"),
		logsStatement(a.LogGroup),
	}}
}

// workerPolicy allows what the worker function does: consume the queue, expand
// a campaign into one message per prospect, and save results.
func workerPolicy(a resourceARNs) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		allow("Table", a.Table,
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query",
			"dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"),
		allow("TableIndexes", a.Table+"/index/*", "dynamodb:Query"),
		allow("Queue", a.Queue,
			"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
			"sqs:GetQueueAttributes", "sqs:SendMessage"),
		allowAll("Parameters", a.Parameters, "ssm:GetParameter"),
		logsStatement(a.LogGroup),
	}}
}

// logsStatement lets a function write to its own log group and its streams;
// the group exists already, so no logs:CreateLogGroup.
func logsStatement(logGroupARN string) policyStatement {
	return allowAll("Logs", []string{logGroupARN, logGroupARN + ":*"},
		"logs:CreateLogStream", "logs:PutLogEvents")
}

// assumeRolePolicy lets an AWS service, e.g. lambda.amazonaws.com, assume a role.
func assumeRolePolicy(service string) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect:    "Allow",
		Principal: map[string]string{"Service": service},
		Action:    []string{"sts:AssumeRole"},
	}}}
}

func allow(sid, resource string, actions ...string) policyStatement {
	return allowAll(sid, []string{resource}, actions...)
}

func allowAll(sid string, resources []string, actions ...string) policyStatement {
	return policyStatement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}
