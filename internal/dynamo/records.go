package dynamo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// The table layout. Every record has pk, sk and expires_at (Unix seconds,
// the table's TTL attribute):
//
//	campaign     pk CAMPAIGN#<id>           sk META
//	             gsi1pk TENANT#<tenant>     gsi1sk <created_at>#<id>
//	input chunk  pk CAMPAIGN#<id>           sk INPUT#<first index, 6 digits>
//	email result  pk CAMPAIGN#<id>           sk ITEM#<index, 6 digits>
//	email lease   pk CAMPAIGN#<id>           sk LEASE#<index, 6 digits>
//	batch        pk CAMPAIGN#<id>           sk BATCH#<key>
//	idempotency  pk IDEM#<tenant>#<key>     sk IDEM
//	month spend  pk USAGE#<tenant>          sk MONTH#<2006-01>
//	day usage    pk USAGE#<tenant>          sk DAY#<2006-01-02>#<campaign id, or - for none>
//
// The ledger's records (month spend, day usage; ledger.go) outlive the
// campaigns they count: their expires_at is ledgerTTL after their last
// write.
//
// A campaign's inputs are stored in chunks of up to chunkEntries prospects
// (and chunkBytes of JSON), not one record per prospect: DynamoDB's cost of
// a write is mostly per record, so a 10,000-prospect submit writes ~100
// records instead of 10,000 and answers in a fraction of the time. An
// email's result record is written when the email is finished; an email
// without one is pending, as is one whose record a retry made pending
// again (Store.Reset). The result record also holds the email's review
// (review.go).
//
// Times are UTC strings with milliseconds and a fixed width (timeLayout), so
// that gsi1sk sorts by creation time and a person reading the table in the
// console can too.
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrStatus = "status"

	campaignPrefix = "CAMPAIGN#"
	tenantPrefix   = "TENANT#"
	itemPrefix     = "ITEM#"
	inputPrefix    = "INPUT#"
	leasePrefix    = "LEASE#"
	batchPrefix    = "BATCH#"
	idemPrefix     = "IDEM#"
	usagePrefix    = "USAGE#"
	monthPrefix    = "MONTH#"
	dayPrefix      = "DAY#"
	metaSK         = "META"
	idemSK         = "IDEM"

	gsi1 = "gsi1"

	timeLayout = "2006-01-02T15:04:05.000Z"
)

type campaignRecord struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	GSI1PK      string `dynamodbav:"gsi1pk"`
	GSI1SK      string `dynamodbav:"gsi1sk"`
	Tenant      string `dynamodbav:"tenant"`
	Name        string `dynamodbav:"name,omitempty"`
	Status      string `dynamodbav:"status"`
	Total       int    `dynamodbav:"total"`
	Succeeded   int    `dynamodbav:"succeeded"`
	Failed      int    `dynamodbav:"failed"`
	NeedsReview int    `dynamodbav:"needs_review"`
	// Skipped is part of Failed; a record written before budgets has
	// none and reads as 0.
	Skipped  int `dynamodbav:"skipped,omitempty"`
	Approved int `dynamodbav:"approved"`
	Rejected int `dynamodbav:"rejected"`
	// MaxCostMicroUSD is the campaign's cap (absent: none), and
	// ReservedMicroUSD what its emails hold of it (Store.Reserve).
	// CommittedMicroUSD is cost_micro_usd plus reserved_micro_usd, kept by
	// the same ADDs: DynamoDB's conditions have no arithmetic, so a hold's
	// condition compares it with the cap less the hold, computed here. A
	// record written before budgets has none of them, and no cap.
	MaxCostMicroUSD   int64 `dynamodbav:"max_cost_micro_usd,omitempty"`
	ReservedMicroUSD  int64 `dynamodbav:"reserved_micro_usd,omitempty"`
	CommittedMicroUSD int64 `dynamodbav:"committed_micro_usd,omitempty"`
	// Round and Retrying: see campaign.Campaign. A record written before
	// retries existed has neither and reads as round 0, not retrying.
	Round            int  `dynamodbav:"round"`
	Retrying         bool `dynamodbav:"retrying,omitempty"`
	PromptTokens     int  `dynamodbav:"prompt_tokens"`
	CompletionTokens int  `dynamodbav:"completion_tokens"`
	TotalTokens      int  `dynamodbav:"total_tokens"`
	// BatchPromptTokens and BatchCompletionTokens: see email.Usage. A
	// record written before batch mode has neither and reads as 0.
	BatchPromptTokens     int `dynamodbav:"batch_prompt_tokens,omitempty"`
	BatchCompletionTokens int `dynamodbav:"batch_completion_tokens,omitempty"`
	// CostMicroUSD and Unpriced: email.Usage's cost counter. A record
	// written before costs has neither and reads as 0 and priced.
	CostMicroUSD int64 `dynamodbav:"cost_micro_usd,omitempty"`
	Unpriced     int   `dynamodbav:"unpriced,omitempty"`
	// CachedPromptTokens: see email.Usage; a record written before has
	// none and reads as 0.
	CachedPromptTokens int `dynamodbav:"cached_prompt_tokens,omitempty"`
	// Mode is written by Create, realtime for none; a record written
	// before modes has none and reads as realtime. Warnings is a list,
	// absent while empty (SwitchMode appends to it).
	Mode       string   `dynamodbav:"mode,omitempty"`
	Warnings   []string `dynamodbav:"warnings,omitempty"`
	WebhookURL string   `dynamodbav:"webhook_url,omitempty"`
	// Columns is a CSV campaign's header (at most
	// campaign.MaxColumnsBytes, well inside the record's 400 KB).
	Columns        []string `dynamodbav:"input_columns,omitempty"`
	IdempotencyKey string   `dynamodbav:"idempotency_key,omitempty"`
	RequestHash    string   `dynamodbav:"request_hash,omitempty"`
	CreatedAt      string   `dynamodbav:"created_at"`
	UpdatedAt      string   `dynamodbav:"updated_at"`
	CompletedAt    string   `dynamodbav:"completed_at,omitempty"`
	ExpiresAt      int64    `dynamodbav:"expires_at"`
	// TransitionID names the last Transition that changed the status, so
	// that a Transition whose response was lost and whose retry found the
	// condition false knows it won.
	TransitionID string `dynamodbav:"transition_id,omitempty"`
}

// chunkRecord holds the inputs of consecutive emails, from the index in
// its sort key.
type chunkRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Entries   string `dynamodbav:"entries"` // []chunkEntry as JSON
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

type chunkEntry struct {
	Ref     string          `json:"ref,omitempty"`
	Request json.RawMessage `json:"request"` // email.Request
	// Cells are a CSV campaign's row (campaign.Email.Cells).
	Cells []string `json:"cells,omitempty"`
}

// resultRecord is a finished email, or one that a retry made pending
// again (Store.Reset: status pending, no output), which keeps its version
// and round. A record written before review existed has no version and
// reads as version 1 (resultRecord.version).
type resultRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Status    string `dynamodbav:"status"`
	Output    string `dynamodbav:"output,omitempty"` // campaign.Outcome as JSON
	ExpiresAt int64  `dynamodbav:"expires_at"`
	Version   int    `dynamodbav:"version,omitempty"`
	Round     int    `dynamodbav:"round,omitempty"`
	Edit      string `dynamodbav:"edit,omitempty"` // campaign.Edit as JSON
	// Review is absent while nobody decided (campaign.ReviewNone).
	Review     string `dynamodbav:"review,omitempty"`
	Note       string `dynamodbav:"note,omitempty"`
	ReviewedAt string `dynamodbav:"reviewed_at,omitempty"`
	// HoldOwner and HoldUntil (Unix milliseconds) are Store.Hold's lease,
	// apart from Claim's lease record.
	HoldOwner string `dynamodbav:"hold_owner,omitempty"`
	HoldUntil int64  `dynamodbav:"hold_until,omitempty"`
	// ReservedMonth and ReservedMicroUSD are a pending email's budget hold
	// (Store.Reserve; campaign.Email.Reserved): ReservedMonth is set while
	// it holds one, even of 0. Reserve writes a pending record for an
	// email that has none to keep them on.
	ReservedMonth    string `dynamodbav:"reserved_month,omitempty"`
	ReservedMicroUSD int64  `dynamodbav:"reserved_micro_usd,omitempty"`
}

// Attribute names of the result record that the review writes name.
const (
	attrOutput     = "output"
	attrVersion    = "version"
	attrRound      = "round"
	attrEdit       = "edit"
	attrReview     = "review"
	attrNote       = "note"
	attrReviewedAt = "reviewed_at"
	attrHoldOwner  = "hold_owner"
	attrHoldUntil  = "hold_until"

	attrReservedMonth = "reserved_month"
	attrReserved      = "reserved_micro_usd"
	attrCommitted     = "committed_micro_usd"
)

// leaseRecord is an email's lease (Store.Claim). It is left in place when
// the email is finished (deleting it would cost a write per email); TTL
// removes it a day after the lease ends.
type leaseRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Owner     string `dynamodbav:"owner"`
	Until     int64  `dynamodbav:"until"` // Unix milliseconds
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

type idemRecord struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	CampaignID  string `dynamodbav:"campaign_id"`
	RequestHash string `dynamodbav:"request_hash,omitempty"`
	CreatedAt   string `dynamodbav:"created_at"`
	ExpiresAt   int64  `dynamodbav:"expires_at"`
}

func campaignPK(id string) string             { return campaignPrefix + id }
func itemSK(index int) string                 { return fmt.Sprintf("%s%06d", itemPrefix, index) }
func inputSK(first int) string                { return fmt.Sprintf("%s%06d", inputPrefix, first) }
func leaseSK(index int) string                { return fmt.Sprintf("%s%06d", leasePrefix, index) }
func idemPK(tenant, key string) string        { return idemPrefix + tenant + "#" + key }
func gsi1SK(created string, id string) string { return created + "#" + id }
func usagePK(tenant string) string            { return usagePrefix + tenant }
func monthSK(month string) string             { return monthPrefix + month }

// daySK is the sort key of a day's usage of campaignID: "-" stands for
// none (generate-email calls), and sorts before every campaign id.
func daySK(day, campaignID string) string {
	if campaignID == "" {
		campaignID = "-"
	}
	return dayPrefix + day + "#" + campaignID
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

func toCampaignRecord(c *campaign.Campaign) campaignRecord {
	created := formatTime(c.CreatedAt)
	return campaignRecord{
		PK:                    campaignPK(c.ID),
		SK:                    metaSK,
		GSI1PK:                tenantPrefix + c.Tenant,
		GSI1SK:                gsi1SK(created, c.ID),
		Tenant:                c.Tenant,
		Name:                  c.Name,
		Status:                string(c.Status),
		Total:                 c.Total,
		Succeeded:             c.Succeeded,
		Failed:                c.Failed,
		NeedsReview:           c.NeedsReview,
		Skipped:               c.Skipped,
		Approved:              c.Approved,
		Rejected:              c.Rejected,
		Round:                 c.Round,
		Retrying:              c.Retrying,
		PromptTokens:          c.Usage.PromptTokens,
		CompletionTokens:      c.Usage.CompletionTokens,
		TotalTokens:           c.Usage.TotalTokens,
		BatchPromptTokens:     c.Usage.BatchPromptTokens,
		BatchCompletionTokens: c.Usage.BatchCompletionTokens,
		CostMicroUSD:          c.Usage.CostMicroUSD,
		Unpriced:              c.Usage.Unpriced,
		CachedPromptTokens:    c.Usage.CachedPromptTokens,
		Mode:                  string(c.Mode),
		Warnings:              c.Warnings,
		WebhookURL:            c.WebhookURL,
		Columns:               c.Columns,
		IdempotencyKey:        c.IdempotencyKey,
		RequestHash:           c.RequestHash,
		CreatedAt:             created,
		UpdatedAt:             formatTime(c.UpdatedAt),
		CompletedAt:           formatTime(c.CompletedAt),
		ExpiresAt:             c.ExpiresAt.Unix(),
		MaxCostMicroUSD:       c.MaxCostMicroUSD,
		ReservedMicroUSD:      c.ReservedMicroUSD,
		CommittedMicroUSD:     c.Usage.CostMicroUSD + c.ReservedMicroUSD,
	}
}

func (r *campaignRecord) campaign() (*campaign.Campaign, error) {
	c := &campaign.Campaign{
		ID:          strings.TrimPrefix(r.PK, campaignPrefix),
		Tenant:      r.Tenant,
		Name:        r.Name,
		Status:      campaign.Status(r.Status),
		Total:       r.Total,
		Succeeded:   r.Succeeded,
		Failed:      r.Failed,
		NeedsReview: r.NeedsReview,
		Skipped:     r.Skipped,
		Approved:    r.Approved,
		Rejected:    r.Rejected,
		Round:       r.Round,
		Retrying:    r.Retrying,
		Usage: email.Usage{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens,
			BatchPromptTokens: r.BatchPromptTokens, BatchCompletionTokens: r.BatchCompletionTokens,
			CostMicroUSD: r.CostMicroUSD, Unpriced: r.Unpriced, CachedPromptTokens: r.CachedPromptTokens},
		Mode:           campaign.Mode(r.Mode),
		Warnings:       r.Warnings,
		WebhookURL:     r.WebhookURL,
		Columns:        r.Columns,
		IdempotencyKey: r.IdempotencyKey,
		RequestHash:    r.RequestHash,
		ExpiresAt:      time.Unix(r.ExpiresAt, 0).UTC(),

		MaxCostMicroUSD:  r.MaxCostMicroUSD,
		ReservedMicroUSD: r.ReservedMicroUSD,
	}
	var err error
	if c.CreatedAt, err = parseTime(r.CreatedAt); err != nil {
		return nil, fmt.Errorf("campaign %s created_at: %w", c.ID, err)
	}
	if c.UpdatedAt, err = parseTime(r.UpdatedAt); err != nil {
		return nil, fmt.Errorf("campaign %s updated_at: %w", c.ID, err)
	}
	if c.CompletedAt, err = parseTime(r.CompletedAt); err != nil {
		return nil, fmt.Errorf("campaign %s completed_at: %w", c.ID, err)
	}
	if r.ExpiresAt == 0 {
		c.ExpiresAt = time.Time{}
	}
	if c.Mode == "" {
		c.Mode = campaign.ModeRealtime
	}
	return c, nil
}

// skIndex reads the index in a sort key with the given prefix.
func skIndex(sk, prefix string) (int, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(sk, prefix))
	if err != nil || !strings.HasPrefix(sk, prefix) {
		return 0, fmt.Errorf("sort key %q", sk)
	}
	return i, nil
}

// Cursors are base64 of the sort key they continue after: the last email's
// index, or the last campaign's gsi1sk.
func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 {
		return "", campaign.ErrBadCursor
	}
	return string(b), nil
}

// key is the primary key of the record pk, sk.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// number is n as a DynamoDB number.
func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
