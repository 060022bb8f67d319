package sqsqueue_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/queuetest"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/testenv"
)

// maxReceive is the redrive policy's maxReceiveCount of the test queues.
const maxReceive = 5

func TestQueue(t *testing.T) {
	client := testenv.SQS(t)
	queuetest.Run(t, func(t *testing.T, visibility time.Duration) campaign.Queue {
		url, _ := testenv.CreateQueue(t, client, visibility, maxReceive)
		return sqsqueue.New(client, url)
	})
}

// TestRedriveMovesToDeadLetterQueue documents the redrive policy: the
// maxReceive-th receive is the last, and the next one moves the message
// to the DLQ, where it keeps its receive count.
func TestRedriveMovesToDeadLetterQueue(t *testing.T) {
	client := testenv.SQS(t)
	url, dlqURL := testenv.CreateQueue(t, client, 30*time.Second, 2)
	q, dlq := sqsqueue.New(client, url), sqsqueue.New(client, dlqURL)
	ctx := t.Context()
	queuetest.MustSend(t, q, [][]byte{[]byte("poison")})

	for want := 1; want <= 2; want++ {
		m := mustReceiveOne(t, q)
		if m.ReceiveCount != want {
			t.Fatalf("receive %d: ReceiveCount %d", want, m.ReceiveCount)
		}
		if err := q.Extend(ctx, m.Handle, 0); err != nil {
			t.Fatalf("Extend: %v", err)
		}
	}
	if msgs, err := q.Receive(ctx, 10, time.Second); err != nil || len(msgs) != 0 {
		t.Fatalf("third receive = %d messages, %v; want none", len(msgs), err)
	}
	dead := mustReceiveOne(t, dlq)
	if string(dead.Body) != "poison" {
		t.Fatalf("DLQ got %q", dead.Body)
	}
	t.Logf("in the DLQ: ReceiveCount %d", dead.ReceiveCount)
}

// TestExtendAfterDeleteIsAnError documents what the port leaves to the
// backend: SQS refuses to extend a delivery that is no longer in flight.
func TestExtendAfterDeleteIsAnError(t *testing.T) {
	client := testenv.SQS(t)
	url, _ := testenv.CreateQueue(t, client, 30*time.Second, maxReceive)
	q := sqsqueue.New(client, url)
	ctx := t.Context()
	queuetest.MustSend(t, q, [][]byte{[]byte("x")})
	m := mustReceiveOne(t, q)
	if err := q.Delete(ctx, []string{m.Handle}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := q.Extend(ctx, m.Handle, time.Minute); err == nil {
		t.Fatal("Extend of a deleted message: no error")
	}
}

// TestSendTenThousand sends a campaign's worth of messages at once, as the
// worker's expand step does, checks that all arrived, and logs the time.
// It asserts no time, which -race and a busy machine stretch many times;
// BenchmarkSendTenThousand measures. Without -race it takes well under a
// second against fauxqs.
func TestSendTenThousand(t *testing.T) {
	const total = 10_000
	client := testenv.SQS(t)
	url, _ := testenv.CreateQueue(t, client, time.Minute, maxReceive)
	q := sqsqueue.New(client, url)

	start := time.Now()
	queuetest.MustSend(t, q, queuetest.EmailBodies(total))
	took := time.Since(start)
	if n := approximateMessages(t, client, url); n != total {
		t.Fatalf("ApproximateNumberOfMessages %d after Send, want %d", n, total)
	}
	t.Logf("Send %d: %v (%.0f msg/s)", total, took.Round(time.Millisecond), total/took.Seconds())
}

// BenchmarkSendTenThousand measures one Send of 10,000 messages per op.
func BenchmarkSendTenThousand(b *testing.B) {
	client := testenv.SQS(b)
	url, _ := testenv.CreateQueue(b, client, time.Minute, maxReceive)
	q := sqsqueue.New(client, url)
	bodies := queuetest.EmailBodies(10_000)
	for b.Loop() {
		queuetest.MustSend(b, q, bodies)
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkReceiveDelete measures draining b.N messages with 8 receivers
// that receive 10 at a time and delete what they got, as workers would.
func BenchmarkReceiveDelete(b *testing.B) {
	client := testenv.SQS(b)
	url, _ := testenv.CreateQueue(b, client, time.Minute, maxReceive)
	q := sqsqueue.New(client, url)
	queuetest.MustSend(b, q, queuetest.EmailBodies(b.N))
	b.ResetTimer()
	if got := queuetest.Drain(b, q, b.N, 8); got != b.N {
		b.Fatalf("drained %d distinct messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

func approximateMessages(tb testing.TB, client *sqs.Client, url string) int {
	tb.Helper()
	attrs, err := client.GetQueueAttributes(tb.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		tb.Fatalf("GetQueueAttributes: %v", err)
	}
	n, err := strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		tb.Fatalf("ApproximateNumberOfMessages: %v", err)
	}
	return n
}

func mustReceiveOne(t *testing.T, q campaign.Queue) campaign.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := q.Receive(t.Context(), 1, time.Second)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(msgs) == 1 {
			return msgs[0]
		}
	}
	t.Fatal("no message within 10 s")
	return campaign.Delivery{}
}
