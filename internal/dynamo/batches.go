package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// batchRecord is one provider batch of a batch-mode campaign
// (campaign.Batch), in its campaign's partition. It carries its
// campaign's expires_at, so that TTL deletes it with the campaign and
// reads leave it out once the campaign expired. WriteID names the last
// write, so that a write whose response was lost and whose retry found
// the condition false knows it won.
type batchRecord struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Key     string `dynamodbav:"batch_key"`
	Attempt int    `dynamodbav:"attempt"`
	// Indexes are campaign.FormatIndexes' ranges: at most
	// maxIndexesBytes.
	Indexes      string `dynamodbav:"indexes"`
	Status       string `dynamodbav:"status"`
	ProviderID   string `dynamodbav:"provider_id,omitempty"`
	InputFileID  string `dynamodbav:"input_file_id,omitempty"`
	OutputFileID string `dynamodbav:"output_file_id,omitempty"`
	ErrorFileID  string `dynamodbav:"error_file_id,omitempty"`
	Completed    int    `dynamodbav:"completed"`
	Failed       int    `dynamodbav:"failed"`
	Error        string `dynamodbav:"error,omitempty"`
	Collected    bool   `dynamodbav:"collected,omitempty"`
	CheckedBy    string `dynamodbav:"checked_by,omitempty"`
	CheckedAt    string `dynamodbav:"checked_at,omitempty"`
	Version      int    `dynamodbav:"version"`
	CreatedAt    string `dynamodbav:"created_at"`
	UpdatedAt    string `dynamodbav:"updated_at"`
	ExpiresAt    int64  `dynamodbav:"expires_at"`
	WriteID      string `dynamodbav:"write_id"`
}

// maxIndexesBytes bounds a batch's indexes as stored, leaving room for
// the other attributes in a record's 400 KB. 10,000 indexes of a
// campaign of the default size (campaign.DefaultMaxProspects) take at
// most 60 KB, however sparse.
const maxIndexesBytes = 300 << 10

func batchSK(key string) string { return batchPrefix + key }

// AddBatch reads the campaign record, which says whether the campaign is
// there and when it expires, then puts the batch record if its key is
// free. Campaign records are never deleted but by TTL, after they expired.
func (s *Store) AddBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("add batch %q of campaign %s: %w", b.Key, campaignID, err) }
	indexes, err := checkBatch(b)
	if err != nil {
		return fail(err)
	}
	expires, err := s.liveUntil(ctx, campaignID)
	if err != nil {
		return fail(err)
	}
	at := formatTime(now)
	rec := batchRecord{
		PK: campaignPK(campaignID), SK: batchSK(b.Key), Key: b.Key, Attempt: b.Attempt, Indexes: indexes,
		Version: 1, CreatedAt: at, ExpiresAt: expires, WriteID: randomToken(),
	}
	rec.setState(b, at)
	av, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fail(err)
	}
	var old map[string]types.AttributeValue
	err = retryConflicts(ctx, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           aws.String(s.table),
			Item:                                av,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            map[string]string{"#pk": attrPK},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			old = failed.Item
		}
		return err
	})
	if isConditionFailed(err) {
		var held batchRecord
		if uerr := attributevalue.UnmarshalMap(old, &held); uerr != nil {
			return fail(uerr)
		}
		if held.WriteID != rec.WriteID {
			return fail(campaign.ErrConflict)
		}
		err = nil // this call's put landed; its response was lost
	}
	if err != nil {
		return fail(err)
	}
	b.Version, b.CreatedAt, b.UpdatedAt = 1, ms(now), ms(now)
	return nil
}

// liveUntil returns the expires_at of a campaign that has not expired, or
// ErrNotFound: one strongly consistent read of its record.
func (s *Store) liveUntil(ctx context.Context, campaignID string) (int64, error) {
	var rec struct {
		ExpiresAt int64 `dynamodbav:"expires_at"`
	}
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(campaignPK(campaignID), metaSK),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#exp"),
		ExpressionAttributeNames: map[string]string{"#exp": "expires_at"},
	})
	if err != nil {
		return 0, err
	}
	if err := attributevalue.UnmarshalMap(res.Item, &rec); err != nil {
		return 0, err
	}
	if len(res.Item) == 0 || rec.ExpiresAt <= s.nowUnix() {
		return 0, campaign.ErrNotFound
	}
	return rec.ExpiresAt, nil
}

// Batch reads the batch record with a strongly consistent read.
func (s *Store) Batch(ctx context.Context, campaignID, key string) (*campaign.Batch, error) {
	fail := func(err error) (*campaign.Batch, error) {
		return nil, fmt.Errorf("get batch %q of campaign %s: %w", key, campaignID, err)
	}
	var rec batchRecord
	found, err := s.getRecord(ctx, batchKey(campaignID, key), &rec)
	if err != nil {
		return fail(err)
	}
	if !found || rec.ExpiresAt <= s.nowUnix() {
		return fail(campaign.ErrNotFound)
	}
	b, err := rec.batch()
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// Batches queries the campaign's batch records, strongly consistent, and
// orders them.
func (s *Store) Batches(ctx context.Context, campaignID string) ([]campaign.Batch, error) {
	fail := func(err error) ([]campaign.Batch, error) {
		return nil, fmt.Errorf("list batches of campaign %s: %w", campaignID, err)
	}
	var recs []batchRecord
	// '$' follows '#': every key is between.
	if err := s.between(ctx, campaignPK(campaignID), batchPrefix, "BATCH$", false, 1<<30, &recs); err != nil {
		return fail(err)
	}
	out := []campaign.Batch{}
	now := s.nowUnix()
	for i := range recs {
		if recs[i].ExpiresAt <= now {
			continue
		}
		b, err := recs[i].batch()
		if err != nil {
			return fail(err)
		}
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b campaign.Batch) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// UpdateBatch is one UpdateItem of the batch record, conditional on its
// version. When the condition fails, the record as it was says why.
func (s *Store) UpdateBatch(ctx context.Context, campaignID string, b *campaign.Batch, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("update batch %q of campaign %s: %w", b.Key, campaignID, err) }
	if err := b.CheckState(); err != nil {
		return fail(err)
	}
	var next batchRecord
	next.setState(b, formatTime(now))
	token := randomToken()
	e := newExpr()
	e.setTo(attrStatus, &types.AttributeValueMemberS{Value: next.Status})
	e.setString("provider_id", next.ProviderID)
	e.setString("input_file_id", next.InputFileID)
	e.setString("output_file_id", next.OutputFileID)
	e.setString("error_file_id", next.ErrorFileID)
	e.setTo("completed", number(int64(next.Completed)))
	e.setTo("failed", number(int64(next.Failed)))
	e.setString("error", next.Error)
	if next.Collected {
		e.setTo("collected", &types.AttributeValueMemberBOOL{Value: true})
	} else {
		e.removeAttrs("collected")
	}
	e.setString("checked_by", next.CheckedBy)
	e.setString("checked_at", next.CheckedAt)
	e.setTo(attrVersion, number(int64(b.Version+1)))
	e.setTo("updated_at", &types.AttributeValueMemberS{Value: next.UpdatedAt})
	e.setTo("write_id", &types.AttributeValueMemberS{Value: token})
	cond := "attribute_exists(#pk) AND " + e.name(attrVersion) + " = " + e.num(b.Version) +
		" AND " + e.name("expires_at") + " > " + e.value(number(s.nowUnix()))
	old, err := s.updateIf(ctx, batchKey(campaignID, b.Key), e, cond)
	if isConditionFailed(err) {
		var rec batchRecord
		switch uerr := attributevalue.UnmarshalMap(old, &rec); {
		case uerr != nil:
			return fail(uerr)
		case len(old) == 0 || rec.ExpiresAt <= s.nowUnix():
			return fail(campaign.ErrNotFound)
		case rec.WriteID != token:
			return fail(fmt.Errorf("version %d is not the stored %d: %w", b.Version, rec.Version, campaign.ErrConflict))
		}
		err = nil // this call's write landed; its response was lost
	}
	if err != nil {
		return fail(err)
	}
	b.Version, b.UpdatedAt = b.Version+1, ms(now)
	return nil
}

// SwitchMode is one conditional UpdateItem of the campaign record, which
// appends the warning to its list. Like Transition, it marks the write
// with a token, so that a retry of a write whose response was lost knows
// it won.
func (s *Store) SwitchMode(ctx context.Context, campaignID string, from, to campaign.Mode, warning string, now time.Time) error {
	fail := func(err error) error {
		return fmt.Errorf("switch campaign %s from %s to %s: %w", campaignID, from, to, err)
	}
	if err := campaign.CheckModes(from, to); err != nil {
		return fail(err)
	}
	token := randomToken()
	e := newExpr()
	e.setTo("mode", &types.AttributeValueMemberS{Value: string(to)})
	e.setTo("updated_at", &types.AttributeValueMemberS{Value: formatTime(now)})
	e.setTo("transition_id", &types.AttributeValueMemberS{Value: token})
	if warning != "" {
		w := e.name("warnings")
		e.set = append(e.set, w+" = list_append(if_not_exists("+w+", "+e.value(&types.AttributeValueMemberL{})+"), "+
			e.value(&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: warning}}})+")")
	}
	isFrom := e.name("mode") + " = " + e.str(string(from))
	if from == campaign.ModeRealtime {
		// A campaign created before modes has none: realtime.
		isFrom = "(attribute_not_exists(" + e.name("mode") + ") OR " + isFrom + ")"
	}
	old, err := s.updateMeta(ctx, campaignID, e, e.alive(s)+" AND "+isFrom)
	if isConditionFailed(err) {
		var rec campaignRecord
		switch uerr := attributevalue.UnmarshalMap(old, &rec); {
		case uerr != nil:
			return fail(uerr)
		case len(old) == 0 || rec.ExpiresAt <= s.nowUnix():
			return fail(campaign.ErrNotFound)
		case rec.TransitionID != token:
			return fail(fmt.Errorf("its mode is %s: %w", cmp.Or(rec.Mode, string(campaign.ModeRealtime)), campaign.ErrConflict))
		}
		err = nil // this call's write landed; its response was lost
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

func batchKey(campaignID, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: campaignPK(campaignID)},
		attrSK: &types.AttributeValueMemberS{Value: batchSK(key)},
	}
}

// setState sets the fields UpdateBatch writes from b, and UpdatedAt to at.
func (r *batchRecord) setState(b *campaign.Batch, at string) {
	r.Status, r.ProviderID, r.InputFileID = string(b.Status), b.ProviderID, b.InputFileID
	r.OutputFileID, r.ErrorFileID, r.Completed, r.Failed = b.OutputFileID, b.ErrorFileID, b.Completed, b.Failed
	r.Error, r.Collected, r.CheckedBy, r.CheckedAt = b.Error, b.Collected, b.CheckedBy, formatTime(b.CheckedAt)
	r.UpdatedAt = at
}

func (r *batchRecord) batch() (*campaign.Batch, error) {
	b := &campaign.Batch{
		Key: r.Key, Attempt: r.Attempt, Status: campaign.BatchStatus(r.Status),
		ProviderID: r.ProviderID, InputFileID: r.InputFileID, OutputFileID: r.OutputFileID, ErrorFileID: r.ErrorFileID,
		Completed: r.Completed, Failed: r.Failed, Error: r.Error, Collected: r.Collected, CheckedBy: r.CheckedBy,
		Version: r.Version,
	}
	var err error
	if b.Indexes, err = campaign.ParseIndexes(r.Indexes); err != nil {
		return nil, fmt.Errorf("batch %q: %w", r.Key, err)
	}
	for _, t := range []struct {
		to   *time.Time
		from string
		name string
	}{{&b.CheckedAt, r.CheckedAt, "checked_at"}, {&b.CreatedAt, r.CreatedAt, "created_at"}, {&b.UpdatedAt, r.UpdatedAt, "updated_at"}} {
		if *t.to, err = parseTime(t.from); err != nil {
			return nil, fmt.Errorf("batch %q %s: %w", r.Key, t.name, err)
		}
	}
	return b, nil
}

// checkBatch refuses a batch that AddBatch cannot store as the port says,
// and returns its indexes as the record keeps them.
func checkBatch(b *campaign.Batch) (string, error) {
	indexes, err := b.CheckNew()
	if err == nil && len(indexes) > maxIndexesBytes {
		return "", fmt.Errorf("%d indexes take %d bytes, more than the %d a record holds", len(b.Indexes), len(indexes), maxIndexesBytes)
	}
	return indexes, err
}
