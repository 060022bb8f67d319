// Package sqsevent adapts the campaign worker to Lambda's SQS event source
// mapping: an events.SQSEvent in, BatchItemFailures out, so that only the
// transient failures come back.
package sqsevent

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/campaign"
)

// Handler returns the worker Lambda's handler. The event source mappings
// must have ReportBatchItemFailures on (infra sets it). Records from the
// queue whose ARN is deadLetterQueueARN (the work queue's dead-letter queue,
// also mapped to the worker; "" for none) are dead letters, settled with
// Worker.ProcessDeadLetters; the others are work, for Worker.Process.
func Handler(w *campaign.Worker, deadLetterQueueARN string) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var work, dead events.SQSEvent
		for _, r := range ev.Records {
			if deadLetterQueueARN != "" && r.EventSourceARN == deadLetterQueueARN {
				dead.Records = append(dead.Records, r)
			} else {
				work.Records = append(work.Records, r)
			}
		}
		var failed []string
		if len(work.Records) > 0 {
			failed = w.Process(ctx, Messages(work))
		}
		if len(dead.Records) > 0 {
			failed = append(failed, w.ProcessDeadLetters(ctx, Messages(dead))...)
		}
		res := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, 0, len(failed))}
		for _, id := range failed {
			res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		return res, nil
	}
}

// Messages converts an event's records to queue messages.
func Messages(ev events.SQSEvent) []campaign.Delivery {
	msgs := make([]campaign.Delivery, len(ev.Records))
	for i, r := range ev.Records {
		n, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		if err != nil || n < 1 {
			n = 1
		}
		msgs[i] = campaign.Delivery{ID: r.MessageId, Handle: r.ReceiptHandle, Body: []byte(r.Body), ReceiveCount: n}
	}
	return msgs
}

// Event builds the event Lambda would deliver for msgs: the test poller and
// the emulator tests feed the real handler with it.
func Event(msgs []campaign.Delivery, queueARN string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = events.SQSMessage{
			MessageId:      m.ID,
			ReceiptHandle:  m.Handle,
			Body:           string(m.Body),
			Attributes:     map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount)},
			EventSource:    "aws:sqs",
			EventSourceARN: queueARN,
			AWSRegion:      "us-east-1",
		}
	}
	return ev
}
