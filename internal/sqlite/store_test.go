package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) campaign.Store {
		s := MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
		s.Now = now
		return s
	})
}

// MustStore opens a Store on a database file at path, closed at the end of
// the test, with the clock of storetest's campaigns.
func MustStore(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s := testprog.MustStore(tb, testprog.MustOpen(tb, path))
	s.Now = storetest.Now
	return s
}

// A database made before CSV campaigns kept their input (no
// campaign_columns, no item_cells) opens: its campaigns read as before, and
// new campaigns keep their input.
func TestStoreOpensDatabaseWithoutInputTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ingren.db")
	db := testprog.MustOpen(t, path)
	old := storetest.NewCampaign("t", 1)
	s := testprog.MustStore(t, db)
	s.Now = storetest.Now
	storetest.MustCreate(t, s, old, storetest.NewItems(old))
	if _, err := db.Exec(`DROP TABLE item_cells; DROP TABLE campaign_columns`); err != nil {
		t.Fatal(err)
	}

	s = MustStore(t, path)
	got, err := s.Get(context.Background(), old.Tenant, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.EqualCampaign(t, got, old)
	c := storetest.NewCampaign("t", 1)
	c.Columns = []string{"First Name"}
	items := storetest.NewItems(c)
	items[0].Cells = []string{"Pat"}
	storetest.MustCreate(t, s, c, items)
	it, err := s.Email(context.Background(), c.ID, 0)
	if err != nil || !slices.Equal(it.Cells, []string{"Pat"}) {
		t.Fatalf("Email = %+v, %v; want the cells kept", it, err)
	}
}
