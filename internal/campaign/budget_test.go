package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/testprog"
)

// TestCancelGivesBackWhatPendingEmailsHold: a cancelled campaign's
// pending emails that hold budget (a delivery died holding, or their
// batch was cancelled at the provider) are never finished, so the cancel
// gives their holds back to the campaign and to the key's month; an email
// already written keeps its booked cost.
func TestCancelGivesBackWhatPendingEmailsHold(t *testing.T) {
	for _, st := range replayStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			store := st.new(t)
			_, queue := testprog.LocalParts(t, time.Hour)
			svc := &campaign.Service{Store: store, Queue: queue, Model: "gpt-4o-mini"}
			sub, err := svc.Submit(ctx, "t", "", []byte(`{"max_cost_usd": 1, "prospects": [
				{"prospect": {"first_name": "Ann"}, "company": {"company_name": "A"}},
				{"prospect": {"first_name": "Bob"}, "company": {"company_name": "B"}},
				{"prospect": {"first_name": "Cy"}, "company": {"company_name": "C"}}]}`))
			if err != nil {
				t.Fatal(err)
			}
			id, now := sub.Campaign.ID, time.Now()
			month := campaign.MonthOf(now)
			hold := campaign.Reservation{Amount: 100, Month: month, KeyLimit: 10_000}
			for i := range 3 {
				if _, err := store.Reserve(ctx, id, i, "t", hold, now); err != nil {
					t.Fatalf("reserve email %d: %v", i, err)
				}
			}
			// Email 0 is written (cost 90); 1 and 2 stay pending, holding.
			if err := store.Finish(ctx, id, 0, campaign.EmailSucceeded, campaign.Outcome{Subject: "Hi", Body: "Hello",
				Model: "gpt-4o-mini", Usage: emailUsage(90)}, now); err != nil {
				t.Fatal(err)
			}
			if c, err := svc.Cancel(ctx, "t", id); err != nil || c.Status != campaign.StatusCancelled {
				t.Fatalf("cancel: %+v, %v", c, err)
			}
			c, err := store.Get(ctx, "t", id)
			if err != nil {
				t.Fatal(err)
			}
			m, err := store.Month(ctx, "t", month)
			if err != nil {
				t.Fatal(err)
			}
			if c.ReservedMicroUSD != 0 || c.Usage.CostMicroUSD != 90 || m.ReservedMicroUSD != 0 || m.SpentMicroUSD != 90 {
				t.Errorf("after the cancel: campaign holds %d and spent %d, month holds %d and spent %d; want 0, 90, 0, 90",
					c.ReservedMicroUSD, c.Usage.CostMicroUSD, m.ReservedMicroUSD, m.SpentMicroUSD)
			}
			e, err := store.Email(ctx, id, 1)
			if err != nil || e.Reserved.Amount != 0 || e.Status != campaign.EmailPending {
				t.Errorf("email 1 after the cancel: %+v, %v; want pending without a hold", e, err)
			}
		})
	}
}

// emailUsage is a usage that cost micro micro-dollars.
func emailUsage(micro int64) email.Usage {
	return email.Usage{PromptTokens: 500, CompletionTokens: 100, TotalTokens: 600, CostMicroUSD: micro}
}
