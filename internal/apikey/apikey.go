// Package apikey checks API keys for the local program. Keys are held only
// as SHA-256 hashes and compared in constant time. (On AWS, API Gateway
// checks keys before a request reaches us.)
package apikey

import (
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
}

// New returns a Set accepting keys.
func New(keys []string) *Set {
	s := &Set{}
	for _, k := range keys {
		s.hashes = append(s.hashes, sha256.Sum256([]byte(k)))
	}
	return s
}

// Tenant returns the tenant id of key, and false when key is not accepted.
// It compares against every stored hash without stopping early, so its time
// does not depend on which key matched or how much of it did. The tenant id
// is derived from the hash, never from the key itself.
func (s *Set) Tenant(key string) (string, bool) {
	h := sha256.Sum256([]byte(key))
	match := 0
	for i := range s.hashes {
		match |= subtle.ConstantTimeCompare(h[:], s.hashes[i][:])
	}
	if match != 1 {
		return "", false
	}
	return TenantOf(h), true
}

// TenantOf names the tenant of a key hash.
func TenantOf(h [sha256.Size]byte) string { return "key_" + hex.EncodeToString(h[:8]) }

// Generate makes a new random key of 32 url-safe characters.
func Generate() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "ingren_" + base64.RawURLEncoding.EncodeToString(b), nil
}
