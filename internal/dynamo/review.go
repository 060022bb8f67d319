package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
)

// The review lives on the email's result record (version, round, edit,
// review, note, reviewed_at, and Hold's hold_owner and hold_until), the
// retry on the campaign record (round, retrying). Every write that changes
// what a reader of the email sees adds 1 to its version, so that a write
// conditional on the version read is conditional on all of it; the
// counters that move with it are in the same transaction.

// finished are the statuses of an email with an outcome.
var finished = []campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailNeedsReview, campaign.EmailFailed, campaign.EmailSkipped}

// tally is what an email of status adds to its campaign's counters:
// nothing while pending.
func tally(status campaign.EmailStatus) campaign.Tally {
	t, _, err := campaign.Finishing(status, campaign.Outcome{})
	if err != nil {
		return campaign.Tally{}
	}
	return t
}

// counts is a change of a campaign's counters.
type counts struct {
	campaign.Tally
	approved, rejected int
	usage              email.Usage
	// released is the hold of the campaign's budget released
	// (reserved_micro_usd) when usage is booked; negative takes one.
	released int64
}

// move counts an email moving from status and review to others.
func (c *counts) move(fromStatus campaign.EmailStatus, fromReview campaign.Review, toStatus campaign.EmailStatus, toReview campaign.Review) {
	from, to := tally(fromStatus), tally(toStatus)
	c.Succeeded += to.Succeeded - from.Succeeded
	c.NeedsReview += to.NeedsReview - from.NeedsReview
	c.Failed += to.Failed - from.Failed
	c.Skipped += to.Skipped - from.Skipped
	one := func(r, want campaign.Review) int {
		if r == want {
			return 1
		}
		return 0
	}
	c.approved += one(toReview, campaign.ReviewApproved) - one(fromReview, campaign.ReviewApproved)
	c.rejected += one(toReview, campaign.ReviewRejected) - one(fromReview, campaign.ReviewRejected)
}

// metaUpdate is the transaction's update of the campaign record: c added
// to its counters and updated_at now, if the campaign has not expired.
func (s *Store) metaUpdate(campaignID string, c counts, now time.Time) *types.Update {
	e := metaExpr(c, now)
	return s.updateOf(key(campaignPK(campaignID), metaSK), e, e.alive(s))
}

// metaExpr adds c to a campaign record's counters (committed_micro_usd
// with its cost and hold) and sets its updated_at to now.
func metaExpr(c counts, now time.Time) *expr {
	e := newExpr()
	e.setTo("updated_at", &types.AttributeValueMemberS{Value: formatTime(now)})
	for _, a := range []struct {
		attr string
		n    int64
	}{
		{"succeeded", int64(c.Succeeded)}, {"needs_review", int64(c.NeedsReview)}, {"failed", int64(c.Failed)},
		{"skipped", int64(c.Skipped)}, {"approved", int64(c.approved)}, {"rejected", int64(c.rejected)},
	} {
		e.addNonzero(a.attr, a.n)
	}
	e.addUsage(c.usage)
	e.addNonzero(attrReserved, -c.released)
	e.addNonzero(attrCommitted, c.usage.CostMicroUSD-c.released)
	return e
}

// ms is t as the store keeps it.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Millisecond).UTC()
}

// checkRevision refuses a Revision that Revise cannot apply as its doc says.
func checkRevision(r campaign.Revision) error {
	if r.Draft != nil {
		if r.Edit != nil || r.Review != nil || r.Note != nil {
			return errors.New("a revision with a new draft cannot also set an edit, review or note")
		}
		if !slices.Contains(finished, r.Status) {
			return fmt.Errorf("a new draft's status %q is not an outcome", r.Status)
		}
	}
	if r.Draft == nil && r.Status != "" {
		return fmt.Errorf("a revision without a new draft cannot set the status (%q)", r.Status)
	}
	if r.Draft == nil && r.Reserved != (campaign.Reservation{}) {
		return errors.New("a revision without a new draft cannot release a hold")
	}
	if r.Draft != nil {
		if err := checkUsage(r.Draft.Usage); err != nil {
			return fmt.Errorf("the new draft's %w", err)
		}
		if r.Reserved.Amount < 0 {
			return fmt.Errorf("a hold of %d micro-USD: it cannot be negative", r.Reserved.Amount)
		}
		if r.Reserved.Month != "" {
			if err := checkMonth(&r.Reserved, time.Time{}); err != nil {
				return err
			}
		}
	}
	if r.Review != nil && !slices.Contains([]campaign.Review{campaign.ReviewNone, campaign.ReviewApproved, campaign.ReviewRejected}, *r.Review) {
		return fmt.Errorf("review %q is not approved, rejected or none", *r.Review)
	}
	return nil
}

// Revise reads the email (its chunk and result record) to learn what the
// counters move from, then writes the result record, conditional on the
// version read, and the campaign's counters in one transaction.
func (s *Store) Revise(ctx context.Context, campaignID string, index, version int, r campaign.Revision, now time.Time) (*campaign.Email, error) {
	fail := func(err error) (*campaign.Email, error) {
		return nil, fmt.Errorf("revise item %s/%d: %w", campaignID, index, err)
	}
	if err := checkRevision(r); err != nil {
		return fail(err)
	}
	cur, err := s.email(ctx, campaignID, index)
	if err != nil {
		return fail(err)
	}
	if cur.Version != version || !slices.Contains(finished, cur.Status) {
		return fail(campaign.ErrVersionMismatch)
	}
	var tenant string
	if r.Draft != nil {
		// The draft's spend goes to the campaign's tenant's ledger.
		meta, err := s.getCampaign(ctx, campaignID)
		if err != nil {
			return fail(err)
		}
		tenant = meta.Tenant
	}

	next := resultRecord{
		Status: string(cur.Status), Version: cur.Version + 1, Round: cur.Round,
		Review: string(cur.Review), Note: cur.Note, ReviewedAt: formatTime(cur.ReviewedAt),
	}
	outcome, edit := cur.Outcome, cur.Edit
	e := newExpr()
	// Set, not added: a record from before versions has none, and is at
	// version 1 (resultRecord.version).
	e.setTo(attrVersion, number(int64(next.Version)))
	e.removeAttrs(attrHoldOwner, attrHoldUntil)
	var c counts
	if r.Draft != nil {
		o := *r.Draft
		if cur.Outcome != nil {
			o.Usage = cur.Outcome.Usage.Add(r.Draft.Usage)
		}
		o.Usage = o.Usage.Tokens()
		outcome, edit = &o, nil
		next.Status, next.Review, next.Note, next.ReviewedAt = string(r.Status), "", "", ""
		out, err := json.Marshal(outcome)
		if err != nil {
			return fail(err)
		}
		e.setTo(attrStatus, &types.AttributeValueMemberS{Value: next.Status})
		next.Output = string(out)
		e.setTo(attrOutput, &types.AttributeValueMemberS{Value: next.Output})
		e.removeAttrs(attrEdit, attrReview, attrNote, attrReviewedAt)
		c.usage = r.Draft.Usage
	}
	if r.Edit != nil {
		ed := *r.Edit
		ed.EditedAt = ms(ed.EditedAt)
		b, err := json.Marshal(ed)
		if err != nil {
			return fail(err)
		}
		edit = &ed
		e.setTo(attrEdit, &types.AttributeValueMemberS{Value: string(b)})
	}
	if r.Review != nil {
		next.Review, next.ReviewedAt = string(*r.Review), formatTime(now)
		e.setString(attrReview, next.Review)
		e.setTo(attrReviewedAt, &types.AttributeValueMemberS{Value: next.ReviewedAt})
	}
	if r.Note != nil {
		next.Note = *r.Note
		e.setString(attrNote, next.Note)
	}
	c.move(cur.Status, cur.Review, campaign.EmailStatus(next.Status), campaign.Review(next.Review))

	cond := "attribute_exists(#pk) AND " + e.isVersion(version) + " AND " + e.in(attrStatus, strs(finished))
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       key(campaignPK(campaignID), itemSK(index)),
			UpdateExpression:          e.update(),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  e.names,
			ExpressionAttributeValues: e.values,
		}},
		{Update: s.metaUpdate(campaignID, c, now)},
	}}
	if r.Draft != nil {
		// The draft's calls held r.Reserved of the key's month (ReserveKey);
		// the campaign's hold is not theirs, so c.released stays 0.
		in.TransactItems = append(in.TransactItems, s.book(tenant, campaignID, r.Reserved, written(r.Status), r.Draft.Usage, now)...)
	}
	if err := s.transact(ctx, in, campaign.ErrVersionMismatch); err != nil {
		return fail(err)
	}

	// The email as Email will read it: its outcome and edit through JSON.
	out := *cur
	if outcome != nil && next.Output == "" {
		b, err := json.Marshal(outcome)
		if err != nil {
			return fail(err)
		}
		next.Output = string(b)
	}
	if edit != nil {
		b, err := json.Marshal(edit)
		if err != nil {
			return fail(err)
		}
		next.Edit = string(b)
	}
	if err := next.apply(&out); err != nil {
		return fail(err)
	}
	return &out, nil
}

// transact runs a transaction whose first item is the email's write and
// whose second is the campaign's, retrying conflicts. A failed condition
// of the email's is stale, of the campaign's ErrNotFound (no such
// campaign, or expired). A transaction whose response was lost needs no
// token of ours: the SDK's retry carries the same ClientRequestToken,
// and DynamoDB answers the repeat of a transaction that landed with success.
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput, stale error) error {
	err := retryConflicts(ctx, func() error {
		_, err := s.client.TransactWriteItems(ctx, in)
		return err
	})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		switch {
		case reason(cancelled, 1) == "ConditionalCheckFailed":
			return campaign.ErrNotFound
		case reason(cancelled, 0) == "ConditionalCheckFailed":
			return stale
		}
	}
	return err
}

// checkEmail returns ErrNotFound unless the campaign exists, has not
// expired, and has an email index: one strongly consistent read of its
// record.
func (s *Store) checkEmail(ctx context.Context, campaignID string, index int) error {
	var rec struct {
		Total     int   `dynamodbav:"total"`
		ExpiresAt int64 `dynamodbav:"expires_at"`
	}
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(campaignPK(campaignID), metaSK),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#total, #exp"),
		ExpressionAttributeNames: map[string]string{"#total": "total", "#exp": "expires_at"},
	})
	if err != nil {
		return err
	}
	if err := attributevalue.UnmarshalMap(res.Item, &rec); err != nil {
		return err
	}
	if len(res.Item) == 0 || rec.ExpiresAt <= s.nowUnix() || index < 0 || index >= rec.Total {
		return campaign.ErrNotFound
	}
	return nil
}

// email reads one email as Email does, without Email's wrapping.
func (s *Store) email(ctx context.Context, campaignID string, index int) (*campaign.Email, error) {
	if index < 0 {
		return nil, campaign.ErrNotFound
	}
	items, err := s.items(ctx, campaignID, index, index)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, campaign.ErrNotFound
	}
	return &items[0], nil
}

// Hold reads the campaign record, which says whether the email exists
// and the campaign has not expired, then makes one conditional UpdateItem
// of the email's result record, which a finished email has: the hold is
// two attributes of it. Only when the condition fails does Hold read
// again, to say why.
func (s *Store) Hold(ctx context.Context, campaignID string, index, version int, owner string, now, until time.Time) error {
	if err := s.checkEmail(ctx, campaignID, index); err != nil {
		return fmt.Errorf("hold item %s/%d: %w", campaignID, index, err)
	}
	e := newExpr()
	ho, hu := e.name(attrHoldOwner), e.name(attrHoldUntil)
	vOwner := e.str(owner)
	e.set = append(e.set, ho+" = "+vOwner, hu+" = "+e.value(number(until.UnixMilli())))
	cond := "attribute_exists(#pk) AND " + e.isVersion(version) + " AND " + e.in(attrStatus, strs(finished)) +
		" AND (attribute_not_exists(" + hu + ") OR " + hu + " <= " + e.value(number(now.UnixMilli())) + " OR " + ho + " = " + vOwner + ")"
	old, err := s.updateIf(ctx, key(campaignPK(campaignID), itemSK(index)), e, cond)
	if isConditionFailed(err) {
		err = s.whyNotHeld(ctx, campaignID, index, version, old)
	}
	if err != nil {
		return fmt.Errorf("hold item %s/%d: %w", campaignID, index, err)
	}
	return nil
}

// whyNotHeld says why Hold's condition failed on the record old.
func (s *Store) whyNotHeld(ctx context.Context, campaignID string, index, version int, old map[string]types.AttributeValue) error {
	if len(old) == 0 {
		return campaign.ErrVersionMismatch // no result record: a pending email
	}
	var rec resultRecord
	if err := attributevalue.UnmarshalMap(old, &rec); err != nil {
		return err
	}
	if rec.version() != version || !slices.Contains(finished, campaign.EmailStatus(rec.Status)) {
		return campaign.ErrVersionMismatch
	}
	return &campaign.ClaimedError{Until: time.UnixMilli(rec.HoldUntil).UTC()}
}

// Reopen is one conditional UpdateItem of the campaign record, which also
// removes TaskNotify's attributes (ClaimTask's put of a new record has
// none). Like Transition, it marks the write with a token, so that a
// retry of a write whose response was lost knows it won.
func (s *Store) Reopen(ctx context.Context, campaignID string, round int, now time.Time) error {
	token := randomToken()
	e := newExpr()
	e.setTo(attrStatus, &types.AttributeValueMemberS{Value: string(campaign.StatusRunning)})
	e.setTo(attrRound, number(int64(round+1)))
	e.setTo("retrying", &types.AttributeValueMemberBOOL{Value: true})
	e.setTo("updated_at", &types.AttributeValueMemberS{Value: formatTime(now)})
	e.setTo("transition_id", &types.AttributeValueMemberS{Value: token})
	o, u, d := taskAttrs(campaign.TaskNotify)
	e.removeAttrs("completed_at", o, u, d)
	cond := e.alive(s) + " AND " + e.isRound(round) + " AND " +
		e.in(attrStatus, strs([]campaign.Status{campaign.StatusCompleted, campaign.StatusCompletedWithErrors}))
	old, err := s.updateMeta(ctx, campaignID, e, cond)
	if err == nil || !isConditionFailed(err) {
		if err != nil {
			return fmt.Errorf("reopen campaign %s: %w", campaignID, err)
		}
		return nil
	}
	var rec campaignRecord
	switch err := attributevalue.UnmarshalMap(old, &rec); {
	case err != nil:
		return fmt.Errorf("reopen campaign %s: %w", campaignID, err)
	case len(old) == 0 || rec.ExpiresAt <= s.nowUnix():
		return fmt.Errorf("reopen campaign %s: %w", campaignID, campaign.ErrNotFound)
	case rec.TransitionID == token:
		return nil // this call's write landed; its response was lost
	}
	return fmt.Errorf("reopen campaign %s in status %s, round %d: %w", campaignID, rec.Status, rec.Round, campaign.ErrConflict)
}

// EndRetry is one conditional UpdateItem of the campaign record.
func (s *Store) EndRetry(ctx context.Context, campaignID string, round int, now time.Time) error {
	e := newExpr()
	e.setTo("updated_at", &types.AttributeValueMemberS{Value: formatTime(now)})
	e.removeAttrs("retrying")
	old, err := s.updateMeta(ctx, campaignID, e, e.alive(s)+" AND "+e.isRound(round))
	if isConditionFailed(err) {
		var rec campaignRecord
		if err := attributevalue.UnmarshalMap(old, &rec); err != nil {
			return fmt.Errorf("end retry of campaign %s: %w", campaignID, err)
		}
		if len(old) == 0 || rec.ExpiresAt <= s.nowUnix() {
			return fmt.Errorf("end retry of campaign %s: %w", campaignID, campaign.ErrNotFound)
		}
		return nil // another round
	}
	if err != nil {
		return fmt.Errorf("end retry of campaign %s: %w", campaignID, err)
	}
	return nil
}

// updateMeta updates the campaign record with e if cond holds (updateIf).
func (s *Store) updateMeta(ctx context.Context, campaignID string, e *expr, cond string) (map[string]types.AttributeValue, error) {
	return s.updateIf(ctx, key(campaignPK(campaignID), metaSK), e, cond)
}

// updateIf updates the record at k with e if cond holds, retrying
// conflicts with transactions; when cond fails it returns the record as
// it was, so that the caller can say why without reading it again (Hold
// of an email's record, updateMeta of a campaign's).
func (s *Store) updateIf(ctx context.Context, k map[string]types.AttributeValue, e *expr, cond string) (map[string]types.AttributeValue, error) {
	var old map[string]types.AttributeValue
	err := retryConflicts(ctx, func() error {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.table),
			Key:                                 k,
			UpdateExpression:                    e.update(),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            e.names,
			ExpressionAttributeValues:           e.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			old = failed.Item
		}
		return err
	})
	return old, err
}

// Reset reads the email's result record (strongly consistent) to learn
// what the counters move back from, then writes it pending, conditional
// on the version read, with the campaign's counters, and deletes Claim's
// lease, in one transaction. A race with a Revise changes the version:
// Reset then reads again.
func (s *Store) Reset(ctx context.Context, campaignID string, index int, from []campaign.EmailStatus, round int, now time.Time) error {
	pk := campaignPK(campaignID)
	for range maxAttempts {
		var rec resultRecord
		found, err := s.getRecord(ctx, key(pk, itemSK(index)), &rec)
		if err != nil {
			return fmt.Errorf("reset item %s/%d: %w", campaignID, index, err)
		}
		if !found {
			if err := s.checkEmail(ctx, campaignID, index); err != nil {
				return fmt.Errorf("reset item %s/%d: %w", campaignID, index, err)
			}
		}
		status := campaign.EmailStatus(rec.Status)
		if !found || !slices.Contains(finished, status) || !slices.Contains(from, status) ||
			rec.Review == string(campaign.ReviewApproved) || rec.Round >= round {
			return fmt.Errorf("reset item %s/%d: %w", campaignID, index, campaign.ErrAlreadyDone)
		}
		var c counts
		c.move(status, campaign.Review(rec.Review), campaign.EmailPending, campaign.ReviewNone)

		e := newExpr()
		e.setTo(attrStatus, &types.AttributeValueMemberS{Value: string(campaign.EmailPending)})
		e.setTo(attrRound, number(int64(round)))
		e.setTo(attrVersion, number(int64(rec.version()+1)))
		e.removeAttrs(attrOutput, attrEdit, attrReview, attrNote, attrReviewedAt, attrHoldOwner, attrHoldUntil)
		cond := "attribute_exists(#pk) AND " + e.isVersion(rec.version()) + " AND " + e.name(attrStatus) + " = " + e.str(rec.Status)
		in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(pk, itemSK(index)),
				UpdateExpression:          e.update(),
				ConditionExpression:       aws.String(cond),
				ExpressionAttributeNames:  e.names,
				ExpressionAttributeValues: e.values,
			}},
			{Update: s.metaUpdate(campaignID, c, now)},
			{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(pk, leaseSK(index))}},
		}}
		err = s.transact(ctx, in, errStale)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reset item %s/%d: %w", campaignID, index, err)
		}
		return nil
	}
	// Not ErrAlreadyDone: the email may still be one to retry.
	return fmt.Errorf("reset item %s/%d: changed by others %d times in a row while resetting it", campaignID, index, maxAttempts)
}

// errStale is a write whose condition found the record changed since read.
var errStale = errors.New("changed since read")

// version is the record's version: a record finished before versions
// existed has none, and is at version 1, as if Finish had added it.
func (r *resultRecord) version() int { return max(r.Version, 1) }

// apply sets e's result fields from r.
func (r *resultRecord) apply(e *campaign.Email) error {
	e.Status = campaign.EmailStatus(r.Status)
	e.Version, e.Round = r.version(), r.Round
	if r.Version == 0 && e.Status == campaign.EmailPending {
		e.Version = 0 // Reserve's record of an email never finished
	}
	e.Reserved = campaign.Reservation{Amount: r.ReservedMicroUSD, Month: r.ReservedMonth}
	e.Review, e.Note = campaign.Review(r.Review), r.Note
	e.Outcome, e.Edit = nil, nil
	if r.Output != "" {
		e.Outcome = new(campaign.Outcome)
		if err := json.Unmarshal([]byte(r.Output), e.Outcome); err != nil {
			return fmt.Errorf("item %d output: %w", e.Index, err)
		}
	}
	if r.Edit != "" {
		e.Edit = new(campaign.Edit)
		if err := json.Unmarshal([]byte(r.Edit), e.Edit); err != nil {
			return fmt.Errorf("item %d edit: %w", e.Index, err)
		}
	}
	var err error
	if e.ReviewedAt, err = parseTime(r.ReviewedAt); err != nil {
		return fmt.Errorf("item %d reviewed_at: %w", e.Index, err)
	}
	return nil
}
