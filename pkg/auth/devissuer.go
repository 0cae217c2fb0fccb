package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// DevIssuer signs staff tokens with its own ES256 key, standing in for an OIDC provider in the dev stack
// (kefu-dev token) and in tests. It is also the KeySource of the tokens it signs, and serves its public key
// as a JWKS document. Production trusts a real provider's JWKS instead (see docs/security.md).
type DevIssuer struct {
	key      *ecdsa.PrivateKey
	kid      string
	Issuer   string
	Audience string
}

// NewDevIssuer makes an issuer with a fresh key.
func NewDevIssuer(issuer, audience string) (*DevIssuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	return devIssuer(k, issuer, audience)
}

// LoadDevIssuer makes an issuer from a PEM "EC PRIVATE KEY" or PKCS #8 P-256 key (as KeyPEM writes).
func LoadDevIssuer(keyPEM []byte, issuer, audience string) (*DevIssuer, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("dev issuer key: no PEM block")
	}
	var k *ecdsa.PrivateKey
	switch b.Type {
	case "EC PRIVATE KEY":
		var err error
		if k, err = x509.ParseECPrivateKey(b.Bytes); err != nil {
			return nil, fmt.Errorf("dev issuer key: %w", err)
		}
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dev issuer key: %w", err)
		}
		var ok bool
		if k, ok = parsed.(*ecdsa.PrivateKey); !ok {
			return nil, errors.New("dev issuer key: want an EC key")
		}
	default:
		return nil, fmt.Errorf("dev issuer key: unexpected PEM block %q", b.Type)
	}
	if k.Curve != elliptic.P256() {
		return nil, errors.New("dev issuer key: want a P-256 key")
	}
	return devIssuer(k, issuer, audience)
}

func devIssuer(k *ecdsa.PrivateKey, issuer, audience string) (*DevIssuer, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("dev issuer: issuer and audience are required")
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	sum := sha256.Sum256(der)
	// The key id is the public key's fingerprint: a new key gets a new id, which makes verifiers refetch.
	return &DevIssuer{key: k, kid: hex.EncodeToString(sum[:8]), Issuer: issuer, Audience: audience}, nil
}

// KeyPEM returns the private key in PEM, to keep it across restarts.
func (d *DevIssuer) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(d.key)
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// StaffToken describes a token to mint.
type StaffToken struct {
	Subject string
	Roles   []string
	Groups  []string
	TTL     time.Duration // default 1 h
	Now     time.Time     // default time.Now()
}

// Mint signs a token for t.
func (d *DevIssuer) Mint(t StaffToken) (string, error) {
	if t.Subject == "" {
		return "", errors.New("dev token: subject is required")
	}
	if t.TTL <= 0 {
		t.TTL = time.Hour
	}
	if t.Now.IsZero() {
		t.Now = time.Now()
	}
	claims := jwt.MapClaims{
		"iss": d.Issuer, "aud": d.Audience, "sub": t.Subject,
		"iat": t.Now.Unix(), "nbf": t.Now.Unix(), "exp": t.Now.Add(t.TTL).Unix(),
		DefaultRolesClaim: nonNil(t.Roles), DefaultGroupsClaim: nonNil(t.Groups),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = d.kid
	s, err := tok.SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("sign dev token: %w", err)
	}
	return s, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Key is the KeySource of the issuer's own tokens.
func (d *DevIssuer) Key(_ context.Context, kid string) (crypto.PublicKey, error) {
	if kid != d.kid {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	return &d.key.PublicKey, nil
}

// JWKS returns the issuer's public key set as served at a jwks_uri.
func (d *DevIssuer) JWKS() ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &d.key.PublicKey, KeyID: d.kid, Algorithm: "ES256", Use: "sig"},
	}})
}

// Verifier returns a JWTVerifier that trusts this issuer's tokens, with the default claims and algorithms.
func (d *DevIssuer) Verifier() (*JWTVerifier, error) {
	return NewJWTVerifier(JWTConfig{Issuer: d.Issuer, Audience: d.Audience}, d)
}
