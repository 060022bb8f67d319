package testenv

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS's limits on queue names and on the attributes CreateQueue takes.
const (
	maxQueueName       = 80
	maxVisibility      = 12 * time.Hour
	maxMaxReceiveCount = 1000
)

// CreateQueue creates a uniquely named queue and a dead-letter queue for it:
// the queue hides a received message for visibility (whole seconds, as SQS
// counts them) and moves a message to the DLQ once it has been received
// maxReceive times without being deleted. Both are deleted when the test ends.
// It returns both queues' URLs.
func CreateQueue(tb testing.TB, c *sqs.Client, visibility time.Duration, maxReceive int) (url, dlqURL string) {
	tb.Helper()
	if visibility < 0 || visibility > maxVisibility || visibility%time.Second != 0 {
		tb.Fatalf("create queue: visibility %v: want whole seconds from 0 to %v", visibility, maxVisibility)
	}
	if maxReceive < 1 || maxReceive > maxMaxReceiveCount {
		tb.Fatalf("create queue: maxReceive %d: want 1 to %d", maxReceive, maxMaxReceiveCount)
	}
	const dlqSuffix = "-dlq"
	name := uniqueName(tb, maxQueueName-len(dlqSuffix))

	dlqURL = mustCreateQueue(tb, c, name+dlqSuffix, nil)
	ctx, cancel := opContext()
	defer cancel()
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(dlqURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		tb.Fatalf("get arn of queue %s: %v", dlqURL, err)
	}
	redrive, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     strconv.Itoa(maxReceive),
	})
	if err != nil {
		tb.Fatalf("redrive policy: %v", err)
	}
	url = mustCreateQueue(tb, c, name, map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(visibility / time.Second)),
		string(types.QueueAttributeNameRedrivePolicy):     string(redrive),
	})
	return url, dlqURL
}

// mustCreateQueue creates a queue, deletes it when the test ends, and returns
// its URL.
func mustCreateQueue(tb testing.TB, c *sqs.Client, name string, attrs map[string]string) string {
	tb.Helper()
	ctx, cancel := opContext()
	defer cancel()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		tb.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	deleteAtEnd[*types.QueueDoesNotExist](tb, "queue "+url, func(ctx context.Context) error {
		_, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		return err
	})
	return url
}
