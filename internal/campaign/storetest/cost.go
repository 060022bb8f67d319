package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// costTests are the cases of the campaign's cost counter
// (email.Usage.CostMicroUSD and Unpriced) and its cached prompt tokens.
var costTests = []storeTest{
	{"CostCounterAddsFinishAndReviseAndSurvivesReset", testCostCounter},
}

// priced returns o with the cost counter a worker gives it, and 2 of its
// prompt tokens served from the provider's cache.
func priced(o campaign.Outcome, micro int64, unpriced int) campaign.Outcome {
	o.Usage.CostMicroUSD, o.Usage.Unpriced, o.Usage.CachedPromptTokens = micro, unpriced, 2
	return o
}

func testCostCounter(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	// Finished, for Reopen below; its emails are finished here.
	c := finishedCampaign(t, s, 3, campaign.StatusCompletedWithErrors)
	if got := mustGet(t, s, c); got.Usage.CostMicroUSD != 0 || got.Usage.Unpriced != 0 {
		t.Fatalf("a new campaign's cost counter = %d µ$, %d unpriced; want 0, 0", got.Usage.CostMicroUSD, got.Usage.Unpriced)
	}
	// 0 priced, 1 of a model without a price, 2 failed but paid for.
	mustFinish(t, s, c.ID, 0, campaign.EmailSucceeded, priced(outcomeOf(campaign.EmailSucceeded, "a", 10), 1500, 0), base)
	mustFinish(t, s, c.ID, 1, campaign.EmailSucceeded, priced(outcomeOf(campaign.EmailSucceeded, "b", 10), 0, 1), base)
	mustFinish(t, s, c.ID, 2, campaign.EmailFailed, priced(outcomeOf(campaign.EmailFailed, "c", 10), 20, 0), base)
	// A regenerated draft's calls are added, never the old cost taken away.
	draft := priced(outcomeOf(campaign.EmailSucceeded, "a2", 10), 700, 0)
	got := mustRevise(t, s, c.ID, 0, 1, campaign.Revision{Draft: &draft, Status: campaign.EmailSucceeded}, base.Add(time.Second))
	if u := got.Outcome.Usage; u.CostMicroUSD != 0 || u.Unpriced != 0 {
		t.Errorf("a revised email keeps a cost counter (%d µ$, %d unpriced): an email's cost is priced when read", u.CostMicroUSD, u.Unpriced)
	}
	if u := mustGet(t, s, c).Usage; u.CostMicroUSD != 2220 || u.Unpriced != 1 || u.CachedPromptTokens != 8 {
		t.Fatalf("cost counter = %d µ$, %d unpriced, %d cached tokens; want 2220, 1, 8", u.CostMicroUSD, u.Unpriced, u.CachedPromptTokens)
	}
	// A retried email's cost stays: it was paid for.
	if err := s.Reopen(ctx, c.ID, 0, base.Add(3*time.Second)); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if err := s.Reset(ctx, c.ID, 2, []campaign.EmailStatus{campaign.EmailFailed}, 1, base.Add(4*time.Second)); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	mustFinish(t, s, c.ID, 2, campaign.EmailSucceeded, priced(outcomeOf(campaign.EmailSucceeded, "c2", 10), 30, 0), base.Add(5*time.Second))
	if u := mustGet(t, s, c).Usage; u.CostMicroUSD != 2250 || u.Unpriced != 1 {
		t.Fatalf("cost counter after a retry = %d µ$, %d unpriced; want 2250, 1", u.CostMicroUSD, u.Unpriced)
	}
}
