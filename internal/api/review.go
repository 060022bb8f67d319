package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// The review of a campaign's emails: read one, change it (edit, decide,
// note), regenerate it, retry the campaign's failed ones. The rules live in
// campaign.Service; these handlers read the request and show the answer.

// maxReviewBody bounds a PATCH or regenerate body: an edited subject and
// body (email.MaxLintSubject, email.MaxLintBody runes, up to 4 bytes each
// and JSON escapes) with room to spare.
const maxReviewBody = 256 << 10

func (s *Server) getEmail(w http.ResponseWriter, r *http.Request) error {
	index, err := indexParam(r)
	if err != nil {
		return err
	}
	e, err := s.campaigns.Email(r.Context(), tenantOf(r.Context()), r.PathValue("id"), index)
	if err != nil {
		return emailError(err, index)
	}
	return s.writeEmail(w, http.StatusOK, e)
}

// changeRequest is a PATCH body: nil members are left as they are.
type changeRequest struct {
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
	Review  *string `json:"review"`
	Note    *string `json:"note"`
}

func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var req changeRequest
	index, ifMatch, err := s.readReviewRequest(w, r, &req, false)
	if err != nil {
		return err
	}
	ch := campaign.Change{Subject: req.Subject, Body: req.Body, Note: req.Note}
	if req.Review != nil {
		rv, ok := reviewOf(*req.Review)
		if !ok {
			return fault.Fields{{Field: "review", Message: "must be approved, rejected or unreviewed"}}.Err()
		}
		ch.Review = &rv
	}
	e, err := s.campaigns.Change(r.Context(), tenantOf(r.Context()), r.PathValue("id"), index, ifMatch, ch)
	if err != nil {
		return emailError(err, index)
	}
	addLog(r.Context(), slog.Int("index", index), slog.Int("version", e.Version))
	return s.writeEmail(w, http.StatusOK, e)
}

// regenerateRequest is a regenerate body, which may be left out.
type regenerateRequest struct {
	Instructions string `json:"instructions"`
}

func (s *Server) regenerateEmail(w http.ResponseWriter, r *http.Request) error {
	var req regenerateRequest
	index, ifMatch, err := s.readReviewRequest(w, r, &req, true)
	if err != nil {
		return err
	}
	// A model call, as generate-email's: it takes a slot and the same
	// time bound.
	tenant := tenantOf(r.Context())
	ctx, done, err := s.takeEmailSlot(r.Context(), tenant)
	if err != nil {
		return err
	}
	defer done()
	e, err := s.campaigns.Regenerate(ctx, tenant, r.PathValue("id"), index, ifMatch, req.Instructions)
	if err != nil {
		return emailError(err, index)
	}
	addLog(r.Context(), slog.Int("index", index), slog.Int("version", e.Version), slog.String("status", string(e.Status)))
	return s.writeEmail(w, http.StatusOK, e)
}

type retryResponse struct {
	CampaignID string `json:"campaign_id"`
	Status     string `json:"status"`
	// Retried counts the emails made pending again.
	Retried int `json:"retried"`
}

// includeNeedsReview is the include parameter of a retry that retries
// the flagged emails too.
const includeNeedsReview = "needs_review"

func (s *Server) retryCampaign(w http.ResponseWriter, r *http.Request) error {
	const mustInclude = "must be needs_review or left out"
	inc, _, err := typedQuery(r, "include", mustInclude)
	if err != nil {
		return err
	}
	if inc != "" && inc != includeNeedsReview {
		return fault.Fields{{Field: "include", Message: mustInclude}}.Err()
	}
	c, n, err := s.campaigns.Retry(r.Context(), tenantOf(r.Context()), r.PathValue("id"), inc == includeNeedsReview)
	if err != nil {
		return err
	}
	addLog(r.Context(), slog.String("campaign_id", c.ID), slog.Int("retried", n))
	w.Header().Set("Location", "/api/v1/campaigns/"+c.ID)
	writeJSON(w, http.StatusAccepted, retryResponse{CampaignID: c.ID, Status: string(c.Status), Retried: n})
	return nil
}

// readReviewRequest reads what a PATCH and a regenerate of one email both
// carry, checked in this order: the path's index, If-Match, and the body
// (up to maxReviewBody) decoded strictly into v (see decodeStrict for
// optional).
func (s *Server) readReviewRequest(w http.ResponseWriter, r *http.Request, v any, optional bool) (index, ifMatch int, err error) {
	if index, err = indexParam(r); err != nil {
		return 0, 0, err
	}
	if ifMatch, err = ifMatchHeader(r); err != nil {
		return 0, 0, err
	}
	body, err := readBody(w, r, maxReviewBody, s.cfg.EmailBodyTimeout)
	if err != nil {
		return 0, 0, err
	}
	if err := decodeStrict(body, v, optional); err != nil {
		return 0, 0, err
	}
	return index, ifMatch, nil
}

// writeEmail answers with the email's view and its ETag.
func (s *Server) writeEmail(w http.ResponseWriter, status int, e *campaign.Email) error {
	w.Header().Set("ETag", etag(e.Version))
	writeJSON(w, status, toEmailView(e, s.cfg.Prices))
	return nil
}

// etag is the ETag of an email at version: a strong one, since a version
// is one exact content.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// ifMatchHeader reads If-Match: one ETag this API gave ("3"), or * (any
// version, as without the header), to campaign.Service's ifMatch. A weak
// ETag or a list is refused rather than guessed at: a reviewer's client
// sends back the one ETag it read.
func ifMatchHeader(r *http.Request) (int, error) {
	vs := r.Header.Values("If-Match")
	if len(vs) == 0 {
		return campaign.AnyVersion, nil
	}
	const must = `must be one ETag this API gave, as "3", or *`
	v := strings.TrimSpace(vs[0])
	if len(vs) > 1 {
		v = ""
	}
	if v == "*" {
		return campaign.AnyVersion, nil
	}
	inner, ok := strings.CutPrefix(v, `"`)
	inner, ok2 := strings.CutSuffix(inner, `"`)
	n, ok3 := wholeNumber(inner)
	if !ok || !ok2 || !ok3 {
		return 0, fault.Fields{{Field: "If-Match", Message: must}}.Err()
	}
	return n, nil
}

// indexParam is the path's email index, a whole number from 0.
func indexParam(r *http.Request) (int, error) {
	n, ok := wholeNumber(r.PathValue("index"))
	if !ok {
		return 0, fault.Fields{{Field: "index", Message: "must be a whole number from 0 (the email's index in the campaign)"}}.Err()
	}
	return n, nil
}

// wholeNumber reads s, decimal digits alone (no sign), as an int.
func wholeNumber(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// emailError names the email in a not-found answer: the campaign is not
// the key's, or it has no email at index.
func emailError(err error, index int) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code == fault.NotFound {
		return &Error{Status: http.StatusNotFound, Code: "not_found",
			Message: "no such campaign, or it has no email at index " + strconv.Itoa(index)}
	}
	return err
}

// reviewOf reads a review decision as the API names it.
func reviewOf(s string) (campaign.Review, bool) {
	switch s {
	case string(campaign.ReviewApproved):
		return campaign.ReviewApproved, true
	case string(campaign.ReviewRejected):
		return campaign.ReviewRejected, true
	case reviewUnreviewed:
		return campaign.ReviewNone, true
	}
	return "", false
}

// decodeStrict decodes a small JSON body into v, refusing members v does
// not name: ignored, a misspelt "reveiw" would leave the reviewer
// believing they approved. A member named as a field but for case is that
// field, as in every body. With optional, an empty body (no byte at all:
// whitespace is a body, and not a JSON object) is an empty object.
func decodeStrict(body []byte, v any, optional bool) error {
	if optional && len(body) == 0 {
		return nil
	}
	rep, err := email.DecodeJSON(body, v, "")
	if err != nil {
		return err
	}
	bad := fault.Fields(rep.Invalid)
	for _, w := range rep.Warnings {
		if strings.HasPrefix(w.Message, "read as ") {
			continue
		}
		bad = append(bad, fault.FieldError{Field: w.Field,
			Message: strings.Replace(w.Message, "unknown field ignored", "unknown field", 1)})
	}
	return bad.Err()
}

// filterParam reads the status parameter of the emails listing and its CSV
// export: a comma-separated list of generation statuses and review
// decisions (repeating the parameter adds to the list).
func filterParam(r *http.Request) (campaign.EmailFilter, error) {
	const must = "must be a comma-separated list of succeeded, needs_review, failed, skipped, pending, approved, rejected, unreviewed"
	var f campaign.EmailFilter
	q := r.URL.Query()
	if !q.Has("status") {
		return f, nil
	}
	for _, v := range q["status"] {
		for _, name := range strings.Split(v, ",") {
			switch name = strings.TrimSpace(name); name {
			case string(campaign.EmailSucceeded), string(campaign.EmailNeedsReview), string(campaign.EmailFailed), string(campaign.EmailSkipped), string(campaign.EmailPending):
				f.Statuses = append(f.Statuses, campaign.EmailStatus(name))
			default:
				rv, ok := reviewOf(name)
				if !ok {
					return f, fault.Fields{{Field: "status", Message: must}}.Err()
				}
				f.Reviews = append(f.Reviews, rv)
			}
		}
	}
	return f, nil
}
