// Package apikey checks API keys for the local program. Keys are held only
// as SHA-256 hashes and compared in constant time. A key's tenant id is a
// keyed hash of the key (HMAC-SHA256 under a per-deployment secret): tenant
// ids appear in logs, and an unkeyed hash there would let a log reader test
// guessed keys offline. (On AWS, API Gateway checks keys before a request
// reaches us, and the tenant is the key's id there, not derived from it.)
package apikey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// Set is a set of accepted keys. It is safe for concurrent use: it never
// changes after New.
type Set struct {
	hashes [][sha256.Size]byte
	// tenants[i] is the tenant id of the key hashes[i] is of: worked out
	// once, not on every request.
	tenants []string
	secret  []byte
}

// New returns a Set accepting keys whose tenant ids are keyed by a random
// secret of its own, so they hold for the Set's life only. A program that
// keeps campaigns across restarts uses NewKeyed with the deployment's
// secret.
func New(keys []string) *Set {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	return NewKeyed(secret, keys)
}

// NewKeyed returns a Set accepting keys whose tenant ids are keyed by
// secret.
func NewKeyed(secret []byte, keys []string) *Set {
	s := &Set{secret: append([]byte(nil), secret...)}
	for _, k := range keys {
		s.hashes = append(s.hashes, sha256.Sum256([]byte(k)))
		s.tenants = append(s.tenants, s.tenant(k))
	}
	return s
}

// Tenant returns the tenant id of key, and false when key is not accepted.
// It compares against every stored hash without stopping early, so its time
// does not depend on which key matched or how much of it did. The tenant id
// is "key_" and 16 hex digits of HMAC-SHA256(secret, key): stable for a
// key and a secret, and worthless for testing keys without the secret.
func (s *Set) Tenant(key string) (string, bool) {
	h := sha256.Sum256([]byte(key))
	match, which := 0, 0
	for i := range s.hashes {
		eq := subtle.ConstantTimeCompare(h[:], s.hashes[i][:])
		match |= eq
		which = subtle.ConstantTimeSelect(eq, i, which)
	}
	if match != 1 {
		return "", false
	}
	return s.tenants[which], true
}

// tenant computes the tenant id of key.
func (s *Set) tenant(key string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(key))
	return "key_" + hex.EncodeToString(mac.Sum(nil)[:8])
}

// LegacyTenant returns the tenant id that versions before keyed tenant ids
// gave key: 16 hex digits of its unkeyed SHA-256. Only the start-up
// migration that moves campaigns off these ids uses it.
func LegacyTenant(key string) string {
	h := sha256.Sum256([]byte(key))
	return "key_" + hex.EncodeToString(h[:8])
}

// Generate makes a new random key of 32 url-safe characters.
func Generate() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "ingren_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// GenerateSecret makes a new random tenant secret: 64 hex digits (256 bits).
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
