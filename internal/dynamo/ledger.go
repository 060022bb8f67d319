package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// The ledger (campaign.Ledger) is two kinds of record in the tenant's
// partition USAGE#<tenant>: a month's spend (sk MONTH#<month>) and a day's
// usage of one campaign (sk DAY#<day>#<campaign id>). A hold is counted
// twice: on the campaign record (reserved_micro_usd, against its cap) and
// on the month (against the key's). Each counter that a cap is checked
// against has a committed_micro_usd beside it, spent plus held, that
// every write moves by the same ADDs: DynamoDB's conditions cannot add,
// so a hold is conditional on committed <= cap - amount, the right side
// computed here.
//
// Every write of the ledger is a TransactWriteItems, even of one record:
// its ClientRequestToken, which the SDK sets once per call and keeps
// across its retries, makes a retry after a lost response count once (an
// UpdateItem's ADD would count twice).

// ledgerTTL is how long a ledger record outlives its last write: a year
// and a month, so that last year's month is still there to compare.
const ledgerTTL = 400 * 24 * time.Hour

// monthRecord is a tenant's spend in a month (campaign.MonthSpend).
type monthRecord struct {
	PK               string `dynamodbav:"pk"`
	SK               string `dynamodbav:"sk"`
	Month            string `dynamodbav:"month"`
	SpentMicroUSD    int64  `dynamodbav:"spent_micro_usd"`
	ReservedMicroUSD int64  `dynamodbav:"reserved_micro_usd"`
	// CommittedMicroUSD is SpentMicroUSD plus ReservedMicroUSD.
	CommittedMicroUSD int64 `dynamodbav:"committed_micro_usd"`
	Unpriced          int   `dynamodbav:"unpriced"`
	ExpiresAt         int64 `dynamodbav:"expires_at"`
}

// dayRecord is a tenant's usage of a day by one campaign, or by none
// (campaign.UsageRecord).
type dayRecord struct {
	PK                    string `dynamodbav:"pk"`
	SK                    string `dynamodbav:"sk"`
	Day                   string `dynamodbav:"day"`
	CampaignID            string `dynamodbav:"campaign_id,omitempty"`
	Emails                int    `dynamodbav:"emails"`
	PromptTokens          int    `dynamodbav:"prompt_tokens"`
	CompletionTokens      int    `dynamodbav:"completion_tokens"`
	TotalTokens           int    `dynamodbav:"total_tokens"`
	BatchPromptTokens     int    `dynamodbav:"batch_prompt_tokens"`
	BatchCompletionTokens int    `dynamodbav:"batch_completion_tokens"`
	CachedPromptTokens    int    `dynamodbav:"cached_prompt_tokens"`
	CostMicroUSD          int64  `dynamodbav:"cost_micro_usd"`
	Unpriced              int    `dynamodbav:"unpriced"`
	ExpiresAt             int64  `dynamodbav:"expires_at"`
}

// written is the Emails an outcome of status adds to a day's usage.
func written(status campaign.EmailStatus) int {
	if status == campaign.EmailSucceeded || status == campaign.EmailNeedsReview {
		return 1
	}
	return 0
}

// monthUpdate adds spent to the tenant's month's spend, held to its holds
// (negative releases) and unpriced. With limit > 0 it is conditional on
// the spend and holds before it leaving room for held under limit (the
// caller refuses a hold above the limit itself: the condition passes a
// month without a record).
func (s *Store) monthUpdate(tenant, month string, spent, held int64, unpriced int, limit int64, now time.Time) *types.Update {
	e := newExpr()
	e.setTo("month", &types.AttributeValueMemberS{Value: month})
	e.setTo("expires_at", number(now.Add(ledgerTTL).Unix()))
	e.addNonzero("spent_micro_usd", spent)
	e.addNonzero(attrReserved, held)
	e.addNonzero(attrCommitted, spent+held)
	e.addNonzero("unpriced", int64(unpriced))
	cond := ""
	if limit > 0 {
		c := e.name(attrCommitted)
		cond = "attribute_not_exists(" + c + ") OR " + c + " <= " + e.value(number(limit-held))
	}
	return s.updateOf(key(usagePK(tenant), monthSK(month)), e, cond)
}

// dayUpdate adds emails and u to the tenant's usage of day by campaignID.
func (s *Store) dayUpdate(tenant, day, campaignID string, emails int, u email.Usage, now time.Time) *types.Update {
	e := newExpr()
	e.setTo("day", &types.AttributeValueMemberS{Value: day})
	if campaignID != "" {
		e.setTo("campaign_id", &types.AttributeValueMemberS{Value: campaignID})
	}
	e.setTo("expires_at", number(now.Add(ledgerTTL).Unix()))
	e.add = append(e.add, e.name("emails")+" "+e.num(emails))
	e.addUsage(u)
	return s.updateOf(key(usagePK(tenant), daySK(day, campaignID)), e, "")
}

// book is the ledger's part of a write that records usage u of a call
// (Finish, Revise, Spend): it releases hold h of h's month and adds u's
// cost there (MonthOf(now) without a hold), and adds emails and u to the
// tenant's record of DayOf(now) for campaignID. A month neither held nor
// spent in is left alone.
func (s *Store) book(tenant, campaignID string, h campaign.Reservation, emails int, u email.Usage, now time.Time) []types.TransactWriteItem {
	var items []types.TransactWriteItem
	if h.Amount != 0 || u.CostMicroUSD != 0 || u.Unpriced != 0 {
		month := h.Month
		if month == "" {
			month = campaign.MonthOf(now)
		}
		items = append(items, types.TransactWriteItem{Update: s.monthUpdate(tenant, month, u.CostMicroUSD, -h.Amount, u.Unpriced, 0, now)})
	}
	return append(items, types.TransactWriteItem{Update: s.dayUpdate(tenant, campaign.DayOf(now), campaignID, emails, u, now)})
}

// checkHold refuses a hold the ledger cannot take, and sets its Month to
// now's when it has none.
func checkHold(tenant string, h *campaign.Reservation, now time.Time) error {
	if tenant == "" {
		return errors.New("no tenant")
	}
	if h.Amount < 0 {
		return fmt.Errorf("a hold of %d micro-USD: it cannot be negative", h.Amount)
	}
	if h.KeyLimit < 0 {
		return fmt.Errorf("a key limit of %d micro-USD: it cannot be negative", h.KeyLimit)
	}
	return checkMonth(h, now)
}

// checkMonth sets h.Month to now's when it is "", and refuses one not in
// MonthOf's form.
func checkMonth(h *campaign.Reservation, now time.Time) error {
	if h.Month == "" {
		h.Month = campaign.MonthOf(now)
		return nil
	}
	if t, err := time.Parse("2006-01", h.Month); err != nil || campaign.MonthOf(t) != h.Month {
		return fmt.Errorf("hold month %q is not a month like 2006-01", h.Month)
	}
	return nil
}

// checkUsage refuses usage with a negative counter.
func checkUsage(u email.Usage) error {
	if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0 || u.BatchPromptTokens < 0 ||
		u.BatchCompletionTokens < 0 || u.CachedPromptTokens < 0 || u.CostMicroUSD < 0 || u.Unpriced < 0 {
		return fmt.Errorf("usage %+v has a negative counter", u)
	}
	return nil
}

// ledgerMeta is what the ledger's writes read of a campaign record.
type ledgerMeta struct {
	Tenant            string `dynamodbav:"tenant"`
	Total             int    `dynamodbav:"total"`
	ExpiresAt         int64  `dynamodbav:"expires_at"`
	MaxCostMicroUSD   int64  `dynamodbav:"max_cost_micro_usd"`
	CommittedMicroUSD int64  `dynamodbav:"committed_micro_usd"`
}

// ledgerState reads, with strongly consistent reads, the campaign record
// (ErrNotFound when it is missing or has no email index) and the email's
// result record (found false for an email never finished nor reserved).
func (s *Store) ledgerState(ctx context.Context, campaignID string, index int) (ledgerMeta, resultRecord, bool, error) {
	var (
		meta ledgerMeta
		rec  resultRecord
	)
	found, err := s.getRecord(ctx, key(campaignPK(campaignID), metaSK), &meta)
	if err != nil {
		return meta, rec, false, err
	}
	if !found || index < 0 || index >= meta.Total {
		return meta, rec, false, campaign.ErrNotFound
	}
	found, err = s.getRecord(ctx, key(campaignPK(campaignID), itemSK(index)), &rec)
	return meta, rec, found, err
}

// holdIs is the condition that the result record still holds what rec
// (found or not) held when read.
func holdIs(e *expr, rec resultRecord, found bool) string {
	if !found {
		return "attribute_not_exists(#pk)"
	}
	m := e.name(attrReservedMonth)
	if rec.ReservedMonth == "" {
		return "attribute_not_exists(" + m + ")"
	}
	return m + " = " + e.str(rec.ReservedMonth) + " AND " + e.name(attrReserved) + " = " + e.value(number(rec.ReservedMicroUSD))
}

// Reserve reads the campaign record and the email's result record, then
// writes the hold in one transaction: on the result record (conditional on
// the email being pending and holding nothing, as read), the campaign's
// reserved_micro_usd (conditional on its cap) and the month's (on the
// key's limit). When the email's condition fails, another write came
// between: Reserve reads again. When the campaign's does, the next read
// says whether it is gone or full.
func (s *Store) Reserve(ctx context.Context, campaignID string, index int, tenant string, h campaign.Reservation, now time.Time) (campaign.Reservation, error) {
	fail := func(err error) (campaign.Reservation, error) {
		return campaign.Reservation{}, fmt.Errorf("reserve for item %s/%d: %w", campaignID, index, err)
	}
	if err := checkHold(tenant, &h, now); err != nil {
		return fail(err)
	}
	pk := campaignPK(campaignID)
	for range maxAttempts {
		meta, rec, found, err := s.ledgerState(ctx, campaignID, index)
		switch {
		case err != nil:
			return fail(err)
		case meta.Tenant != tenant || meta.ExpiresAt <= s.nowUnix():
			return fail(campaign.ErrNotFound)
		case found && rec.Status != string(campaign.EmailPending):
			return fail(campaign.ErrAlreadyDone)
		case found && rec.ReservedMonth != "":
			// A redelivery after a crash: the email keeps its hold.
			return campaign.Reservation{Amount: rec.ReservedMicroUSD, Month: rec.ReservedMonth}, nil
		case meta.MaxCostMicroUSD > 0 && meta.CommittedMicroUSD+h.Amount > meta.MaxCostMicroUSD:
			return fail(campaign.ErrCampaignBudget)
		case h.KeyLimit > 0 && h.Amount > h.KeyLimit:
			return fail(campaign.ErrKeyBudget)
		}

		e := newExpr()
		st, exp := e.name(attrStatus), e.name("expires_at")
		e.set = append(e.set,
			st+" = if_not_exists("+st+", "+e.str(string(campaign.EmailPending))+")",
			exp+" = if_not_exists("+exp+", "+e.value(number(meta.ExpiresAt))+")")
		e.setTo(attrReservedMonth, &types.AttributeValueMemberS{Value: h.Month})
		e.setTo(attrReserved, number(h.Amount))
		cond := holdIs(e, rec, found)
		if found {
			cond += " AND " + st + " = " + e.str(string(campaign.EmailPending))
		}
		items := []types.TransactWriteItem{
			{Update: s.updateOf(key(pk, itemSK(index)), e, cond)},
			{Update: s.reserveMeta(campaignID, index, meta.MaxCostMicroUSD, h.Amount)},
		}
		if h.Amount != 0 || h.KeyLimit != 0 {
			items = append(items, types.TransactWriteItem{Update: s.monthUpdate(tenant, h.Month, 0, h.Amount, 0, h.KeyLimit, now)})
		}
		err = retryConflicts(ctx, func() error {
			_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			return err
		})
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) {
			switch {
			case reason(cancelled, 0) == "ConditionalCheckFailed", reason(cancelled, 1) == "ConditionalCheckFailed":
				continue // the next read says what changed
			case reason(cancelled, 2) == "ConditionalCheckFailed":
				return fail(campaign.ErrKeyBudget)
			}
		}
		if err != nil {
			return fail(err)
		}
		return h, nil
	}
	return fail(fmt.Errorf("changed by others %d times in a row while reserving", maxAttempts))
}

// reserveMeta adds amount to the campaign's holds, if the campaign has
// not expired, has the email, and (with a cap, maxCost > 0) has room.
func (s *Store) reserveMeta(campaignID string, index int, maxCost, amount int64) *types.Update {
	e := newExpr()
	e.addNonzero(attrReserved, amount)
	e.addNonzero(attrCommitted, amount)
	if amount == 0 {
		// An update needs an action; this one changes nothing.
		e.set = append(e.set, e.name("total")+" = "+e.name("total"))
	}
	cond := e.alive(s) + " AND " + e.name("total") + " > " + e.num(index)
	if maxCost > 0 {
		// A campaign without spend or holds has no committed_micro_usd
		// (omitempty); the caller refused an amount above the cap.
		c := e.name(attrCommitted)
		cond += " AND (attribute_not_exists(" + c + ") OR " + c + " <= " + e.value(number(maxCost-amount)) + ")"
	}
	return s.updateOf(key(campaignPK(campaignID), metaSK), e, cond)
}

// Unreserve reads as Reserve does, then removes the hold from the result
// record (conditional on it being the one read), the campaign and the
// month in one transaction.
func (s *Store) Unreserve(ctx context.Context, campaignID string, index int, tenant string) error {
	fail := func(err error) error {
		return fmt.Errorf("unreserve item %s/%d: %w", campaignID, index, err)
	}
	pk := campaignPK(campaignID)
	for range maxAttempts {
		meta, rec, found, err := s.ledgerState(ctx, campaignID, index)
		switch {
		case err != nil:
			return fail(err)
		case meta.Tenant != tenant || meta.ExpiresAt <= s.nowUnix():
			return fail(campaign.ErrNotFound)
		case !found || rec.Status != string(campaign.EmailPending) || rec.ReservedMonth == "":
			return nil
		}
		e := newExpr()
		e.removeAttrs(attrReservedMonth, attrReserved)
		cond := holdIs(e, rec, found) + " AND " + e.name(attrStatus) + " = " + e.str(string(campaign.EmailPending))
		m := newExpr()
		m.addNonzero(attrReserved, -rec.ReservedMicroUSD)
		m.addNonzero(attrCommitted, -rec.ReservedMicroUSD)
		items := []types.TransactWriteItem{{Update: s.updateOf(key(pk, itemSK(index)), e, cond)}}
		if rec.ReservedMicroUSD != 0 {
			items = append(items,
				types.TransactWriteItem{Update: s.updateOf(key(pk, metaSK), m, "attribute_exists(#pk)")},
				types.TransactWriteItem{Update: s.monthUpdate(meta.Tenant, rec.ReservedMonth, 0, -rec.ReservedMicroUSD, 0, 0, s.Now())})
		}
		err = retryConflicts(ctx, func() error {
			_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			return err
		})
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) && (reason(cancelled, 0) == "ConditionalCheckFailed" || reason(cancelled, 1) == "ConditionalCheckFailed") {
			continue
		}
		if err != nil {
			return fail(err)
		}
		return nil
	}
	return fail(fmt.Errorf("changed by others %d times in a row while unreserving", maxAttempts))
}

// ReserveKey is one transaction of the month's record, conditional on its
// room when h has a limit.
func (s *Store) ReserveKey(ctx context.Context, tenant string, h campaign.Reservation, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("reserve for tenant %s: %w", tenant, err) }
	if err := checkHold(tenant, &h, now); err != nil {
		return fail(err)
	}
	if h.KeyLimit > 0 && h.Amount > h.KeyLimit {
		return fail(campaign.ErrKeyBudget)
	}
	if h.Amount == 0 && h.KeyLimit == 0 {
		return nil // nothing to hold, nothing to check
	}
	err := s.transactLedger(ctx, "", s.monthUpdate(tenant, h.Month, 0, h.Amount, 0, h.KeyLimit, now))
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && reason(cancelled, 0) == "ConditionalCheckFailed" {
		return fail(campaign.ErrKeyBudget)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// Spend is one transaction of the month's and the day's records whose
// ClientRequestToken is made from ref: DynamoDB counts a repeat of it
// within ten minutes once, and answers a repeat with other arguments (an
// h or u that differs) with IdempotentParameterMismatchException.
func (s *Store) Spend(ctx context.Context, tenant string, h campaign.Reservation, emails int, u email.Usage, ref string, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("book spend of tenant %s: %w", tenant, err) }
	if err := checkHold(tenant, &h, now); err != nil {
		return fail(err)
	}
	if emails < 0 {
		return fail(fmt.Errorf("%d emails: it cannot be negative", emails))
	}
	if err := checkUsage(u); err != nil {
		return fail(err)
	}
	var updates []*types.Update
	for _, it := range s.book(tenant, "", h, emails, u, now) {
		updates = append(updates, it.Update)
	}
	token := ""
	if ref != "" {
		// DynamoDB keeps tokens per account, not per table.
		sum := sha256.Sum256([]byte(s.table + "\x00" + tenant + "\x00" + ref))
		token = hex.EncodeToString(sum[:16]) // at most 36 characters
	}
	if err := s.transactLedger(ctx, token, updates...); err != nil {
		return fail(err)
	}
	return nil
}

// ReleaseKey is one transaction of the month's record. A hold without a
// month is of the store clock's month.
func (s *Store) ReleaseKey(ctx context.Context, tenant string, h campaign.Reservation) error {
	fail := func(err error) error { return fmt.Errorf("release hold of tenant %s: %w", tenant, err) }
	now := s.Now()
	if err := checkHold(tenant, &h, now); err != nil {
		return fail(err)
	}
	if h.Amount == 0 {
		return nil
	}
	if err := s.transactLedger(ctx, "", s.monthUpdate(tenant, h.Month, 0, -h.Amount, 0, 0, now)); err != nil {
		return fail(err)
	}
	return nil
}

// transactLedger writes updates in one transaction, with token as its
// ClientRequestToken ("": the SDK's), retrying conflicts.
func (s *Store) transactLedger(ctx context.Context, token string, updates ...*types.Update) error {
	in := &dynamodb.TransactWriteItemsInput{}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	for _, u := range updates {
		in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Update: u})
	}
	return retryConflicts(ctx, func() error {
		_, err := s.client.TransactWriteItems(ctx, in)
		return err
	})
}

// Usage queries the tenant's day records from from through to: their sort
// keys begin with DAY#<day>#, and every one of to's sorts before
// DAY#<to>$.
func (s *Store) Usage(ctx context.Context, tenant, from, to string) ([]campaign.UsageRecord, error) {
	fail := func(err error) ([]campaign.UsageRecord, error) {
		return nil, fmt.Errorf("usage of tenant %s from %s to %s: %w", tenant, from, to, err)
	}
	for _, d := range []struct{ name, day string }{{"from", from}, {"to", to}} {
		if t, err := time.Parse(time.DateOnly, d.day); err != nil || campaign.DayOf(t) != d.day {
			return fail(fmt.Errorf("%s %q is not a day like 2006-01-02", d.name, d.day))
		}
	}
	out := []campaign.UsageRecord{}
	if from > to {
		return out, nil
	}
	var recs []dayRecord
	if err := s.between(ctx, usagePK(tenant), dayPrefix+from+"#", dayPrefix+to+"$", false, 1<<30, &recs); err != nil {
		return fail(err)
	}
	for _, r := range recs {
		out = append(out, campaign.UsageRecord{Day: r.Day, CampaignID: r.CampaignID, Emails: r.Emails, Usage: email.Usage{
			PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens,
			BatchPromptTokens: r.BatchPromptTokens, BatchCompletionTokens: r.BatchCompletionTokens,
			CachedPromptTokens: r.CachedPromptTokens, CostMicroUSD: r.CostMicroUSD, Unpriced: r.Unpriced,
		}})
	}
	// The sort keys' order, but said rather than relied on.
	slices.SortFunc(out, func(a, b campaign.UsageRecord) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.CampaignID, b.CampaignID)
	})
	return out, nil
}

// Month reads the month's record with a strongly consistent read.
func (s *Store) Month(ctx context.Context, tenant, month string) (campaign.MonthSpend, error) {
	h := campaign.Reservation{Month: month}
	if month == "" {
		return campaign.MonthSpend{}, fmt.Errorf("spend of tenant %s: no month", tenant)
	}
	if err := checkMonth(&h, time.Time{}); err != nil {
		return campaign.MonthSpend{}, fmt.Errorf("spend of tenant %s: %w", tenant, err)
	}
	var rec monthRecord
	if _, err := s.getRecord(ctx, key(usagePK(tenant), monthSK(month)), &rec); err != nil {
		return campaign.MonthSpend{}, fmt.Errorf("spend of tenant %s in %s: %w", tenant, month, err)
	}
	return campaign.MonthSpend{Month: month, SpentMicroUSD: rec.SpentMicroUSD, ReservedMicroUSD: rec.ReservedMicroUSD, Unpriced: rec.Unpriced}, nil
}
