package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
)

// batchTests are the cases of a batch-mode campaign's records: AddBatch,
// Batch, Batches, UpdateBatch, and the campaign's Mode and Warnings
// (Create, SwitchMode).
var batchTests = []storeTest{
	{"AddBatchThenBatchReturnsAllFields", testAddBatch},
	{"AddBatchOfUsedKeyIsConflict", testAddBatchUsedKey},
	{"AddBatchRaceOfOneKeyHasOneWinner", testAddBatchRace},
	{"AddBatchRefusesBadBatches", testAddBatchBad},
	{"BatchesWithoutCampaignAreNotFound", testBatchNotFound},
	{"BatchesAreOldestFirst", testBatchesOrder},
	{"BatchKeepsTenThousandSparseIndexes", testBatchSparseIndexes},
	{"UpdateBatchWritesEveryFieldButItsOwn", testUpdateBatch},
	{"UpdateBatchOfOtherVersionIsConflict", testUpdateBatchStale},
	{"UpdateBatchRaceOfOneVersionHasOneWinner", testUpdateBatchRace},
	{"CreateKeepsModeAndWarnings", testCreateMode},
	{"CreateWithoutModeIsRealtime", testCreateNoMode},
	{"CreateWithUnknownModeIsRefused", testCreateBadMode},
	{"SwitchModeMovesModeAndAddsWarning", testSwitchMode},
	{"SwitchModeRaceHasOneWinner", testSwitchModeRace},
}

// newBatch returns a batch of key as the worker adds it: preparing, the
// other fields unset.
func newBatch(key string, indexes ...int) *campaign.Batch {
	return &campaign.Batch{Key: key, Attempt: 1, Indexes: indexes, Status: campaign.BatchPreparing}
}

// mustAddBatch adds b to campaign id at now.
func mustAddBatch(tb testing.TB, s campaign.Store, id string, b *campaign.Batch, now time.Time) {
	tb.Helper()
	if err := s.AddBatch(context.Background(), id, b, now); err != nil {
		tb.Fatalf("AddBatch %q: %v", b.Key, err)
	}
}

// mustBatch reads batch key of campaign id.
func mustBatch(tb testing.TB, s campaign.Store, id, key string) *campaign.Batch {
	tb.Helper()
	b, err := s.Batch(context.Background(), id, key)
	if err != nil {
		tb.Fatalf("Batch %q: %v", key, err)
	}
	return b
}

// equalBatch fails the test unless got is want as a store keeps it: times
// to the millisecond, in UTC.
func equalBatch(tb testing.TB, got, want *campaign.Batch) {
	tb.Helper()
	w := *want
	w.CheckedAt, w.CreatedAt, w.UpdatedAt = ms(w.CheckedAt), ms(w.CreatedAt), ms(w.UpdatedAt)
	if !reflect.DeepEqual(*got, w) {
		tb.Errorf("batch %q =\n%+v\nwant\n%+v", want.Key, *got, w)
	}
}

// testAddBatch adds a batch with every field set, and reads it back: the
// store sets Version, CreatedAt and UpdatedAt, in b too.
func testAddBatch(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 10)
	b := &campaign.Batch{
		Key: "1-0", Attempt: 2, Indexes: []int{0, 1, 2, 5, 7, 8, 9}, Status: campaign.BatchInProgress,
		ProviderID: "batch_abc", InputFileID: "file-in", OutputFileID: "file-out", ErrorFileID: "file-err",
		Completed: 3, Failed: 1, Error: "some lines failed", Collected: true,
		CheckedBy: "msg-1", CheckedAt: base.Add(-time.Minute),
	}
	now := base.Add(time.Second)
	mustAddBatch(t, s, c.ID, b, now)
	if b.Version != 1 || !b.CreatedAt.Equal(ms(now)) || !b.UpdatedAt.Equal(ms(now)) {
		t.Errorf("after AddBatch: Version %d, CreatedAt %v, UpdatedAt %v; want 1 and %v", b.Version, b.CreatedAt, b.UpdatedAt, ms(now))
	}
	equalBatch(t, mustBatch(t, s, c.ID, b.Key), b)
	list, err := s.Batches(context.Background(), c.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("Batches = %+v, %v; want the one batch", list, err)
	}
	equalBatch(t, &list[0], b)
	// A preparing batch, as the worker adds it, has its zero fields back.
	p := newBatch("2-0", 3, 4)
	mustAddBatch(t, s, c.ID, p, now)
	equalBatch(t, mustBatch(t, s, c.ID, p.Key), p)
}

func testAddBatchUsedKey(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 4)
	first := newBatch("k", 0, 1)
	mustAddBatch(t, s, c.ID, first, base)
	again := newBatch("k", 2, 3)
	again.Status = campaign.BatchFailed
	if err := s.AddBatch(context.Background(), c.ID, again, base.Add(time.Second)); !errors.Is(err, campaign.ErrConflict) {
		t.Fatalf("AddBatch of a used key: %v, want ErrConflict", err)
	}
	equalBatch(t, mustBatch(t, s, c.ID, "k"), first)
	// Another campaign may use the key.
	other := mustCreateNew(t, s, 2)
	mustAddBatch(t, s, other.ID, newBatch("k", 0), base)
}

func testAddBatchRace(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 8)
	mustHaveOneWinner(t, "AddBatch", 8, campaign.ErrConflict, func(g int) error {
		return s.AddBatch(context.Background(), c.ID, newBatch("k", g), base)
	})
	list, err := s.Batches(context.Background(), c.ID)
	if err != nil || len(list) != 1 || len(list[0].Indexes) != 1 {
		t.Errorf("Batches = %+v, %v; want one batch of one index", list, err)
	}
}

// testAddBatchBad checks that a batch that cannot be one is refused with
// an error, not ErrConflict nor ErrNotFound, and nothing is stored.
func testAddBatchBad(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 4)
	for _, tc := range []struct {
		name string
		b    *campaign.Batch
	}{
		{"NoKey", newBatch("", 0)},
		{"AttemptZero", &campaign.Batch{Key: "k", Indexes: []int{0}, Status: campaign.BatchPreparing}},
		{"NoIndexes", newBatch("k")},
		{"IndexesDescending", newBatch("k", 2, 1)},
		{"IndexRepeated", newBatch("k", 1, 1)},
		{"IndexNegative", newBatch("k", -1, 0)},
		{"NoStatus", &campaign.Batch{Key: "k", Attempt: 1, Indexes: []int{0}}},
		{"NegativeCount", &campaign.Batch{Key: "k", Attempt: 1, Indexes: []int{0}, Status: campaign.BatchPreparing, Failed: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.AddBatch(context.Background(), c.ID, tc.b, base)
			if err == nil || errors.Is(err, campaign.ErrConflict) || errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("AddBatch: %v, want an error that says what is wrong", err)
			}
		})
	}
	if list, err := s.Batches(context.Background(), c.ID); err != nil || len(list) != 0 {
		t.Errorf("Batches = %+v, %v; want none stored", list, err)
	}
}

func testBatchNotFound(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 2)
	mustAddBatch(t, s, c.ID, newBatch("k", 0), base)
	unknown := NewID()
	for name, op := range map[string]func() error{
		"AddBatchOfUnknownCampaign": func() error { return s.AddBatch(ctx, unknown, newBatch("k", 0), base) },
		"BatchOfUnknownCampaign":    func() error { _, err := s.Batch(ctx, unknown, "k"); return err },
		"BatchOfUnknownKey":         func() error { _, err := s.Batch(ctx, c.ID, "other"); return err },
		"UpdateBatchOfUnknownKey": func() error {
			b := newBatch("other", 0)
			b.Version = 1
			return s.UpdateBatch(ctx, c.ID, b, base)
		},
		"UpdateBatchOfUnknownCampaign": func() error {
			b := newBatch("k", 0)
			b.Version = 1
			return s.UpdateBatch(ctx, unknown, b, base)
		},
		"SwitchModeOfUnknownCampaign": func() error {
			return s.SwitchMode(ctx, unknown, campaign.ModeBatch, campaign.ModeRealtime, "w", base)
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	list, err := s.Batches(ctx, unknown)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Batches of an unknown campaign = %#v, %v; want an empty slice", list, err)
	}
	other := mustCreateNew(t, s, 1)
	list, err = s.Batches(ctx, other.ID)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Batches of a campaign without any = %#v, %v; want an empty slice", list, err)
	}
}

func testBatchesOrder(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 10)
	for _, a := range []struct {
		key string
		at  time.Duration
	}{{"b", time.Second}, {"a", 2 * time.Second}, {"c", time.Second}, {"0", 3 * time.Second}} {
		mustAddBatch(t, s, c.ID, newBatch(a.key, 0), base.Add(a.at))
	}
	list, err := s.Batches(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("Batches: %v", err)
	}
	var keys []string
	for _, b := range list {
		keys = append(keys, b.Key)
	}
	if want := []string{"b", "c", "a", "0"}; !slices.Equal(keys, want) {
		t.Errorf("Batches in order %v, want %v (by CreatedAt, then Key)", keys, want)
	}
}

// testBatchSparseIndexes stores the largest batch a campaign of the
// default size can have, in the form that takes the most room: 10,000
// indexes none of which follows another, six digits each.
func testBatchSparseIndexes(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 1)
	indexes := make([]int, 10_000)
	for i := range indexes {
		indexes[i] = 100_000 + 3*i
	}
	// And runs, which FormatIndexes writes as ranges.
	indexes = append(indexes, 200_000, 200_001, 200_002, 300_000, 300_001)
	b := newBatch("sparse", indexes...)
	mustAddBatch(t, s, c.ID, b, base)
	got := mustBatch(t, s, c.ID, b.Key)
	if !slices.Equal(got.Indexes, indexes) {
		t.Errorf("Batch has %d indexes, not the %d stored", len(got.Indexes), len(indexes))
	}
}

// testUpdateBatch writes every field UpdateBatch writes, and changes the
// ones it leaves, which keep their stored values.
func testUpdateBatch(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 10)
	b := newBatch("k", 1, 2, 3)
	added := base.Add(time.Second)
	mustAddBatch(t, s, c.ID, b, added)
	want := *b

	u := *b
	u.Attempt, u.Indexes, u.CreatedAt = 9, []int{7}, base.Add(time.Hour) // not written
	u.Status, u.ProviderID, u.InputFileID = campaign.BatchCompleted, "batch_1", "file-in"
	u.OutputFileID, u.ErrorFileID, u.Completed, u.Failed = "file-out", "file-err", 2, 1
	u.Error, u.Collected, u.CheckedBy, u.CheckedAt = "line 3 failed", true, "msg-2", base.Add(1500*time.Microsecond)
	now := base.Add(time.Minute)
	if err := s.UpdateBatch(context.Background(), c.ID, &u, now); err != nil {
		t.Fatalf("UpdateBatch: %v", err)
	}
	if u.Version != 2 || !u.UpdatedAt.Equal(ms(now)) {
		t.Errorf("after UpdateBatch: Version %d, UpdatedAt %v; want 2, %v", u.Version, u.UpdatedAt, ms(now))
	}
	want.Status, want.ProviderID, want.InputFileID = u.Status, u.ProviderID, u.InputFileID
	want.OutputFileID, want.ErrorFileID, want.Completed, want.Failed = u.OutputFileID, u.ErrorFileID, u.Completed, u.Failed
	want.Error, want.Collected, want.CheckedBy, want.CheckedAt = u.Error, u.Collected, u.CheckedBy, u.CheckedAt
	want.Version, want.UpdatedAt = 2, now
	equalBatch(t, mustBatch(t, s, c.ID, "k"), &want)

	// Cleared again: a field may go back to its zero value.
	z := *mustBatch(t, s, c.ID, "k")
	z.ProviderID, z.Error, z.Collected, z.CheckedBy, z.CheckedAt, z.Completed = "", "", false, "", time.Time{}, 0
	if err := s.UpdateBatch(context.Background(), c.ID, &z, now); err != nil {
		t.Fatalf("UpdateBatch clearing fields: %v", err)
	}
	want.ProviderID, want.Error, want.Collected, want.CheckedBy, want.CheckedAt, want.Completed = "", "", false, "", time.Time{}, 0
	want.Version = 3
	equalBatch(t, mustBatch(t, s, c.ID, "k"), &want)
}

func testUpdateBatchStale(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := mustCreateNew(t, s, 2)
	b := newBatch("k", 0, 1)
	mustAddBatch(t, s, c.ID, b, base)
	for _, version := range []int{0, 2} {
		stale := *b
		stale.Version, stale.Status = version, campaign.BatchFailed
		if err := s.UpdateBatch(ctx, c.ID, &stale, base.Add(time.Second)); !errors.Is(err, campaign.ErrConflict) {
			t.Errorf("UpdateBatch at version %d: %v, want ErrConflict", version, err)
		}
		if stale.Version != version {
			t.Errorf("a refused UpdateBatch changed b.Version to %d", stale.Version)
		}
	}
	equalBatch(t, mustBatch(t, s, c.ID, "k"), b)
	bad := *b
	bad.Status = ""
	if err := s.UpdateBatch(ctx, c.ID, &bad, base); err == nil || errors.Is(err, campaign.ErrConflict) {
		t.Errorf("UpdateBatch without a status: %v, want an error that says so", err)
	}
	equalBatch(t, mustBatch(t, s, c.ID, "k"), b)
}

func testUpdateBatchRace(t *testing.T, s campaign.Store) {
	c := mustCreateNew(t, s, 2)
	b := newBatch("k", 0, 1)
	mustAddBatch(t, s, c.ID, b, base)
	mustHaveOneWinner(t, "UpdateBatch", 8, campaign.ErrConflict, func(g int) error {
		u := *b
		u.CheckedBy = fmt.Sprintf("msg-%d", g)
		return s.UpdateBatch(context.Background(), c.ID, &u, base.Add(time.Second))
	})
	if got := mustBatch(t, s, c.ID, "k"); got.Version != 2 || got.CheckedBy == "" {
		t.Errorf("after the race: %+v, want version 2, checked by the winner", got)
	}
}

func testCreateMode(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-"+NewID(), 2)
	c.Mode, c.Warnings = campaign.ModeBatch, []string{"first", "second, with \"quotes\""}
	created := MustCreate(t, s, c, NewItems(c))
	EqualCampaign(t, created, c)
	EqualCampaign(t, mustGet(t, s, c), c)
	list, _, err := s.List(ctx, c.Tenant, campaign.Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want the campaign", ids(list), err)
	}
	EqualCampaign(t, &list[0], c)
}

func testCreateNoMode(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	c.Mode, c.Warnings = "", []string{}
	created := MustCreate(t, s, c, NewItems(c))
	want := *c
	want.Mode, want.Warnings = campaign.ModeRealtime, nil
	EqualCampaign(t, created, &want)
	EqualCampaign(t, mustGet(t, s, c), &want)
}

func testCreateBadMode(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	c.Mode = "fast"
	if _, err := s.Create(context.Background(), c, NewItems(c)); err == nil {
		t.Fatal("Create of mode \"fast\" succeeded")
	}
	if _, err := s.Get(context.Background(), c.Tenant, c.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Get after a refused Create: %v, want ErrNotFound", err)
	}
}

func testSwitchMode(t *testing.T, s campaign.Store) {
	ctx := context.Background()
	c := NewCampaign("tenant-a", 2)
	c.Mode = campaign.ModeBatch
	MustCreate(t, s, c, NewItems(c))
	want := *c
	for i, step := range []struct {
		from, to campaign.Mode
		warning  string
		err      error
	}{
		{campaign.ModeBatch, campaign.ModeRealtime, "no Batch API: realtime", nil},
		{campaign.ModeBatch, campaign.ModeRealtime, "again", campaign.ErrConflict},
		{campaign.ModeRealtime, campaign.ModeBatch, "", nil},
		{campaign.ModeBatch, campaign.ModeRealtime, "second", nil},
	} {
		now := base.Add(time.Duration(i+1) * time.Second)
		err := s.SwitchMode(ctx, c.ID, step.from, step.to, step.warning, now)
		if !errors.Is(err, step.err) || (err == nil) != (step.err == nil) {
			t.Fatalf("step %d, SwitchMode from %s to %s: %v, want %v", i, step.from, step.to, err, step.err)
		}
		if err == nil {
			want.Mode, want.UpdatedAt = step.to, now
			if step.warning != "" {
				want.Warnings = append(want.Warnings, step.warning)
			}
		}
		EqualCampaign(t, mustGet(t, s, c), &want)
	}
	if !slices.Equal(want.Warnings, []string{"no Batch API: realtime", "second"}) {
		t.Errorf("test: warnings %q", want.Warnings)
	}
	if err := s.SwitchMode(ctx, c.ID, campaign.ModeRealtime, "slow", "", base); err == nil || errors.Is(err, campaign.ErrConflict) {
		t.Errorf("SwitchMode to mode \"slow\": %v, want an error that says so", err)
	}
	// A campaign created without a mode is realtime.
	r := NewCampaign("tenant-a", 1)
	r.Mode = ""
	MustCreate(t, s, r, NewItems(r))
	if err := s.SwitchMode(ctx, r.ID, campaign.ModeRealtime, campaign.ModeBatch, "", base); err != nil {
		t.Errorf("SwitchMode of a campaign created without a mode: %v", err)
	}
}

func testSwitchModeRace(t *testing.T, s campaign.Store) {
	c := NewCampaign("tenant-a", 1)
	c.Mode = campaign.ModeBatch
	MustCreate(t, s, c, NewItems(c))
	mustHaveOneWinner(t, "SwitchMode", 8, campaign.ErrConflict, func(g int) error {
		return s.SwitchMode(context.Background(), c.ID, campaign.ModeBatch, campaign.ModeRealtime, fmt.Sprintf("w%d", g), base)
	})
	if got := mustGet(t, s, c); got.Mode != campaign.ModeRealtime || len(got.Warnings) != 1 {
		t.Errorf("after the race: mode %s, warnings %q; want realtime and the winner's one", got.Mode, got.Warnings)
	}
}
