package campaign_test

import (
	"testing"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

func TestFinishing(t *testing.T) {
	r := campaign.Outcome{Subject: "Hi", Usage: email.Usage{TotalTokens: 3}}
	for _, tc := range []struct {
		status campaign.EmailStatus
		want   campaign.Tally
	}{
		{campaign.EmailSucceeded, campaign.Tally{Succeeded: 1}},
		{campaign.EmailNeedsReview, campaign.Tally{Succeeded: 1, NeedsReview: 1}},
		{campaign.EmailFailed, campaign.Tally{Failed: 1}},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			got, output, err := campaign.Finishing(tc.status, r)
			if err != nil || got != tc.want {
				t.Fatalf("Finishing = %+v, %v; want %+v", got, err, tc.want)
			}
			if want := `{"subject":"Hi","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":3}}`; string(output) != want {
				t.Errorf("output = %s, want %s", output, want)
			}
		})
	}
	for name, status := range map[string]campaign.EmailStatus{"ErrPending": campaign.EmailPending, "ErrUnknown": "done"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := campaign.Finishing(status, r); err == nil {
				t.Errorf("Finishing(%q): no error", status)
			}
		})
	}
}
