package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// defaultLimit is the page size when Page.Limit is not positive.
const defaultLimit = 100

// Get reads the campaign record with a strongly consistent read. An
// expired campaign is not found.
func (s *Store) Get(ctx context.Context, tenant, id string) (*campaign.Campaign, error) {
	c, err := s.getCampaign(ctx, id)
	if err == nil && (c.Tenant != tenant || !c.ExpiresAt.IsZero() && c.ExpiresAt.Unix() <= s.nowUnix()) {
		err = campaign.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get campaign %s: %w", id, err)
	}
	return c, nil
}

func (s *Store) getCampaign(ctx context.Context, id string) (*campaign.Campaign, error) {
	var rec campaignRecord
	found, err := s.getRecord(ctx, key(campaignPK(id), metaSK), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, campaign.ErrNotFound
	}
	return rec.campaign()
}

// List queries gsi1 newest first, filtering out expired campaigns. The
// cursor is the last campaign's gsi1sk. gsi1 is eventually consistent: a
// campaign may list a moment after Create.
func (s *Store) List(ctx context.Context, tenant string, p campaign.Page) ([]campaign.Campaign, string, error) {
	limit := pageLimit(p)
	gsi1pk := tenantPrefix + tenant
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(gsi1),
		KeyConditionExpression:   aws.String("#gpk = :gpk"),
		FilterExpression:         aws.String("#exp > :now"),
		ExpressionAttributeNames: map[string]string{"#gpk": "gsi1pk", "#exp": "expires_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":gpk": &types.AttributeValueMemberS{Value: gsi1pk},
			":now": number(s.nowUnix()),
		},
		ScanIndexForward: aws.Bool(false),
	}
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		i := strings.LastIndexByte(after, '#')
		if i < 0 || i == len(after)-1 {
			return nil, "", campaign.ErrBadCursor
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			attrPK:   &types.AttributeValueMemberS{Value: campaignPK(after[i+1:])},
			attrSK:   &types.AttributeValueMemberS{Value: metaSK},
			"gsi1pk": &types.AttributeValueMemberS{Value: gsi1pk},
			"gsi1sk": &types.AttributeValueMemberS{Value: after},
		}
	}
	var recs []campaignRecord
	if err := s.query(ctx, in, limit+1, &recs); err != nil {
		return nil, "", fmt.Errorf("list campaigns: %w", err)
	}
	list := make([]campaign.Campaign, 0, min(len(recs), limit))
	for i := range recs[:min(len(recs), limit)] {
		c, err := recs[i].campaign()
		if err != nil {
			return nil, "", fmt.Errorf("list campaigns: %w", err)
		}
		list = append(list, *c)
	}
	if len(recs) <= limit {
		return list, "", nil
	}
	return list, encodeCursor(recs[limit-1].GSI1SK), nil
}

// Emails reads the input chunks that cover the page and the result records
// of its emails, and merges them in index order. The cursor is the last
// index returned.
func (s *Store) Emails(ctx context.Context, campaignID string, p campaign.Page) ([]campaign.Email, string, error) {
	limit := pageLimit(p)
	start := 0
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		i, err := strconv.Atoi(after)
		if err != nil || i < 0 {
			return nil, "", campaign.ErrBadCursor
		}
		start = i + 1
	}
	// One more than the page, to know whether another page follows.
	items, err := s.items(ctx, campaignID, start, start+limit)
	if err != nil {
		return nil, "", fmt.Errorf("list items of %s: %w", campaignID, err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, encodeCursor(strconv.Itoa(items[limit-1].Index)), nil
}

// items returns the emails with indices from..to (both included) that exist
// and have not expired. Every input chunk carries its campaign's
// expires_at, so an expired campaign's emails are left out without a read of
// the campaign record.
func (s *Store) items(ctx context.Context, campaignID string, from, to int) ([]campaign.Email, error) {
	pk := campaignPK(campaignID)
	// The chunk holding from starts at or before it: the last such chunk.
	var head []chunkRecord
	if err := s.between(ctx, pk, inputSK(0), inputSK(from), true, 1, &head, "#sk"); err != nil {
		return nil, err
	}
	if len(head) == 0 {
		return nil, nil
	}
	var chunks []chunkRecord
	if err := s.between(ctx, pk, head[0].SK, inputSK(to), false, to-from+2, &chunks); err != nil {
		return nil, err
	}
	var results []resultRecord
	if err := s.between(ctx, pk, itemSK(from), itemSK(to), false, to-from+1, &results); err != nil {
		return nil, err
	}
	done := make(map[int]*resultRecord, len(results))
	for i := range results {
		idx, err := skIndex(results[i].SK, itemPrefix)
		if err != nil {
			return nil, err
		}
		done[idx] = &results[i]
	}
	var items []campaign.Email
	now := s.nowUnix()
	for _, ch := range chunks {
		if ch.ExpiresAt != 0 && ch.ExpiresAt <= now {
			continue
		}
		first, err := skIndex(ch.SK, inputPrefix)
		if err != nil {
			return nil, err
		}
		var entries []chunkEntry
		if err := json.Unmarshal([]byte(ch.Entries), &entries); err != nil {
			return nil, fmt.Errorf("chunk %d: %w", first, err)
		}
		for k, e := range entries {
			idx := first + k
			if idx < from || idx > to {
				continue
			}
			it, err := toEmail(campaignID, idx, e, done[idx])
			if err != nil {
				return nil, err
			}
			items = append(items, *it)
		}
	}
	return items, nil
}

// between queries up to n records of partition pk whose sort keys lie
// between lo and hi (both included), in key order or, with desc, reversed;
// projection, if given, names the attributes to read.
func (s *Store) between(ctx context.Context, pk, lo, hi string, desc bool, n int, out any, projection ...string) error {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk},
			":lo": &types.AttributeValueMemberS{Value: lo},
			":hi": &types.AttributeValueMemberS{Value: hi},
		},
		ScanIndexForward: aws.Bool(!desc),
		ConsistentRead:   aws.Bool(true),
	}
	if len(projection) > 0 {
		in.ProjectionExpression = aws.String(strings.Join(projection, ", "))
	}
	return s.query(ctx, in, n, out)
}

func toEmail(campaignID string, index int, e chunkEntry, r *resultRecord) (*campaign.Email, error) {
	it := &campaign.Email{CampaignID: campaignID, Index: index, Ref: e.Ref, Cells: e.Cells, Status: campaign.EmailPending}
	if err := json.Unmarshal(e.Request, &it.Request); err != nil {
		return nil, fmt.Errorf("item %d input: %w", index, err)
	}
	if r != nil {
		it.Status = campaign.EmailStatus(r.Status)
		it.Outcome = new(campaign.Outcome)
		if err := json.Unmarshal([]byte(r.Output), it.Outcome); err != nil {
			return nil, fmt.Errorf("item %d output: %w", index, err)
		}
	}
	return it, nil
}

// query runs in until it has n records or no more, following
// LastEvaluatedKey: one response holds at most 1 MB.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, n int, out any) error {
	var all []map[string]types.AttributeValue
	for len(all) < n {
		in.Limit = aws.Int32(int32(min(n-len(all), 1<<30)))
		res, err := s.client.Query(ctx, in)
		if err != nil {
			return err
		}
		all = append(all, res.Items...)
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	return attributevalue.UnmarshalListOfMaps(all, out)
}

// Email reads one email: its chunk and its result record, if any.
func (s *Store) Email(ctx context.Context, campaignID string, index int) (*campaign.Email, error) {
	var items []campaign.Email
	var err error
	if index >= 0 {
		items, err = s.items(ctx, campaignID, index, index)
	}
	if err == nil && len(items) == 0 {
		err = campaign.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get item %s/%d: %w", campaignID, index, err)
	}
	return &items[0], nil
}

// getRecord reads one record with a strongly consistent read into out.
func (s *Store) getRecord(ctx context.Context, k map[string]types.AttributeValue, out any) (bool, error) {
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            k,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	if len(res.Item) == 0 {
		return false, nil
	}
	return true, attributevalue.UnmarshalMap(res.Item, out)
}

func pageLimit(p campaign.Page) int {
	if p.Limit <= 0 {
		return defaultLimit
	}
	return p.Limit
}
