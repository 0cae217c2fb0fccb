package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// API keys authenticate channel adapters and other machine clients. A key reads
// kefu_<key id>_<secret>: the key id (16 hex digits, 64 random bits) names the stored record, and the
// secret (64 hex digits, 256 random bits) is shown once, at creation, and stored only as an HMAC-SHA256
// under a server-side pepper. A keyed fast hash is enough for a random 256-bit secret (nothing to brute
// force), and unlike bcrypt it costs microseconds on every request.
const (
	apiKeyPrefix    = "kefu"
	apiKeyIDBytes   = 8
	apiKeySecretLen = 32
	// MinPepperBytes is the least pepper length accepted.
	MinPepperBytes = 32
)

// APIKeyLen is the length of a key's text.
const APIKeyLen = len(apiKeyPrefix) + 1 + 2*apiKeyIDBytes + 1 + 2*apiKeySecretLen

// ErrMalformedAPIKey is returned for text that is not a kefu API key. Its message never repeats the text.
var ErrMalformedAPIKey = errors.New("malformed API key")

// NewAPIKey draws a key id and a secret from random (crypto/rand.Reader in production) and returns the id
// and the key's full text, to be shown to its owner once.
func NewAPIKey(random io.Reader) (id, text string, err error) {
	b := make([]byte, apiKeyIDBytes+apiKeySecretLen)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", "", fmt.Errorf("draw API key: %w", err)
	}
	id = hex.EncodeToString(b[:apiKeyIDBytes])
	return id, apiKeyPrefix + "_" + id + "_" + hex.EncodeToString(b[apiKeyIDBytes:]), nil
}

// ParseAPIKey splits a key's text into its id and secret, accepting exactly the shape NewAPIKey makes
// (lower-case hex, exact lengths).
func ParseAPIKey(text string) (id, secret string, err error) {
	if len(text) != APIKeyLen {
		return "", "", ErrMalformedAPIKey
	}
	prefix, rest, ok := strings.Cut(text, "_")
	if !ok || prefix != apiKeyPrefix {
		return "", "", ErrMalformedAPIKey
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 2*apiKeyIDBytes || len(secret) != 2*apiKeySecretLen || !lowerHex(id) || !lowerHex(secret) {
		return "", "", ErrMalformedAPIKey
	}
	return id, secret, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Pepper is the server-side key of the API-key hashes. It lives in configuration, never in the database,
// so a copy of the database alone cannot check guesses.
type Pepper []byte

// NewPepper checks that p is long enough to key HMAC-SHA256.
func NewPepper(p []byte) (Pepper, error) {
	if len(p) < MinPepperBytes {
		return nil, fmt.Errorf("API key pepper: want at least %d bytes, got %d", MinPepperBytes, len(p))
	}
	return Pepper(p), nil
}

// Hash returns what is stored for a key: HMAC-SHA256 over its id and secret, so a hash copied to another
// key's record does not verify there.
func (p Pepper) Hash(id, secret string) []byte {
	m := hmac.New(sha256.New, p)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify reports, in constant time, whether secret belongs to the key whose stored hash is stored.
func (p Pepper) Verify(id, secret string, stored []byte) bool {
	return hmac.Equal(p.Hash(id, secret), stored)
}
