package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Staff authenticate with OIDC bearer JWTs. The verifier accepts only the algorithms it is configured
// with (never "none", never an HMAC algorithm, which would let a token signed with the issuer's public key
// as an HMAC secret pass), requires the configured issuer and audience, an expiry and a subject, and
// allows a small clock skew.

// DefaultJWTAlgorithms are the signature algorithms accepted when none are configured.
var DefaultJWTAlgorithms = []string{"RS256", "ES256"}

// JWT defaults.
const (
	DefaultRolesClaim  = "roles"
	DefaultGroupsClaim = "groups"
	DefaultJWTLeeway   = 30 * time.Second
)

// JWTConfig configures a JWTVerifier.
type JWTConfig struct {
	// Issuer and Audience must match the token's iss and one of its aud values. Both are required.
	Issuer, Audience string
	// Algorithms are the accepted signature algorithms (RS256/384/512, PS256/384/512, ES256/384/512,
	// EdDSA); default DefaultJWTAlgorithms. HMAC algorithms and "none" are refused.
	Algorithms []string
	// RolesClaim and GroupsClaim name the claims holding the staff member's roles and group codes (string
	// or array of strings); defaults "roles" and "groups".
	RolesClaim, GroupsClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat; default 30 s.
	Leeway time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// KeySource returns the public key that signed a token, by the token's key id (kid).
type KeySource interface {
	Key(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// StaffClaims is what a verified staff token says about its bearer.
type StaffClaims struct {
	Subject string
	Roles   []string
	// Groups are the group codes from the token's groups claim. Routing's agent records become the source
	// of truth for memberships once routing exists; until then this claim stands in.
	Groups    []string
	ExpiresAt time.Time
}

// JWTVerifier verifies staff tokens.
type JWTVerifier struct {
	cfg    JWTConfig
	keys   KeySource
	parser *jwt.Parser
}

// ErrInvalidToken is returned (wrapped) for every token that does not verify. Callers answer
// Unauthenticated and must not show the reason to the client, which would help forge the next attempt.
var ErrInvalidToken = errors.New("invalid token")

// NewJWTVerifier checks cfg and returns a verifier using keys.
func NewJWTVerifier(cfg JWTConfig, keys KeySource) (*JWTVerifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("jwt verifier: issuer and audience are required")
	}
	if keys == nil {
		return nil, errors.New("jwt verifier: no key source")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultJWTAlgorithms
	}
	for _, a := range cfg.Algorithms {
		m := jwt.GetSigningMethod(a)
		if m == nil || a == "none" || slices.Contains([]string{"HS256", "HS384", "HS512"}, a) {
			return nil, fmt.Errorf("jwt verifier: algorithm %q is not allowed (asymmetric signatures only)", a)
		}
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = DefaultRolesClaim
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = DefaultGroupsClaim
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultJWTLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	)
	return &JWTVerifier{cfg: cfg, keys: keys, parser: parser}, nil
}

// Verify checks a token's signature and claims and returns who it names.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (StaffClaims, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no key id")
		}
		return v.keys.Key(ctx, kid)
	})
	if err != nil {
		return StaffClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return StaffClaims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	roles, err := stringList(claims[v.cfg.RolesClaim])
	if err != nil {
		return StaffClaims{}, fmt.Errorf("%w: claim %s: %w", ErrInvalidToken, v.cfg.RolesClaim, err)
	}
	groups, err := stringList(claims[v.cfg.GroupsClaim])
	if err != nil {
		return StaffClaims{}, fmt.Errorf("%w: claim %s: %w", ErrInvalidToken, v.cfg.GroupsClaim, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return StaffClaims{}, fmt.Errorf("%w: no expiry", ErrInvalidToken)
	}
	return StaffClaims{Subject: sub, Roles: roles, Groups: groups, ExpiresAt: exp.Time.UTC()}, nil
}

// stringList reads a claim that is absent, one string, or an array of strings.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("want strings")
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, errors.New("want a string or an array of strings")
	}
}
