package stack

import (
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// newAlarms declares alarms that fire on the first failure of each kind: a
// message dead-lettered, dead letters left undrained, a worker error, an API
// 5XX. They notify AlarmEmail through an SNS topic when it is set.
func newAlarms(ctx *pulumi.Context, cfg Config, prefix string, q *queues, worker *function, gw *gateway) error {
	var actions pulumi.Array
	if cfg.AlarmEmail != "" {
		topic, err := sns.NewTopic(ctx, "ingren-alarms", &sns.TopicArgs{})
		if err != nil {
			return err
		}
		// AWS mails a confirmation link; nothing arrives until it is clicked.
		_, err = sns.NewTopicSubscription(ctx, "ingren-alarms-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(cfg.AlarmEmail),
		})
		if err != nil {
			return err
		}
		actions = pulumi.Array{topic.Arn}
	}

	alarms := []struct {
		name, description, namespace, metric, statistic string
		dimensions                                      pulumi.StringMap
	}{
		{
			// The worker drains the DLQ within seconds, too fast for the
			// visible count, sampled each minute: count the receives.
			name: "ingren-dlq-messages",
			description: "Messages reached the dead-letter queue (a store error on the last receive, a lease held too long, " +
				"a failed expand, an unreadable message); the worker ends their prospects as failed. The worker's log says why.",
			namespace: "AWS/SQS", metric: "NumberOfMessagesReceived", statistic: "Sum",
			dimensions: pulumi.StringMap{"QueueName": q.dead.Name},
		},
		{
			name:        "ingren-dlq-backlog",
			description: "Dead letters wait in the dead-letter queue: the worker's mapping on it is disabled or cannot read it.",
			namespace:   "AWS/SQS", metric: "ApproximateNumberOfMessagesVisible", statistic: "Maximum",
			dimensions: pulumi.StringMap{"QueueName": q.dead.Name},
		},
		{
			name:        "ingren-worker-errors",
			description: "The worker function failed (crash or timeout), not just one message.",
			namespace:   "AWS/Lambda", metric: "Errors", statistic: "Sum",
			dimensions: pulumi.StringMap{"FunctionName": worker.fn.Name},
		},
		{
			name:        "ingren-api-5xx",
			description: "The API answered 5XX.",
			namespace:   "AWS/ApiGateway", metric: "5XXError", statistic: "Sum",
			dimensions: pulumi.StringMap{"ApiName": gw.api.Name, "Stage": gw.stage.StageName},
		},
	}
	for _, a := range alarms {
		_, err := cloudwatch.NewMetricAlarm(ctx, a.name, &cloudwatch.MetricAlarmArgs{
			// Named after the stack, as DEPLOYMENT.md lists them, rather
			// than with Pulumi's random suffix.
			Name:               pulumi.String(prefix + strings.TrimPrefix(a.name, "ingren")),
			AlarmDescription:   pulumi.String(a.description),
			Namespace:          pulumi.String(a.namespace),
			MetricName:         pulumi.String(a.metric),
			Dimensions:         a.dimensions,
			Statistic:          pulumi.String(a.statistic),
			Period:             pulumi.Int(300),
			EvaluationPeriods:  pulumi.Int(1),
			Threshold:          pulumi.Float64(0),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			TreatMissingData:   pulumi.String("notBreaching"), // no traffic is not a failure
			AlarmActions:       actions,
			OkActions:          actions,
		})
		if err != nil {
			return err
		}
	}
	return nil
}
