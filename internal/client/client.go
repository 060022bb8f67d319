// Package client calls Ingren's HTTP API: the local program's or an AWS
// deployment's, which answer alike. Each method sends one request (or, for
// a download, follows its chunks) and turns the API's error envelope into
// an *Error carrying the API's own message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client is the API at BaseURL, called with Key.
type Client struct {
	// BaseURL is the API's root, without /api/v1: http://localhost:8080.
	BaseURL string
	// Key is sent in the x-api-key header.
	Key string
	// HTTP sends the requests; nil is a client whose requests time out
	// after 5 minutes (a 10,000-prospect upload on a slow link).
	HTTP *http.Client
}

// New returns a client of the API at baseURL, called with key.
func New(baseURL, key string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key}
}

// Error is an answer the API gave with a status of 400 or more.
type Error struct {
	Status    int
	Code      string
	Message   string
	Fields    []FieldError
	RequestID string
}

// FieldError is one invalid field, named by its path in the request
// (rows[12].first_name for a CSV campaign's row 12).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.RequestID != "" {
		return fmt.Sprintf("%s (HTTP %d, request %s)", msg, e.Status, e.RequestID)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// Campaign is a campaign as the API shows it. Succeeded, NeedsReview,
// Failed and Pending count each prospect once; Approved, Rejected and
// Unreviewed split the drafts (succeeded and needs_review) by decision.
type Campaign struct {
	CampaignID  string `json:"campaign_id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Total       int    `json:"total"`
	Succeeded   int    `json:"succeeded"`
	Failed      int    `json:"failed"`
	NeedsReview int    `json:"needs_review"`
	// Skipped are the prospects a budget left no room for.
	Skipped int `json:"skipped"`
	Pending int `json:"pending"`
	// MaxCostUSD is the campaign's cap, nil for none.
	MaxCostUSD  *float64   `json:"max_cost_usd"`
	Approved    int        `json:"approved"`
	Rejected    int        `json:"rejected"`
	Unreviewed  int        `json:"unreviewed"`
	Retries     int        `json:"retries"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Usage       Usage      `json:"usage"`
	// Mode is realtime or batch (ModeBatch).
	Mode string `json:"mode"`
	// Warnings are what happened to the campaign that its owner should
	// know, such as a fall back from batch to realtime.
	Warnings []string `json:"warnings,omitempty"`
	// Batches are a batch campaign's provider batches, oldest first; the
	// API shows them when the campaign is read alone (Campaign, Cancel),
	// not in List.
	Batches []Batch `json:"batches,omitempty"`
}

// Usage is what a campaign's model calls spent.
type Usage struct {
	TotalTokens int `json:"total_tokens"`
	// BatchPromptTokens and BatchCompletionTokens are the part of the
	// tokens spent through the provider's Batch API, at its price.
	BatchPromptTokens     int `json:"batch_prompt_tokens,omitempty"`
	BatchCompletionTokens int `json:"batch_completion_tokens,omitempty"`
	// CostUSD is what the tokens cost in US dollars; nil when a model had
	// no price in the deployment's table (a warning then says so).
	CostUSD *float64 `json:"cost_usd"`
}

// Batch is one provider batch of a batch campaign: ID is the provider's
// batch id, "" until the provider created it; Status is preparing until
// then, the provider's status after (validating, in_progress, finalizing,
// completed, failed, expired, cancelling, cancelled). Completed and
// Failed count its requests as the provider last reported them.
type Batch struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Total     int    `json:"total"`
	Completed int    `json:"completed"`
	Failed    int    `json:"failed"`
}

// ModeBatch is the mode of a campaign written through the provider's
// Batch API: half the price, results within 24 hours. ModeRealtime, the
// default, writes each email as a worker takes it.
const (
	ModeBatch    = "batch"
	ModeRealtime = "realtime"
)

// Drafts counts the prospects with an email: succeeded or needs_review.
func (c *Campaign) Drafts() int { return c.Succeeded + c.NeedsReview }

// Done counts the prospects worked: with an email or failed.
func (c *Campaign) Done() int { return c.Total - c.Pending }

// Final reports whether nothing more happens to the campaign.
func (c *Campaign) Final() bool {
	switch c.Status {
	case "completed", "completed_with_errors", "cancelled":
		return true
	}
	return false
}

// Accepted is the answer to a submitted campaign.
type Accepted struct {
	CampaignID string   `json:"campaign_id"`
	Status     string   `json:"status"`
	Total      int      `json:"total"`
	Mode       string   `json:"mode"`
	Warnings   []string `json:"warnings"`
	// Skipped are the rows of a CSV campaign that SkipInvalid left out.
	Skipped []SkippedRow `json:"skipped"`
}

// SkippedRow is a CSV row left out of a campaign, numbered as a
// spreadsheet shows it (the header is row 1), with why.
type SkippedRow struct {
	Row    int          `json:"row"`
	Errors []FieldError `json:"errors"`
}

// CSVOptions are a CSV campaign's settings, sent beside the file.
type CSVOptions struct {
	Name, Ask, CalendarLink, SenderName, WebhookURL, Mode string
	// MaxCostUSD caps what the campaign's model calls may cost; 0 for no
	// cap.
	MaxCostUSD float64
	// SkipInvalid submits the valid rows and lists the others in
	// Accepted.Skipped, rather than refusing the whole file.
	SkipInvalid bool
	// ColumnMap maps a column's header to a field; when set the file goes
	// as multipart/form-data, since the text/csv form has no place for it.
	ColumnMap map[string]string
	// Defaults are the JSON form's defaults object (sender, cta, options)
	// for every row; when set the file goes as multipart/form-data, whose
	// campaign part holds them, and Ask, CalendarLink and SenderName must
	// be empty.
	Defaults json.RawMessage
	// IdempotencyKey, when set, is sent as the Idempotency-Key header.
	IdempotencyKey string
}

// IdempotencyHeader names the header whose key makes a repeated submit
// answer with the campaign the first one started, rather than start (and
// pay for) another.
const IdempotencyHeader = "Idempotency-Key"

// SubmitJSON submits a campaign in its JSON form.
func (c *Client) SubmitJSON(ctx context.Context, body []byte) (*Accepted, error) {
	return c.SubmitJSONOnce(ctx, body, "")
}

// SubmitJSONOnce submits a campaign in its JSON form with idempotencyKey
// (none when "") as its Idempotency-Key: a retry after a lost answer gets
// the first submit's campaign.
func (c *Client) SubmitJSONOnce(ctx context.Context, body []byte, idempotencyKey string) (*Accepted, error) {
	var out Accepted
	err := c.do(ctx, "POST", "/api/v1/campaigns", "application/json", bytes.NewReader(body), &out, idempotency(idempotencyKey)...)
	return &out, err
}

// SetMode returns the JSON form's body with its top-level mode set to
// mode, for SubmitJSON: the body as it was when it sets that mode itself,
// else with "mode" added first and every other byte kept. A body that
// sets another mode is an error, as is one that is not a JSON object.
func SetMode(body []byte, mode string) ([]byte, error) {
	return setMember(body, "mode", mode)
}

// SetMaxCost is SetMode for the campaign's max_cost_usd.
func SetMaxCost(body []byte, usd float64) ([]byte, error) {
	return setMember(body, "max_cost_usd", usd)
}

// setMember returns body with its top-level member name set to value:
// body itself when it has the member with that value already, an error
// when it has it with another, else body with the member added first
// and every other byte kept.
func setMember[T comparable](body []byte, name string, value T) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, fmt.Errorf("the campaign is not a JSON object: %v", err)
	}
	for k, v := range top {
		// The API reads a member whose name differs only in case as name.
		if !strings.EqualFold(k, name) {
			continue
		}
		var has T
		if json.Unmarshal(v, &has) != nil || has != value {
			want, _ := json.Marshal(value)
			return nil, fmt.Errorf("the campaign sets %q to %s, not %s", k, v, want)
		}
		return body, nil
	}
	m, _ := json.Marshal(value)
	member := append([]byte(`"`+name+`":`), m...)
	if len(top) > 0 {
		member = append(member, ',')
	}
	i := bytes.IndexByte(body, '{') + 1 // a JSON object: the first byte but space
	return slices.Concat(body[:i], member, body[i:]), nil
}

// idempotency is the header pair that sends key, none for "".
func idempotency(key string) []string {
	if key == "" {
		return nil
	}
	return []string{IdempotencyHeader, key}
}

// Estimate is what a campaign would cost (POST /api/v1/campaigns?dry_run=true).
type Estimate struct {
	Total    int `json:"total"`
	Estimate struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		// CostUSD's prices are nil for a model without a price.
		CostUSD struct {
			Realtime *float64 `json:"realtime"`
			Batch    *float64 `json:"batch"`
		} `json:"cost_usd"`
	} `json:"estimate"`
	Warnings []string `json:"warnings"`
	// Skipped are the rows of a CSV campaign SkipInvalid would leave out.
	Skipped []SkippedRow `json:"skipped"`
}

// EstimateJSON asks what the campaign in its JSON form would cost: it is
// validated as SubmitJSON's, and nothing is stored.
func (c *Client) EstimateJSON(ctx context.Context, body []byte) (*Estimate, error) {
	var out Estimate
	err := c.do(ctx, "POST", "/api/v1/campaigns?dry_run=true", "application/json", bytes.NewReader(body), &out)
	return &out, err
}

// EstimateCSV asks what SubmitCSV of the same file and opts would cost;
// nothing is stored.
func (c *Client) EstimateCSV(ctx context.Context, name string, r io.Reader, opts CSVOptions) (*Estimate, error) {
	var out Estimate
	opts.IdempotencyKey = ""
	return &out, c.postCSV(ctx, name, r, opts, true, &out)
}

// SubmitCSV submits the CSV file named name, read from r: as text/csv with
// opts in the query, or as multipart/form-data when opts has a column map.
func (c *Client) SubmitCSV(ctx context.Context, name string, r io.Reader, opts CSVOptions) (*Accepted, error) {
	var out Accepted
	return &out, c.postCSV(ctx, name, r, opts, false, &out)
}

// postCSV posts a CSV campaign, a dry run when dryRun, and decodes the
// answer into out.
func (c *Client) postCSV(ctx context.Context, name string, r io.Reader, opts CSVOptions, dryRun bool, out any) error {
	hdr := idempotency(opts.IdempotencyKey)
	// skip_invalid and dry_run are query parameters in both forms.
	q := url.Values{}
	if opts.SkipInvalid {
		q.Set("skip_invalid", "true")
	}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if len(opts.ColumnMap) == 0 && opts.Defaults == nil {
		for k, v := range map[string]string{"name": opts.Name, "ask": opts.Ask, "calendar_link": opts.CalendarLink,
			"sender_name": opts.SenderName, "webhook_url": opts.WebhookURL, "mode": opts.Mode} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if opts.MaxCostUSD != 0 {
			q.Set("max_cost_usd", strconv.FormatFloat(opts.MaxCostUSD, 'f', -1, 64))
		}
		path := "/api/v1/campaigns"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return c.do(ctx, "POST", path, "text/csv", r, out, hdr...)
	}
	meta := map[string]any{}
	if len(opts.ColumnMap) > 0 {
		meta["column_map"] = opts.ColumnMap
	}
	if opts.Name != "" {
		meta["name"] = opts.Name
	}
	if opts.WebhookURL != "" {
		meta["webhook_url"] = opts.WebhookURL
	}
	if opts.Mode != "" {
		meta["mode"] = opts.Mode
	}
	if opts.MaxCostUSD != 0 {
		meta["max_cost_usd"] = opts.MaxCostUSD
	}
	defaults := map[string]string{}
	for k, v := range map[string]string{"ask": opts.Ask, "calendar_link": opts.CalendarLink, "sender_name": opts.SenderName} {
		if v != "" {
			defaults[k] = v
		}
	}
	switch {
	case opts.Defaults != nil && len(defaults) > 0:
		return fmt.Errorf("CSVOptions: Defaults replace Ask, CalendarLink and SenderName; set one or the others")
	case opts.Defaults != nil:
		meta["defaults"] = opts.Defaults
	case len(defaults) > 0:
		meta["defaults"] = defaults
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", filepath.Base(name))
	if err == nil {
		_, err = io.Copy(part, r)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := mw.WriteField("campaign", string(js)); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	path := "/api/v1/campaigns"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.do(ctx, "POST", path, mw.FormDataContentType(), &body, out, hdr...)
}

// Campaign reads the campaign id.
func (c *Client) Campaign(ctx context.Context, id string) (*Campaign, error) {
	var out Campaign
	return &out, c.do(ctx, "GET", "/api/v1/campaigns/"+url.PathEscape(id), "", nil, &out)
}

// Cancel cancels the campaign id and returns it as it now is.
func (c *Client) Cancel(ctx context.Context, id string) (*Campaign, error) {
	var out Campaign
	return &out, c.do(ctx, "DELETE", "/api/v1/campaigns/"+url.PathEscape(id), "", nil, &out)
}

// List returns every campaign of the key, newest first, following the
// listing's pages.
func (c *Client) List(ctx context.Context) ([]Campaign, error) {
	var all []Campaign
	cursor := ""
	for {
		var page struct {
			Campaigns  []Campaign `json:"campaigns"`
			NextCursor string     `json:"next_cursor"`
		}
		path := "/api/v1/campaigns?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.do(ctx, "GET", path, "", nil, &page); err != nil {
			return all, err
		}
		all = append(all, page.Campaigns...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// NextCursorHeader names the cursor of the next chunk of a CSV export that
// an AWS deployment cut short to fit a Lambda response.
const NextCursorHeader = "X-Next-Cursor"

// CampaignEmail is one prospect's email in a campaign, as the JSON
// listing shows it: pending, or written (succeeded, needs_review), or
// failed with Error. An edited email shows its edit, and Draft the model's.
type CampaignEmail struct {
	Index   int    `json:"index"`
	Ref     string `json:"ref"`
	Status  string `json:"status"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Model   string `json:"model,omitempty"`
	Error   string `json:"error"`
	// Version is what the email's ETag says; ChangeEmail and Regenerate
	// take it as their If-Match.
	Version int `json:"version"`
	// Quality is the first email's report; nil until it is written.
	Quality  *Quality `json:"quality,omitempty"`
	Variants []Step   `json:"variants,omitempty"`
	Sequence []Step   `json:"sequence,omitempty"`
	// Review is approved, rejected or unreviewed; nil for an email without
	// a draft (pending or failed).
	Review     *string    `json:"review"`
	Note       string     `json:"note"`
	ReviewedAt *time.Time `json:"reviewed_at"`
	Edited     bool       `json:"edited"`
	// Draft is the model's draft of an edited email.
	Draft *Draft `json:"draft,omitempty"`
}

// Draft is the model's draft of an email a reviewer edited.
type Draft struct {
	Subject string  `json:"subject"`
	Body    string  `json:"body"`
	Quality Quality `json:"quality"`
}

// EmailPage is a page of a campaign's emails, in prospect order, and the
// cursor of the next page ("" after the last).
type EmailPage struct {
	Emails     []CampaignEmail `json:"emails"`
	NextCursor string          `json:"next_cursor"`
}

// Emails reads one page of the campaign id's emails as JSON: at most limit
// (the API's default when 0) from cursor on ("" for the first page), of
// the statuses and review decisions given (all without).
func (c *Client) Emails(ctx context.Context, id, cursor string, limit int, status ...string) (*EmailPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(status) > 0 {
		q.Set("status", strings.Join(status, ","))
	}
	path := "/api/v1/campaigns/" + url.PathEscape(id) + "/emails"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out EmailPage
	return &out, c.do(ctx, "GET", path, "", nil, &out)
}

// Download writes the campaign's emails as CSV to w, following the
// export's chunks until one names no next cursor, and returns how many
// chunks it read. inputColumns asks for a CSV campaign's own columns
// before the email columns; status, for the emails of those statuses and
// review decisions alone ("approved").
func (c *Client) Download(ctx context.Context, id string, inputColumns bool, w io.Writer, status ...string) (chunks int, err error) {
	cursor := ""
	for {
		q := url.Values{"format": {"csv"}}
		if inputColumns {
			q.Set("columns", "input")
		}
		if len(status) > 0 {
			q.Set("status", strings.Join(status, ","))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res, err := c.send(ctx, "GET", "/api/v1/campaigns/"+url.PathEscape(id)+"/emails?"+q.Encode(), "", nil)
		if err != nil {
			return chunks, err
		}
		_, err = io.Copy(w, res.Body)
		res.Body.Close()
		if err != nil {
			return chunks, fmt.Errorf("download chunk %d: %w", chunks+1, err)
		}
		chunks++
		next := res.Header.Get(NextCursorHeader)
		if next == "" {
			return chunks, nil
		}
		if next == cursor {
			return chunks, fmt.Errorf("download chunk %d: the API named the same cursor again", chunks)
		}
		cursor = next
	}
}

// AnyVersion, as ChangeEmail's or Regenerate's version, sends no
// If-Match: the request applies to whatever the email is now.
const AnyVersion = -1

// EmailChange is a reviewer's change to one email: nil members are left
// as they are. Review is approved, rejected or unreviewed.
type EmailChange struct {
	Subject *string `json:"subject,omitempty"`
	Body    *string `json:"body,omitempty"`
	Review  *string `json:"review,omitempty"`
	Note    *string `json:"note,omitempty"`
}

// Email reads one email of the campaign id.
func (c *Client) Email(ctx context.Context, id string, index int) (*CampaignEmail, error) {
	var out CampaignEmail
	return &out, c.do(ctx, "GET", emailPath(id, index), "", nil, &out)
}

// ChangeEmail edits, approves, rejects or annotates one email. With a
// version (not AnyVersion) it applies only if the email is still at it:
// otherwise it is an *Error with status 412 (IsStatus(err, 412)).
func (c *Client) ChangeEmail(ctx context.Context, id string, index, version int, ch EmailChange) (*CampaignEmail, error) {
	b, err := json.Marshal(ch)
	if err != nil {
		return nil, err
	}
	var out CampaignEmail
	return &out, c.do(ctx, "PATCH", emailPath(id, index), "application/json", bytes.NewReader(b), &out, ifMatch(version)...)
}

// Regenerate writes a new draft of one email through the model, following
// instructions ("" for none). Each call is a model call: it is not
// idempotent.
func (c *Client) Regenerate(ctx context.Context, id string, index, version int, instructions string) (*CampaignEmail, error) {
	var body io.Reader
	contentType := ""
	if instructions != "" {
		b, err := json.Marshal(map[string]string{"instructions": instructions})
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	var out CampaignEmail
	return &out, c.do(ctx, "POST", emailPath(id, index)+"/regenerate", contentType, body, &out, ifMatch(version)...)
}

// Retried is the answer to a retry.
type Retried struct {
	CampaignID string `json:"campaign_id"`
	Status     string `json:"status"`
	// Retried counts the emails made pending again.
	Retried int `json:"retried"`
}

// Retry makes the failed emails of the finished campaign id (and, with
// includeNeedsReview, the flagged ones not approved) pending again.
func (c *Client) Retry(ctx context.Context, id string, includeNeedsReview bool) (*Retried, error) {
	path := "/api/v1/campaigns/" + url.PathEscape(id) + "/retry"
	if includeNeedsReview {
		path += "?include=needs_review"
	}
	var out Retried
	return &out, c.do(ctx, "POST", path, "", nil, &out)
}

func emailPath(id string, index int) string {
	return "/api/v1/campaigns/" + url.PathEscape(id) + "/emails/" + strconv.Itoa(index)
}

// ifMatch is the header pair that sends version as If-Match, none for
// AnyVersion.
func ifMatch(version int) []string {
	if version == AnyVersion {
		return nil
	}
	return []string{"If-Match", `"` + strconv.Itoa(version) + `"`}
}

// Email is one written email as POST /api/v1/generate-email answers.
type Email struct {
	ID          string   `json:"id"`
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	Model       string   `json:"model"`
	NeedsReview bool     `json:"needs_review"`
	Warnings    []string `json:"warnings"`
	Quality     Quality  `json:"quality"`
	Variants    []Step   `json:"variants"`
	Sequence    []Step   `json:"sequence"`
}

// Step is one email of variants or a sequence.
type Step struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Day     *int   `json:"day"`
}

// Generate writes one email for the request body (the JSON of
// POST /api/v1/generate-email).
func (c *Client) Generate(ctx context.Context, body []byte) (*Email, error) {
	var out Email
	return &out, c.do(ctx, "POST", "/api/v1/generate-email", "application/json", bytes.NewReader(body), &out)
}

// Linted is what POST /api/v1/lint answers.
type Linted struct {
	Quality     Quality  `json:"quality"`
	NeedsReview bool     `json:"needs_review"`
	Warnings    []string `json:"warnings"`
}

// Quality is an email's quality report: a score out of 100 and what the
// lint found.
type Quality struct {
	Score    int       `json:"score"`
	Findings []Finding `json:"findings"`
}

// Finding is one problem the lint found.
type Finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Lint checks an email (the JSON of POST /api/v1/lint) as a written email
// is checked; no model is called.
func (c *Client) Lint(ctx context.Context, body []byte) (*Linted, error) {
	var out Linted
	return &out, c.do(ctx, "POST", "/api/v1/lint", "application/json", bytes.NewReader(body), &out)
}

// do sends a request, with hdr's name-value pairs as headers, and decodes
// its JSON answer into out.
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any, hdr ...string) error {
	res, err := c.send(ctx, method, path, contentType, body, hdr...)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns the answer when its status is under
// 400; otherwise it returns the answer's *Error.
func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Key != "" {
		req.Header.Set("x-api-key", c.Key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 400 {
		return res, nil
	}
	defer res.Body.Close()
	return nil, readError(res)
}

// readError turns an error answer into an *Error: the API's envelope when
// the body is one, the status and the body's start otherwise (a proxy's
// page, API Gateway's own {"message": ...}).
func readError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var env struct {
		Error *struct {
			Code      string       `json:"code"`
			Message   string       `json:"message"`
			Fields    []FieldError `json:"fields"`
			RequestID string       `json:"request_id"`
		} `json:"error"`
		Message string `json:"message"`
	}
	e := &Error{Status: res.StatusCode}
	switch {
	case json.Unmarshal(b, &env) == nil && env.Error != nil:
		e.Code, e.Message, e.Fields, e.RequestID = env.Error.Code, env.Error.Message, env.Error.Fields, env.Error.RequestID
	case env.Message != "":
		e.Message = env.Message
	default:
		e.Message = strings.TrimSpace(string(b))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// IsStatus reports whether err is an *Error with one of the statuses.
func IsStatus(err error, statuses ...int) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, s := range statuses {
		if e.Status == s {
			return true
		}
	}
	return false
}

// UsageReport is GET /api/v1/usage's answer: the key's use of the model
// over some days, per day and per campaign, and its monthly budget.
type UsageReport struct {
	// Tenant is the key's tenant id, the name API_KEY_BUDGETS uses.
	Tenant    string        `json:"tenant"`
	From      string        `json:"from"`
	To        string        `json:"to"`
	Total     UsageLine     `json:"total"`
	Days      []UsageDay    `json:"days"`
	Campaigns []UsageOfCmp  `json:"campaigns"`
	Single    UsageLine     `json:"single_emails"`
	Budget    *BudgetReport `json:"budget"`
}

// UsageLine is the emails written and what their calls used and cost.
type UsageLine struct {
	Emails int `json:"emails"`
	Usage  struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		Usage
	} `json:"usage"`
}

// UsageDay is one UTC day's line.
type UsageDay struct {
	Date string `json:"date"`
	UsageLine
}

// UsageOfCmp is one campaign's line; Name is nil when it has none or
// expired.
type UsageOfCmp struct {
	CampaignID string  `json:"campaign_id"`
	Name       *string `json:"name"`
	UsageLine
}

// BudgetReport is the key's monthly budget and what is gone of it.
type BudgetReport struct {
	Month        string  `json:"month"`
	LimitUSD     float64 `json:"limit_usd"`
	SpentUSD     float64 `json:"spent_usd"`
	ReservedUSD  float64 `json:"reserved_usd"`
	RemainingUSD float64 `json:"remaining_usd"`
}

// Usage reads the key's usage from day from through day to (YYYY-MM-DD,
// UTC); "" leaves either to the API (this month so far).
func (c *Client) Usage(ctx context.Context, from, to string) (*UsageReport, error) {
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	path := "/api/v1/usage"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out UsageReport
	return &out, c.do(ctx, "GET", path, "", nil, &out)
}
