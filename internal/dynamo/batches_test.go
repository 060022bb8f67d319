package dynamo_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/testenv"
)

// TestBatchWriteWithLostResponseIsStillAWin loses the response of each
// batch-mode write's first call: the SDK retries it, and the retry, which
// finds the write's own effect, must not report it as another writer's
// (a worker would take its own batch for a duplicate's and stop).
func TestBatchWriteWithLostResponseIsStillAWin(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, op string
		write    func(s campaign.Store, c *campaign.Campaign, b *campaign.Batch) error
		check    func(t *testing.T, s campaign.Store, c *campaign.Campaign)
	}{
		{"AddBatch", "PutItem", func(s campaign.Store, c *campaign.Campaign, _ *campaign.Batch) error {
			return s.AddBatch(ctx, c.ID, &campaign.Batch{Key: "new", Attempt: 1, Indexes: []int{1}, Status: campaign.BatchPreparing}, time.Now())
		}, func(t *testing.T, s campaign.Store, c *campaign.Campaign) {
			if b, err := s.Batch(ctx, c.ID, "new"); err != nil || b.Version != 1 {
				t.Errorf("Batch = %+v, %v; want version 1", b, err)
			}
		}},
		{"UpdateBatch", "UpdateItem", func(s campaign.Store, c *campaign.Campaign, b *campaign.Batch) error {
			b.Status, b.ProviderID = campaign.BatchValidating, "batch_1"
			return s.UpdateBatch(ctx, c.ID, b, time.Now())
		}, func(t *testing.T, s campaign.Store, c *campaign.Campaign) {
			if b, err := s.Batch(ctx, c.ID, "k"); err != nil || b.Version != 2 || b.ProviderID != "batch_1" {
				t.Errorf("Batch = %+v, %v; want version 2 of batch_1", b, err)
			}
		}},
		{"SwitchMode", "UpdateItem", func(s campaign.Store, c *campaign.Campaign, _ *campaign.Batch) error {
			return s.SwitchMode(ctx, c.ID, campaign.ModeBatch, campaign.ModeRealtime, "no Batch API", time.Now())
		}, func(t *testing.T, s campaign.Store, c *campaign.Campaign) {
			got, err := s.Get(ctx, c.Tenant, c.ID)
			if err != nil || got.Mode != campaign.ModeRealtime || len(got.Warnings) != 1 {
				t.Errorf("Get = %+v, %v; want realtime with one warning", got, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := testenv.DynamoDB(t)
			table := testenv.CreateTable(t, client)
			plain := dynamo.New(client, table, 0)
			plain.Now = time.Now
			c := storetest.NewCampaign("tenant-a", 2)
			c.Mode, c.CreatedAt, c.ExpiresAt = campaign.ModeBatch, time.Now(), time.Now().Add(time.Hour)
			storetest.MustCreate(t, plain, c, storetest.NewItems(c))
			b := &campaign.Batch{Key: "k", Attempt: 1, Indexes: []int{0}, Status: campaign.BatchPreparing}
			if err := plain.AddBatch(ctx, c.ID, b, time.Now()); err != nil {
				t.Fatal(err)
			}

			rt := &losing{op: tc.op, next: http.DefaultTransport}
			s := dynamo.New(dynamodb.New(client.Options(), func(o *dynamodb.Options) {
				o.HTTPClient = &http.Client{Transport: rt}
			}), table, 0)
			s.Now = time.Now
			if err := tc.write(s, c, b); err != nil {
				t.Fatalf("err = %v, want none: the write landed", err)
			}
			if got := rt.calls.Load(); got < 2 {
				t.Fatalf("%d calls of %s: the SDK did not retry the lost response", got, tc.op)
			}
			tc.check(t, plain, c)
		})
	}
}
