package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// newTable declares the single table that holds campaigns, prospects and
// emails. The app's keys are generic (pk/sk); gsi1 lists a tenant's campaigns
// newest first; expires_at lets DynamoDB drop items after ItemTTLDays.
func newTable(ctx *pulumi.Context, cfg Config) (*dynamodb.Table, error) {
	return dynamodb.NewTable(ctx, "ingren-table", &dynamodb.TableArgs{
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
		HashKey:     pulumi.String("pk"),
		RangeKey:    pulumi.String("sk"),
		Attributes: dynamodb.TableAttributeArray{
			dynamodb.TableAttributeArgs{Name: pulumi.String("pk"), Type: pulumi.String("S")},
			dynamodb.TableAttributeArgs{Name: pulumi.String("sk"), Type: pulumi.String("S")},
			dynamodb.TableAttributeArgs{Name: pulumi.String("gsi1pk"), Type: pulumi.String("S")},
			dynamodb.TableAttributeArgs{Name: pulumi.String("gsi1sk"), Type: pulumi.String("S")},
		},
		GlobalSecondaryIndexes: dynamodb.TableGlobalSecondaryIndexArray{
			dynamodb.TableGlobalSecondaryIndexArgs{
				Name:           pulumi.String("gsi1"),
				HashKey:        pulumi.String("gsi1pk"),
				RangeKey:       pulumi.String("gsi1sk"),
				ProjectionType: pulumi.String("ALL"),
			},
		},
		Ttl: dynamodb.TableTtlArgs{
			AttributeName: pulumi.String("expires_at"),
			Enabled:       pulumi.Bool(true),
		},
		PointInTimeRecovery:       dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption:      dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
		DeletionProtectionEnabled: pulumi.Bool(cfg.DeletionProtection),
	})
}
