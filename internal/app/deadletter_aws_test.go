package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/openai"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/testenv"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/prompts"
)

// testDLQARN is the dead-letter queue's ARN the worker Lambda is given
// (DEAD_LETTER_QUEUE_ARN) and the DLQ's events carry, as Lambda's mapping
// of the DLQ would deliver them.
const testDLQARN = "arn:aws:sqs:us-east-1:000000000000:ingren-test-dlq"

// pollDLQ is the test's stand-in for the event source mapping of the
// dead-letter queue: it hands the DLQ's messages to the worker Lambda's
// handler, built as its main builds it, and deletes all but the reported
// failures. Every batch is delivered twice, one after the other: settling
// a dead letter again must change nothing.
func (w *awsWorld) pollDLQ(t *testing.T, ctx context.Context) {
	t.Helper()
	dlq := sqsqueue.New(w.sqs, w.dlqURL)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Go(func() {
		for ctx.Err() == nil {
			msgs, err := dlq.Receive(ctx, 10, time.Second)
			if err != nil || len(msgs) == 0 {
				continue
			}
			failed := map[string]bool{}
			for range 2 {
				res, err := w.invoke(sqsevent.Event(msgs, testDLQARN))
				if err != nil {
					t.Error(err)
				}
				for _, f := range res.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
			}
			var del []string
			for _, m := range msgs {
				if !failed[m.ID] {
					del = append(del, m.Handle)
				}
			}
			if err := dlq.Delete(context.WithoutCancel(ctx), del); err != nil {
				t.Error(err)
			}
		}
	})
}

// refusedFinish is a Store that refuses to record email index on
// every delivery, as a failing table would.
type refusedFinish struct {
	campaign.Store
	index int
}

func (s refusedFinish) Finish(ctx context.Context, id string, index int, st campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	if index == s.index {
		return errors.New("the store refused the write")
	}
	return s.Store.Finish(ctx, id, index, st, r, now)
}

// TestAWSDeadLettersEndTheirCampaign makes messages reach the dead-letter
// queue on the emulators, an email message through the queue's redrive and
// an expand message sent there, and feeds the DLQ to the worker Lambda as
// its mapping would: the prospects fail with a reason, the campaign
// completes with errors, and no model is called for them (issue 9, A3:
// they stayed pending and the campaign running for ever).
func TestAWSDeadLettersEndTheirCampaign(t *testing.T) {
	t.Run("EmailRedriven", func(t *testing.T) {
		up := openaitest.New(t)
		w := newAWSWorld(t, up.URL, map[string]string{"DEAD_LETTER_QUEUE_ARN": testDLQARN})
		set, err := prompt.Load(prompts.FS)
		if err != nil {
			t.Fatal(err)
		}
		writer, err := openai.New(openai.Config{APIKey: "sk-test", BaseURL: up.URL})
		if err != nil {
			t.Fatal(err)
		}
		// The work queue's worker fails email 1's write on every delivery
		// (the queue redrives after 3), and its retries come back after a
		// second.
		store := refusedFinish{Store: dynamo.New(testenv.DynamoDB(t), w.table, time.Hour), index: 1}
		failing := sqsevent.Handler(&campaign.Worker{Store: store, Queue: w.queue,
			Composer:   &email.Composer{Writer: writer, Prompts: set},
			MaxReceive: 3, RetryDelay: time.Second, Log: slog.New(slog.DiscardHandler)}, "")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.poll(t, ctx, func(ev events.SQSEvent) []events.SQSEventResponse {
			res, _ := failing(context.Background(), ev)
			return []events.SQSEventResponse{res}
		})
		w.pollDLQ(t, ctx)
		id := w.submit(t, "key-a", 3)
		c := w.waitDone(t, "key-a", id, 90*time.Second)
		if c.Status != "completed_with_errors" || c.Succeeded != 2 || c.Failed != 1 {
			t.Fatalf("campaign %+v, want completed_with_errors with 2 succeeded, 1 failed", c)
		}
		checkFailed(t, w, id, map[int]string{1: "gave up after 3 deliveries"})
		if n := up.Count(); n != 2+3 {
			t.Errorf("model calls %d, want 5: one per delivery of email 1, none to settle it", n)
		}
	})
	t.Run("ExpandSentToTheDLQ", func(t *testing.T) {
		up := openaitest.New(t)
		w := newAWSWorld(t, up.URL, map[string]string{"DEAD_LETTER_QUEUE_ARN": testDLQARN})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		id := w.submit(t, "key-a", 3)
		msgs, err := w.queue.Receive(ctx, 10, 5*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("the expand message: %d messages, %v", len(msgs), err)
		}
		if err := sqsqueue.New(w.sqs, w.dlqURL).Send(ctx, [][]byte{msgs[0].Body}); err != nil {
			t.Fatal(err)
		}
		if err := w.queue.Delete(ctx, []string{msgs[0].Handle}); err != nil {
			t.Fatal(err)
		}
		w.pollDLQ(t, ctx)
		c := w.waitDone(t, "key-a", id, 60*time.Second)
		if c.Status != "completed_with_errors" || c.Failed != 3 {
			t.Fatalf("campaign %+v, want completed_with_errors with 3 failed", c)
		}
		why := "the campaign could not be expanded (gave up after 3 deliveries)"
		checkFailed(t, w, id, map[int]string{0: why, 1: why, 2: why})
		if n := up.Count(); n != 0 {
			t.Errorf("model calls %d, want none", n)
		}
	})
}

// checkFailed checks that exactly the emails in want failed, each with its
// reason.
func checkFailed(t *testing.T, w *awsWorld, id string, want map[int]string) {
	t.Helper()
	status, body := w.call(t, "GET", "/api/v1/campaigns/"+id+"/emails", "key-a", nil)
	if status != 200 {
		t.Fatalf("emails: %d %s", status, body)
	}
	for _, e := range testprog.MustDecode[testprog.Emails](t, []byte(body)).Emails {
		why, failed := want[e.Index]
		switch {
		case failed && (e.Status != "failed" || e.Error != why):
			t.Errorf("email %d: %s %q, want failed: %s", e.Index, e.Status, e.Error, why)
		case !failed && e.Status != "succeeded":
			t.Errorf("email %d: %s %q, want succeeded", e.Index, e.Status, e.Error)
		}
	}
}
