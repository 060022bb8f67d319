package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/lint"
)

type emailResponse struct {
	ID      string      `json:"id"`
	Subject string      `json:"subject"`
	Body    string      `json:"body"`
	Model   string      `json:"model"`
	Usage   usageView   `json:"usage"`
	Quality lint.Report `json:"quality"`
	// NeedsReview: an error-level finding survived the repair round.
	NeedsReview bool     `json:"needs_review"`
	Warnings    []string `json:"warnings"`
	// Variants holds every variant (the first is subject/body above) when
	// options.variants > 1.
	Variants []email.Checked `json:"variants,omitempty"`
	// Sequence holds the initial email and its follow-ups with their send
	// days when options.sequence is set.
	Sequence []email.Checked `json:"sequence,omitempty"`
}

func (s *Server) generateEmail(w http.ResponseWriter, r *http.Request) error {
	// The body first, under its own short deadline, and checked: a slot
	// is for model work, and a client trickling its body in must not hold
	// one.
	body, err := readBody(w, r, s.cfg.MaxEmailBody, s.cfg.EmailBodyTimeout)
	if err != nil {
		return err
	}
	req, warnings, err := s.composer.Decode(body)
	if err != nil {
		return err
	}
	ctx, done, err := s.takeEmailSlot(r.Context(), tenantOf(r.Context()))
	if err != nil {
		return err
	}
	defer done()
	id := newID("em_")
	var res email.Result
	if s.cfg.Meter != nil {
		res, err = s.cfg.Meter.Compose(ctx, tenantOf(r.Context()), id, &req)
	} else {
		res, err = s.composer.Compose(ctx, &req)
	}
	if err != nil {
		return err
	}
	first := res.Emails[0]
	addLog(r.Context(), slog.String("model", res.Model), slog.Int("total_tokens", res.Usage.TotalTokens),
		slog.Int("quality_score", first.Quality.Score), slog.Bool("needs_review", res.NeedsReview))
	out := emailResponse{
		ID:          id,
		Subject:     first.Subject,
		Body:        first.Body,
		Model:       res.Model,
		Usage:       usageView{Usage: res.Usage},
		Quality:     first.Quality,
		NeedsReview: res.NeedsReview,
		Warnings:    append(append([]string{}, warnings...), res.Warnings...),
	}
	if out.Usage.CostUSD = costUSD(campaign.CostOf(s.cfg.Prices, res.Model, res.Usage)); out.Usage.CostUSD == nil {
		out.Warnings = append(out.Warnings, unpricedWarning(res.Model))
	}
	switch req.Options.Kind() {
	case email.RequestVariants:
		out.Variants = res.Emails
	case email.RequestSequence:
		out.Sequence = res.Emails
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// takeEmailSlot takes one of tenant's slots for a model call of one email
// (generate-email, or a regenerate), or refuses with 503 overloaded when
// none is free, and bounds the call by EmailTimeout: both calls cost the
// same, so they share the slots and the bound. done gives the slot back.
func (s *Server) takeEmailSlot(ctx context.Context, tenant string) (_ context.Context, done func(), _ error) {
	if !s.emailSlots.acquire(tenant) {
		return nil, nil, &Error{Status: http.StatusServiceUnavailable, Code: "overloaded",
			Message: "too many emails are being written right now, for this key or in all; retry shortly", RetryAfter: time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EmailTimeout)
	return ctx, func() {
		cancel()
		s.emailSlots.release(tenant)
	}, nil
}
