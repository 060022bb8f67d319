package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// readTests are the cases of Get, List, Emails and Email.
var readTests = []storeTest{
	{"GetOtherTenantIsNotFound", testGetOtherTenant},
	{"GetUnknownIsNotFound", testGetUnknown},
	{"ListNewestFirstAcrossPages", testList},
	{"ListOfTenantWithoutCampaignsIsEmpty", testListEmpty},
	{"EmailsPageInIndexOrder", testEmailsPaging},
	{"ItemsPagesThousandItems", testEmailsThousand},
	{"EmailsOfUnknownCampaignIsEmpty", testEmailsUnknown},
	{"BadCursorIsErrBadCursor", testBadCursor},
	{"EmailReturnsOneEmail", testEmail},
	{"EmailUnknownIsNotFound", testEmailUnknown},
}

func testGetOtherTenant(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	_, err := s.Get(context.Background(), "tenant-b", c.ID)
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get from another tenant: err = %v, want ErrNotFound", err)
	}
}

func testGetUnknown(t *testing.T, s campaign.Store) {
	_, err := s.Get(context.Background(), "tenant-a", NewID())
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
	}
}

func testList(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	tenant, other := "tenant-"+NewID(), "tenant-"+NewID()
	var want []string // newest first
	for i := range 7 {
		c := NewCampaign(tenant, 1)
		c.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if i == 6 {
			// Two campaigns in the same millisecond still both list.
			c.CreatedAt = base.Add(5 * time.Minute)
		}
		c.UpdatedAt = c.CreatedAt
		MustCreate(t, s, c, NewItems(c))
		want = append([]string{c.ID}, want...)
	}
	// Campaigns 5 and 6 share a time: their order is the store's, but both
	// come before 4.
	for range 2 {
		c := NewCampaign(other, 1)
		MustCreate(t, s, c, NewItems(c))
	}

	var got []campaign.Campaign
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("List never ends")
		}
		list, next, err := s.List(ctx, tenant, campaign.Page{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("List page %d: %v", page, err)
		}
		sizes = append(sizes, len(list))
		got = append(got, list...)
		if next == "" {
			break
		}
		cursor = next
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 1}) {
		t.Errorf("page sizes = %v, want [3 3 1]", sizes)
	}
	gotIDs := ids(got)
	if len(gotIDs) == len(want) && gotIDs[0] == want[1] && gotIDs[1] == want[0] {
		gotIDs[0], gotIDs[1] = gotIDs[1], gotIDs[0]
	}
	if !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("List = %v\nwant   %v", ids(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].CreatedAt.After(got[i-1].CreatedAt) {
			t.Errorf("List not newest first at %d: %v after %v", i, got[i].CreatedAt, got[i-1].CreatedAt)
		}
	}
	for _, c := range got {
		if c.Tenant != tenant {
			t.Errorf("List returned %s of tenant %q", c.ID, c.Tenant)
		}
	}

	list, next, err := s.List(ctx, other, campaign.Page{Limit: 10})
	if err != nil || len(list) != 2 || next != "" {
		t.Errorf("List of the other tenant = %d campaigns, cursor %q, %v; want 2, \"\"", len(list), next, err)
	}
}

func testListEmpty(t *testing.T, s campaign.Store) {
	list, next, err := s.List(context.Background(), "tenant-"+NewID(), campaign.Page{Limit: 10})
	if err != nil || len(list) != 0 || next != "" {
		t.Errorf("List = %d campaigns, cursor %q, %v; want none", len(list), next, err)
	}
}

func testEmailsPaging(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 25)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	got, sizes := AllItems(t, s, c.ID, 10)
	if !reflect.DeepEqual(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes = %v, want [10 10 5]", sizes)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		EqualEmail(t, &got[i], &items[i])
	}
}

func testEmailsThousand(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1000)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	for _, limit := range []int{100, 1000} {
		got, sizes := AllItems(t, s, c.ID, limit)
		if len(got) != len(items) {
			t.Fatalf("limit %d: got %d items, want %d", limit, len(got), len(items))
		}
		if want := 1000 / limit; len(sizes) != want {
			t.Errorf("limit %d: %d pages, want %d", limit, len(sizes), want)
		}
		for i := range items {
			EqualEmail(t, &got[i], &items[i])
		}
	}
}

func testEmailsUnknown(t *testing.T, s campaign.Store) {
	items, next, err := s.Emails(context.Background(), NewID(), campaign.Page{Limit: 10})
	if err != nil || len(items) != 0 || next != "" {
		t.Errorf("Items = %d items, cursor %q, %v; want none", len(items), next, err)
	}
}

func testBadCursor(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 2)
	_, _, err := s.Emails(context.Background(), c.ID, campaign.Page{Limit: 10, Cursor: "not a cursor!"})
	if !errors.Is(err, campaign.ErrBadCursor) {
		t.Errorf("Emails with a bad cursor: err = %v, want ErrBadCursor", err)
	}
	_, _, err = s.List(context.Background(), c.Tenant, campaign.Page{Limit: 10, Cursor: "not a cursor!"})
	if !errors.Is(err, campaign.ErrBadCursor) {
		t.Errorf("List with a bad cursor: err = %v, want ErrBadCursor", err)
	}
}

func testEmail(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 3)
	items := NewItems(c)
	MustCreate(t, s, c, items)
	got, err := s.Email(context.Background(), c.ID, 2)
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	EqualEmail(t, got, &items[2])
}

func testEmailUnknown(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 3)
	mustBeNotFound(t, c, func(id string, index int) error {
		_, err := s.Email(context.Background(), id, index)
		return err
	})
}
