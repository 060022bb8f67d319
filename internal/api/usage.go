package api

import (
	"net/http"

	"github.com/ingren/ingren/internal/campaign"
)

// usageResponse answers GET /api/v1/usage: the caller's emails, tokens
// and dollars over some days, per day and per campaign.
type usageResponse struct {
	// Tenant is the caller's tenant id: the name API_KEY_BUDGETS gives
	// its budget under.
	Tenant    string         `json:"tenant"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Total     usageLineView  `json:"total"`
	Days      []usageDayView `json:"days"`
	Campaigns []usageCmpView `json:"campaigns"`
	// SingleEmails are the generate-email calls.
	SingleEmails usageLineView `json:"single_emails"`
	Budget       *budgetView   `json:"budget"`
}

type usageLineView struct {
	Emails int       `json:"emails"`
	Usage  usageView `json:"usage"`
}

type usageDayView struct {
	Date string `json:"date"`
	usageLineView
}

type usageCmpView struct {
	CampaignID string `json:"campaign_id"`
	// Name is null when the campaign has none, or expired.
	Name *string `json:"name"`
	usageLineView
}

// budgetView is the key's monthly budget and what is gone of it.
type budgetView struct {
	Month       string  `json:"month"`
	LimitUSD    float64 `json:"limit_usd"`
	SpentUSD    float64 `json:"spent_usd"`
	ReservedUSD float64 `json:"reserved_usd"`
	// RemainingUSD is what new calls may still hold: never below 0.
	RemainingUSD float64 `json:"remaining_usd"`
}

func lineView(l campaign.UsageLine) usageLineView {
	return usageLineView{Emails: l.Emails, Usage: usageView{Usage: l.Usage, CostUSD: costUSD(campaign.SummedCost(l.Usage))}}
}

func (s *Server) getUsage(w http.ResponseWriter, r *http.Request) error {
	const must = "must be a day as YYYY-MM-DD"
	from, _, err := typedQuery(r, "from", must)
	if err != nil {
		return err
	}
	to, _, err := typedQuery(r, "to", must)
	if err != nil {
		return err
	}
	rep, err := s.campaigns.Usage(r.Context(), tenantOf(r.Context()), from, to)
	if err != nil {
		return err
	}
	out := usageResponse{Tenant: rep.Tenant, From: rep.From, To: rep.To, Total: lineView(rep.Total),
		Days: []usageDayView{}, Campaigns: []usageCmpView{}, SingleEmails: lineView(rep.Single)}
	for _, d := range rep.Days {
		out.Days = append(out.Days, usageDayView{Date: d.Day, usageLineView: lineView(d)})
	}
	for _, c := range rep.Campaigns {
		v := usageCmpView{CampaignID: c.CampaignID, usageLineView: lineView(c)}
		if c.Name != "" {
			name := c.Name
			v.Name = &name
		}
		out.Campaigns = append(out.Campaigns, v)
	}
	if b := rep.Budget; b != nil {
		out.Budget = &budgetView{Month: b.Month, LimitUSD: float64(b.LimitMicroUSD) / 1e6,
			SpentUSD: float64(b.SpentMicroUSD) / 1e6, ReservedUSD: float64(b.ReservedMicroUSD) / 1e6,
			RemainingUSD: float64(max(0, b.LimitMicroUSD-b.SpentMicroUSD-b.ReservedMicroUSD)) / 1e6}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
