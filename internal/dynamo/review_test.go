package dynamo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/testenv"
)

// reviewed is a finished campaign of two emails, 0 failed and 1
// succeeded, written by a store without faults.
func reviewed(t *testing.T, s campaign.Store) *campaign.Campaign {
	t.Helper()
	ctx := context.Background()
	c := storetest.NewCampaign("tenant-a", 2)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	for i, status := range []campaign.EmailStatus{campaign.EmailFailed, campaign.EmailSucceeded} {
		o := campaign.Outcome{Subject: "s", Usage: email.Usage{TotalTokens: 1}}
		if err := s.Finish(ctx, c.ID, i, status, o, storetest.Now()); err != nil {
			t.Fatalf("Finish %d: %v", i, err)
		}
	}
	if err := s.Transition(ctx, c.ID, []campaign.Status{campaign.StatusQueued}, campaign.StatusCompletedWithErrors, storetest.Now()); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	return c
}

// reviewedTable is a new table holding reviewed's campaign c, written by
// plain, a store without faults that reads it back; through makes a store
// of the same table whose calls go through rt, the fault under test.
func reviewedTable(t *testing.T) (plain *dynamo.Store, c *campaign.Campaign, through func(rt http.RoundTripper) *dynamo.Store) {
	t.Helper()
	client := testenv.DynamoDB(t)
	table := testenv.CreateTable(t, client)
	plain = dynamo.New(client, table, 0)
	plain.Now = storetest.Now
	c = reviewed(t, plain)
	through = func(rt http.RoundTripper) *dynamo.Store {
		s := dynamo.New(dynamodb.New(client.Options(), func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: rt}
		}), table, 0)
		s.Now = storetest.Now
		return s
	}
	return plain, c, through
}

// reviewWrites are the review's and retry's writes, each as a test calls
// it on reviewed's campaign, with the operation it makes.
var reviewWrites = []struct {
	name, op string
	write    func(s campaign.Store, c *campaign.Campaign) error
}{
	{"Revise", "TransactWriteItems", func(s campaign.Store, c *campaign.Campaign) error {
		approve := campaign.ReviewApproved
		_, err := s.Revise(context.Background(), c.ID, 1, 1, campaign.Revision{Review: &approve}, time.Now())
		return err
	}},
	{"Reset", "TransactWriteItems", func(s campaign.Store, c *campaign.Campaign) error {
		return s.Reset(context.Background(), c.ID, 0, []campaign.EmailStatus{campaign.EmailFailed}, 1, time.Now())
	}},
	{"Hold", "UpdateItem", func(s campaign.Store, c *campaign.Campaign) error {
		now := storetest.Now()
		return s.Hold(context.Background(), c.ID, 1, 1, "a", now, now.Add(time.Minute))
	}},
	{"Reopen", "UpdateItem", func(s campaign.Store, c *campaign.Campaign) error {
		return s.Reopen(context.Background(), c.ID, 0, time.Now())
	}},
}

// TestReviewWritesRetryConflicts answers the first calls of each review
// write with DynamoDB's conflict errors: the write must retry until it
// lands.
func TestReviewWritesRetryConflicts(t *testing.T) {
	const conflicts = 3
	for _, tc := range reviewWrites {
		t.Run(tc.name, func(t *testing.T) {
			_, c, through := reviewedTable(t)
			body := writeConflict
			if tc.op == "TransactWriteItems" {
				body = transactionConflict
			}
			rt := &conflicting{op: tc.op, body: body, n: conflicts, next: http.DefaultTransport}
			s := through(rt)
			if err := tc.write(s, c); err != nil {
				t.Fatalf("err = %v after %d conflicts", err, conflicts)
			}
			if got := rt.calls.Load(); got != conflicts+1 {
				t.Errorf("%d calls of %s, want %d", got, tc.op, conflicts+1)
			}
		})
	}
}

// TestReviewWriteWithLostResponseIsStillAWin loses the response of each
// review write's first call: the SDK retries it, and the retry must not
// report the write's own effect as someone else's (a reviewer's 412, a
// retry refused as a conflict).
func TestReviewWriteWithLostResponseIsStillAWin(t *testing.T) {
	for _, tc := range reviewWrites {
		t.Run(tc.name, func(t *testing.T) {
			plain, c, through := reviewedTable(t)
			rt := &losing{op: tc.op, next: http.DefaultTransport}
			s := through(rt)
			if err := tc.write(s, c); err != nil {
				t.Fatalf("err = %v, want none: the write landed", err)
			}
			if got := rt.calls.Load(); got < 2 {
				t.Fatalf("%d calls of %s: the SDK did not retry the lost response", got, tc.op)
			}
			// The write counted once.
			got, err := plain.Get(context.Background(), c.Tenant, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Approved > 1 || got.Round > 1 || got.Failed < 0 || got.Succeeded+got.Failed < 1 {
				t.Errorf("campaign after a lost response: %+v", got)
			}
		})
	}
}

// TestResetRaceWithReviseReadsAgain makes a Revise land between Reset's
// read and its write: Reset must read again and reset the email from
// the state the Revise left, moving the counters from there.
func TestResetRaceWithReviseReadsAgain(t *testing.T) {
	plain, c, through := reviewedTable(t)
	ctx := context.Background()
	reject := campaign.ReviewRejected
	rt := &beforeFirst{op: "TransactWriteItems", next: http.DefaultTransport, do: func() {
		if _, err := plain.Revise(ctx, c.ID, 1, 1, campaign.Revision{Review: &reject}, time.Now()); err != nil {
			t.Errorf("Revise: %v", err)
		}
	}}
	s := through(rt)
	if err := s.Reset(ctx, c.ID, 1, []campaign.EmailStatus{campaign.EmailSucceeded}, 1, time.Now()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	got, err := plain.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != 0 || got.Rejected != 0 || got.Failed != 1 {
		t.Errorf("counters = %d succeeded, %d rejected, %d failed; want 0, 0, 1", got.Succeeded, got.Rejected, got.Failed)
	}
	e, err := plain.Email(ctx, c.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != campaign.EmailPending || e.Version != 3 || e.Review != campaign.ReviewNone || e.Round != 1 {
		t.Errorf("email = %s, version %d, review %q, round %d; want pending, 3, none, 1", e.Status, e.Version, e.Review, e.Round)
	}
}

// beforeFirst calls do before it sends the first call of op.
type beforeFirst struct {
	op   string
	do   func()
	done bool
	next http.RoundTripper
}

func (b *beforeFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if !b.done && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+b.op) {
		b.done = true
		b.do()
	}
	return b.next.RoundTrip(r)
}
