package config_test

import (
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/config"
)

func TestTenantSecret(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"OK", strings.Repeat("s", 32), true},
		{"OKUnset", "", true},
		{"ErrTooShort", "short-secret-31-characters-long", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.FromEnv(func(k string) string {
				return map[string]string{"TENANT_SECRET": tc.secret}[k]
			})
			if tc.ok && (err != nil || c.TenantSecret != tc.secret) {
				t.Fatalf("TenantSecret %q, %v; want %q", c.TenantSecret, err, tc.secret)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "TENANT_SECRET") || strings.Contains(err.Error(), tc.secret)) {
				t.Fatalf("err = %v; want TENANT_SECRET refused, without echoing it", err)
			}
		})
	}
}
