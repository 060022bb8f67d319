package apikey_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ingren/ingren/internal/apikey"
)

func TestTenant(t *testing.T) {
	s := apikey.NewKeyed([]byte("secret-0123456789abcdef0123456789"), []string{"first-key-0123456789", "second-key-0123456789"})
	first, ok := s.Tenant("first-key-0123456789")
	if !ok || !strings.HasPrefix(first, "key_") {
		t.Fatalf("first key: tenant %q ok %v", first, ok)
	}
	second, ok := s.Tenant("second-key-0123456789")
	if !ok || second == first {
		t.Fatalf("second key: tenant %q ok %v, want a tenant other than %q", second, ok, first)
	}
	for name, key := range map[string]string{
		"Empty":  "",
		"Prefix": "first-key-012345678",
		"Longer": "first-key-01234567890",
		"Other":  "nope-nope-nope-nope",
	} {
		t.Run("Refused_"+name, func(t *testing.T) {
			if tenant, ok := s.Tenant(key); ok || tenant != "" {
				t.Fatalf("Tenant(%q) = %q, %v; want refused", key, tenant, ok)
			}
		})
	}
	if strings.Contains(first, "first-key") {
		t.Fatal("tenant id must not contain the key")
	}
}

// TestTenantIsKeyedBySecret: a tenant id holds for a key and a secret (so
// across restarts), changes with the secret, and is no unkeyed hash of the
// key, which a log reader could compute from a guessed key.
func TestTenantIsKeyedBySecret(t *testing.T) {
	const key = "guessable-key-0123"
	tenant := func(secret string) string {
		t.Helper()
		id, ok := apikey.NewKeyed([]byte(secret), []string{key}).Tenant(key)
		if !ok {
			t.Fatal("key refused")
		}
		return id
	}
	a, again, b := tenant("secret-a"), tenant("secret-a"), tenant("secret-b")
	if a != again {
		t.Errorf("one key and secret gave tenants %q and %q, want one", a, again)
	}
	if a == b {
		t.Errorf("two secrets gave the same tenant %q", a)
	}
	sum := sha256.Sum256([]byte(key))
	for _, id := range []string{a, b} {
		if id == apikey.LegacyTenant(key) || strings.Contains(id, hex.EncodeToString(sum[:4])) {
			t.Errorf("tenant %q is the key's unkeyed hash", id)
		}
	}
	if got, want := apikey.LegacyTenant(key), "key_"+hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("LegacyTenant = %q, want %q (the ids to migrate from)", got, want)
	}
	// New's tenants are keyed too, by a secret of each Set's own.
	n1, _ := apikey.New([]string{key}).Tenant(key)
	n2, _ := apikey.New([]string{key}).Tenant(key)
	if n1 == n2 || n1 == apikey.LegacyTenant(key) {
		t.Errorf("New gave tenants %q and %q, want two keyed ids", n1, n2)
	}
}

func TestGenerate(t *testing.T) {
	a, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := apikey.Generate()
	if a == b || len(a) < 32 {
		t.Fatalf("keys %q and %q: want distinct keys of at least 32 characters", a, b)
	}
	s1, err := apikey.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := apikey.GenerateSecret()
	if s1 == s2 || len(s1) != 64 {
		t.Fatalf("secrets %q and %q: want distinct 64-digit secrets", s1, s2)
	}
}

func TestReadOrCreate(t *testing.T) {
	mustMode := func(t *testing.T, path string) {
		t.Helper()
		if runtime.GOOS == "windows" {
			return
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want -rw-------", fi.Mode().Perm())
		}
	}
	t.Run("MadeOnceThenRead", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "api_key")
		v, created, err := apikey.ReadOrCreate(path, apikey.Generate)
		if err != nil || !created || v == "" {
			t.Fatalf("first = %q, created %v, %v; want a new value", v, created, err)
		}
		mustMode(t, path)
		again, created, err := apikey.ReadOrCreate(path, apikey.Generate)
		if err != nil || created || again != v {
			t.Fatalf("second = %q, created %v, %v; want %q kept", again, created, err, v)
		}
	})
	t.Run("RacingStartsAgree", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tenant_secret")
		const n = 8
		values := make([]string, n)
		made := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if values[i], made[i], err = apikey.ReadOrCreate(path, apikey.GenerateSecret); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		makers := 0
		for i := range n {
			if values[i] != values[0] {
				t.Errorf("start %d read %q, start 0 %q", i, values[i], values[0])
			}
			if made[i] {
				makers++
			}
		}
		if makers != 1 {
			t.Errorf("%d starts made the file, want 1", makers)
		}
		if left, _ := filepath.Glob(path + ".*"); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
	t.Run("ReadableByAllIsNarrowed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "api_key")
		if err := os.WriteFile(path, []byte("kept-key-0123456789\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		v, created, err := apikey.ReadOrCreate(path, apikey.Generate)
		if err != nil || created || v != "kept-key-0123456789" {
			t.Fatalf("= %q, created %v, %v; want the kept key", v, created, err)
		}
		mustMode(t, path)
	})
	for name, content := range map[string]string{"Empty": "\n", "TwoLines": "a-key-0123456789\nanother\n"} {
		t.Run("Err"+name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "api_key")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := apikey.ReadOrCreate(path, apikey.Generate)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want one naming %s", err, path)
			}
		})
	}
}

// TestTenantAllocatesNothing: a tenant id is worked out once per key, not
// on every request (an HMAC and six allocations each time).
func TestTenantAllocatesNothing(t *testing.T) {
	s := apikey.NewKeyed([]byte("secret-0123456789abcdef0123456789"), []string{"first-key-0123456789", "second-key-0123456789"})
	want, _ := s.Tenant("second-key-0123456789")
	n := testing.AllocsPerRun(50, func() {
		if got, ok := s.Tenant("second-key-0123456789"); !ok || got != want {
			t.Fatalf("Tenant = %q, %v; want %q", got, ok, want)
		}
	})
	if n > 0 {
		t.Fatalf("Tenant makes %v allocations per call, want none", n)
	}
}
