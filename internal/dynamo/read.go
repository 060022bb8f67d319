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

// Emails returns a page of emails from the one after the cursor (the last
// index returned). An unfiltered page, and a filtered one that pending
// emails can pass, walks the input chunks and result records in index
// order (walk); a filter only finished emails pass reads result records
// alone, then the chunks of the emails that passed (finishedEmails).
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
	var (
		items []campaign.Email
		err   error
	)
	if p.Filter.Match(&campaign.Email{Status: campaign.EmailPending}) {
		items, err = s.walk(ctx, campaignID, start, limit+1, p.Filter)
	} else {
		items, err = s.finishedEmails(ctx, campaignID, start, limit+1, p.Filter)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list items of %s: %w", campaignID, err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, encodeCursor(strconv.Itoa(items[limit-1].Index)), nil
}

// maxWindow bounds the emails that walk reads at once: ten full chunks.
const maxWindow = 10 * chunkEntries

// walk returns the first n emails from index start on that pass f. It
// reads windows of n emails, then twice as many each time up to
// maxWindow, until it has n or the campaign ends. A page therefore costs
// the reads of every chunk and result record from start to its last
// email (and one more window's at most): for an unfiltered page, the page
// itself; for a filter that few emails pass, a pending one, up to the
// whole rest of the campaign.
func (s *Store) walk(ctx context.Context, campaignID string, start, n int, f campaign.EmailFilter) ([]campaign.Email, error) {
	var out []campaign.Email
	for window := n; len(out) < n; window = min(2*window, max(maxWindow, n)) {
		items, err := s.items(ctx, campaignID, start, start+window-1)
		if err != nil {
			return nil, err
		}
		for i := range items {
			if f.Match(&items[i]) {
				out = append(out, items[i])
				if len(out) == n {
					break
				}
			}
		}
		if len(items) < window {
			break // the end of the campaign (or it expired)
		}
		start += window
	}
	return out, nil
}

// finishedEmails returns the first n emails from index start on that
// pass f, a filter no email without a result record passes. It queries
// the result records with f as a filter expression, from start until n
// passed, then reads the chunk of each email that passed, one query a
// chunk (a strongly consistent query's read units are per 4 KB of
// records read, filtered out or not): a page costs the result records
// from start to its last email, and the chunks that hold its emails, at
// most 16 units each (chunkBytes) and one chunk for 100 neighbouring
// emails.
func (s *Store) finishedEmails(ctx context.Context, campaignID string, start, n int, f campaign.EmailFilter) ([]campaign.Email, error) {
	pk := campaignPK(campaignID)
	e := newExpr()
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = " + e.str(pk) + " AND " + e.name(attrSK) +
			" BETWEEN " + e.str(itemSK(start)) + " AND " + e.str(itemPrefix+"~")),
		FilterExpression: aws.String(resultFilter(e, f)),
		ConsistentRead:   aws.Bool(true),
	}
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = e.names, e.values
	var recs []resultRecord
	for evaluate := n; len(recs) < n; evaluate = min(2*evaluate, max(maxWindow, n)) {
		in.Limit = aws.Int32(int32(evaluate))
		res, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		var page []resultRecord
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &page); err != nil {
			return nil, err
		}
		for _, r := range page {
			// The filter expression is f; Match is the reference.
			if f.Match(&campaign.Email{Status: campaign.EmailStatus(r.Status), Review: campaign.Review(r.Review)}) {
				recs = append(recs, r)
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	recs = recs[:min(len(recs), n)]

	var (
		out     []campaign.Email
		first   int
		entries []chunkEntry // the chunk last read, from index first
	)
	now := s.nowUnix()
	for i := range recs {
		idx, err := skIndex(recs[i].SK, itemPrefix)
		if err != nil {
			return nil, err
		}
		if entries == nil || idx < first || idx >= first+len(entries) {
			// The chunk holding idx is the last one from idx down.
			var chunk []chunkRecord
			if err := s.between(ctx, pk, inputSK(0), inputSK(idx), true, 1, &chunk); err != nil {
				return nil, err
			}
			if len(chunk) == 0 {
				continue
			}
			if chunk[0].ExpiresAt != 0 && chunk[0].ExpiresAt <= now {
				return nil, nil // the campaign expired
			}
			if first, err = skIndex(chunk[0].SK, inputPrefix); err != nil {
				return nil, err
			}
			entries = nil
			if err := json.Unmarshal([]byte(chunk[0].Entries), &entries); err != nil {
				return nil, fmt.Errorf("chunk %d: %w", first, err)
			}
			if idx >= first+len(entries) {
				continue // a result without an input: not an email
			}
		}
		it, err := toEmail(campaignID, idx, entries[idx-first], &recs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, nil
}

// resultFilter is f as a filter expression on result records.
func resultFilter(e *expr, f campaign.EmailFilter) string {
	var and []string
	if len(f.Statuses) > 0 {
		and = append(and, e.in(attrStatus, strs(f.Statuses)))
	}
	if len(f.Reviews) > 0 {
		// AND binds tighter than OR; DynamoDB refuses parentheses it
		// deems redundant, so there are none but the needed ones.
		var or []string
		for _, r := range f.Reviews {
			if r == campaign.ReviewNone {
				or = append(or, "attribute_not_exists("+e.name(attrReview)+") AND "+
					e.in(attrStatus, strs([]campaign.EmailStatus{campaign.EmailSucceeded, campaign.EmailNeedsReview})))
				continue
			}
			or = append(or, e.name(attrReview)+" = "+e.str(string(r)))
		}
		clause := strings.Join(or, " OR ")
		if len(or) > 1 && len(and) > 0 {
			clause = "(" + clause + ")"
		}
		and = append(and, clause)
	}
	return strings.Join(and, " AND ")
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
		if err := r.apply(it); err != nil {
			return nil, err
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
