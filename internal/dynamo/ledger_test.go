package dynamo_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
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

// newLedgerStore is a store on a new table, through transport rt when not
// nil.
func newLedgerStore(t *testing.T, rt http.RoundTripper) *dynamo.Store {
	t.Helper()
	client := testenv.DynamoDB(t)
	table := testenv.CreateTable(t, client)
	if rt != nil {
		client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: rt}
		})
	}
	s := dynamo.New(client, table, 0)
	s.Now = storetest.Now
	return s
}

func mustMonth(t *testing.T, s campaign.Ledger, tenant, month string) campaign.MonthSpend {
	t.Helper()
	m, err := s.Month(context.Background(), tenant, month)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustGet(t *testing.T, s campaign.Store, c *campaign.Campaign) *campaign.Campaign {
	t.Helper()
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A hold goes on the email, the campaign and the month; Finish releases
// it from all three and books the real cost and usage in the month and
// the day, once.
func TestFinishSettlesTheHold(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t, nil)
	now := storetest.Now()
	month := campaign.MonthOf(now)
	c := storetest.NewCampaign("tenant-a", 3)
	c.MaxCostMicroUSD = 1000
	storetest.MustCreate(t, s, c, storetest.NewItems(c))

	h := campaign.Reservation{Amount: 300, Month: month, KeyLimit: 5000}
	got, err := s.Reserve(ctx, c.ID, 0, c.Tenant, h, now)
	if err != nil || got != h {
		t.Fatalf("Reserve = %+v, %v; want %+v", got, err, h)
	}
	// A redelivery keeps the hold, whatever it asks for.
	again, err := s.Reserve(ctx, c.ID, 0, c.Tenant, campaign.Reservation{Amount: 900, Month: month}, now)
	if err != nil || again.Amount != 300 || again.Month != month {
		t.Fatalf("second Reserve = %+v, %v; want the first hold", again, err)
	}
	e, err := s.Email(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != campaign.EmailPending || e.Version != 0 || e.Reserved.Amount != 300 || e.Reserved.Month != month {
		t.Fatalf("email after Reserve: %s v%d holding %+v", e.Status, e.Version, e.Reserved)
	}
	if got := mustGet(t, s, c); got.ReservedMicroUSD != 300 || got.MaxCostMicroUSD != 1000 {
		t.Fatalf("campaign holds %d of %d, want 300 of 1000", got.ReservedMicroUSD, got.MaxCostMicroUSD)
	}
	if m := mustMonth(t, s, c.Tenant, month); m.ReservedMicroUSD != 300 || m.SpentMicroUSD != 0 {
		t.Fatalf("month after Reserve: %+v", m)
	}

	u := email.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, CachedPromptTokens: 2, CostMicroUSD: 250}
	r := campaign.Outcome{Subject: "s", Body: "b", Usage: u}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, r, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, r, now); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Fatalf("second Finish: %v, want ErrAlreadyDone", err)
	}
	// An email without a hold books too.
	failed := campaign.Outcome{Error: "boom", Usage: email.Usage{TotalTokens: 1, Unpriced: 1}}
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailFailed, failed, now); err != nil {
		t.Fatal(err)
	}

	e, err = s.Email(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Reserved != (campaign.Reservation{}) || e.Version != 1 {
		t.Errorf("finished email holds %+v at v%d, want nothing at v1", e.Reserved, e.Version)
	}
	got2 := mustGet(t, s, c)
	if got2.ReservedMicroUSD != 0 || got2.Usage.CostMicroUSD != 250 || got2.Usage.Unpriced != 1 {
		t.Errorf("campaign after Finish: holds %d, cost %d, unpriced %d; want 0, 250, 1",
			got2.ReservedMicroUSD, got2.Usage.CostMicroUSD, got2.Usage.Unpriced)
	}
	if m := mustMonth(t, s, c.Tenant, month); m != (campaign.MonthSpend{Month: month, SpentMicroUSD: 250, Unpriced: 1}) {
		t.Errorf("month after Finish: %+v", m)
	}
	day := campaign.DayOf(now)
	recs, err := s.Usage(ctx, c.Tenant, day, day)
	if err != nil {
		t.Fatal(err)
	}
	want := []campaign.UsageRecord{{Day: day, CampaignID: c.ID, Emails: 1, Usage: u.Add(failed.Usage)}}
	if len(recs) != 1 || recs[0] != want[0] {
		t.Errorf("Usage = %+v, want %+v", recs, want)
	}
}

// The cap counts spend and holds alike: a campaign whose cost plus holds
// leaves no room refuses, and Unreserve frees room without spending.
func TestReserveRefusesPastTheCap(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t, nil)
	now := storetest.Now()
	month := campaign.MonthOf(now)
	c := storetest.NewCampaign("tenant-a", 3)
	c.MaxCostMicroUSD = 500
	storetest.MustCreate(t, s, c, storetest.NewItems(c))

	if _, err := s.Reserve(ctx, c.ID, 0, c.Tenant, campaign.Reservation{Amount: 300, Month: month}, now); err != nil {
		t.Fatal(err)
	}
	r := campaign.Outcome{Subject: "s", Usage: email.Usage{CostMicroUSD: 400}}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, r, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, c.ID, 1, c.Tenant, campaign.Reservation{Amount: 100, Month: month}, now); err != nil {
		t.Fatalf("Reserve of 100 with 400 spent of 500: %v", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 2, c.Tenant, campaign.Reservation{Amount: 1, Month: month}, now); !errors.Is(err, campaign.ErrCampaignBudget) {
		t.Fatalf("Reserve of 1 with 400 spent and 100 held of 500: %v, want ErrCampaignBudget", err)
	}
	if e, _ := s.Email(ctx, c.ID, 2); e.Reserved != (campaign.Reservation{}) {
		t.Errorf("a refused Reserve left %+v on the email", e.Reserved)
	}
	if err := s.Unreserve(ctx, c.ID, 1, c.Tenant); err != nil {
		t.Fatal(err)
	}
	if err := s.Unreserve(ctx, c.ID, 1, c.Tenant); err != nil {
		t.Fatalf("Unreserve of an email without a hold: %v", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 2, c.Tenant, campaign.Reservation{Amount: 100, Month: month}, now); err != nil {
		t.Fatalf("Reserve after Unreserve: %v", err)
	}
	if m := mustMonth(t, s, c.Tenant, month); m.ReservedMicroUSD != 100 || m.SpentMicroUSD != 400 {
		t.Errorf("month: %+v, want 400 spent, 100 held", m)
	}
	// The campaign is at its cap, which a hold of 0 still fits; the key's
	// month has 500 too, which a limit of 499 does not.
	if _, err := s.Reserve(ctx, c.ID, 1, c.Tenant, campaign.Reservation{Month: month, KeyLimit: 499}, now); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Errorf("Reserve of 0 with 500 committed of a 499 key limit: %v, want ErrKeyBudget", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 0, c.Tenant, campaign.Reservation{Amount: 1, Month: month}, now); !errors.Is(err, campaign.ErrAlreadyDone) {
		t.Errorf("Reserve of a finished email: %v, want ErrAlreadyDone", err)
	}
	if _, err := s.Reserve(ctx, c.ID, 3, c.Tenant, campaign.Reservation{Amount: 1, Month: month}, now); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Reserve of email 3 of 3: %v, want ErrNotFound", err)
	}
}

// Of 32 racing Reserves against room for 20, exactly 20 succeed, for the
// campaign's cap and the key's alike.
func TestReserveRaceFitsTheCap(t *testing.T) {
	const racers, room, amount = 32, 20, 7
	for _, tc := range []struct {
		name    string
		maxCost int64
		limit   int64
		want    error
	}{
		{"Campaign", room * amount, 0, campaign.ErrCampaignBudget},
		{"Key", 0, room * amount, campaign.ErrKeyBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newLedgerStore(t, nil)
			now := storetest.Now()
			c := storetest.NewCampaign("tenant-a", racers)
			c.MaxCostMicroUSD = tc.maxCost
			storetest.MustCreate(t, s, c, storetest.NewItems(c))
			var won, lost atomic.Int64
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					_, err := s.Reserve(ctx, c.ID, i, c.Tenant, campaign.Reservation{Amount: amount, KeyLimit: tc.limit}, now)
					switch {
					case err == nil:
						won.Add(1)
					case errors.Is(err, tc.want):
						lost.Add(1)
					default:
						t.Errorf("Reserve %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if won.Load() != room || lost.Load() != racers-room {
				t.Errorf("%d won, %d lost; want %d, %d", won.Load(), lost.Load(), room, racers-room)
			}
			if m := mustMonth(t, s, c.Tenant, campaign.MonthOf(now)); m.ReservedMicroUSD != room*amount {
				t.Errorf("month holds %d, want %d", m.ReservedMicroUSD, room*amount)
			}
		})
	}
}

// The key's own holds: ReserveKey within the limit, Spend releasing and
// booking, ReleaseKey releasing; Usage lists the days in order.
func TestKeyHoldsAndSpend(t *testing.T) {
	ctx := context.Background()
	s := newLedgerStore(t, nil)
	now := storetest.Now()
	month, tenant := campaign.MonthOf(now), "tenant-a"
	h := campaign.Reservation{Amount: 60, Month: month, KeyLimit: 100}
	if err := s.ReserveKey(ctx, tenant, h, now); err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveKey(ctx, tenant, h, now); !errors.Is(err, campaign.ErrKeyBudget) {
		t.Fatalf("a second hold of 60 of 100: %v, want ErrKeyBudget", err)
	}
	u := email.Usage{TotalTokens: 9, CostMicroUSD: 50}
	if err := s.Spend(ctx, tenant, h, 1, u, "req-1", now); err != nil {
		t.Fatal(err)
	}
	// The caller's retry of the same call (ref) counts once.
	if err := s.Spend(ctx, tenant, h, 1, u, "req-1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.ReserveKey(ctx, tenant, campaign.Reservation{Amount: 40, Month: month, KeyLimit: 100}, now); err != nil {
		t.Fatalf("a hold of 40 with 50 spent of 100: %v", err)
	}
	if err := s.ReleaseKey(ctx, tenant, campaign.Reservation{Amount: 40, Month: month}); err != nil {
		t.Fatal(err)
	}
	if m := mustMonth(t, s, tenant, month); m != (campaign.MonthSpend{Month: month, SpentMicroUSD: 50}) {
		t.Errorf("month: %+v, want 50 spent", m)
	}
	next := now.Add(24 * time.Hour)
	if err := s.Spend(ctx, tenant, campaign.Reservation{}, 2, u, "req-2", next); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Usage(ctx, tenant, campaign.DayOf(now), campaign.DayOf(next))
	if err != nil {
		t.Fatal(err)
	}
	want := []campaign.UsageRecord{{Day: campaign.DayOf(now), Emails: 1, Usage: u}, {Day: campaign.DayOf(next), Emails: 2, Usage: u}}
	if len(recs) != 2 || recs[0] != want[0] || recs[1] != want[1] {
		t.Errorf("Usage = %+v, want %+v", recs, want)
	}
	if recs, err := s.Usage(ctx, "tenant-b", campaign.DayOf(now), campaign.DayOf(next)); err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("Usage of another tenant = %#v, %v; want an empty slice", recs, err)
	}
	if _, err := s.Usage(ctx, tenant, "2026-13-01", "2026-12-01"); err == nil {
		t.Error("Usage from 2026-13-01: no error")
	}
}

// A ledger write whose response was lost is retried by the SDK with its
// ClientRequestToken, and counts once.
func TestLostLedgerWriteCountsOnce(t *testing.T) {
	ctx := context.Background()
	now := storetest.Now()
	month := campaign.MonthOf(now)
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, s *dynamo.Store) campaign.MonthSpend
	}{
		{"Finish", func(t *testing.T, s *dynamo.Store) campaign.MonthSpend {
			c := storetest.NewCampaign("tenant-a", 1)
			storetest.MustCreate(t, s, c, storetest.NewItems(c))
			r := campaign.Outcome{Subject: "s", Usage: email.Usage{CostMicroUSD: 70}}
			if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, r, now); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, c); got.Succeeded != 1 || got.Usage.CostMicroUSD != 70 {
				t.Errorf("campaign: %d succeeded costing %d, want 1 costing 70", got.Succeeded, got.Usage.CostMicroUSD)
			}
			return campaign.MonthSpend{Month: month, SpentMicroUSD: 70}
		}},
		{"ReserveKey", func(t *testing.T, s *dynamo.Store) campaign.MonthSpend {
			if err := s.ReserveKey(ctx, "tenant-a", campaign.Reservation{Amount: 70, Month: month, KeyLimit: 100}, now); err != nil {
				t.Fatal(err)
			}
			return campaign.MonthSpend{Month: month, ReservedMicroUSD: 70}
		}},
		{"Spend", func(t *testing.T, s *dynamo.Store) campaign.MonthSpend {
			if err := s.Spend(ctx, "tenant-a", campaign.Reservation{}, 1, email.Usage{CostMicroUSD: 70}, "req-1", now); err != nil {
				t.Fatal(err)
			}
			return campaign.MonthSpend{Month: month, SpentMicroUSD: 70}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &losing{op: "TransactWriteItems", next: http.DefaultTransport}
			s := newLedgerStore(t, rt)
			want := tc.write(t, s)
			if got := rt.calls.Load(); got < 2 {
				t.Fatalf("%d calls: the SDK did not retry the lost response", got)
			}
			if got := mustMonth(t, s, "tenant-a", month); got != want {
				t.Errorf("month = %+v, want %+v", got, want)
			}
		})
	}
}

// before runs do once, before the first call of op goes out.
type before struct {
	op   string
	once sync.Once
	do   func()
	next http.RoundTripper
}

func (b *before) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+b.op) {
		b.once.Do(b.do)
	}
	return b.next.RoundTrip(r)
}

// A Reserve that lands between Finish's read and its write changes the
// hold Finish must release: Finish's condition sees it, and Finish reads
// again rather than leave the hold counted forever.
func TestFinishRereadsAHoldTakenMeanwhile(t *testing.T) {
	ctx := context.Background()
	now := storetest.Now()
	month := campaign.MonthOf(now)
	client := testenv.DynamoDB(t)
	table := testenv.CreateTable(t, client)
	direct := dynamo.New(client, table, 0)
	direct.Now = storetest.Now
	c := storetest.NewCampaign("tenant-a", 1)
	storetest.MustCreate(t, direct, c, storetest.NewItems(c))

	rt := &before{op: "TransactWriteItems", next: http.DefaultTransport, do: func() {
		if _, err := direct.Reserve(ctx, c.ID, 0, c.Tenant, campaign.Reservation{Amount: 40, Month: month}, now); err != nil {
			t.Errorf("Reserve: %v", err)
		}
	}}
	s := dynamo.New(dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: rt}
	}), table, 0)
	s.Now = storetest.Now
	r := campaign.Outcome{Subject: "s", Usage: email.Usage{CostMicroUSD: 30}}
	if err := s.Finish(ctx, c.ID, 0, campaign.EmailSucceeded, r, now); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, c); got.ReservedMicroUSD != 0 || got.Usage.CostMicroUSD != 30 {
		t.Errorf("campaign holds %d and cost %d, want 0 and 30", got.ReservedMicroUSD, got.Usage.CostMicroUSD)
	}
	if m := mustMonth(t, s, c.Tenant, month); m != (campaign.MonthSpend{Month: month, SpentMicroUSD: 30}) {
		t.Errorf("month = %+v, want 30 spent, nothing held", m)
	}
}
