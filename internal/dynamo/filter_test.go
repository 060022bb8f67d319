package dynamo

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/email"
)

// countChunks counts the input chunks that the client's queries read.
func countChunks(n *atomic.Int64) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countChunks",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if res, ok := out.Result.(*dynamodb.QueryOutput); ok && awsmiddleware.GetOperationName(ctx) == "Query" {
					for _, item := range res.Items {
						if sk, ok := item[attrSK].(*types.AttributeValueMemberS); ok && strings.HasPrefix(sk.Value, inputPrefix) {
							n.Add(1)
						}
					}
				}
				return out, md, err
			}), middleware.After)
	}
}

// finishedCampaign creates a campaign of total emails, each finished
// (succeeded) by Create but those in pending.
func finishedCampaign(t *testing.T, s *Store, total int, pending ...int) *campaign.Campaign {
	t.Helper()
	c := storetest.NewCampaign("tenant-a", total)
	items := storetest.NewItems(c)
	for i := range items {
		items[i].Status, items[i].Outcome = campaign.EmailSucceeded, &campaign.Outcome{Subject: "s", Body: "b"}
	}
	for _, i := range pending {
		items[i].Status, items[i].Outcome = campaign.EmailPending, nil
	}
	storetest.MustCreate(t, s, c, items)
	return c
}

// TestFilteredPageReadsOnlyItsChunks approves two emails of a campaign of
// ten chunks, one in the first chunk and one in the last: a page of the
// approved reads the result records and those two chunks, not the eight
// between them.
func TestFilteredPageReadsOnlyItsChunks(t *testing.T) {
	s, client, _ := newStore(t, 0)
	var chunks atomic.Int64
	s.client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, countChunks(&chunks))
	})
	ctx := context.Background()
	total := 10 * chunkEntries
	c := finishedCampaign(t, s, total)
	approve := campaign.ReviewApproved
	for _, i := range []int{5, total - 5} {
		if _, err := s.Revise(ctx, c.ID, i, 1, campaign.Revision{Review: &approve}, storetest.Now()); err != nil {
			t.Fatalf("Revise %d: %v", i, err)
		}
	}
	chunks.Store(0)
	page, next, err := s.Emails(ctx, c.ID, campaign.Page{Limit: 10, Filter: campaign.EmailFilter{Reviews: []campaign.Review{approve}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Index != 5 || page[1].Index != total-5 || next != "" {
		t.Fatalf("page = %d emails, next %q; want emails 5 and %d, no next", len(page), next, total-5)
	}
	if got := chunks.Load(); got != 2 {
		t.Errorf("the page read %d chunks, want 2", got)
	}
}

// TestFilteredPendingPagesWalkTheCampaign pages through a few pending
// emails spread over a campaign of three chunks, two at a time: each page
// must read on until it is full.
func TestFilteredPendingPagesWalkTheCampaign(t *testing.T) {
	s, _, _ := newStore(t, 0)
	ctx := context.Background()
	total := 2*chunkEntries + 50
	pending := []int{10, chunkEntries + 50, total - 1}
	c := finishedCampaign(t, s, total, pending...)
	f := campaign.EmailFilter{Statuses: []campaign.EmailStatus{campaign.EmailPending}}
	var got []int
	var sizes []int
	cursor := ""
	for range 10 {
		page, next, err := s.Emails(ctx, c.ID, campaign.Page{Limit: 2, Cursor: cursor, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, e := range page {
			got = append(got, e.Index)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != 3 || got[0] != pending[0] || got[1] != pending[1] || got[2] != pending[2] || len(sizes) != 2 || sizes[0] != 2 {
		t.Errorf("pending emails = %v in pages %v, want %v in pages [2 1]", got, sizes, pending)
	}
}

// TestRecordsFromBeforeReview reads and writes records that Create and
// Finish wrote before review and retries existed: a result record without
// a version, a campaign record without round, approved or rejected.
func TestRecordsFromBeforeReview(t *testing.T) {
	s, client, table := newStore(t, 0)
	ctx := context.Background()
	now := storetest.Now()
	c := storetest.NewCampaign("tenant-a", 3)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	for i, status := range []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailSucceeded, campaign.EmailFailed} {
		if err := s.Finish(ctx, c.ID, i, status, campaign.Outcome{Subject: "s"}, now); err != nil {
			t.Fatalf("Finish %d: %v", i, err)
		}
	}
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued}, campaign.StatusCompletedWithErrors, now); err != nil {
		t.Fatal(err)
	}
	remove := func(sk string, attrs ...string) {
		t.Helper()
		names := map[string]string{}
		var list []string
		for i, a := range attrs {
			n := "#a" + string(rune('0'+i))
			names[n], list = a, append(list, n)
		}
		if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &table, Key: key(campaignPK(c.ID), sk),
			UpdateExpression: strPtr("REMOVE " + strings.Join(list, ", ")), ExpressionAttributeNames: names,
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		remove(itemSK(i), attrVersion)
	}
	remove(metaSK, attrRound, "approved", "rejected")

	// A finished email is at version 1, as Finish now leaves it.
	e, err := s.Email(ctx, c.ID, 0)
	if err != nil || e.Version != 1 {
		t.Fatalf("Email = %+v, %v; want version 1", e, err)
	}
	approve := campaign.ReviewApproved
	if e, err := s.Revise(ctx, c.ID, 0, 1, campaign.Revision{Review: &approve}, now); err != nil || e.Version != 2 {
		t.Fatalf("Revise at version 1 = %+v, %v; want version 2", e, err)
	}
	if e, err := s.Email(ctx, c.ID, 0); err != nil || e.Version != 2 {
		t.Fatalf("Email after Revise = %+v, %v; want version 2", e, err)
	}
	if err := s.Hold(ctx, c.ID, 1, 1, "a", now, now.Add(time.Minute)); err != nil {
		t.Errorf("Hold at version 1: %v", err)
	}
	if err := s.Reopen(ctx, c.ID, 0, now); err != nil {
		t.Fatalf("Reopen of round 0: %v", err)
	}
	if err := s.Reset(ctx, c.ID, 2, []campaign.EmailStatus{campaign.EmailFailed}, 1, now); err != nil {
		t.Errorf("Reset: %v", err)
	}
	if e, err := s.Email(ctx, c.ID, 2); err != nil || e.Version != 2 || e.Status != campaign.EmailPending {
		t.Errorf("Email after Reset = %+v, %v; want pending at version 2", e, err)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Approved != 1 || got.Round != 1 || !got.Retrying || got.Failed != 0 || got.Succeeded != 2 {
		t.Errorf("campaign = %d approved, round %d, retrying %v, %d failed, %d succeeded; want 1, 1, true, 0, 2",
			got.Approved, got.Round, got.Retrying, got.Failed, got.Succeeded)
	}
}

// TestRecordsFromBeforeBatchMode reads a campaign record written before
// batch mode (no mode, warnings or batch token attributes): it is
// realtime, without warnings or batch usage, and batch mode works on it.
func TestRecordsFromBeforeBatchMode(t *testing.T) {
	s, client, table := newStore(t, 0)
	ctx := context.Background()
	now := storetest.Now()
	c := storetest.NewCampaign("tenant-a", 2)
	c.Mode, c.Warnings = campaign.ModeBatch, []string{"removed"}
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	batched := campaign.Outcome{Subject: "s", Usage: email.Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10}.AsBatch()}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, batched, now); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &table, Key: key(campaignPK(c.ID), metaSK),
		UpdateExpression: strPtr("REMOVE #m, #w, #bpt, #bct"),
		ExpressionAttributeNames: map[string]string{
			"#m": "mode", "#w": "warnings", "#bpt": "batch_prompt_tokens", "#bct": "batch_completion_tokens",
		},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *c
	want.Mode, want.Warnings = campaign.ModeRealtime, nil
	want.Succeeded, want.UpdatedAt = 1, now
	want.Usage = email.Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10}
	storetest.EqualCampaign(t, got, &want)

	if err := s.SwitchMode(ctx, c.ID, campaign.ModeRealtime, campaign.ModeBatch, "first", now); err != nil {
		t.Fatalf("SwitchMode from realtime: %v", err)
	}
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, batched, now); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != campaign.ModeBatch || len(got.Warnings) != 1 || got.Usage != want.Usage.Add(batched.Usage) {
		t.Errorf("after SwitchMode and Finish: mode %s, warnings %q, usage %+v; want batch, [first], %+v",
			got.Mode, got.Warnings, got.Usage, want.Usage.Add(batched.Usage))
	}
}

func strPtr(s string) *string { return &s }
