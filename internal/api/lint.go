package api

import (
	"log/slog"
	"net/http"

	"github.com/ingren/ingren/internal/email"
)

type lintResponse struct {
	email.Linted
	Warnings []string `json:"warnings"`
}

// lintEmail checks an email written elsewhere, or one of ours edited, as
// a written email is checked. It makes no model call, so it takes no
// slot: its work is bounded by the body's size.
func (s *Server) lintEmail(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, s.cfg.MaxEmailBody, s.cfg.EmailBodyTimeout)
	if err != nil {
		return err
	}
	req, warnings, err := s.composer.DecodeLint(body)
	if err != nil {
		return err
	}
	res := s.composer.Lint(&req)
	addLog(r.Context(), slog.Int("quality_score", res.Quality.Score), slog.Bool("needs_review", res.NeedsReview))
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusOK, lintResponse{Linted: res, Warnings: warnings})
	return nil
}
