package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/client"
)

// Pages of list_campaign_emails: small, since every email of a page
// lands in the agent's context.
const (
	defaultPage = 20
	maxPage     = 100
)

// maxCSVFile bounds the file csv_path names: the API refuses a campaign
// body past it, so reading more would only fill memory.
const maxCSVFile = api.DefaultMaxCampaignBody

const createAbout = `Starts a campaign: one email per prospect, written in the background (POST /api/v1/campaigns).
COSTS MONEY: one paid language-model call per prospect. Give the prospects in exactly one way:
- prospects: JSON entries, each like generate_email's input (prospect, company, optional cta, sender,
  options) plus an optional ref (your id for the prospect); defaults fill what an entry leaves out;
- csv_path: the absolute path of a .csv file on the machine running this MCP server (a CRM export from
  HubSpot, Apollo, Sales Navigator, Excel...); its columns are matched to fields by their headers
  (column_map maps others); defaults give what the file lacks, above all cta.ask and sender.
Returns campaign_id at once. Then poll get_campaign until its status is completed,
completed_with_errors or cancelled, and read the emails with list_campaign_emails.
Set max_cost_usd to cap what the campaign may cost: the prospects it leaves no room for end skipped.
Set idempotency_key (any unique string) when you might retry: a retry with the same key and input
returns the first campaign rather than starting, and paying for, another.`

const getAbout = `Reads a campaign's progress (GET /api/v1/campaigns/{id}). Free.
status is queued, running, or final: completed, completed_with_errors or cancelled.
succeeded, needs_review, failed, skipped (a budget left no room) and pending count the prospects' emails, each once. Poll every few seconds
until the status is final, then read the emails with list_campaign_emails.`

const listAbout = `Reads one page of a campaign's emails, in prospect order (GET /api/v1/campaigns/{id}/emails). Free.
Each has the prospect's index and ref, its status (pending, succeeded, needs_review, failed, skipped), subject,
body, quality, and error when it failed. next_cursor is empty on the last page; otherwise pass it as
cursor for the next one. Pages are small (limit) because each email lands in your context.`

// campaignInput is create_campaign's input: the JSON form's body, whose
// prospects come from a CSV file instead when csv_path names one, and the
// submit's settings.
type campaignInput struct {
	campaign.Submission
	CSVPath        string            `json:"csv_path,omitempty" jsonschema:"The absolute path of a .csv file on the machine running this MCP server, instead of prospects."`
	ColumnMap      map[string]string `json:"column_map,omitempty" jsonschema:"With csv_path: maps a column header the server does not recognise to a field, e.g. {\"Given Name\": \"first_name\"}."`
	SkipInvalid    bool              `json:"skip_invalid,omitempty" jsonschema:"With csv_path: write the valid rows and list the others in skipped, rather than refusing the whole file."`
	IdempotencyKey string            `json:"idempotency_key,omitempty" jsonschema:"Any unique string: a retry with the same key and input returns the first campaign."`
}

type campaignID struct {
	CampaignID string `json:"campaign_id" jsonschema:"The campaign's id, as create_campaign returned it."`
}

type emailsInput struct {
	CampaignID string `json:"campaign_id" jsonschema:"The campaign's id, as create_campaign returned it."`
	Cursor     string `json:"cursor,omitempty" jsonschema:"The next_cursor of the previous page; leave out for the first page."`
	Limit      int    `json:"limit,omitempty"`
}

// addCampaigns adds the tools that start and read campaigns.
func (t *tools) addCampaigns(s *sdk.Server) {
	create := inferred[campaignInput]()
	entries := create.Properties["prospects"].Items
	requestSchema(entries, true)
	entries.Required = []string{"prospect", "company"}
	optionsSchema(create.Properties["defaults"].Properties["options"])
	create.Properties["mode"].Enum = []any{string(campaign.ModeRealtime), string(campaign.ModeBatch)}
	sdk.AddTool(s, &sdk.Tool{
		Name: "create_campaign", Title: "Start a campaign", Description: createAbout, InputSchema: create,
		Annotations: &sdk.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}, t.create)

	get := inferred[campaignID]()
	requireID(get)
	sdk.AddTool(s, &sdk.Tool{
		Name: "get_campaign", Title: "Read a campaign's progress", Description: getAbout, InputSchema: get,
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, t.get)

	list := inferred[emailsInput]()
	requireID(list)
	limit := list.Properties["limit"]
	limit.Description = fmt.Sprintf("How many emails a page holds at most (default %d).", defaultPage)
	between(limit, 1, maxPage)
	sdk.AddTool(s, &sdk.Tool{
		Name: "list_campaign_emails", Title: "Read a campaign's emails", Description: listAbout, InputSchema: list,
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, t.list)
}

// requireID makes campaign_id required and not empty: an empty id
// would read as another route's path.
func requireID(s *jsonschema.Schema) {
	s.Required = []string{"campaign_id"}
	s.Properties["campaign_id"].MinLength = jsonschema.Ptr(1)
}

func (t *tools) create(ctx context.Context, _ *sdk.CallToolRequest, in campaignInput) (*sdk.CallToolResult, *client.Accepted, error) {
	var (
		acc *client.Accepted
		err error
	)
	switch {
	case in.CSVPath != "" && len(in.Prospects) > 0:
		return nil, nil, errors.New("give the prospects as prospects (JSON entries) or as csv_path (a CSV file), not both")
	case in.CSVPath != "":
		acc, err = t.createCSV(ctx, &in)
	case len(in.ColumnMap) > 0 || in.SkipInvalid:
		return nil, nil, errors.New("column_map and skip_invalid apply to csv_path only; a JSON campaign is refused whole when an entry is invalid, naming each problem")
	case len(in.Prospects) == 0:
		return nil, nil, errors.New("give the prospects: prospects (a list of JSON entries) or csv_path (the absolute path of a CSV file); neither was given")
	default:
		// The JSON form's body is the Submission the input holds;
		// prospect and company keep their extra members (Extra). A mode
		// left out stays out: the API refuses "".
		var body []byte
		if body, err = json.Marshal(struct {
			campaign.Submission
			Mode campaign.Mode `json:"mode,omitempty"`
		}{in.Submission, in.Mode}); err != nil {
			return nil, nil, err
		}
		acc, err = t.api.SubmitJSONOnce(ctx, body, in.IdempotencyKey)
	}
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Campaign %s %s: %d prospects. Poll get_campaign with this campaign_id until its status is final.\n", acc.CampaignID, acc.Status, acc.Total)
	if acc.Mode == client.ModeBatch {
		b.WriteString("Batch mode: the emails come within 24 hours, at half the price; poll every few minutes, not seconds.\n")
	}
	warningsText(&b, acc.Warnings)
	for _, sk := range acc.Skipped {
		for _, f := range sk.Errors {
			fmt.Fprintf(&b, "Skipped row %d: %s %s\n", sk.Row, f.Field, f.Message)
		}
	}
	return text(b.String()), acc, nil
}

// createCSV submits the file in.CSVPath names with the input's name,
// defaults and webhook, as the multipart form that carries them all.
func (t *tools) createCSV(ctx context.Context, in *campaignInput) (*client.Accepted, error) {
	file, err := readCSV(in.CSVPath)
	if err != nil {
		return nil, err
	}
	defaults, err := json.Marshal(in.Defaults)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(in.CSVPath), filepath.Ext(in.CSVPath))
	}
	return t.api.SubmitCSV(ctx, in.CSVPath, bytes.NewReader(file), client.CSVOptions{
		Name: name, WebhookURL: in.WebhookURL, Defaults: defaults, ColumnMap: in.ColumnMap,
		SkipInvalid: in.SkipInvalid, IdempotencyKey: in.IdempotencyKey, Mode: string(in.Mode),
		MaxCostUSD: in.MaxCostUSD,
	})
}

// readCSV reads the CSV file an agent named. The agent, not the user,
// chooses the path, so it must be an absolute path to a regular .csv
// file no larger than a campaign: not a key file, a device or a pipe that
// would block.
func readCSV(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("csv_path %q must be an absolute path (this server's working directory is wherever the MCP client started it)", path)
	}
	if !strings.EqualFold(filepath.Ext(path), ".csv") {
		return nil, fmt.Errorf("csv_path %q must name a .csv file", path)
	}
	before, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("csv_path: %w", err)
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("csv_path %q is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csv_path: %w", err)
	}
	defer f.Close()
	if now, err := f.Stat(); err != nil || !os.SameFile(before, now) {
		return nil, fmt.Errorf("csv_path %q changed while it was opened", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCSVFile+1))
	if err != nil {
		return nil, fmt.Errorf("csv_path: %w", err)
	}
	if len(b) > maxCSVFile {
		return nil, fmt.Errorf("csv_path %q is larger than a campaign may be (%d MB): split it into several files", path, maxCSVFile>>20)
	}
	return b, nil
}

func (t *tools) get(ctx context.Context, _ *sdk.CallToolRequest, in campaignID) (*sdk.CallToolResult, *client.Campaign, error) {
	c, err := t.api.Campaign(ctx, in.CampaignID)
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Campaign %s (%s): %s. %d of %d prospects done: %d succeeded, %d need review, %d failed, %d skipped, %d pending.\n",
		c.CampaignID, c.Name, c.Status, c.Done(), c.Total, c.Succeeded, c.NeedsReview, c.Failed, c.Skipped, c.Pending)
	if c.Final() {
		b.WriteString("The campaign is over: read its emails with list_campaign_emails.\n")
	}
	return text(b.String()), c, nil
}

// list reads one page. Its text content is the page as JSON, which the
// SDK writes when none is set: a listing of bodies reads no better as
// prose, and twice would double what the agent's context holds.
func (t *tools) list(ctx context.Context, _ *sdk.CallToolRequest, in emailsInput) (*sdk.CallToolResult, *client.EmailPage, error) {
	limit := in.Limit
	if limit == 0 {
		limit = defaultPage
	}
	page, err := t.api.Emails(ctx, in.CampaignID, in.Cursor, limit)
	if err != nil {
		return nil, nil, t.toolError(err)
	}
	return nil, page, nil
}
