// Package dynamo keeps campaigns and their emails in the app's single
// DynamoDB table (see records.go for the layout). Attribute names and
// expressions live only here.
package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ingren/ingren/internal/campaign"
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

// DeleteExpired deletes nothing: DynamoDB's TTL does it, on expires_at,
// which every record of a campaign carries. Reads leave expired records
// out until then.
func (s *Store) DeleteExpired(context.Context, time.Time, int) (int, error) { return 0, nil }
