package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/api/contract"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/app"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/campaign/storetest"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/testprog"
)

// localConfig is the offline local program's configuration on dataDir, as
// FromEnv makes it, with env on top.
func localConfig(t *testing.T, dataDir string, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) string {
		if k == "DATA_DIR" {
			return dataDir
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newLocal builds the local program on cfg, closed at the end of the test.
func newLocal(t *testing.T, cfg config.Config, keys []string, log *slog.Logger) *app.Local {
	t.Helper()
	l, err := app.NewLocal(cfg, keys, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// openStore opens a second handle on the local program's database in
// dataDir, as a program of an earlier version or an operator would.
func openStore(t *testing.T, dataDir string) (*sqlite.Store, func(query string, args ...any) int) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(dataDir, "ingren.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlite.NewStore(db)
	if err != nil {
		t.Fatal(err)
	}
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return s, count
}

func mustMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

// TestDataDirIsOwnerOnly: DATA_DIR, new or found open to others, ends up
// 0700 (with a warning for the latter), and the database and secret files
// in it 0600.
func TestDataDirIsOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	for _, tc := range []struct {
		name string
		mode os.FileMode // of an existing directory; 0 for none
		warn bool
	}{
		{"New", 0, false},
		{"ExistingOpenToAll", 0o755, true},
		{"ExistingOpenToGroup", 0o750, true},
		{"ExistingOwnerOnly", 0o700, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tc.mode != 0 {
				if err := os.Mkdir(dir, tc.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tc.mode); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			newLocal(t, localConfig(t, dir, nil), []string{testKey}, slog.New(slog.NewJSONHandler(&logs, nil)))
			mustMode(t, dir, 0o700)
			for _, f := range []string{"ingren.db", "ingren.db-wal", "ingren.db-shm", "tenant_secret"} {
				mustMode(t, filepath.Join(dir, f), 0o600)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN"`) && strings.Contains(logs.String(), "DATA_DIR")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tc.warn, logs.String())
			}
		})
	}
}

// keepGC restores the garbage collector's settings, which Serve tunes for
// the program, when the test ends.
func keepGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(percent)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

var (
	printedKey = regexp.MustCompile(`x-api-key: (\S+)`)
	printedURL = regexp.MustCompile(`listening on (http://\S+)`)
)

// serve runs Serve on cfg until the test calls the returned stop, and
// returns what it printed once it listens: its key and base URL.
func serve(t *testing.T, cfg config.Config) (out, key, base string, stop func()) {
	t.Helper()
	keepGC(t)
	var buf testprog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, &buf, slog.New(slog.DiscardHandler)) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out = buf.String()
		k, u := printedKey.FindStringSubmatch(out), printedURL.FindStringSubmatch(out)
		if k != nil && u != nil {
			return out, k[1], u[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("Serve ended: %v; printed:\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Serve printed no key and address in 30 s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeKeepsItsKey: with no API_KEYS, a restart on the same DATA_DIR
// accepts the key the first start made, and says where it is kept, so the
// first start's campaigns are still there.
func TestServeKeepsItsKey(t *testing.T) {
	dir := t.TempDir()
	cfg := localConfig(t, dir, map[string]string{"PORT": "0"})
	out, key, base, stop := serve(t, cfg)
	keyPath := filepath.Join(dir, "api_key")
	if !strings.Contains(out, keyPath) {
		t.Errorf("the first start does not say where the key is kept (%s):\n%s", keyPath, out)
	}
	if runtime.GOOS != "windows" {
		mustMode(t, keyPath, 0o600)
	}
	status, _, body := testprog.Do(t, "POST", base+"/api/v1/campaigns", key, map[string]any{"prospects": testprog.Prospects(1)})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := testprog.MustDecode[testprog.Campaign](t, body).CampaignID
	stop()

	out, again, base, _ := serve(t, cfg)
	if again != key {
		t.Fatalf("the restart accepts %q, want the first start's %q", again, key)
	}
	if !strings.Contains(out, keyPath) {
		t.Errorf("the restart does not say where the key is kept (%s):\n%s", keyPath, out)
	}
	if status, _, body := testprog.Do(t, "GET", base+"/api/v1/campaigns/"+id, key, nil); status != http.StatusOK {
		t.Errorf("the first start's campaign after the restart: %d %s", status, body)
	}
}

// TestServeAPIKeysWin: API_KEYS, when set, is the only key, even with a
// key kept in DATA_DIR.
func TestServeAPIKeysWin(t *testing.T) {
	dir := t.TempDir()
	_, kept, _, stop := serve(t, localConfig(t, dir, map[string]string{"PORT": "0"}))
	stop()
	keepGC(t)
	var buf testprog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := localConfig(t, dir, map[string]string{"PORT": "0", "API_KEYS": testKey})
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, &buf, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(30 * time.Second)
	var base []string
	for base == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		base = printedURL.FindStringSubmatch(buf.String())
	}
	if base == nil {
		t.Fatalf("Serve did not listen:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), kept) {
		t.Errorf("printed the kept key although API_KEYS is set:\n%s", buf.String())
	}
	if status, _, _ := testprog.Do(t, "GET", base[1]+"/api/v1/campaigns", kept, nil); status != http.StatusUnauthorized {
		t.Errorf("the kept key: %d, want 401", status)
	}
	if status, _, _ := testprog.Do(t, "GET", base[1]+"/api/v1/campaigns", testKey, nil); status != http.StatusOK {
		t.Errorf("API_KEYS' key: %d, want 200", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestTenantIDIsKeyed: the tenant id in the request log is a keyed hash of
// the key, not its bare SHA-256 prefix, which a log reader could test
// guessed keys against; it holds across restarts and changes with
// TENANT_SECRET.
func TestTenantIDIsKeyed(t *testing.T) {
	dir := t.TempDir()
	tenantOf := func(cfg config.Config) string {
		t.Helper()
		var logs testprog.Buffer
		l := newLocal(t, cfg, []string{testKey}, slog.New(slog.NewJSONHandler(&logs, nil)))
		req, _ := http.NewRequest("GET", "/api/v1/campaigns", nil)
		req.Header.Set("x-api-key", testKey)
		rec := httptest.NewRecorder()
		contract.Handler(t, l.Handler).ServeHTTP(rec, req)
		l.Close()
		m := regexp.MustCompile(`"tenant":"([^"]+)"`).FindStringSubmatch(logs.String())
		if rec.Code != http.StatusOK || m == nil {
			t.Fatalf("GET: %d, no tenant in the log:\n%s", rec.Code, logs.String())
		}
		return m[1]
	}
	first := tenantOf(localConfig(t, dir, nil))
	if first == apikey.LegacyTenant(testKey) {
		t.Fatalf("the log names tenant %s, the key's unkeyed hash", first)
	}
	if again := tenantOf(localConfig(t, dir, nil)); again != first {
		t.Errorf("after a restart the tenant is %s, want %s", again, first)
	}
	secret := strings.Repeat("0123456789abcdef", 2)
	withSecret := tenantOf(localConfig(t, dir, map[string]string{"TENANT_SECRET": secret}))
	if withSecret == first {
		t.Errorf("TENANT_SECRET did not change the tenant %s", first)
	}
	if again := tenantOf(localConfig(t, t.TempDir(), map[string]string{"TENANT_SECRET": secret})); again != withSecret {
		t.Errorf("one TENANT_SECRET gave tenants %s and %s", withSecret, again)
	}
}

// TestTenantMigration: campaigns an earlier version stored under a key's
// unkeyed tenant id are the key's after the upgrade, idempotency key
// included.
func TestTenantMigration(t *testing.T) {
	dir := t.TempDir()
	cfg := localConfig(t, dir, nil)
	newLocal(t, cfg, nil, slog.New(slog.DiscardHandler)).Close() // makes the database
	old, _ := openStore(t, dir)
	now := time.Now()
	c := storetest.NewCampaign(apikey.LegacyTenant(testKey), 1)
	c.ID = campaign.NewID(now)
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = now, now, now.Add(time.Hour)
	c.IdempotencyKey, c.RequestHash = "upgrade-1", "not the hash of any body"
	storetest.MustCreate(t, old, c, storetest.NewItems(c))
	other := storetest.NewCampaign(apikey.LegacyTenant(testKey+"-not-configured"), 1)
	other.ExpiresAt = now.Add(time.Hour)
	storetest.MustCreate(t, old, other, storetest.NewItems(other))

	var logs testprog.Buffer
	l := newLocal(t, cfg, []string{testKey}, slog.New(slog.NewJSONHandler(&logs, nil)))
	ts := httptest.NewServer(contract.Handler(t, l.Handler))
	t.Cleanup(ts.Close)
	srv := ts.URL
	if status, _, body := testprog.Do(t, "GET", srv+"/api/v1/campaigns/"+c.ID, testKey, nil); status != http.StatusOK {
		t.Fatalf("the old campaign after the upgrade: %d %s", status, body)
	}
	// The idempotency key came along: reusing it with another body is a
	// conflict, not a new campaign.
	status, _, body := testprog.Do(t, "POST", srv+"/api/v1/campaigns", testKey, map[string]any{"prospects": testprog.Prospects(1)},
		"Idempotency-Key", "upgrade-1")
	if status == http.StatusAccepted || status == http.StatusCreated || !strings.Contains(string(body), "idempotency") {
		t.Errorf("reusing the old campaign's Idempotency-Key: %d %s, want a conflict", status, body)
	}
	if !strings.Contains(logs.String(), `"campaigns":1`) {
		t.Errorf("no log line of the move:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), apikey.LegacyTenant(testKey)) {
		t.Errorf("the log names the unkeyed tenant id:\n%s", logs.String())
	}
	// A key that is not configured keeps its campaigns where they were.
	_, count := openStore(t, dir)
	if n := count(`SELECT count(*) FROM campaigns WHERE id = ? AND tenant = ?`, other.ID, other.Tenant); n != 1 {
		t.Errorf("the campaign of a key not configured moved")
	}
}

// TestLocalDeletesExpiredCampaigns: the local program deletes expired
// campaigns at start-up and then on its schedule, and nothing else.
func TestLocalDeletesExpiredCampaigns(t *testing.T) {
	dir := t.TempDir()
	cfg := localConfig(t, dir, nil)
	newLocal(t, cfg, nil, slog.New(slog.DiscardHandler)).Close() // makes the database
	store, count := openStore(t, dir)
	clock := storetest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	create := func(expires time.Time, total int) string {
		c := storetest.NewCampaign("tenant-a", total)
		c.ExpiresAt = expires
		storetest.MustCreate(t, store, c, storetest.NewItems(c))
		return c.ID
	}
	rows := func(id string) int {
		return count(`SELECT count(*) FROM campaigns WHERE id = ?`, id) +
			count(`SELECT count(*) FROM campaign_items WHERE campaign_id = ?`, id)
	}
	waitGone := func(id, when string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for rows(id) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: campaign %s still has %d rows after 30 s", when, id, rows(id))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	expired := create(clock.Now().Add(-time.Hour), 2500) // more rows than one batch
	later := create(clock.Now().Add(time.Hour), 3)
	live := create(clock.Now().Add(24*time.Hour), 3)

	run := func(every time.Duration) func() {
		l := newLocal(t, cfg, nil, slog.New(slog.DiscardHandler))
		l.SetRetention(clock.Now, every)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); l.RunRetention(ctx) }()
		return func() { cancel(); <-done }
	}
	// At start-up: an hourly schedule has not ticked yet.
	stop := run(time.Hour)
	waitGone(expired, "at start-up")
	stop()
	if rows(later) != 4 || rows(live) != 4 {
		t.Fatalf("campaigns not yet expired lost rows: %d and %d of 4", rows(later), rows(live))
	}
	// On schedule: one that expires while the program runs.
	stop = run(10 * time.Millisecond)
	defer stop()
	clock.Set(clock.Now().Add(2 * time.Hour))
	waitGone(later, "on schedule")
	if rows(live) != 4 {
		t.Errorf("the live campaign has %d rows, want 4", rows(live))
	}
}
