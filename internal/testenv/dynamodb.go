package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The app's single DynamoDB table. These mirror the table that infra/
// declares and the keys internal/dynamo reads and writes: change all three
// together. Every key attribute is a string.
const (
	// TableHashKey is the table's partition key.
	TableHashKey = "pk"
	// TableRangeKey is the table's sort key.
	TableRangeKey = "sk"
	// GSI1Name is the one global secondary index; it projects ALL attributes.
	GSI1Name = "gsi1"
	// GSI1HashKey is gsi1's partition key.
	GSI1HashKey = "gsi1pk"
	// GSI1RangeKey is gsi1's sort key.
	GSI1RangeKey = "gsi1sk"
	// TTLAttribute holds an item's expiry in Unix seconds (a number); TTL is
	// enabled on it.
	TTLAttribute = "expires_at"
)

// CreateTableInput returns the app's table definition under the given name:
// keys, gsi1 and on-demand billing. TTL is not part of CreateTable in the
// API; enable it with UpdateTimeToLiveInput.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(TableHashKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(TableRangeKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(GSI1HashKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(GSI1RangeKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(TableHashKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(TableRangeKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(GSI1Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(GSI1HashKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(GSI1RangeKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}

// UpdateTimeToLiveInput returns the request that enables TTL on
// TTLAttribute for the named table.
func UpdateTimeToLiveInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}

// CreateTable creates a uniquely named table with the app's schema
// (CreateTableInput) and TTL enabled, waits until it is ACTIVE, and deletes it
// when the test ends. It returns the table's name.
func CreateTable(tb testing.TB, c *dynamodb.Client) string {
	tb.Helper()
	name := uniqueName(tb, 255)
	ctx, cancel := opContext()
	defer cancel()

	if _, err := c.CreateTable(ctx, CreateTableInput(name)); err != nil {
		tb.Fatalf("create table %s: %v", name, err)
	}
	deleteAtEnd[*types.ResourceNotFoundException](tb, "table "+name, func(ctx context.Context) error {
		_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		return err
	})

	// The waiter's defaults (20 s to 120 s between polls) suit real AWS;
	// DynamoDB Local is ACTIVE at once.
	waiter := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, opTimeout); err != nil {
		tb.Fatalf("wait for table %s: %v", name, err)
	}
	if _, err := c.UpdateTimeToLive(ctx, UpdateTimeToLiveInput(name)); err != nil {
		tb.Fatalf("enable ttl on table %s: %v", name, err)
	}
	return name
}
