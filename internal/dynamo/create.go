package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// batchSize is BatchWriteItem's limit.
	batchSize = 25
	// writers bounds the BatchWriteItem calls of one Create in flight.
	// Measured against DynamoDB Local on 2 cores (see the report in
	// store_test.go); real DynamoDB takes more, but a Lambda's network
	// and the SDK's connection pool do not.
	writers = 16
	// staleClaim is how old an idempotency claim without its campaign must
	// be before a new Create with the same key and body completes it: older
	// than any Create can run (the API's Lambda stops after 29 s).
	staleClaim = time.Minute
	// claimWait is how long a Create whose key is claimed by a Create still
	// running waits for that campaign to appear.
	claimWait = 10 * time.Second
)

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
	if err := campaign.CheckEmails(c, items); err != nil {
		return nil, err
	}
	if c.MaxCostMicroUSD < 0 || c.ReservedMicroUSD < 0 {
		return nil, fmt.Errorf("create campaign: max cost %d and reserved %d micro-USD cannot be negative", c.MaxCostMicroUSD, c.ReservedMicroUSD)
	}
	if c.Mode != "" {
		if err := campaign.CheckModes(c.Mode); err != nil {
			return nil, fmt.Errorf("create campaign: %w", err)
		}
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
		n := len(req) + len(it.Ref) + 16
		if it.Cells != nil {
			cells, err := json.Marshal(it.Cells)
			if err != nil {
				return fmt.Errorf("item %d cells: %w", i, err)
			}
			n += len(cells)
		}
		if len(entries) > 0 && (len(entries) == chunkEntries || size+n > chunkBytes) {
			if err := flush(first, entries); err != nil {
				return err
			}
			entries, first, size = nil, i, 0
		}
		entries = append(entries, chunkEntry{Ref: it.Ref, Request: req, Cells: it.Cells})
		size += n
		if it.Outcome != nil && it.Status != "" && it.Status != campaign.EmailPending {
			out, err := json.Marshal(it.Outcome)
			if err != nil {
				return fmt.Errorf("item %d result: %w", i, err)
			}
			av, err := attributevalue.MarshalMap(resultRecord{PK: pk, SK: itemSK(i), Status: string(it.Status), Output: string(out), ExpiresAt: expires, Version: max(it.Version, 1)})
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

// stored returns c as Get will return it: times to the millisecond,
// ExpiresAt to the second and set.
func (s *Store) stored(c *campaign.Campaign) *campaign.Campaign {
	out := *c
	if out.Mode == "" {
		out.Mode = campaign.ModeRealtime
	}
	if len(out.Warnings) == 0 {
		out.Warnings = nil
	}
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
