package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/testenv"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) campaign.Store {
		client := testenv.DynamoDB(t)
		s := dynamo.New(client, testenv.CreateTable(t, client), 0)
		s.Now = now
		return s
	})
}

// TestFinishRetriesConflicts finishes every email of one campaign from 16
// goroutines: all their transactions update the one campaign record, so
// DynamoDB cancels some for TransactionConflict, and Finish must retry until
// each succeeds. It logs the throughput and how many retries it took.
func TestFinishRetriesConflicts(t *testing.T) {
	const total, workers = 500, 16
	client := testenv.DynamoDB(t)
	table := testenv.CreateTable(t, client)
	var calls atomic.Int64
	counting := dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, countCalls("TransactWriteItems", &calls))
	})
	s := dynamo.New(counting, table, 0)
	s.Now = storetest.Now
	ctx := context.Background()
	c := storetest.NewCampaign("tenant-a", total)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))

	indexes := make(chan int)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range indexes {
				r := campaign.Outcome{Subject: "s", Body: "b", Usage: email.Usage{TotalTokens: 1}}
				if err := s.Finish(ctx, c.ID, i, campaign.EmailSucceeded, r, time.Now()); err != nil {
					errs <- fmt.Errorf("Finish %d: %w", i, err)
				}
			}
		})
	}
	for i := range total {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	retries := calls.Load() - total
	t.Logf("finished %d items with %d goroutines in %v (%.0f/s); %d transaction retries (%.1f%%)",
		total, workers, elapsed, total/elapsed.Seconds(), retries, 100*float64(retries)/total)

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != total || got.Usage.TotalTokens != total {
		t.Errorf("succeeded = %d, tokens = %d; want %d", got.Succeeded, got.Usage.TotalTokens, total)
	}
}

// countCalls counts the client's calls of one operation, each once however
// often the SDK retries it.
func countCalls(op string, n *atomic.Int64) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == op {
					n.Add(1)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}
