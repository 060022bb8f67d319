package dynamo

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/email"
)

// TestEveryRecordExpires checks that DynamoDB's TTL can delete a
// whole campaign: every kind of record it writes (campaign, input chunks,
// results written by Create, Reserve and Finish, leases, batches, the
// idempotency claim) has expires_at, in Unix seconds, at most a day after
// the campaign's; and the ledger's records, which outlive campaigns, have
// theirs ledgerTTL after their last write.
func TestEveryRecordExpires(t *testing.T) {
	const ttl = 48 * time.Hour
	s, client, table := newStore(t, ttl)
	ctx := context.Background()
	c := withKey(storetest.NewCampaign("tenant-a", chunkEntries+2), "key", "hash")
	c.ExpiresAt = time.Time{} // the store's choice: created + ttl
	items := storetest.NewItems(c)
	items[0].Status, items[0].Outcome = campaign.EmailFailed, &campaign.Outcome{Error: "refused at submit"}
	storetest.MustCreate(t, s, c, items)
	now := storetest.Now()
	if err := s.Claim(ctx, c.ID, 1, "worker", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 1, c.Tenant, campaign.Reservation{Amount: 5}, now); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 3, c.Tenant, campaign.Reservation{Amount: 5}, now); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, campaign.Outcome{Subject: "s", Usage: email.Usage{CostMicroUSD: 3}}, now); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	b := &campaign.Batch{Key: "1-0", Attempt: 1, Indexes: []int{2}, Status: campaign.BatchPreparing}
	if err := s.AddBatch(ctx, c.ID, b, now); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	b.Status = campaign.BatchInProgress
	if err := s.UpdateBatch(ctx, c.ID, b, now.Add(time.Hour)); err != nil {
		t.Fatalf("UpdateBatch: %v", err)
	}
	campaignExpiry := c.CreatedAt.Add(ttl).Unix()

	res, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: campaignPK(c.ID)}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	idem, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: key(idemPK(c.Tenant, c.IdempotencyKey), idemSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	records := append(res.Items, idem.Item)
	kinds := map[string]int{}
	for _, rec := range records {
		sk := rec[attrSK].(*types.AttributeValueMemberS).Value
		kind, _, _ := strings.Cut(sk, "#")
		kinds[kind]++
		exp, ok := rec["expires_at"].(*types.AttributeValueMemberN)
		if !ok {
			t.Errorf("record %s has no numeric expires_at", sk)
			continue
		}
		n, err := strconv.ParseInt(exp.Value, 10, 64)
		if err != nil || n <= now.Unix() || n > campaignExpiry+int64(leaseTTL/time.Second) {
			t.Errorf("record %s: expires_at %s, want Unix seconds after now (%d) and at most a day after the campaign's %d",
				sk, exp.Value, now.Unix(), campaignExpiry)
		}
		if (kind == "META" || kind == "INPUT" || kind == "IDEM" || kind == "BATCH") && n != campaignExpiry {
			t.Errorf("record %s: expires_at %d, want the campaign's %d", sk, n, campaignExpiry)
		}
	}
	want := map[string]int{"META": 1, "INPUT": 2, "ITEM": 3, "LEASE": 1, "IDEM": 1, "BATCH": 1}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("%d %s records, want %d (records by kind: %v)", kinds[kind], kind, n, kinds)
		}
	}

	ledger, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: usagePK(c.Tenant)}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds = map[string]int{}
	for _, rec := range ledger.Items {
		sk := rec[attrSK].(*types.AttributeValueMemberS).Value
		kind, _, _ := strings.Cut(sk, "#")
		kinds[kind]++
		exp, ok := rec["expires_at"].(*types.AttributeValueMemberN)
		if !ok || exp.Value != strconv.FormatInt(now.Add(ledgerTTL).Unix(), 10) {
			t.Errorf("ledger record %s: expires_at %v, want %d", sk, rec["expires_at"], now.Add(ledgerTTL).Unix())
		}
	}
	if kinds["MONTH"] != 1 || kinds["DAY"] != 1 {
		t.Errorf("ledger records by kind: %v, want a MONTH and a DAY", kinds)
	}
}
