package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/csvin"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// csvCampaign is a campaign sent as a CSV file: the file, and what the
// JSON form's top level and defaults say (the text/csv form's query, the
// multipart form's campaign part).
type csvCampaign struct {
	campaign.Submission
	// ColumnMap maps a column, by its header, to a field (csvin.Read).
	ColumnMap map[string]string `json:"column_map"`
	// Mode is nil when left out; "" is refused like any other unknown mode.
	Mode *string `json:"mode"`
	// MaxCostUSD is nil when left out; the query's text is read into
	// maxCostText.
	MaxCostUSD *float64 `json:"max_cost_usd"`
	// maxCostText is the text/csv form's query parameter; nil when left
	// out.
	maxCostText *string
	// Prospects come from the file: the member is refused, not ignored.
	Prospects json.RawMessage `json:"prospects"`
	file      []byte
	// warnings are the campaign part's unknown members.
	warnings []string
}

// skippedRow is a row that skip_invalid left out of a campaign.
type skippedRow struct {
	Row    int                `json:"row"`
	Errors []fault.FieldError `json:"errors"`
}

// isCSVCampaign reports whether the body is a file rather than JSON.
func isCSVCampaign(r *http.Request) (string, map[string]string, bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil, false
	}
	switch mt {
	case "text/csv", "application/csv", "multipart/form-data":
		return mt, params, true
	}
	return "", nil, false
}

// createCSVCampaign submits a campaign whose prospects are a CSV file's
// rows, by campaign.Service.SubmitInputs.
// With dryRun it answers the campaign's estimate instead, by
// EstimateInputs: the same checks, nothing stored.
func (s *Server) createCSVCampaign(w http.ResponseWriter, r *http.Request, body []byte, mediaType string, params map[string]string, key string, dryRun bool) error {
	var (
		c   *csvCampaign
		err error
	)
	if mediaType == "multipart/form-data" {
		c, err = multipartCampaign(body, params["boundary"])
	} else {
		c = queryCampaign(r, body)
	}
	if err != nil {
		return err
	}
	v := &fault.Fields{}
	c.Submission.Mode = campaign.CheckMode(v, "mode", c.Mode)
	if c.maxCostText != nil {
		c.Submission.MaxCostUSD = campaign.ParseMaxCost(v, "max_cost_usd", *c.maxCostText)
	} else {
		c.Submission.MaxCostUSD = campaign.CheckMaxCost(v, "max_cost_usd", c.MaxCostUSD)
	}
	skip := false
	const mustBool = "must be true or false"
	if q, ok, _ := typedQuery(r, "skip_invalid", mustBool); ok {
		if skip, err = strconv.ParseBool(q); err != nil { // "" too
			v.Add("skip_invalid", mustBool)
		}
	}
	if len(c.Prospects) > 0 {
		v.Add("campaign.prospects", "the prospects come from the file; leave this member out")
	}
	if err := v.Err(); err != nil {
		return err
	}
	tab, err := csvin.Read(c.file, c.ColumnMap)
	if err != nil {
		return err
	}
	c.Submission.Columns = tab.Header
	rows := func(sk []campaign.Skipped) []skippedRow {
		out := make([]skippedRow, len(sk))
		for i, sk := range sk {
			out[i] = skippedRow{Row: tab.Rows[sk.Index].Number, Errors: sk.Problems}
		}
		return out
	}
	if dryRun {
		est, err := s.campaigns.EstimateInputs(r.Context(), tenantOf(r.Context()), c.Submission, tab.Inputs(), skip, tab.Field, append(c.warnings, tab.Warnings...))
		if err != nil {
			return err
		}
		return estimated(w, est, rows(est.Skipped))
	}
	sub, err := s.campaigns.SubmitInputs(r.Context(), tenantOf(r.Context()), key, c.Submission, tab.Inputs(), skip, tab.Field, append(c.warnings, tab.Warnings...))
	if err != nil {
		return err
	}
	return s.accepted(w, r, sub, rows(sub.Skipped))
}

// queryCampaign reads the text/csv form: the body is the file, the query
// the rest.
func queryCampaign(r *http.Request, body []byte) *csvCampaign {
	q := r.URL.Query()
	c := &csvCampaign{file: body}
	if q.Has("mode") {
		mode := q.Get("mode")
		c.Mode = &mode
	}
	if q.Has("max_cost_usd") {
		text := q.Get("max_cost_usd")
		c.maxCostText = &text
	}
	c.Name = q.Get("name")
	c.WebhookURL = q.Get("webhook_url")
	c.Defaults.CTA = email.CTA{Ask: q.Get("ask"), CalendarLink: q.Get("calendar_link")}
	c.Defaults.Sender.Name = q.Get("sender_name")
	return c
}

// multipartCampaign reads the multipart form: the file part, and the
// campaign part when there is one.
func multipartCampaign(body []byte, boundary string) (*csvCampaign, error) {
	if boundary == "" {
		return nil, &Error{Status: http.StatusBadRequest, Code: "malformed_request", Message: "multipart/form-data needs a boundary parameter"}
	}
	c := &csvCampaign{}
	var file, meta []byte
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "malformed_request", Message: fmt.Sprintf("the multipart body cannot be read: %v", err)}
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "malformed_request", Message: fmt.Sprintf("part %q cannot be read: %v", p.FormName(), err)}
		}
		switch p.FormName() {
		case "file":
			file = b
		case "campaign":
			meta = b
		}
	}
	if file == nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "missing_file", Message: "the multipart body has no part named file (the CSV)"}
	}
	if meta != nil {
		rep, err := email.DecodeJSON(meta, c, "")
		if err != nil {
			return nil, err
		}
		if len(rep.Invalid) > 0 {
			return nil, fault.Fields(rep.Invalid).Err()
		}
		c.warnings = rep.Messages()
	}
	c.file = file
	return c, nil
}
