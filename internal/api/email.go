package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/ingren/ingren/internal/email"
)

type emailResponse struct {
	ID       string      `json:"id"`
	Subject  string      `json:"subject"`
	Body     string      `json:"body"`
	Model    string      `json:"model"`
	Usage    email.Usage `json:"usage"`
	Warnings []string    `json:"warnings"`
}

func (s *Server) generateEmail(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxEmailBody))
	if err != nil {
		return err
	}
	req, warnings, err := email.Decode(body)
	if err != nil {
		return err
	}
	if err := req.Validate(""); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.EmailTimeout)
	defer cancel()
	res, err := s.composer.Compose(ctx, &req)
	if err != nil {
		return err
	}
	addLog(r.Context(), slog.String("model", res.Model), slog.Int("total_tokens", res.Usage.TotalTokens))
	writeJSON(w, http.StatusOK, emailResponse{
		ID:       newID("em_"),
		Subject:  res.Subject,
		Body:     res.Body,
		Model:    res.Model,
		Usage:    res.Usage,
		Warnings: append(append([]string{}, warnings...), res.Warnings...),
	})
	return nil
}
