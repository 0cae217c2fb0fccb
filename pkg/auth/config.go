package auth

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"kefu.dev/pkg/config"
)

// Config is how a service authenticates its callers: the pepper of its API keys and the OIDC provider
// whose tokens staff sign in with. Every service binds the same flags (BindFlags).
type Config struct {
	// APIKeyPepper keys the HMAC of stored API keys: at least 64 hex digits (--api-key-pepper). Keep it
	// out of the database and identical across a service's replicas; changing it invalidates every key.
	APIKeyPepper string
	// OIDCIssuer and OIDCAudience must match staff tokens' iss and aud (--oidc-issuer, --oidc-audience).
	OIDCIssuer, OIDCAudience string
	// OIDCJWKSURL is the provider's jwks_uri (--oidc-jwks-url).
	OIDCJWKSURL string
	// OIDCAlgorithms are the accepted signature algorithms, comma-separated (--oidc-algorithms).
	OIDCAlgorithms string
	// KeyCacheTTL bounds how long another replica's key revocation takes to apply (--api-key-cache-ttl).
	KeyCacheTTL time.Duration
	// RateLimits are the per-role and per-key rate limits (--rate-limits; see ParseLimits).
	RateLimits string
	// StaffKeys, when set, verifies staff tokens instead of the JWKS at OIDCJWKSURL. Not a flag: tests
	// set it to their own issuer.
	StaffKeys KeySource
	// Memberships, when set, is where staff members' groups come from instead of their tokens' groups
	// claim (routing's records: pkg/membership). Not a flag: the service sets it.
	Memberships Memberships
}

// DefaultConfig returns the defaults: nothing trusted until configured.
func DefaultConfig() Config {
	return Config{OIDCAlgorithms: strings.Join(DefaultJWTAlgorithms, ","), KeyCacheTTL: DefaultKeyCacheTTL,
		RateLimits: DefaultRateLimits}
}

// BindFlags binds c's fields to fs.
func BindFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.APIKeyPepper, "api-key-pepper", c.APIKeyPepper, "hex key (at least 64 digits) of the API keys' stored HMACs; keep it secret and equal on every replica")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "issuer (iss) of staff tokens")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", c.OIDCAudience, "audience (aud) staff tokens must name")
	fs.StringVar(&c.OIDCJWKSURL, "oidc-jwks-url", c.OIDCJWKSURL, "the OIDC provider's JWKS URL (jwks_uri)")
	fs.StringVar(&c.OIDCAlgorithms, "oidc-algorithms", c.OIDCAlgorithms, "accepted token signature algorithms, comma-separated")
	fs.StringVar(&c.RateLimits, "rate-limits", c.RateLimits, "rate limits per role and per API key: role=rate:burst,key:<key id>=rate:burst (requests a second)")
	fs.DurationVar(&c.KeyCacheTTL, "api-key-cache-ttl", c.KeyCacheTTL, "how long a cached API key record is trusted (bounds how late another replica's revocation applies)")
}

// Validate checks c, naming each bad flag and its variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", flag, config.EnvName(flag), fmt.Sprintf(format, args...)))
	}
	if _, err := c.Pepper(); err != nil {
		bad("api-key-pepper", "%v", err)
	}
	if c.OIDCIssuer == "" {
		bad("oidc-issuer", "is required")
	}
	if c.OIDCAudience == "" {
		bad("oidc-audience", "is required")
	}
	if c.StaffKeys == nil {
		if u, err := url.Parse(c.OIDCJWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("oidc-jwks-url", "want an http(s) URL")
		}
	}
	if len(c.algorithms()) == 0 {
		bad("oidc-algorithms", "name at least one algorithm")
	}
	if c.KeyCacheTTL < 0 {
		bad("api-key-cache-ttl", "must not be negative")
	}
	if _, err := ParseLimits(c.RateLimits); err != nil {
		bad("rate-limits", "%v", err)
	}
	return errors.Join(errs...)
}

// Pepper decodes APIKeyPepper.
func (c Config) Pepper() (Pepper, error) {
	if c.APIKeyPepper == "" {
		return nil, errors.New("is required")
	}
	b, err := hex.DecodeString(c.APIKeyPepper)
	if err != nil {
		return nil, errors.New("want hex digits")
	}
	return NewPepper(b)
}

func (c Config) algorithms() []string {
	var out []string
	for a := range strings.SplitSeq(c.OIDCAlgorithms, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Authenticator builds the authenticator c describes, with keys as its API key store.
func (c Config) Authenticator(keys KeyLookup, now func() time.Time) (*Authenticator, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pepper, _ := c.Pepper()
	src := c.StaffKeys
	if src == nil {
		src = NewJWKS(c.OIDCJWKSURL, JWKSOptions{Now: now})
	}
	v, err := NewJWTVerifier(JWTConfig{Issuer: c.OIDCIssuer, Audience: c.OIDCAudience, Algorithms: c.algorithms(), Now: now}, src)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	ttl := c.KeyCacheTTL
	if ttl == 0 {
		ttl = -1 // 0 from a flag means no cache
	}
	return NewAuthenticator(AuthenticatorOptions{Keys: keys, Pepper: pepper, Staff: v, KeyCacheTTL: ttl, Now: now,
		Memberships: c.Memberships})
}

// Limits returns the parsed rate limits (valid once Validate passed).
func (c Config) Limits() Limits {
	l, _ := ParseLimits(c.RateLimits)
	return l
}
