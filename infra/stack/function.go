package stack

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// functionSpec is what differs between the api and worker functions.
type functionSpec struct {
	name       string // api or worker: the logical name's and the log group's suffix
	zip        string
	memoryMB   int
	timeoutSec int
	policy     func(resourceARNs) (policyDocument, error)
}

type function struct {
	fn       *lambda.Function
	logGroup *cloudwatch.LogGroup
	// policy is the role's inline policy; whatever needs the function's
	// permissions in place (the event source mapping) depends on it.
	policy *iam.RolePolicy
}

// environment is what both functions get. Secrets are passed by parameter
// name; the functions fetch the values from SSM at cold start. A setting left
// unset is left out, so that the functions apply their own default.
func environment(cfg Config, tbl *dynamodb.Table, q *queues, p *parameters) pulumi.StringMap {
	env := pulumi.StringMap{
		"TABLE_NAME":           tbl.Name,
		"QUEUE_URL":            q.work.Url,
		"OPENAI_API_KEY_PARAM": p.openAIKey.Name,
		"MAX_RECEIVE_COUNT":    pulumi.String(strconv.Itoa(cfg.MaxReceiveCount)),
		"LOG_LEVEL":            pulumi.String(cfg.LogLevel),
		"CORS_ALLOW_ORIGINS":   pulumi.String(cfg.CORSAllowOrigins),
	}
	if cfg.OpenAIModel != "" {
		env["OPENAI_MODEL"] = pulumi.String(cfg.OpenAIModel)
	}
	for name, v := range map[string]int{
		"WORKER_CONCURRENCY":     cfg.WorkerConcurrency,
		"ITEM_TTL_DAYS":          cfg.ItemTTLDays,
		"MAX_CAMPAIGN_PROSPECTS": cfg.MaxCampaignProspects,
		"OPENAI_RPM":             cfg.OpenAIRPM,
		"OPENAI_TPM":             cfg.OpenAITPM,
	} {
		if v > 0 {
			env[name] = pulumi.String(strconv.Itoa(v))
		}
	}
	if cfg.OpenAIBaseURL != "" {
		env["OPENAI_BASE_URL"] = pulumi.String(cfg.OpenAIBaseURL)
	}
	if cfg.OpenAITimeout > 0 {
		env["OPENAI_TIMEOUT"] = pulumi.String(cfg.OpenAITimeout.String())
	}
	if cfg.BatchPollInterval > 0 {
		env["BATCH_POLL_INTERVAL"] = pulumi.String(cfg.BatchPollInterval.String())
	}
	if cfg.APIKeyBudgets != "" {
		env["API_KEY_BUDGETS"] = pulumi.String(cfg.APIKeyBudgets)
	}
	if cfg.RetryDelay > 0 {
		env["RETRY_DELAY"] = pulumi.String(cfg.RetryDelay.String())
	}
	if len(cfg.AllowedModels) > 0 {
		// The configured model first: it must stay allowed, as requests
		// without options.model use it. Unset, the functions put their own
		// default first (config.Config.Models).
		var models []string
		if cfg.OpenAIModel != "" {
			models = append(models, cfg.OpenAIModel)
		}
		for _, m := range cfg.AllowedModels {
			if !slices.Contains(models, m) {
				models = append(models, m)
			}
		}
		env["ALLOWED_MODELS"] = pulumi.String(strings.Join(models, ","))
	}
	if p.webhook != nil {
		env["WEBHOOK_SECRET_PARAM"] = p.webhook.Name
	}
	return env
}

// workerEnvironment is env plus what only the worker reads: the dead-letter
// queue's ARN, by which it tells the dead letters its second event source
// mapping delivers.
func workerEnvironment(env pulumi.StringMap, q *queues) pulumi.StringMap {
	out := pulumi.StringMap{"DEAD_LETTER_QUEUE_ARN": q.dead.Arn}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// newFunction declares a Go function on provided.al2023/arm64 with its own log
// group, and a role whose only policy is spec.policy over this stack's ARNs.
func newFunction(ctx *pulumi.Context, cfg Config, spec functionSpec,
	tbl *dynamodb.Table, q *queues, params *parameters, env pulumi.StringMap,
) (*function, error) {
	name := "ingren-" + spec.name
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ingren/" + ctx.Stack() + "/" + spec.name),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
	})
	if err != nil {
		return nil, err
	}

	assume, err := jsonString(assumeRolePolicy("lambda.amazonaws.com"))
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.String("Ingren " + spec.name + " function"),
		AssumeRolePolicy: pulumi.String(assume),
	})
	if err != nil {
		return nil, err
	}

	arns := []any{tbl.Arn, q.work.Arn, q.dead.Arn, logGroup.Arn}
	for _, a := range params.arns() {
		arns = append(arns, a)
	}
	document := pulumi.All(arns...).ApplyT(func(v []any) (string, error) {
		a := resourceARNs{Table: v[0].(string), Queue: v[1].(string), DeadLetterQueue: v[2].(string), LogGroup: v[3].(string)}
		for _, p := range v[4:] {
			a.Parameters = append(a.Parameters, p.(string))
		}
		doc, err := spec.policy(a)
		if err != nil {
			return "", err
		}
		return jsonString(doc)
	}).(pulumi.StringOutput)
	policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: document,
	})
	if err != nil {
		return nil, err
	}

	fn, err := lambda.NewFunction(ctx, name, &lambda.FunctionArgs{
		Runtime:       pulumi.String("provided.al2023"),
		Architectures: pulumi.StringArray{pulumi.String("arm64")},
		Handler:       pulumi.String("bootstrap"),
		Code:          pulumi.NewFileArchive(spec.zip),
		Role:          role.Arn,
		MemorySize:    pulumi.Int(spec.memoryMB),
		Timeout:       pulumi.Int(spec.timeoutSec),
		Environment:   lambda.FunctionEnvironmentArgs{Variables: env},
		LoggingConfig: lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String("JSON"),
			LogGroup:  logGroup.Name,
		},
	}, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}
	return &function{fn: fn, logGroup: logGroup, policy: policy}, nil
}

// deadLetterBatchSize and deadLetterConcurrency keep the draining of the
// dead-letter queue small beside the real work: dead letters are rare, and
// 2 is AWS's least concurrency.
const (
	deadLetterBatchSize   = 5
	deadLetterConcurrency = 2
)

// newWorkerTriggers feed the work queue to the worker, and the dead-letter
// queue too: the worker tells dead letters by their queue's ARN
// (DEAD_LETTER_QUEUE_ARN) and ends their prospects as failed, so that every
// campaign reaches a final status. With ReportBatchItemFailures only the
// messages the worker names are retried; MaximumConcurrency bounds the
// parallel OpenAI calls (times WORKER_CONCURRENCY).
func newWorkerTriggers(ctx *pulumi.Context, cfg Config, q *queues, worker *function) error {
	// AWS checks the role can read the queue.
	deps := pulumi.DependsOn([]pulumi.Resource{worker.policy})
	_, err := lambda.NewEventSourceMapping(ctx, "ingren-worker-queue", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 q.work.Arn,
		FunctionName:                   worker.fn.Arn,
		BatchSize:                      pulumi.Int(cfg.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(cfg.MaxBatchingWindowSeconds),
		FunctionResponseTypes:          pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(cfg.MaxConcurrency),
		},
	}, deps)
	if err != nil {
		return err
	}
	_, err = lambda.NewEventSourceMapping(ctx, "ingren-worker-dlq", &lambda.EventSourceMappingArgs{
		EventSourceArn:        q.dead.Arn,
		FunctionName:          worker.fn.Arn,
		BatchSize:             pulumi.Int(deadLetterBatchSize),
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(deadLetterConcurrency),
		},
	}, deps)
	return err
}
