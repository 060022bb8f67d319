package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// randomToken returns 16 random hex digits: unique, not secret.
func randomToken() string { return fmt.Sprintf("%016x", rand.Uint64()) }

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
