package sqsevent_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/testprog"
)

const dlqARN = "arn:aws:sqs:us-east-1:123456789012:ingren-dlq"

// countingComposer writes a fixed email and counts its calls.
type countingComposer struct{ calls atomic.Int32 }

func (c *countingComposer) Compose(_ context.Context, req *email.Request) (email.Result, error) {
	c.calls.Add(1)
	return email.Result{Emails: []email.Checked{{Subject: "Hi " + req.Prospect.FirstName, Body: "Body"}}, Model: "test"}, nil
}

// TestHandlerSettlesDeadLetters feeds the handler an event holding a work
// queue record and a dead-letter queue record: the first is worked (one
// model call), the second settled as a failed prospect without one.
func TestHandlerSettlesDeadLetters(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	sub, err := (&campaign.Service{Store: store, Queue: queue}).Submit(ctx, "t", "", []byte(`{"prospects": [
		{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}},
		{"prospect": {"first_name": "B"}, "company": {"company_name": "Y"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	id := sub.Campaign.ID

	raw, err := os.ReadFile("testdata/work-and-dead-letter.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "CAMPAIGN_ID", id)), &ev); err != nil {
		t.Fatal(err)
	}
	model := &countingComposer{}
	handler := sqsevent.Handler(&campaign.Worker{Store: store, Queue: queue, Composer: model}, dlqARN)
	res, err := handler(ctx, ev)
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("handler: %+v, %v", res, err)
	}
	if n := model.calls.Load(); n != 1 {
		t.Errorf("model calls %d, want 1: the dead letter must not reach the model", n)
	}
	emails, _, err := store.Emails(ctx, id, campaign.Page{})
	if err != nil || len(emails) != 2 {
		t.Fatalf("emails %+v, %v", emails, err)
	}
	if emails[0].Status != campaign.EmailSucceeded {
		t.Errorf("the work queue's email: %s", emails[0].Status)
	}
	if emails[1].Status != campaign.EmailFailed || emails[1].Outcome.Error != "gave up after 5 deliveries" {
		t.Errorf("the dead letter's email: %s %+v", emails[1].Status, emails[1].Outcome)
	}
	c, err := store.Get(ctx, "t", id)
	if err != nil || c.Status != campaign.StatusCompletedWithErrors {
		t.Errorf("campaign %+v, %v; want completed_with_errors", c, err)
	}
}
