package dynamo

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/backoff"
)

// maxAttempts bounds the tries of a write that DynamoDB refuses for a
// reason that passes: unprocessed batch items, transaction conflicts.
const maxAttempts = 12

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
