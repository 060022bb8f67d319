package api

import (
	"bytes"
	"encoding/csv"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/lint"
)

type campaignResponse struct {
	CampaignID string `json:"campaign_id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Total      int    `json:"total"`
	// Succeeded, NeedsReview, Failed and Pending count each prospect once:
	// succeeded excludes needs_review (the store's counter includes it).
	Succeeded   int `json:"succeeded"`
	Failed      int `json:"failed"`
	NeedsReview int `json:"needs_review"`
	// Skipped are the prospects a budget left no room for (not in
	// Failed).
	Skipped int `json:"skipped"`
	Pending int `json:"pending"`
	// MaxCostUSD is the campaign's cap, null for none.
	MaxCostUSD *float64 `json:"max_cost_usd"`
	// Approved, Rejected and Unreviewed count the drafts (succeeded and
	// needs_review) by review decision.
	Approved    int        `json:"approved"`
	Rejected    int        `json:"rejected"`
	Unreviewed  int        `json:"unreviewed"`
	Retries     int        `json:"retries"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at"`
	// Usage's cost_usd is null when some email's model had no price, and
	// Warnings then say so.
	Usage usageView `json:"usage"`
	Mode  string    `json:"mode"`
	// Warnings are the campaign's own notices (a fallback to realtime),
	// never null.
	Warnings []string `json:"warnings"`
	// Batches are a batch-mode campaign's provider batches, on the
	// campaign's own answers (GET, DELETE) only: the listing would pay one
	// more read per campaign for them. A pointer, so that a batch campaign
	// the worker has not split yet shows [], and another none.
	Batches *[]batchView `json:"batches,omitempty"`
}

// batchView is one provider batch of a batch-mode campaign: ID is the
// provider's batch id, null until the provider created the batch.
type batchView struct {
	ID        *string `json:"id"`
	Status    string  `json:"status"`
	Total     int     `json:"total"`
	Completed int     `json:"completed"`
	Failed    int     `json:"failed"`
}

func toCampaign(c *campaign.Campaign) campaignResponse {
	r := campaignResponse{
		CampaignID: c.ID, Name: c.Name, Status: string(c.Status), Total: c.Total,
		Succeeded: c.Clean(), Failed: c.Unskipped(), NeedsReview: c.NeedsReview, Skipped: c.Skipped, Pending: c.Pending(),
		Approved: c.Approved, Rejected: c.Rejected, Unreviewed: c.Unreviewed(), Retries: c.Round,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Usage: usageView{Usage: c.Usage, CostUSD: costUSD(c.Cost())},
		Mode: string(c.Mode), Warnings: append([]string{}, c.Warnings...),
	}
	if w := c.CostWarning(); w != "" {
		r.Warnings = append(r.Warnings, w)
	}
	if c.MaxCostMicroUSD > 0 {
		usd := float64(c.MaxCostMicroUSD) / 1e6
		r.MaxCostUSD = &usd
	}
	if !c.CompletedAt.IsZero() {
		t := c.CompletedAt
		r.CompletedAt = &t
	}
	return r
}

// campaignView is the campaign as its own answers show it: with its
// batches when it is in batch mode ([] before the worker split it).
func (s *Server) campaignView(r *http.Request, c *campaign.Campaign) (campaignResponse, error) {
	v := toCampaign(c)
	if c.Mode != campaign.ModeBatch {
		return v, nil
	}
	bs, err := s.campaigns.Batches(r.Context(), c)
	if err != nil {
		return v, err
	}
	views := make([]batchView, len(bs))
	v.Batches = &views
	for i, b := range bs {
		bv := batchView{Status: string(b.Status), Total: len(b.Indexes), Completed: b.Completed, Failed: b.Failed}
		if b.ProviderID != "" {
			id := b.ProviderID
			bv.ID = &id
		}
		views[i] = bv
	}
	return v, nil
}

type acceptedResponse struct {
	CampaignID string   `json:"campaign_id"`
	Status     string   `json:"status"`
	Total      int      `json:"total"`
	Mode       string   `json:"mode"`
	Warnings   []string `json:"warnings"`
	// Skipped lists a CSV campaign's rows left out by skip_invalid.
	Skipped []skippedRow `json:"skipped,omitempty"`
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	// No deadline of its own: 6 MB takes a while on a slow link, and the
	// local server's ReadTimeout bounds the whole request.
	body, err := readBody(w, r, s.cfg.MaxCampaignBody, 0)
	if err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_idempotency_key", Message: "Idempotency-Key must be at most 200 characters"}
	}
	mt, params, csv := isCSVCampaign(r)
	dryRun, err := checkCampaignQuery(r, mt, csv)
	if err != nil {
		return err
	}
	if csv {
		return s.createCSVCampaign(w, r, body, mt, params, key, dryRun)
	}
	if dryRun {
		est, err := s.campaigns.Estimate(r.Context(), tenantOf(r.Context()), body)
		if err != nil {
			return err
		}
		return estimated(w, est, nil)
	}
	sub, err := s.campaigns.Submit(r.Context(), tenantOf(r.Context()), key, body)
	if err != nil {
		return err
	}
	return s.accepted(w, r, sub, nil)
}

// csvQuery are the query parameters that set up a text/csv campaign,
// whose body is the file alone; skip_invalid applies to both CSV forms.
var csvQuery = []string{"name", "ask", "calendar_link", "sender_name", "webhook_url", "mode", "max_cost_usd", "skip_invalid"}

// checkCampaignQuery refuses a campaign setting given in the query where
// the body's form reads it from the body: ignored, it would leave the
// client believing it set it (a mode, a webhook).
// It also reads dry_run, for every form of the body.
func checkCampaignQuery(r *http.Request, mediaType string, csv bool) (dryRun bool, err error) {
	q := r.URL.Query()
	v := &fault.Fields{}
	const mustBool = "must be true or false"
	if d, ok, _ := typedQuery(r, "dry_run", mustBool); ok {
		if dryRun, err = strconv.ParseBool(d); err != nil { // "" too
			v.Add("dry_run", mustBool)
		}
	}
	for _, name := range csvQuery {
		if !q.Has(name) {
			continue
		}
		switch {
		case csv && mediaType != "multipart/form-data":
		case csv && name == "skip_invalid":
		case csv:
			v.Add(name, "is read from the query only with a text/csv body; in a multipart form, set it in the campaign part")
		default:
			v.Add(name, "is read from the query only with a text/csv body; a JSON campaign sets it in the body")
		}
	}
	return dryRun, v.Err()
}

// estimateResponse answers a dry run: what the campaign would cost.
type estimateResponse struct {
	Total    int          `json:"total"`
	Estimate estimateView `json:"estimate"`
	Warnings []string     `json:"warnings"`
	// Skipped lists a CSV campaign's rows skip_invalid would leave out.
	Skipped []skippedRow `json:"skipped,omitempty"`
}

type estimateView struct {
	PromptTokens     int        `json:"prompt_tokens"`
	CompletionTokens int        `json:"completion_tokens"`
	CostUSD          modePrices `json:"cost_usd"`
}

// modePrices is a price in either mode; null for a model without a price.
type modePrices struct {
	Realtime *float64 `json:"realtime"`
	Batch    *float64 `json:"batch"`
}

// roundUSD rounds a price to the micro-dollar, as every cost_usd is
// (campaign.RoundUSD); nil stays nil.
func roundUSD(usd *float64) *float64 {
	if usd == nil {
		return nil
	}
	v := campaign.RoundUSD(*usd)
	return &v
}

// estimated answers a dry run with est; skipped are the rows of a CSV
// campaign that skip_invalid would leave out.
func estimated(w http.ResponseWriter, est *campaign.Estimate, skipped []skippedRow) error {
	writeJSON(w, http.StatusOK, estimateResponse{
		Total: est.Total,
		Estimate: estimateView{PromptTokens: est.PromptTokens, CompletionTokens: est.CompletionTokens,
			CostUSD: modePrices{Realtime: roundUSD(est.RealtimeUSD), Batch: roundUSD(est.BatchUSD)}},
		Warnings: append([]string{}, est.Warnings...), Skipped: skipped,
	})
	return nil
}

// accepted answers a submit; skipped are the rows of a CSV campaign that
// skip_invalid left out.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, sub *campaign.Submitted, skipped []skippedRow) error {
	c := sub.Campaign
	addLog(r.Context(), slog.String("campaign_id", c.ID), slog.Int("total", c.Total), slog.Bool("replayed", sub.Replayed))
	if skipped != nil {
		addLog(r.Context(), slog.Int("skipped", len(skipped)))
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+c.ID)
	writeJSON(w, http.StatusAccepted, acceptedResponse{
		CampaignID: c.ID, Status: string(c.Status), Total: c.Total, Mode: string(c.Mode),
		Warnings: append([]string{}, sub.Warnings...), Skipped: skipped,
	})
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaigns.Get(r.Context(), tenantOf(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.campaignView(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) cancelCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaigns.Cancel(r.Context(), tenantOf(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.campaignView(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type listResponse struct {
	Campaigns  []campaignResponse `json:"campaigns"`
	NextCursor string             `json:"next_cursor"`
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r, 20, 100)
	if err != nil {
		return err
	}
	cs, next, err := s.campaigns.List(r.Context(), tenantOf(r.Context()), p)
	if err != nil {
		return err
	}
	out := listResponse{Campaigns: make([]campaignResponse, len(cs)), NextCursor: next}
	for i := range cs {
		out.Campaigns[i] = toCampaign(&cs[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type emailView struct {
	Index   int           `json:"index"`
	Ref     string        `json:"ref"`
	To      recipientView `json:"to"`
	Status  string        `json:"status"`
	Subject string        `json:"subject"`
	Body    string        `json:"body"`
	Model   string        `json:"model,omitempty"`
	Error   string        `json:"error"`
	// Version is what the ETag says: the email's version.
	Version int `json:"version"`
	// Usage is null while pending; its cost_usd is priced from the
	// email's model when read.
	Usage    *usageView      `json:"usage"`
	Quality  *lint.Report    `json:"quality,omitempty"`
	Variants []email.Checked `json:"variants,omitempty"`
	Sequence []email.Checked `json:"sequence,omitempty"`
	// Review is nil for an email without a draft (pending, failed), which
	// nobody reviews; a draft nobody decided on is "unreviewed".
	Review     *string    `json:"review"`
	Note       string     `json:"note"`
	ReviewedAt *time.Time `json:"reviewed_at"`
	// Edited: Subject, Body and Quality are the reviewer's edit, and Draft
	// is the model's.
	Edited bool       `json:"edited"`
	Draft  *draftView `json:"draft,omitempty"`
}

// recipientView says whom an email is to, as its request gave it, so that
// a reviewer reads the email against the person and the company.
type recipientView struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	JobTitle    string `json:"job_title"`
	CompanyName string `json:"company_name"`
}

// draftView is the model's draft of an edited email.
type draftView struct {
	Subject string      `json:"subject"`
	Body    string      `json:"body"`
	Quality lint.Report `json:"quality"`
}

// reviewUnreviewed is the API's name of campaign.ReviewNone on a draft.
const reviewUnreviewed = "unreviewed"

type emailsResponse struct {
	Emails     []emailView `json:"emails"`
	NextCursor string      `json:"next_cursor"`
}

func (s *Server) listEmails(w http.ResponseWriter, r *http.Request) error {
	export, err := wantsCSV(r)
	if err != nil {
		return err
	}
	if export {
		return s.exportCSV(w, r)
	}
	p, err := page(r, 100, 1000)
	if err != nil {
		return err
	}
	if p.Filter, err = filterParam(r); err != nil {
		return err
	}
	for {
		emails, next, err := s.campaigns.Emails(r.Context(), tenantOf(r.Context()), r.PathValue("id"), p)
		if err != nil {
			return err
		}
		body, err := marshalJSON(emailsPage(emails, next, s.cfg.Prices))
		if err != nil {
			return err
		}
		if max := s.cfg.MaxListBytes; max > 0 && len(body) > max && len(emails) > 1 {
			// Too large for this deployment's answers (sequences of long
			// emails): the same page, halved, with a cursor to the rest.
			p.Limit = len(emails) / 2
			continue
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return nil
	}
}

func emailsPage(emails []campaign.Email, next string, prices campaign.Prices) emailsResponse {
	out := emailsResponse{Emails: make([]emailView, len(emails)), NextCursor: next}
	for i := range emails {
		out.Emails[i] = toEmailView(&emails[i], prices)
	}
	return out
}

// toEmailView is the email as a reader sees it: an edit in place of the
// model's draft, which moves to Draft.
func toEmailView(it *campaign.Email, prices campaign.Prices) emailView {
	p := &it.Request.Prospect
	e := emailView{Index: it.Index, Ref: it.Ref, Status: string(it.Status), Version: it.Version, Note: it.Note,
		To: recipientView{FirstName: p.FirstName, LastName: p.LastName, JobTitle: p.JobTitle, CompanyName: it.Request.Company.CompanyName}}
	if res := it.Outcome; res != nil {
		e.Subject, e.Body, e.Model, e.Error = res.Subject, res.Body, res.Model, res.Error
		e.Usage = &usageView{Usage: res.Usage, CostUSD: costUSD(it.Cost(prices))}
		if len(res.Emails) > 0 {
			q := res.Emails[0].Quality
			e.Quality = &q
		}
		switch res.Kind {
		case email.RequestVariants:
			e.Variants = res.Emails
		case email.RequestSequence:
			e.Sequence = res.Emails
		}
	}
	if hasDraft(it) {
		r := string(it.Review)
		if it.Review == campaign.ReviewNone {
			r = reviewUnreviewed
		}
		e.Review = &r
	}
	if !it.ReviewedAt.IsZero() {
		t := it.ReviewedAt
		e.ReviewedAt = &t
	}
	if ed := it.Edit; ed != nil {
		e.Edited = true
		d := &draftView{Subject: e.Subject, Body: e.Body}
		if e.Quality != nil {
			d.Quality = *e.Quality
		}
		e.Draft = d
		e.Subject, e.Body = ed.Subject, ed.Body
		q := ed.Quality
		e.Quality = &q
		// The edit is of the first email: variants and sequences show it
		// in its place, as it would be sent.
		e.Variants = editFirst(e.Variants, ed)
		e.Sequence = editFirst(e.Sequence, ed)
	}
	return e
}

// hasDraft reports whether the email has a draft to review: succeeded or
// needs_review.
func hasDraft(it *campaign.Email) bool {
	return it.Status == campaign.EmailSucceeded || it.Status == campaign.EmailNeedsReview
}

// editFirst returns emails with the first one replaced by the edit, or
// emails itself when it is empty.
func editFirst(emails []email.Checked, ed *campaign.Edit) []email.Checked {
	if len(emails) == 0 {
		return emails
	}
	out := slices.Clone(emails)
	out[0].Subject, out[0].Body, out[0].Quality = ed.Subject, ed.Body, ed.Quality
	return out
}

// CSVHeader is the header row of a campaign's standard CSV export: who the
// prospect is (what a sequencer needs to send), then the email. The first
// twelve columns are the fixed contract; the rest describe emails of
// variants and sequences, which get one row each (step 1 is the first
// email).
var CSVHeader = append([]string{"ref", "first_name", "last_name", "company_name",
	"email", "job_title", "linkedin_url", "website"}, CSVEmailColumns...)

// CSVEmailColumns are the email's columns, which end every row of a CSV
// export: after the prospect's in the standard one, after the file's own
// with columns=input.
// cost_usd is the prospect's cost in US dollars, on its first row only
// (summing the column gives the campaign's cost), empty while pending or
// when its model has no price.
var CSVEmailColumns = []string{"status", "subject", "body", "error", "step", "send_day", "quality_score", "findings", "review", "cost_usd"}

// columnsInput is the columns parameter that starts each row of a CSV
// export with the prospect's row as the campaign's file had it.
const columnsInput = "input"

// NextCursorHeader names, on a CSV export cut short by Config.MaxListBytes,
// the cursor of the rest.
const NextCursorHeader = "X-Next-Cursor"

// exportCSV writes the campaign's emails from the request's cursor on (the
// first chunk has the header row). Without a size bound it streams them
// all, page by page, so memory stays flat for any campaign size. With one
// it buffers whole pages up to the bound and names the rest's cursor in a
// header: the chunks, concatenated, are the whole CSV.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	tenant, id := tenantOf(ctx), r.PathValue("id")
	cursor, err := cursorParam(r)
	if err != nil {
		return err
	}
	var columns []string // the campaign's own header with columns=input
	const mustColumns = "must be input or left out"
	q, _, err := typedQuery(r, "columns", mustColumns)
	if err != nil {
		return err
	}
	switch q {
	case "":
	case columnsInput:
		c, err := s.campaigns.Get(ctx, tenant, id)
		if err != nil {
			return err
		}
		if c.Columns == nil {
			return fault.Fields{{Field: "columns", Message: "only CSV campaigns keep their input columns; leave columns out for the standard export"}}.Err()
		}
		columns = c.Columns
	default:
		return fault.Fields{{Field: "columns", Message: mustColumns}}.Err()
	}
	filter, err := filterParam(r)
	if err != nil {
		return err
	}
	header := CSVHeader
	if columns != nil {
		header = append(slices.Clone(columns), CSVEmailColumns...)
	}
	max := s.cfg.MaxListBytes
	limit := 500
	if max > 0 {
		limit = 100 // finer steps to cut at
	}
	emails, next, err := s.campaigns.Emails(ctx, tenant, id, campaign.Page{Limit: limit, Cursor: cursor, Filter: filter})
	if err != nil {
		return err // nothing written yet: a proper JSON error
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.csv"`)
	var (
		out   io.Writer = w
		buf   bytes.Buffer
		chunk bytes.Buffer
	)
	if max > 0 {
		out = &buf
	}
	cw := csv.NewWriter(&chunk)
	if cursor == "" {
		_ = cw.Write(csvSafeRow(header))
		cw.Flush()
	}
	// headerLen is the header row's length in chunk: a file's own column
	// names may hold quoted line breaks.
	headerLen := chunk.Len()
export:
	for {
		for i := range emails {
			for _, row := range csvRows(&emails[i], columns, s.cfg.Prices) {
				_ = cw.Write(csvSafeRow(row))
			}
		}
		cw.Flush()
		switch {
		case max > 0 && buf.Len()+chunk.Len() > max && buf.Len() == 0 && len(emails) > 1:
			// The first page alone passes the bound: the same page,
			// halved. (The header row, if any, stays.)
			limit = len(emails) / 2
			chunk.Truncate(headerLen)
			emails, next, err = s.campaigns.Emails(ctx, tenant, id, campaign.Page{Limit: limit, Cursor: cursor, Filter: filter})
			if err != nil {
				return err
			}
			continue
		case max > 0 && buf.Len()+chunk.Len() > max && buf.Len() > 0:
			// This page would pass the bound: it starts the next chunk.
			w.Header().Set(NextCursorHeader, cursor)
			link := `/api/v1/campaigns/` + id + `/emails?format=csv&cursor=` + url.QueryEscape(cursor)
			if columns != nil {
				link += "&columns=" + columnsInput
			}
			if st := r.URL.Query()["status"]; len(st) > 0 {
				link += "&status=" + url.QueryEscape(strings.Join(st, ","))
			}
			w.Header().Set("Link", "<"+link+`>; rel="next"`)
			break export
		}
		if _, err := out.Write(chunk.Bytes()); err != nil {
			return nil // the client went away; the status line is sent
		}
		chunk.Reset()
		if next == "" {
			break
		}
		cursor = next
		emails, next, err = s.campaigns.Emails(ctx, tenant, id, campaign.Page{Limit: limit, Cursor: cursor, Filter: filter})
		if err != nil {
			if max > 0 {
				return err // nothing written yet
			}
			// Headers are sent: all we can do is stop and log.
			s.log.ErrorContext(ctx, "csv export failed midway", slog.String("campaign_id", id), slog.String("error", err.Error()))
			return nil
		}
	}
	if max > 0 {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}

// csvRows turns an email into one row per email it holds (one for a pending
// or failed email). With columns (the campaign's own header) a row starts
// with the email's cells, one per column, else with the prospect's
// identity; then come CSVEmailColumns. A reviewer's edit takes the first
// email's place; review is empty for an email without a draft; cost_usd
// is on the first row only.
func csvRows(it *campaign.Email, columns []string, prices campaign.Prices) [][]string {
	var lead []string
	if columns != nil {
		lead = make([]string, len(columns))
		copy(lead, it.Cells)
	} else {
		p, co := &it.Request.Prospect, &it.Request.Company
		lead = []string{it.Ref, p.FirstName, p.LastName, co.CompanyName, p.Email, p.JobTitle, p.LinkedInURL, co.Website}
	}
	n := len(lead)
	review := ""
	if hasDraft(it) {
		review = reviewUnreviewed
		if it.Review != campaign.ReviewNone {
			review = string(it.Review)
		}
	}
	base := append(lead, string(it.Status), "", "", "", "1", "", "", "", review, "")
	res := it.Outcome
	if res == nil {
		return [][]string{base}
	}
	cost := ""
	if usd := costUSD(it.Cost(prices)); usd != nil {
		cost = strconv.FormatFloat(*usd, 'f', -1, 64)
	}
	base[n+9] = cost
	base[n+3] = res.Error
	emails := res.Emails
	if it.Edit != nil {
		emails = editFirst(emails, it.Edit)
	}
	if len(emails) == 0 {
		base[n+1], base[n+2] = res.Subject, res.Body
		if ed := it.Edit; ed != nil {
			base[n+1], base[n+2] = ed.Subject, ed.Body
		}
		return [][]string{base}
	}
	rows := make([][]string, len(emails))
	for i, e := range emails {
		row := slices.Clone(base)
		row[n+1], row[n+2], row[n+4] = e.Subject, e.Body, strconv.Itoa(i+1)
		if e.Day != nil {
			row[n+5] = strconv.Itoa(*e.Day)
		}
		row[n+6] = strconv.Itoa(e.Quality.Score)
		codes := make([]string, len(e.Quality.Findings))
		for j, f := range e.Quality.Findings {
			codes[j] = f.Code
		}
		row[n+7] = strings.Join(codes, ";")
		if i > 0 {
			row[n+9] = ""
		}
		rows[i] = row
	}
	return rows
}

// csvSafeRow returns row with csvSafe applied to each cell.
func csvSafeRow(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = csvSafe(c)
	}
	return out
}

// csvSafe defuses spreadsheet formula injection: prospect data and model
// output are untrusted, and sales-ops users open exports in Excel. A cell
// gets a leading ' when it starts with tab or CR (OWASP's list), or when
// its first character a spreadsheet shows starts a formula: spreadsheets
// skip leading whitespace, control characters, NBSP, a BOM and zero-width
// characters (and, here, bytes that are not UTF-8), and some read the
// full-width and small forms of = + - @ as the ASCII ones.
func csvSafe(s string) string {
	if s != "" && (s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			continue
		}
		if strings.ContainsRune(formulaStarts, r) {
			return "'" + s
		}
		break
	}
	return s
}

// formulaStarts are the characters that make a cell a formula: = + - @,
// their full-width forms and their small forms.
const formulaStarts = "=+-@＝＋－＠﹦﹢﹣﹫"

// wantsCSV reports whether r asks for the CSV export: format=csv, or
// Accept: text/csv without a format. A format of another name is refused
// rather than read as JSON: format=CSV is a typo, not a wish for JSON.
func wantsCSV(r *http.Request) (bool, error) {
	const mustFormat = "must be csv or json (or left out: JSON, unless Accept is text/csv)"
	f, _, err := typedQuery(r, "format", mustFormat)
	if err != nil {
		return false, err
	}
	switch f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, fault.Fields{{Field: "format", Message: mustFormat}}.Err()
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, nil
		}
	}
	return false, nil
}

func page(r *http.Request, def, max int) (campaign.Page, error) {
	p := campaign.Page{Limit: def}
	must := "must be a whole number from 1 to " + strconv.Itoa(max)
	v, ok, err := typedQuery(r, "limit", must)
	if err != nil {
		return p, err
	}
	if ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return p, fault.Fields{{Field: "limit", Message: must}}.Err()
		}
		p.Limit = n
	}
	p.Cursor, err = cursorParam(r)
	return p, err
}

// cursorParam is the request's cursor, refused when it is longer than any
// this API gives.
func cursorParam(r *http.Request) (string, error) {
	c := r.URL.Query().Get("cursor")
	if len(c) > 512 {
		return c, fault.Fields{{Field: "cursor", Message: "is not a cursor this API gave"}}.Err()
	}
	return c, nil
}
