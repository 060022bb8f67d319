package testprog

// Campaign is a campaign as the API shows it (GET /api/v1/campaigns/{id}).
// Every field compares with ==, so that two reads of one campaign can be
// compared whole; CompletedAt is therefore the API's text, empty until the
// campaign finishes.
type Campaign struct {
	CampaignID  string `json:"campaign_id"`
	Status      string `json:"status"`
	Total       int    `json:"total"`
	Succeeded   int    `json:"succeeded"`
	Failed      int    `json:"failed"`
	NeedsReview int    `json:"needs_review"`
	Skipped     int    `json:"skipped"`
	Pending     int    `json:"pending"`
	CompletedAt string `json:"completed_at"`
	Usage       struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

// Done reports whether every email of the campaign has an outcome
// (succeeded, needs_review, failed or skipped: the API counts each once).
func (c Campaign) Done() bool { return c.Succeeded+c.NeedsReview+c.Failed+c.Skipped >= c.Total }

// Final reports whether the campaign's status is final: nothing more
// happens to it.
func (c Campaign) Final() bool {
	return c.Status == "completed" || c.Status == "completed_with_errors" || c.Status == "cancelled"
}

// Email is one email of a campaign as GET /api/v1/campaigns/{id}/emails
// lists it.
type Email struct {
	Index   int    `json:"index"`
	Ref     string `json:"ref"`
	Status  string `json:"status"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Error   string `json:"error"`
}

// Emails is one page of that listing.
type Emails struct {
	Emails     []Email `json:"emails"`
	NextCursor string  `json:"next_cursor"`
}
