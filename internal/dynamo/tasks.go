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

// A campaign's tasks (Store.ClaimTask, FinishTask) live on its campaign
// record, three attributes a task: <task>_owner, <task>_until (Unix
// milliseconds) and <task>_done. Create's put of a new record has none.
func taskAttrs(task campaign.Task) (owner, until, done string) {
	return string(task) + "_owner", string(task) + "_until", string(task) + "_done"
}

// ClaimTask is one conditional UpdateItem of the campaign record. When the
// condition fails, the record as it was says why.
func (s *Store) ClaimTask(ctx context.Context, campaignID string, task campaign.Task, owner string, now, until time.Time) error {
	if !task.Valid() {
		return fmt.Errorf("claim task %q of %s: no such task", task, campaignID)
	}
	o, u, d := taskAttrs(task)
	var old map[string]types.AttributeValue
	err := retryConflicts(ctx, func() error {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        aws.String(s.table),
			Key:              key(campaignPK(campaignID), metaSK),
			UpdateExpression: aws.String("SET #o = :owner, #u = :until"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND attribute_not_exists(#d) AND " +
				"(attribute_not_exists(#u) OR #u <= :now OR #o = :owner)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#o": o, "#u": u, "#d": d},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":owner": &types.AttributeValueMemberS{Value: owner},
				":until": number(until.UnixMilli()),
				":now":   number(now.UnixMilli()),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			old = failed.Item
		}
		return err
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, err)
	}
	if len(old) == 0 {
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, campaign.ErrNotFound)
	}
	var (
		held int64
		done bool
	)
	if v, ok := old[d]; ok {
		if err := attributevalue.Unmarshal(v, &done); err != nil {
			return fmt.Errorf("claim task %s of %s: %s: %w", task, campaignID, d, err)
		}
	}
	if done {
		return fmt.Errorf("claim task %s of %s: %w", task, campaignID, campaign.ErrAlreadyDone)
	}
	if err := attributevalue.Unmarshal(old[u], &held); err != nil {
		return fmt.Errorf("claim task %s of %s: %s: %w", task, campaignID, u, err)
	}
	// Not done, so another owner's lease has not ended. (A retry of this
	// owner's own write that landed passes the condition.)
	return &campaign.ClaimedError{Until: time.UnixMilli(held).UTC()}
}

// FinishTask is one UpdateItem of the campaign record, conditional on its
// existence.
func (s *Store) FinishTask(ctx context.Context, campaignID string, task campaign.Task) error {
	if !task.Valid() {
		return fmt.Errorf("finish task %q of %s: no such task", task, campaignID)
	}
	_, _, d := taskAttrs(task)
	err := retryConflicts(ctx, func() error {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(campaignPK(campaignID), metaSK),
			UpdateExpression:          aws.String("SET #d = :true"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#d": d},
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
		})
		return err
	})
	if isConditionFailed(err) {
		return fmt.Errorf("finish task %s of %s: %w", task, campaignID, campaign.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("finish task %s of %s: %w", task, campaignID, err)
	}
	return nil
}
