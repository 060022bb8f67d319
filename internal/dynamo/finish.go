package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/campaign"
)

// Finish reads the campaign record (for its tenant, whose ledger the
// outcome is booked in) and the email's result record (for its hold), then
// writes in one transaction the result record (if it has none, or a
// pending one that a retry or Reserve left, holding what was read), adding
// 1 to its version; the campaign's counters, less the hold; and the
// ledger's month and day (book). The campaign's condition that the index
// is below its total stands for the email's existence. A result record
// changed since it was read (a Reserve came between) makes Finish read
// again. Transactions on the same campaign record, and on the tenant's
// month, conflict with each other; Finish retries those with backoff.
//
// A Finish whose response was lost is repeated by the SDK with the same
// ClientRequestToken, which DynamoDB counts once; a caller's own retry
// reads the email done, and gets ErrAlreadyDone.
func (s *Store) Finish(ctx context.Context, campaignID string, index int, status campaign.EmailStatus, r campaign.Outcome, now time.Time) error {
	tally, output, err := campaign.Finishing(status, r)
	if err == nil {
		err = checkUsage(r.Usage)
	}
	if err != nil {
		return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
	}
	pk := campaignPK(campaignID)
	for range maxAttempts {
		meta, rec, found, err := s.ledgerState(ctx, campaignID, index)
		if err != nil {
			return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
		}
		if found && rec.Status != string(campaign.EmailPending) {
			return fmt.Errorf("finish item %s/%d: %w", campaignID, index, campaign.ErrAlreadyDone)
		}
		hold := campaign.Reservation{Amount: rec.ReservedMicroUSD, Month: rec.ReservedMonth}

		// The result outlives its campaign by at most the campaign's run
		// time: TTL clears it a little later. An update rather than a
		// put, so that a retried email's record keeps its round and
		// version.
		e := newExpr()
		e.setTo(attrStatus, &types.AttributeValueMemberS{Value: string(status)})
		e.setTo(attrOutput, &types.AttributeValueMemberS{Value: string(output)})
		e.setTo("expires_at", number(now.Add(s.ttl).Unix()))
		e.addNonzero(attrVersion, 1)
		e.removeAttrs(attrReservedMonth, attrReserved)
		cond := holdIs(e, rec, found)
		if found {
			cond += " AND " + e.name(attrStatus) + " = " + e.str(string(campaign.EmailPending))
		}

		c := counts{Tally: tally, usage: r.Usage, released: hold.Amount}
		m := metaExpr(c, now)
		mcond := "attribute_exists(#pk) AND " + m.name("total") + " > " + m.num(index)

		in := &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{
			{Update: s.updateOf(key(pk, itemSK(index)), e, cond)},
			{Update: s.updateOf(key(pk, metaSK), m, mcond)},
		}, s.book(meta.Tenant, campaignID, hold, written(status), r.Usage, now)...)}
		// A failed condition of the campaign's: no campaign, or no such
		// index; of the item's: it changed since read.
		err = s.transact(ctx, in, errStale)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("finish item %s/%d: %w", campaignID, index, err)
		}
		return nil
	}
	return fmt.Errorf("finish item %s/%d: changed by others %d times in a row while finishing it", campaignID, index, maxAttempts)
}
