package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/testprog"
)

func entry(first, company string, problems ...fault.FieldError) campaign.ParsedInput {
	return campaign.ParsedInput{
		Input:    campaign.Input{Prospect: email.Prospect{FirstName: first}, Company: email.Company{CompanyName: company}},
		Problems: problems,
	}
}

// rowName names entry i's fields as a file's row i+2.
func rowName(i int, path string) string { return fmt.Sprintf("rows[%d].%s", i+2, path) }

func TestSubmitInputs(t *testing.T) {
	ctx := context.Background()
	tooLong := fault.FieldError{Field: "rows[4]", Message: "has 3 cells; the header has 2 columns"}
	mixed := []campaign.ParsedInput{entry("Ada", "Acme"), entry("", "Beta"), entry("Cy", "Cee", tooLong)}
	tests := []struct {
		name    string
		head    campaign.Submission
		entries []campaign.ParsedInput
		skip    bool
		total   int
		skipped []int
		fields  []string
	}{
		{name: "OK", entries: []campaign.ParsedInput{entry("Ada", "Acme"), entry("Bo", "Beta")}, total: 2},
		{name: "ErrEveryBadEntry", entries: mixed,
			fields: []string{"rows[3].prospect.first_name", "rows[4]"}},
		{name: "OKSkipInvalid", entries: mixed, skip: true, total: 1, skipped: []int{1, 2}},
		{name: "ErrSkipInvalidLeavesNone", entries: []campaign.ParsedInput{entry("", "Acme")}, skip: true,
			fields: []string{"rows[2].prospect.first_name"}},
		{name: "ErrHeadNotSkipped", head: campaign.Submission{WebhookURL: "ftp://x"}, entries: mixed, skip: true,
			fields: []string{"webhook_url", "rows[3].prospect.first_name", "rows[4]"}},
		{name: "ErrTooMany", entries: slices.Repeat([]campaign.ParsedInput{entry("Ada", "Acme")}, 4), fields: []string{"rows"}},
		{name: "ErrNone", fields: []string{"rows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, queue := testprog.LocalParts(t, time.Hour)
			svc := &campaign.Service{Store: store, Queue: queue, MaxProspects: 3}
			sub, err := svc.SubmitInputs(ctx, "t", "", tt.head, tt.entries, tt.skip, rowName, nil)
			if tt.fields != nil {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Code != fault.Invalid {
					t.Fatalf("err = %v, want fault.Invalid", err)
				}
				var got []string
				for _, f := range fe.Fields {
					got = append(got, f.Field)
				}
				if !slices.Equal(got, tt.fields) {
					t.Fatalf("fields %q, want %q", got, tt.fields)
				}
				if cs, _, _ := store.List(ctx, "t", campaign.Page{Limit: 10}); len(cs) != 0 {
					t.Fatalf("stored %d campaigns; want none", len(cs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var skipped []int
			for _, s := range sub.Skipped {
				skipped = append(skipped, s.Index)
			}
			if sub.Campaign.Total != tt.total || !slices.Equal(skipped, tt.skipped) {
				t.Fatalf("total %d, skipped %v; want %d, %v", sub.Campaign.Total, skipped, tt.total, tt.skipped)
			}
		})
	}
}

// TestSubmitInputsIdempotency replays entries with one key: the same
// campaign is the same campaign, another one a conflict.
func TestSubmitInputsIdempotency(t *testing.T) {
	ctx := context.Background()
	store, queue := testprog.LocalParts(t, time.Hour)
	svc := &campaign.Service{Store: store, Queue: queue}
	entries := []campaign.ParsedInput{entry("Ada", "Acme")}
	first, err := svc.SubmitInputs(ctx, "t", "k", campaign.Submission{Name: "a"}, entries, false, rowName, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.SubmitInputs(ctx, "t", "k", campaign.Submission{Name: "a"}, entries, false, rowName, nil)
	if err != nil || !again.Replayed || again.Campaign.ID != first.Campaign.ID {
		t.Fatalf("replay = %+v, %v; want campaign %s replayed", again, err, first.Campaign.ID)
	}
	if _, err := svc.SubmitInputs(ctx, "t", "k", campaign.Submission{Name: "b"}, entries, false, rowName, nil); !errors.Is(err, campaign.ErrIdempotencyConflict) {
		t.Fatalf("another name: %v, want ErrIdempotencyConflict", err)
	}
}
