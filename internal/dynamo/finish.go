package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// Finish writes the email's result record (if it has none, or a pending
// one that a retry left: the email was pending), adding 1 to its version,
// and updates the campaign's counters in one transaction; the campaign's
// condition that the index is below its total stands for the email's
// existence. Transactions on the same campaign record conflict with
// each other; Finish retries those with backoff.
func (s *Store) Finish(ctx context.Context, campaignID string, index int, status campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	tally, output, err := campaign.Finishing(status, r)
	if err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	pk := campaignPK(campaignID)
	if index < 0 {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, campaign.ErrNotFound)
	}
	// The result outlives its campaign by at most the campaign's run time:
	// TTL clears it a little later, and Finish needs no read of the
	// campaign on every prospect's hot path. An update rather than a put,
	// so that a retried email's record keeps its round and version.
	expires := now.Add(s.ttl).Unix()
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:           aws.String(s.table),
			Key:                 key(pk, itemSK(index)),
			UpdateExpression:    aws.String("SET #st = :st, #out = :out, #exp = :exp ADD #v :one"),
			ConditionExpression: aws.String("attribute_not_exists(#pk) OR #st = :pending"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrPK, "#st": attrStatus, "#out": attrOutput, "#exp": "expires_at", "#v": attrVersion,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":st":      &types.AttributeValueMemberS{Value: string(status)},
				":out":     &types.AttributeValueMemberS{Value: string(output)},
				":exp":     number(expires),
				":one":     number(1),
				":pending": &types.AttributeValueMemberS{Value: string(campaign.EmailPending)},
			},
		}},
		{Update: &types.Update{
			TableName:           aws.String(s.table),
			Key:                 key(pk, metaSK),
			UpdateExpression:    aws.String("SET #ua = :now ADD #ok :ok, #nr :nr, #fail :fail, #pt :pt, #ct :ct, #tt :tt, #bpt :bpt, #bct :bct, #cost :cost, #unp :unp, #cpt :cpt"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND #total > :idx"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrPK, "#ua": "updated_at", "#ok": "succeeded", "#nr": "needs_review", "#fail": "failed",
				"#pt": "prompt_tokens", "#ct": "completion_tokens", "#tt": "total_tokens", "#total": "total",
				"#bpt": "batch_prompt_tokens", "#bct": "batch_completion_tokens",
				"#cost": "cost_micro_usd", "#unp": "unpriced", "#cpt": "cached_prompt_tokens",
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":idx":  number(int64(index)),
				":now":  &types.AttributeValueMemberS{Value: formatTime(now)},
				":ok":   number(int64(tally.Succeeded)),
				":nr":   number(int64(tally.NeedsReview)),
				":fail": number(int64(tally.Failed)),
				":pt":   number(int64(r.Usage.PromptTokens)),
				":ct":   number(int64(r.Usage.CompletionTokens)),
				":tt":   number(int64(r.Usage.TotalTokens)),
				":bpt":  number(int64(r.Usage.BatchPromptTokens)),
				":bct":  number(int64(r.Usage.BatchCompletionTokens)),
				":cost": number(r.Usage.CostMicroUSD),
				":unp":  number(int64(r.Usage.Unpriced)),
				":cpt":  number(int64(r.Usage.CachedPromptTokens)),
			},
		}},
	}}
	// A failed condition of the campaign's: no campaign, or no such index;
	// of the item's: it has its result.
	if err := s.transact(ctx, in, campaign.ErrAlreadyDone); err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	return nil
}
