package storetest

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// createTests are the cases of Create.
var createTests = []storeTest{
	{"CreateThenGetReturnsAllFields", testCreateGet},
	{"CreateReturnsWhatGetReturns", testCreateReturnsStored},
	{"CreateWithUsedIdempotencyKeyReturnsExisting", testIdempotencyKey},
	{"IdempotencyKeyIsPerTenant", testIdempotencyKeyPerTenant},
	{"CreateWithUsedIDIsConflict", testCreateUsedID},
	{"CreateWithWrongEmailsIsRejected", testCreateWrongItems},
	{"CreateTenThousandEmails", testCreateTenThousand},
	{"CreateKeepsCSVInput", testCreateCSVInput},
	{"CreateKeepsMaxCostAndStartsWithNoSkippedOrHeld", testCreateMaxCost},
}

// testCreateMaxCost round-trips a campaign's cost cap through Create, Get
// and List, and checks that a new campaign has skipped nothing and holds
// nothing, with a cap or without.
func testCreateMaxCost(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	tenant := "tenant-" + NewID()
	capped := NewCampaign(tenant, 2)
	capped.MaxCostMicroUSD = 12_345_678
	uncapped := NewCampaign(tenant, 1)
	uncapped.CreatedAt = capped.CreatedAt.Add(time.Second) // lists first
	for _, c := range []*campaign.Campaign{capped, uncapped} {
		EqualCampaign(t, MustCreate(t, s, c, NewItems(c)), c)
		got := mustGet(t, s, c)
		EqualCampaign(t, got, c)
		if got.MaxCostMicroUSD != c.MaxCostMicroUSD || got.Skipped != 0 || got.ReservedMicroUSD != 0 {
			t.Errorf("new campaign: MaxCostMicroUSD %d, Skipped %d, ReservedMicroUSD %d; want %d, 0, 0",
				got.MaxCostMicroUSD, got.Skipped, got.ReservedMicroUSD, c.MaxCostMicroUSD)
		}
	}
	list, _, err := s.List(ctx, tenant, campaign.Page{Limit: 10})
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %d campaigns, %v; want 2", len(list), err)
	}
	EqualCampaign(t, &list[0], uncapped)
	EqualCampaign(t, &list[1], capped)
}

// testCreateCSVInput round-trips a CSV campaign's header and rows as the
// file had them: order, empty and repeated names, empty cells, quotes,
// newlines and non-ASCII text.
func testCreateCSVInput(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 3)
	c.Columns = []string{"First Name", "Título", "", "First Name", `Notes, "quoted"`}
	items := NewItems(c)
	for i := range items {
		items[i].Cells = []string{"Pat", "Directora de Ventas", "", strconv.Itoa(i), "line 1\r\nline 2, \"x\""}
	}
	items[2].Cells = []string{"", "", "", "", ""}
	MustCreate(t, s, c, items)

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)
	all, _ := AllItems(t, s, c.ID, 2)
	if len(all) != len(items) {
		t.Fatalf("Emails returned %d emails, want %d", len(all), len(items))
	}
	for i := range items {
		EqualEmail(t, &all[i], &items[i])
		one, err := s.Email(ctx, c.ID, i)
		if err != nil {
			t.Fatalf("Email %d: %v", i, err)
		}
		EqualEmail(t, one, &items[i])
	}
}

func testCreateGet(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 3)
	c.Name = "Q3 outbound"
	c.WebhookURL = "https://example.com/hook"
	c.IdempotencyKey = "key-" + NewID()
	c.RequestHash = "sha256:abc"
	c.Status = campaign.StatusRunning
	c.ExpiresAt = c.CreatedAt.Add(30 * 24 * time.Hour)
	items := NewItems(c)
	MustCreate(t, s, c, items)

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, c)

	for _, want := range items {
		got, err := s.Email(ctx, c.ID, want.Index)
		if err != nil {
			t.Fatalf("Item %d: %v", want.Index, err)
		}
		EqualEmail(t, got, &want)
	}
	// The extra fields are the ones a schema change would lose.
	it, err := s.Email(ctx, c.ID, 1)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if string(it.Request.Prospect.Extra["favourite_tool"]) != `"Figma"` ||
		string(it.Request.Company.Extra["offices"]) != `{"hq":"Lisbon","count":[1,2]}` {
		t.Errorf("extra fields lost: prospect %v, company %v", it.Request.Prospect.Extra, it.Request.Company.Extra)
	}
}

func testCreateReturnsStored(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 2)
	c.ExpiresAt = time.Time{} // the store's choice
	created := MustCreate(t, s, c, NewItems(c))
	got, err := s.Get(context.Background(), c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(normal(*got), normal(*created)) {
		t.Errorf("Get = %+v\nCreate returned %+v", *got, *created)
	}
}

func testIdempotencyKey(t *testing.T, s campaign.Store) {
	for _, tc := range []struct {
		name string
		hash string
	}{
		{"SameRequestHash", "sha256:first"},
		{"OtherRequestHash", "sha256:second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tenant := "tenant-" + NewID()
			first := NewCampaign(tenant, 3)
			first.IdempotencyKey = "key-1"
			first.RequestHash = "sha256:first"
			MustCreate(t, s, first, NewItems(first))

			again := NewCampaign(tenant, 5)
			again.IdempotencyKey = "key-1"
			again.RequestHash = tc.hash
			again.CreatedAt = first.CreatedAt.Add(time.Second)
			got, err := s.Create(ctx, again, NewItems(again))
			if !errors.Is(err, campaign.ErrConflict) {
				t.Fatalf("Create with used key: err = %v, want ErrConflict", err)
			}
			if got == nil {
				t.Fatal("Create with used key returned no campaign")
			}
			EqualCampaign(t, got, first)

			if _, err := s.Get(ctx, tenant, again.ID); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Get of the refused campaign: err = %v, want ErrNotFound", err)
			}
			if items, _, err := s.Emails(ctx, again.ID, campaign.Page{Limit: 10}); err != nil || len(items) != 0 {
				t.Errorf("Items of the refused campaign = %d items, %v; want none", len(items), err)
			}
			list, _, err := s.List(ctx, tenant, campaign.Page{Limit: 10})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(list) != 1 || list[0].ID != first.ID {
				t.Errorf("List = %v, want only %s", ids(list), first.ID)
			}
		})
	}
}

func testIdempotencyKeyPerTenant(t *testing.T, s campaign.Store) {
	key := "key-" + NewID()
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		c := NewCampaign(tenant, 1)
		c.IdempotencyKey = key
		MustCreate(t, s, c, NewItems(c))
	}
}

func testCreateUsedID(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	first := NewCampaign("tenant-a", 2)
	MustCreate(t, s, first, NewItems(first))

	again := NewCampaign("tenant-a", 3)
	again.ID = first.ID
	items := NewItems(again)
	for i := range items {
		items[i].Ref = "overwritten"
	}
	if _, err := s.Create(ctx, again, items); !errors.Is(err, campaign.ErrConflict) {
		t.Fatalf("Create with a used id: err = %v, want ErrConflict", err)
	}
	got, err := s.Get(ctx, first.Tenant, first.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	EqualCampaign(t, got, first)
	it, err := s.Email(ctx, first.ID, 0)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if it.Ref == "overwritten" {
		t.Error("Create with a used id overwrote the existing items")
	}
}

func testCreateWrongItems(t *testing.T, s campaign.Store) {
	for _, tc := range []struct {
		name  string
		items func(c *campaign.Campaign) []campaign.Email
	}{
		{"TooFew", func(c *campaign.Campaign) []campaign.Email { return NewItems(c)[1:] }},
		{"IndexOutOfOrder", func(c *campaign.Campaign) []campaign.Email {
			items := NewItems(c)
			items[0].Index, items[1].Index = 1, 0
			return items
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCampaign("tenant-a", 3)
			if _, err := s.Create(context.Background(), c, tc.items(c)); err == nil {
				t.Fatal("Create succeeded")
			}
			if _, err := s.Get(context.Background(), c.Tenant, c.ID); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("Get after a refused Create: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func testCreateTenThousand(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	const total = 10_000
	c := NewCampaign("tenant-a", total)
	items := NewItems(c)
	start := time.Now()
	if _, err := s.Create(ctx, c, items); err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Logf("created a campaign of %d items in %v", total, time.Since(start))

	got, err := s.Get(ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Total != total {
		t.Errorf("Total = %d, want %d", got.Total, total)
	}
	all, _ := AllItems(t, s, c.ID, 1000)
	if len(all) != total {
		t.Fatalf("Items = %d, want %d", len(all), total)
	}
	EqualEmail(t, &all[total-1], &items[total-1])
}
