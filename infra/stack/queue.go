package stack

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const fourteenDays = 14 * 24 * 60 * 60

type queues struct {
	work *sqs.Queue
	dead *sqs.Queue
}

// newQueues declares the work queue the worker consumes and the dead-letter
// queue that keeps what was received MaxReceiveCount times; the worker
// consumes that too, ending its prospects as failed.
func newQueues(ctx *pulumi.Context, cfg Config) (*queues, error) {
	dead, err := sqs.NewQueue(ctx, "ingren-dlq", &sqs.QueueArgs{
		MessageRetentionSeconds: pulumi.Int(fourteenDays),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		// The worker drains it through an event source mapping, which AWS
		// refuses on a queue whose timeout is below the function's.
		VisibilityTimeoutSeconds: pulumi.Int(visibilityTimeout(cfg)),
	})
	if err != nil {
		return nil, err
	}

	work, err := sqs.NewQueue(ctx, "ingren-work-queue", &sqs.QueueArgs{
		// AWS's advice for a Lambda source: six times the function timeout, plus
		// the batching window, so a message is not redelivered while a slow
		// batch is still working on it.
		VisibilityTimeoutSeconds: pulumi.Int(visibilityTimeout(cfg)),
		SqsManagedSseEnabled:     pulumi.Bool(true),
		RedrivePolicy: dead.Arn.ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{
				"deadLetterTargetArn": arn,
				"maxReceiveCount":     cfg.MaxReceiveCount,
			})
		}).(pulumi.StringOutput),
	})
	if err != nil {
		return nil, err
	}

	// Declared apart from the DLQ because it names the work queue, which
	// itself names the DLQ.
	_, err = sqs.NewRedriveAllowPolicy(ctx, "ingren-dlq-redrive-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl: dead.Url,
		RedriveAllowPolicy: work.Arn.ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{
				"redrivePermission": "byQueue",
				"sourceQueueArns":   []string{arn},
			})
		}).(pulumi.StringOutput),
	})
	if err != nil {
		return nil, err
	}
	return &queues{work: work, dead: dead}, nil
}

func visibilityTimeout(cfg Config) int {
	return 6*cfg.WorkerTimeoutSeconds + cfg.MaxBatchingWindowSeconds
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
