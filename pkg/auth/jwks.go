package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// JWKS defaults.
const (
	DefaultJWKSMaxAge     = 10 * time.Minute
	DefaultJWKSMinRefresh = 30 * time.Second
	jwksMaxBytes          = 1 << 20
	jwksFetchTimeout      = 10 * time.Second
)

// JWKSOptions configures a JWKS key source.
type JWKSOptions struct {
	// Client fetches the set; default an http.Client with a 10 s timeout.
	Client *http.Client
	// MaxAge is how long a fetched set is used before it is fetched again; default 10 min.
	MaxAge time.Duration
	// MinRefresh is the least time between two fetches, however many unknown key ids arrive (each token
	// with a new kid would otherwise make the server fetch); default 30 s.
	MinRefresh time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// JWKS is a KeySource that reads the issuer's JSON Web Key Set from a URL, caches it, and fetches it
// again when it is older than MaxAge or a token names a key id it does not hold (the issuer rotated),
// at most once per MinRefresh. Only public signature keys are kept: a symmetric ("oct") or private key
// in the set is ignored, so it can never verify a token.
type JWKS struct {
	url string
	o   JWKSOptions

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time // when the cached set was fetched
	tried   time.Time // when a fetch was last attempted
}

// NewJWKS returns a key source for the set at url. Nothing is fetched until the first key is asked for.
func NewJWKS(url string, o JWKSOptions) *JWKS {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: jwksFetchTimeout}
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultJWKSMaxAge
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = DefaultJWKSMinRefresh
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &JWKS{url: url, o: o}
}

// ErrUnknownKey is returned (wrapped) when the set does not hold the key id even after a refresh.
var ErrUnknownKey = errors.New("unknown signing key")

// Key returns the public key with id kid.
func (s *JWKS) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	k, ok := s.keys[kid]
	stale := now.Sub(s.fetched) >= s.o.MaxAge
	if (!ok || stale) && now.Sub(s.tried) >= s.o.MinRefresh {
		s.tried = now
		keys, err := s.fetch(ctx)
		switch {
		case err == nil:
			s.keys, s.fetched = keys, now
			k, ok = keys[kid]
		case s.keys == nil:
			return nil, err
		}
		// On a failed refresh the cached set stays in use: an issuer briefly unreachable must not log
		// every staff member out.
	}
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	return k, nil
}

func (s *JWKS) fetch(ctx context.Context) (map[string]crypto.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	if len(body) > jwksMaxBytes {
		return nil, fmt.Errorf("jwks larger than %d bytes", jwksMaxBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys := make(map[string]crypto.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			keys[k.KeyID] = pub
		}
	}
	return keys, nil
}
