package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/sqlite"
)

// The files the local program keeps in DATA_DIR beside its database, each
// 0600 and made on the first start that needs it.
const (
	// keyFile holds the API key accepted when API_KEYS is empty.
	keyFile = "api_key"
	// secretFile holds the tenant secret when TENANT_SECRET is empty.
	secretFile = "tenant_secret"
)

// openDataDir makes dir, or narrows an existing one, to 0700: it holds
// prospect data, a key and a secret. It warns when the directory was open
// to other users.
func openDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("DATA_DIR: %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		log.Warn("DATA_DIR was open to other users: made it owner-only (0700)",
			slog.String("data_dir", dir), slog.String("was", perm.String()))
	}
	return nil
}

// localKey returns the key the local program accepts when API_KEYS is
// empty: the one kept in dir, made on the first start, so that a restart
// keeps the campaigns of the key that made them. created says whether
// this start made it.
func localKey(dir string) (key, path string, created bool, err error) {
	path = LocalKeyFile(dir)
	key, created, err = apikey.ReadOrCreate(path, apikey.Generate)
	if err == nil && len(key) < 16 {
		err = fmt.Errorf("%s: the key must be at least 16 characters; delete the file to make a new one", path)
	}
	return key, path, created, err
}

// tenantSecret returns TENANT_SECRET or, without it, the secret kept in
// DATA_DIR, made on the first start. Changing it changes every tenant id,
// so earlier campaigns are no longer found.
func tenantSecret(cfg config.Config) ([]byte, error) {
	if cfg.TenantSecret != "" {
		return []byte(cfg.TenantSecret), nil
	}
	path := filepath.Join(cfg.DataDir, secretFile)
	secret, _, err := apikey.ReadOrCreate(path, apikey.GenerateSecret)
	if err == nil && len(secret) < 32 {
		err = fmt.Errorf("%s: the secret must be at least 32 characters", path)
	}
	return []byte(secret), err
}

// migrateTenants moves each key's campaigns, with their idempotency keys,
// from the unkeyed tenant id that versions before keyed tenant ids gave
// the key to its tenant id in keys. It runs at every start: after the
// first, no campaign is left under an old id and it moves nothing.
func migrateTenants(ctx context.Context, store *sqlite.Store, keys *apikey.Set, accepted []string, log *slog.Logger) error {
	moved := 0
	for _, k := range accepted {
		tenant, ok := keys.Tenant(k)
		if !ok {
			continue
		}
		n, err := store.MoveTenant(ctx, apikey.LegacyTenant(k), tenant)
		if err != nil {
			return fmt.Errorf("migrate tenant ids: %w", err)
		}
		moved += n
	}
	if moved > 0 {
		log.Info("moved campaigns from unkeyed to keyed tenant ids (see SECURITY.md)", slog.Int("campaigns", moved))
	}
	return nil
}

// LocalKeyFile is where the local program keeps its API key in dataDir,
// for the CLI to find it.
func LocalKeyFile(dataDir string) string { return filepath.Join(dataDir, keyFile) }
