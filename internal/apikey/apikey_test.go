package apikey_test

import (
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/apikey"
)

func TestTenant(t *testing.T) {
	s := apikey.New([]string{"first-key-0123456789", "second-key-0123456789"})
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

func TestGenerate(t *testing.T) {
	a, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := apikey.Generate()
	if a == b || len(a) < 32 {
		t.Fatalf("keys %q and %q: want distinct keys of at least 32 characters", a, b)
	}
}
