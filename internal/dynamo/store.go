// Package dynamo keeps campaigns and their emails in the app's single
// DynamoDB table (see records.go for the layout). Attribute names and
// expressions live only here.
package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/ingren/ingren/internal/backoff"
	"github.com/ingren/ingren/internal/campaign"
)

const (
	defaultLimit = 100
	// batchSize is BatchWriteItem's limit.
	batchSize = 25
	// writers bounds the BatchWriteItem calls of one Create in flight.
	// Measured against DynamoDB Local on 2 cores (see the report in
	// store_test.go); real DynamoDB takes more, but a Lambda's network
	// and the SDK's connection pool do not.
	writers = 16
	// maxAttempts bounds the tries of a write that DynamoDB refuses for a
	// reason that passes: unprocessed batch items, transaction conflicts.
	maxAttempts = 12
	// staleClaim is how old an idempotency claim without its campaign must
	// be before a new Create with the same key and body completes it: older
	// than any Create can run (the API's Lambda stops after 29 s).
	staleClaim = time.Minute
	// claimWait is how long a Create whose key is claimed by a Create still
	// running waits for that campaign to appear.
	claimWait = 10 * time.Second
)

// Store is the campaign.Store on DynamoDB.
type Store struct {
	// Now is the clock that says which campaigns have expired (New sets
	// time.Now). Tests set it before using the Store.
	Now func() time.Time

	client *dynamodb.Client
	table  string
	ttl    time.Duration
	// Tests change these.
	writers               int
	staleClaim, claimWait time.Duration
}

var _ campaign.Store = (*Store)(nil)

// New returns a Store on table. Every record expires ttl after its
// campaign's creation unless the campaign sets ExpiresAt; ttl <= 0 means
// campaign.DefaultTTL.
func New(client *dynamodb.Client, table string, ttl time.Duration) *Store {
	if ttl <= 0 {
		ttl = campaign.DefaultTTL
	}
	return &Store{Now: time.Now, client: client, table: table, ttl: ttl, writers: writers, staleClaim: staleClaim, claimWait: claimWait}
}

// nowUnix reads the clock in expires_at's unit. A record has expired when
// its expires_at is not after it: DynamoDB's TTL deletes such records, but
// up to days later, so every read leaves them out itself.
func (s *Store) nowUnix() int64 { return s.Now().Unix() }

// Create writes the emails first, in parallel batches, and the campaign
// record last, so that Get sees a campaign only once it is whole.
//
// With an idempotency key, Create first claims the key with a conditional
// put. A key already claimed returns the claimant's campaign with
// ErrConflict. If that campaign is not there, its Create is either still
// running, and this one waits up to claimWait for it, or it died halfway
// (the claim is older than staleClaim): then this Create, if its request
// hash matches, writes the campaign again under the claimed id and returns
// it with ErrConflict, as any replay, so the caller enqueues it. A failed
// Create releases its claim, so the client's retry starts afresh; emails
// written before the failure are left for TTL to remove.
func (s *Store) Create(ctx context.Context, c *campaign.Campaign, items []campaign.Email) (*campaign.Campaign, error) {
	if err := checkItems(c, items); err != nil {
		return nil, err
	}
	out := s.stored(c)
	if _, err := s.getCampaign(ctx, out.ID); err == nil {
		return nil, fmt.Errorf("create campaign %s: %w", out.ID, campaign.ErrConflict)
	} else if !errors.Is(err, campaign.ErrNotFound) {
		return nil, fmt.Errorf("create campaign %s: %w", out.ID, err)
	}

	replay := false
	if out.IdempotencyKey != "" {
		existing, takeover, err := s.claimKey(ctx, out)
		if err != nil {
			return existing, err
		}
		if takeover != "" {
			out.ID, replay = takeover, true
		}
	}
	fail := func(err error) (*campaign.Campaign, error) {
		if out.IdempotencyKey != "" {
			s.releaseKey(ctx, out)
		}
		return nil, fmt.Errorf("create campaign %s: %w", out.ID, err)
	}

	if err := s.putItems(ctx, out, items); err != nil {
		return fail(err)
	}
	av, err := attributevalue.MarshalMap(toCampaignRecord(out))
	if err != nil {
		return fail(err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	if isConditionFailed(err) {
		existing, gerr := s.Get(ctx, out.Tenant, out.ID)
		switch {
		case gerr == nil && !replay:
			// out.ID was free when this Create began, and ids are random:
			// the record is this call's own put, whose response was lost
			// and whose retry by the SDK found it.
			return out, nil
		case gerr == nil && out.IdempotencyKey != "" && existing.IdempotencyKey == out.IdempotencyKey:
			// Another Create completed the same claim first (two replays
			// of a create that died).
			return existing, campaign.ErrConflict
		}
		return nil, fmt.Errorf("create campaign %s: %w", out.ID, campaign.ErrConflict)
	}
	if err != nil {
		return fail(err)
	}
	if replay {
		return out, campaign.ErrConflict
	}
	return out, nil
}

// claimKey takes c's idempotency key for c. It returns the campaign that holds
// the key with ErrConflict, or the id of a dead Create's campaign that c
// should complete.
func (s *Store) claimKey(ctx context.Context, c *campaign.Campaign) (*campaign.Campaign, string, error) {
	rec := idemRecord{
		PK:          idemPK(c.Tenant, c.IdempotencyKey),
		SK:          idemSK,
		CampaignID:  c.ID,
		RequestHash: c.RequestHash,
		CreatedAt:   formatTime(c.CreatedAt),
		ExpiresAt:   c.ExpiresAt.Unix(),
	}
	av, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, "", err
	}
	// An expired claim that TTL has not yet deleted (that can take days) is
	// free again.
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      av,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": "expires_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": number(s.nowUnix())},
	})
	if err == nil {
		return nil, "", nil
	}
	if !isConditionFailed(err) {
		return nil, "", fmt.Errorf("claim idempotency key: %w", err)
	}

	var held idemRecord
	found, err := s.getRecord(ctx, key(rec.PK, rec.SK), &held)
	if err != nil {
		return nil, "", fmt.Errorf("read idempotency key: %w", err)
	}
	if found && held.CampaignID == c.ID {
		// This call's put landed and its response was lost; the SDK's
		// retry then found the key taken, by this very campaign.
		return nil, "", nil
	}
	if !found {
		// Released since the put failed: the client's other request failed.
		// Report the conflict rather than loop; a retry will claim it.
		return nil, "", fmt.Errorf("idempotency key released meanwhile: %w", campaign.ErrConflict)
	}
	existing, err := s.Get(ctx, c.Tenant, held.CampaignID)
	if err == nil {
		return existing, "", campaign.ErrConflict
	}
	if !errors.Is(err, campaign.ErrNotFound) {
		return nil, "", err
	}
	if held.RequestHash != c.RequestHash {
		// Enough for the caller to see another body used the key.
		return &campaign.Campaign{ID: held.CampaignID, Tenant: c.Tenant, IdempotencyKey: c.IdempotencyKey,
			RequestHash: held.RequestHash}, "", campaign.ErrConflict
	}
	claimed, err := parseTime(held.CreatedAt)
	if err != nil {
		return nil, "", fmt.Errorf("read idempotency key: %w", err)
	}
	if c.CreatedAt.Sub(claimed) >= s.staleClaim {
		return nil, held.CampaignID, nil
	}
	deadline := time.Now().Add(s.claimWait)
	for time.Now().Before(deadline) {
		if err := backoff.Sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, "", err
		}
		existing, err := s.Get(ctx, c.Tenant, held.CampaignID)
		if err == nil {
			return existing, "", campaign.ErrConflict
		}
		if !errors.Is(err, campaign.ErrNotFound) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("campaign %s of this idempotency key is still being created: %w",
		held.CampaignID, campaign.ErrConflict)
}

// releaseKey deletes c's claim on its idempotency key, if it still holds it.
// It is best effort: an unreleased claim only delays the client's retry by
// staleClaim.
func (s *Store) releaseKey(ctx context.Context, c *campaign.Campaign) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(idemPK(c.Tenant, c.IdempotencyKey), idemSK),
		ConditionExpression:       aws.String("#cid = :cid"),
		ExpressionAttributeNames:  map[string]string{"#cid": "campaign_id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":cid": &types.AttributeValueMemberS{Value: c.ID}},
	})
}

// Chunk bounds: a record holds at most 400 KB, and a BatchWriteItem call
// at most 16 MB; chunks well under both keep any 25 of them in one call.
// A worker reads one chunk per prospect, at a read unit per 4 KB, so
// chunks stay small: 64 KB is 16 units.
const (
	chunkEntries = 100
	chunkBytes   = 64 << 10
)

// putItems writes the emails' inputs as chunks, and a result record for any
// email that is already done, in batches of 25 records, writers batches at
// a time.
func (s *Store) putItems(ctx context.Context, c *campaign.Campaign, items []campaign.Email) error {
	pk, expires := campaignPK(c.ID), c.ExpiresAt.Unix()
	var recs []map[string]types.AttributeValue
	flush := func(first int, entries []chunkEntry) error {
		b, err := json.Marshal(entries)
		if err != nil {
			return err
		}
		av, err := attributevalue.MarshalMap(chunkRecord{PK: pk, SK: inputSK(first), Entries: string(b), ExpiresAt: expires})
		if err != nil {
			return err
		}
		recs = append(recs, av)
		return nil
	}
	var (
		entries []chunkEntry
		first   int
		size    int
	)
	for i := range items {
		it := &items[i]
		req, err := json.Marshal(it.Request)
		if err != nil {
			return fmt.Errorf("item %d request: %w", i, err)
		}
		if len(entries) > 0 && (len(entries) == chunkEntries || size+len(req) > chunkBytes) {
			if err := flush(first, entries); err != nil {
				return err
			}
			entries, first, size = nil, i, 0
		}
		entries = append(entries, chunkEntry{Ref: it.Ref, Request: req})
		size += len(req) + len(it.Ref) + 16
		if it.Outcome != nil && it.Status != "" && it.Status != campaign.EmailPending {
			out, err := json.Marshal(it.Outcome)
			if err != nil {
				return fmt.Errorf("item %d result: %w", i, err)
			}
			av, err := attributevalue.MarshalMap(resultRecord{PK: pk, SK: itemSK(i), Status: string(it.Status), Output: string(out), ExpiresAt: expires})
			if err != nil {
				return err
			}
			recs = append(recs, av)
		}
	}
	if len(entries) > 0 {
		if err := flush(first, entries); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.writers)
	for start := 0; start < len(recs); start += batchSize {
		batch := recs[start:min(start+batchSize, len(recs))]
		g.Go(func() error {
			reqs := make([]types.WriteRequest, len(batch))
			for i, av := range batch {
				reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
			}
			return s.batchWrite(ctx, reqs)
		})
	}
	return g.Wait()
}

// batchWrite writes one batch, retrying what DynamoDB leaves unprocessed
// (it does under throttling) with backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: reqs},
		})
		if err != nil {
			return fmt.Errorf("write items: %w", err)
		}
		reqs = out.UnprocessedItems[s.table]
		if len(reqs) == 0 {
			return nil
		}
		if attempt+1 >= maxAttempts {
			return fmt.Errorf("write items: %d still unprocessed after %d attempts", len(reqs), maxAttempts)
		}
		if err := backoff.Sleep(ctx, jitter(attempt)); err != nil {
			return err
		}
	}
}

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

// emails returns the emails with indices from..to (both included) that exist
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
	it := &campaign.Email{CampaignID: campaignID, Index: index, Ref: e.Ref, Status: campaign.EmailPending}
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

// Finish puts the email's result record (if it has none: the email was
// pending) and updates the campaign's counters in one transaction; the
// campaign's condition that the index is below its total stands for the
// email's existence. Transactions on the same campaign record conflict with
// each other; Finish retries those with backoff.
func (s *Store) Finish(ctx context.Context, campaignID string, index int, status campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	succeeded, needsReview, failed, ok := status.Counts()
	if !ok {
		return fmt.Errorf("finish item %s/%d: %q is not an outcome", campaignID, index, status)
	}
	output, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	pk := campaignPK(campaignID)
	if index < 0 {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, campaign.ErrNotFound)
	}
	// The result outlives its campaign by at most the campaign's run time:
	// TTL clears it a little later, and Finish needs no read of the
	// campaign on every prospect's hot path.
	expires := now.Add(s.ttl).Unix()
	result, err := attributevalue.MarshalMap(resultRecord{PK: pk, SK: itemSK(index), Status: string(status), Output: string(output), ExpiresAt: expires})
	if err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     result,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		}},
		{Update: &types.Update{
			TableName:           aws.String(s.table),
			Key:                 key(pk, metaSK),
			UpdateExpression:    aws.String("SET #ua = :now ADD #ok :ok, #nr :nr, #fail :fail, #pt :pt, #ct :ct, #tt :tt"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND #total > :idx"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrPK, "#ua": "updated_at", "#ok": "succeeded", "#nr": "needs_review", "#fail": "failed",
				"#pt": "prompt_tokens", "#ct": "completion_tokens", "#tt": "total_tokens", "#total": "total",
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":idx":  number(int64(index)),
				":now":  &types.AttributeValueMemberS{Value: formatTime(now)},
				":ok":   number(int64(succeeded)),
				":nr":   number(int64(needsReview)),
				":fail": number(int64(failed)),
				":pt":   number(int64(r.Usage.PromptTokens)),
				":ct":   number(int64(r.Usage.CompletionTokens)),
				":tt":   number(int64(r.Usage.TotalTokens)),
			},
		}},
	}}
	err = retryConflicts(ctx, func() error {
		_, err := s.client.TransactWriteItems(ctx, in)
		return err
	})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		switch {
		case reason(cancelled, 1) == "ConditionalCheckFailed":
			err = campaign.ErrNotFound // no campaign, or no such index
		case reason(cancelled, 0) == "ConditionalCheckFailed":
			err = campaign.ErrAlreadyDone // the item has its result
		}
	}
	if err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	return nil
}

// randomToken returns 16 random hex digits: unique, not secret.
func randomToken() string { return fmt.Sprintf("%016x", rand.Uint64()) }

// leaseTTL is how long a lease record outlives its lease before TTL
// removes it.
const leaseTTL = 24 * time.Hour

// Claim is one conditional PutItem of the email's lease record, then one
// strongly consistent read of the email's result record: taken or not, the
// lease is worth nothing once the email is done. The campaign's existence is
// not checked: the caller read the email first.
func (s *Store) Claim(ctx context.Context, campaignID string, index int, owner string, now, until time.Time) error {
	rec, err := attributevalue.MarshalMap(leaseRecord{
		PK: campaignPK(campaignID), SK: leaseSK(index), Owner: owner,
		Until: until.UnixMilli(), ExpiresAt: until.Add(leaseTTL).Unix(),
	})
	if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                rec,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#until": "until", "#owner": "owner"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": number(now.UnixMilli()), ":owner": &types.AttributeValueMemberS{Value: owner}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var (
		failed  *types.ConditionalCheckFailedException
		claimed error
	)
	if errors.As(err, &failed) {
		var held leaseRecord
		if err := attributevalue.UnmarshalMap(failed.Item, &held); err != nil || held.Until == 0 {
			// No old item came back: treat the lease as just ended, so
			// the caller comes back soon.
			held.Until = now.UnixMilli()
		}
		claimed, err = &campaign.ClaimedError{Until: time.UnixMilli(held.Until).UTC()}, nil
	}
	if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	// The email may have been finished after the caller read it, by a
	// holder whose lease has ended since.
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(campaignPK(campaignID), itemSK(index)),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#sk"),
		ExpressionAttributeNames: map[string]string{"#sk": attrSK},
	})
	if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	if len(res.Item) > 0 {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, campaign.ErrAlreadyDone)
	}
	return claimed
}

// Release deletes the lease record if owner holds it.
func (s *Store) Release(ctx context.Context, campaignID string, index int, owner string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(campaignPK(campaignID), leaseSK(index)),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release item %s/%d: %w", campaignID, index, err)
	}
	return nil
}

// DeleteExpired deletes nothing: DynamoDB's TTL does it, on expires_at,
// which every record of a campaign carries. Reads leave expired records
// out until then.
func (s *Store) DeleteExpired(context.Context, time.Time, int) (int, error) { return 0, nil }

// Transition is one conditional UpdateItem on the campaign record.
func (s *Store) Transition(ctx context.Context, campaignID string, from []campaign.Status, to campaign.Status, now time.Time) error {
	k := key(campaignPK(campaignID), metaSK)
	err := error(campaign.ErrConflict)
	token := randomToken()
	if len(from) > 0 {
		names := map[string]string{"#pk": attrPK, "#st": attrStatus, "#ua": "updated_at", "#tid": "transition_id"}
		values := map[string]types.AttributeValue{
			":to":  &types.AttributeValueMemberS{Value: string(to)},
			":now": &types.AttributeValueMemberS{Value: formatTime(now)},
			":tid": &types.AttributeValueMemberS{Value: token},
		}
		update := "SET #st = :to, #ua = :now, #tid = :tid"
		if to.Final() {
			names["#ca"] = "completed_at"
			update += ", #ca = :now"
		}
		in := make([]string, len(from))
		for i, f := range from {
			in[i] = ":from" + strconv.Itoa(i)
			values[in[i]] = &types.AttributeValueMemberS{Value: string(f)}
		}
		err = retryConflicts(ctx, func() error {
			_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(s.table),
				Key:                       k,
				UpdateExpression:          aws.String(update),
				ConditionExpression:       aws.String("attribute_exists(#pk) AND #st IN (" + strings.Join(in, ", ") + ")"),
				ExpressionAttributeNames:  names,
				ExpressionAttributeValues: values,
			})
			return err
		})
		if err == nil {
			return nil
		}
	}
	if isConditionFailed(err) || errors.Is(err, campaign.ErrConflict) {
		var rec campaignRecord
		found, gerr := s.getRecord(ctx, k, &rec)
		switch {
		case gerr != nil:
			err = gerr
		case found && rec.TransitionID == token:
			// This call's write landed and its response was lost; the
			// SDK's retry then found the condition false.
			return nil
		case found:
			err = fmt.Errorf("from %s to %s: %w", rec.Status, to, campaign.ErrConflict)
		default:
			err = campaign.ErrNotFound
		}
	}
	return fmt.Errorf("transition campaign %s: %w", campaignID, err)
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

// stored returns c as Get will return it: times to the millisecond,
// ExpiresAt to the second and set.
func (s *Store) stored(c *campaign.Campaign) *campaign.Campaign {
	out := *c
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.Truncate(time.Millisecond).UTC()
	}
	out.CreatedAt, out.UpdatedAt, out.CompletedAt = ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.CompletedAt)
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = c.CreatedAt.Add(s.ttl)
	}
	out.ExpiresAt = time.Unix(out.ExpiresAt.Unix(), 0).UTC()
	return &out
}

// checkItems enforces the port's numbering: emails[i] is email i of c.Total.
func checkItems(c *campaign.Campaign, items []campaign.Email) error {
	if len(items) != c.Total {
		return fmt.Errorf("create campaign %s: %d items for a total of %d", c.ID, len(items), c.Total)
	}
	for i := range items {
		if items[i].Index != i {
			return fmt.Errorf("create campaign %s: item %d has index %d", c.ID, i, items[i].Index)
		}
	}
	return nil
}

// retryConflicts calls write until it succeeds or fails for another reason
// than a transaction conflict, at most maxAttempts times, with jittered
// exponential backoff.
func retryConflicts(ctx context.Context, write func() error) error {
	for attempt := 0; ; attempt++ {
		err := write()
		if !isConflict(err) || attempt+1 >= maxAttempts {
			return err
		}
		if err := backoff.Sleep(ctx, jitter(attempt)); err != nil {
			return err
		}
	}
}

// isConflict reports a write refused because a transaction held an item it
// touches: a transaction cancelled for TransactionConflict (and for nothing
// that retrying cannot change), or a single write's
// TransactionConflictException.
func isConflict(err error) bool {
	var tce *types.TransactionConflictException
	if errors.As(err, &tce) {
		return true
	}
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false
	}
	conflict := false
	for _, r := range cancelled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "TransactionConflict":
			conflict = true
		case "", "None":
		default:
			return false
		}
	}
	return conflict
}

func reason(e *types.TransactionCanceledException, i int) string {
	if i >= len(e.CancellationReasons) {
		return ""
	}
	return aws.ToString(e.CancellationReasons[i].Code)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// jitter is 20 ms doubling per attempt, capped at 1 s, of which a random
// half is waited: enough spread that racing writers do not meet again.
func jitter(attempt int) time.Duration {
	d := backoff.Exponential(20*time.Millisecond, attempt, time.Second)
	return d/2 + rand.N(d/2+1)
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func pageLimit(p campaign.Page) int {
	if p.Limit <= 0 {
		return defaultLimit
	}
	return p.Limit
}
