package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/email"
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

// A database made before review and retry (no columns of columns.sql)
// opens, from two processes at once: the columns are added once, a
// finished email counts as written once (Version 1), and review works.
func TestStoreOpensDatabaseWithoutReviewColumns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ingren.db")
	s := MustStore(t, path)
	old := storetest.NewCampaign("t", 2)
	storetest.MustCreate(t, s, old, storetest.NewItems(old))
	if err := s.Finish(ctx, old.ID, 0, campaign.EmailSucceeded, campaign.Outcome{Subject: "s"}, storetest.Now()); err != nil {
		t.Fatal(err)
	}
	db := testprog.MustOpen(t, path)
	for _, col := range []string{
		"campaigns DROP COLUMN approved", "campaigns DROP COLUMN rejected", "campaigns DROP COLUMN round",
		"campaigns DROP COLUMN retrying", "campaign_items DROP COLUMN version", "campaign_items DROP COLUMN round",
		"campaign_items DROP COLUMN edit", "campaign_items DROP COLUMN review", "campaign_items DROP COLUMN note",
		"campaign_items DROP COLUMN reviewed_at",
	} {
		if _, err := db.Exec(`ALTER TABLE ` + col); err != nil {
			t.Fatalf("%s: %v", col, err)
		}
	}

	stores := make([]*sqlite.Store, 2)
	var wg sync.WaitGroup
	for i := range stores {
		other := testprog.MustOpen(t, path)
		wg.Go(func() {
			st, err := sqlite.NewStore(other)
			if err != nil {
				t.Errorf("NewStore %d: %v", i, err)
				return
			}
			st.Now = storetest.Now
			stores[i] = st
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	s = stores[1]
	got, err := s.Get(ctx, old.Tenant, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *old
	want.Succeeded, want.UpdatedAt = 1, storetest.Now()
	storetest.EqualCampaign(t, got, &want)
	for i, version := range []int{1, 0} {
		if e, err := s.Email(ctx, old.ID, i); err != nil || e.Version != version {
			t.Fatalf("Email %d = %+v, %v; want version %d", i, e, err, version)
		}
	}
	approved := campaign.ReviewApproved
	if _, err := s.Revise(ctx, old.ID, 0, 1, campaign.Revision{Review: &approved}, storetest.Now()); err != nil {
		t.Fatalf("Revise: %v", err)
	}
	// Opened again, nothing is added twice nor filled again.
	s = MustStore(t, path)
	if e, err := s.Email(ctx, old.ID, 0); err != nil || e.Version != 2 || e.Review != approved {
		t.Fatalf("Email after reopening = %+v, %v; want version 2, approved", e, err)
	}
}

// ReleaseLeases, at the local program's start, ends the leases of the
// worker and the holds of regenerate that a previous run left.
func TestReleaseLeasesEndsLeasesAndHolds(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t, filepath.Join(t.TempDir(), "ingren.db"))
	now := storetest.Now()
	c := storetest.NewCampaign("t", 2)
	storetest.MustCreate(t, s, c, storetest.NewItems(c))
	if err := s.Finish(ctx, c.ID, 1, campaign.EmailSucceeded, campaign.Outcome{Subject: "s"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, c.ID, 0, "dead worker", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold(ctx, c.ID, 1, 1, "dead request", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.ReleaseLeases(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ReleaseLeases = %d, %v; want 2", n, err)
	}
	if err := s.Claim(ctx, c.ID, 0, "worker", now, now.Add(time.Minute)); err != nil {
		t.Errorf("Claim after ReleaseLeases: %v", err)
	}
	if err := s.Hold(ctx, c.ID, 1, 1, "request", now, now.Add(time.Minute)); err != nil {
		t.Errorf("Hold after ReleaseLeases: %v", err)
	}
}

// A database made before batch mode (no mode, warnings or batch token
// columns, no campaign_batches) opens: its campaigns read as realtime,
// without warnings or batch usage, and batch mode works on them.
func TestStoreOpensDatabaseWithoutBatchColumns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ingren.db")
	s := MustStore(t, path)
	old := storetest.NewCampaign("t", 2)
	old.Mode, old.Warnings = campaign.ModeBatch, []string{"dropped with its column"}
	storetest.MustCreate(t, s, old, storetest.NewItems(old))
	r := campaign.Outcome{Subject: "s", Usage: email.Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10}}
	if err := s.Finish(ctx, old.ID, 0, campaign.EmailSucceeded, r, storetest.Now()); err != nil {
		t.Fatal(err)
	}
	db := testprog.MustOpen(t, path)
	for _, stmt := range []string{
		"ALTER TABLE campaigns DROP COLUMN mode", "ALTER TABLE campaigns DROP COLUMN warnings",
		"ALTER TABLE campaigns DROP COLUMN batch_prompt_tokens", "ALTER TABLE campaigns DROP COLUMN batch_completion_tokens",
		"ALTER TABLE campaigns DROP COLUMN cost_micro_usd", "ALTER TABLE campaigns DROP COLUMN unpriced",
		"ALTER TABLE campaigns DROP COLUMN cached_prompt_tokens",
		"DROP TABLE campaign_batches",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	s = MustStore(t, path)
	got, err := s.Get(ctx, old.Tenant, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *old
	want.Mode, want.Warnings = campaign.ModeRealtime, nil
	want.Succeeded, want.Usage, want.UpdatedAt = 1, r.Usage, storetest.Now()
	storetest.EqualCampaign(t, got, &want)
	if err := s.SwitchMode(ctx, old.ID, campaign.ModeRealtime, campaign.ModeBatch, "", storetest.Now()); err != nil {
		t.Fatalf("SwitchMode: %v", err)
	}
	if err := s.AddBatch(ctx, old.ID, &campaign.Batch{Key: "k", Attempt: 1, Indexes: []int{1}, Status: campaign.BatchPreparing}, storetest.Now()); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	batched := campaign.Outcome{Subject: "s", Usage: email.Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10}.AsBatch()}
	if err := s.Finish(ctx, old.ID, 1, campaign.EmailSucceeded, batched, storetest.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, old.Tenant, old.ID); err != nil || got.Usage != r.Usage.Add(batched.Usage) || got.Mode != campaign.ModeBatch {
		t.Errorf("Get = %+v, %v; want batch mode and usage %+v", got, err, r.Usage.Add(batched.Usage))
	}
}
