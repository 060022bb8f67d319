package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/testenv"
)

// DynamoDB Local runs transactions one at a time and never cancels one for
// a conflict, as DynamoDB does when two touch the same record. These tests
// answer the first calls of an operation with DynamoDB's own conflict
// errors, on the wire, and pass the rest to DynamoDB Local.
const (
	transactionConflict = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
		`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",` +
		`"CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}`
	writeConflict = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException",` +
		`"message":"Transaction is ongoing for the item"}`
)

// conflicting answers the first n calls of op with body, as HTTP 400.
type conflicting struct {
	op, body string
	n        int64
	calls    atomic.Int64
	next     http.RoundTripper
}

func (c *conflicting) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+c.op) && c.calls.Add(1) <= c.n {
		return &http.Response{
			StatusCode: http.StatusBadRequest,
			Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body:       io.NopCloser(bytes.NewBufferString(c.body)),
			Request:    r,
		}, nil
	}
	return c.next.RoundTrip(r)
}

func TestConflictsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name, op, body string
		conflicts      int64
		write          func(s campaign.Store, c *campaign.Campaign) error
		wantErr        bool
	}{
		{"FinishSucceedsAfterConflicts", "TransactWriteItems", transactionConflict, 5, finish, false},
		{"FinishFailsAfterTooMany", "TransactWriteItems", transactionConflict, 1000, finish, true},
		{"TransitionSucceedsAfterConflicts", "UpdateItem", writeConflict, 5, transition, false},
		{"ReserveSucceedsAfterConflicts", "TransactWriteItems", transactionConflict, 5, reserve, false},
		{"SpendSucceedsAfterConflicts", "TransactWriteItems", transactionConflict, 5, spend, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := testenv.DynamoDB(t)
			table := testenv.CreateTable(t, client)
			rt := &conflicting{op: tc.op, body: tc.body, n: tc.conflicts, next: http.DefaultTransport}
			faulty := dynamodb.New(client.Options(), func(o *dynamodb.Options) {
				o.HTTPClient = &http.Client{Transport: rt}
			})
			s := dynamo.New(faulty, table, 0)
			s.Now = storetest.Now
			c := storetest.NewCampaign("tenant-a", 1)
			storetest.MustCreate(t, s, c, storetest.NewItems(c))

			start := time.Now()
			err := tc.write(s, c)
			t.Logf("%d calls of %s in %v: %v", rt.calls.Load(), tc.op, time.Since(start), err)
			if tc.wantErr {
				if err == nil || errors.Is(err, campaign.ErrAlreadyDone) || errors.Is(err, campaign.ErrNotFound) {
					t.Errorf("err = %v, want a transaction error", err)
				}
				got, gerr := s.Get(context.Background(), c.Tenant, c.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				storetest.EqualCampaign(t, got, c)
				return
			}
			if err != nil {
				t.Fatalf("err = %v after %d conflicts", err, tc.conflicts)
			}
			if got := rt.calls.Load(); got != tc.conflicts+1 {
				t.Errorf("%d calls, want %d", got, tc.conflicts+1)
			}
		})
	}
}

func finish(s campaign.Store, c *campaign.Campaign) error {
	r := campaign.Outcome{Subject: "s", Usage: email.Usage{TotalTokens: 1}}
	return s.Finish(context.Background(), c.ID, 0, campaign.EmailSucceeded, r, time.Now())
}

func reserve(s campaign.Store, c *campaign.Campaign) error {
	_, err := s.Reserve(context.Background(), c.ID, 0, c.Tenant, campaign.Reservation{Amount: 5, KeyLimit: 10}, time.Now())
	return err
}

func spend(s campaign.Store, c *campaign.Campaign) error {
	return s.Spend(context.Background(), c.Tenant, campaign.Reservation{}, 1, email.Usage{CostMicroUSD: 5}, "ref", time.Now())
}

func transition(s campaign.Store, c *campaign.Campaign) error {
	return s.Transition(context.Background(), c.ID, []campaign.Status{campaign.StatusQueued}, campaign.StatusRunning, time.Now())
}

// losing sends the first call of op to DynamoDB Local and then loses the
// response, as a connection closed mid-body does: the write lands, and the
// SDK retries it (it retries net.ErrClosed).
type losing struct {
	op    string
	calls atomic.Int64
	next  http.RoundTripper
}

func (l *losing) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+l.op) || l.calls.Add(1) > 1 {
		return l.next.RoundTrip(r)
	}
	res, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
}

// A write whose response was lost is retried by the SDK, and the retry finds
// its own write's effect. The store must still report the win: a
// Transition that lost that way would otherwise skip the campaign's
// completion webhook, and a Create would answer with a conflict.
func TestLostResponseIsStillAWin(t *testing.T) {
	for _, tc := range []struct {
		name, op string
		write    func(t *testing.T, s campaign.Store) error
	}{
		{"Transition", "UpdateItem", func(t *testing.T, s campaign.Store) error {
			c := storetest.NewCampaign("tenant-a", 1)
			storetest.MustCreate(t, s, c, storetest.NewItems(c))
			return transition(s, c)
		}},
		{"Create", "PutItem", func(t *testing.T, s campaign.Store) error {
			c := storetest.NewCampaign("tenant-a", 3)
			got, err := s.Create(context.Background(), c, storetest.NewItems(c))
			if err == nil {
				storetest.EqualCampaign(t, got, c)
			}
			return err
		}},
		{"CreateWithIdempotencyKey", "PutItem", func(t *testing.T, s campaign.Store) error {
			c := storetest.NewCampaign("tenant-a", 1)
			c.IdempotencyKey, c.RequestHash = "key-1", "hash-1"
			_, err := s.Create(context.Background(), c, storetest.NewItems(c))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := testenv.DynamoDB(t)
			table := testenv.CreateTable(t, client)
			rt := &losing{op: tc.op, next: http.DefaultTransport}
			lossy := dynamodb.New(client.Options(), func(o *dynamodb.Options) {
				o.HTTPClient = &http.Client{Transport: rt}
			})
			s := dynamo.New(lossy, table, 0)
			s.Now = storetest.Now
			if err := tc.write(t, s); err != nil {
				t.Fatalf("err = %v, want none: the write landed", err)
			}
			if got := rt.calls.Load(); got < 2 {
				t.Fatalf("%d calls of %s: the SDK did not retry the lost response", got, tc.op)
			}
		})
	}
}
