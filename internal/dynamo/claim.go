package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// leaseTTL is how long a lease record outlives its lease before TTL
// removes it.
const leaseTTL = 24 * time.Hour

// Claim is one conditional PutItem of the email's lease record, then one
// strongly consistent read of the email's result record: taken or not, the
// lease is worth nothing once the email is done (has a result record that
// is not pending). The campaign's existence is
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
		ProjectionExpression:     aws.String("#st"),
		ExpressionAttributeNames: map[string]string{"#st": attrStatus},
	})
	if err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	var result resultRecord
	if err := attributevalue.UnmarshalMap(res.Item, &result); err != nil {
		return fmt.Errorf("claim item %s/%d: %w", campaignID, index, err)
	}
	if len(res.Item) > 0 && result.Status != string(campaign.EmailPending) { // a retry's Reset leaves a pending one
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
