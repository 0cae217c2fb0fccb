package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

const (
	testIssuer   = "https://id.example.test/"
	testAudience = "kefu"
)

// issuer is a test identity provider: signing keys and a JWKS endpoint that can be changed and counted.
type issuer struct {
	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fail    bool
	fetches atomic.Int64
	srv     *httptest.Server
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		if is.fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(is.set)
	}))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) publish(keys ...jose.JSONWebKey) {
	is.mu.Lock()
	is.set = jose.JSONWebKeySet{Keys: keys}
	is.mu.Unlock()
}

func (is *issuer) setFailing(f bool) {
	is.mu.Lock()
	is.fail = f
	is.mu.Unlock()
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer, "aud": []string{testAudience, "other"}, "sub": "staff-42",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"roles": []string{"agent"}, "groups": []string{"logistics", "refunds"},
	}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// TestHostileStaffTokens tries what an attacker would send; every case must fail, and the genuine ones pass.
func TestHostileStaffTokens(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	ec := ecKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is := newIssuer(t)
	is.publish(
		jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"},
		jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: []byte("a shared secret an attacker might know"), KeyID: "oct1", Algorithm: "HS256"},
	)
	v, err := auth.NewJWTVerifier(auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return now }},
		auth.NewJWKS(is.srv.URL, auth.JWKSOptions{Now: func() time.Time { return now }}))
	require.NoError(t, err)
	ctx := context.Background()
	good := goodClaims(now)

	got, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ec, "ec1", good))
	require.NoError(t, err)
	require.Equal(t, auth.StaffClaims{Subject: "staff-42", Roles: []string{"agent"}, Groups: []string{"logistics", "refunds"},
		ExpiresAt: now.Add(time.Hour)}, got)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey, "rsa1", good))
	require.NoError(t, err, "RS256 is accepted too")
	got, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "roles", "supervisor")))
	require.NoError(t, err)
	require.Equal(t, []string{"supervisor"}, got.Roles, "a single role as a string")
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "exp", now.Add(-20*time.Second).Unix())))
	require.NoError(t, err, "expired within the allowed clock skew")

	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	other := ecKey(t)
	hostile := map[string]string{
		"alg none":                                sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ec1", good),
		"HS256 signed with the public key":        sign(t, jwt.SigningMethodHS256, pubDER, "rsa1", good),
		"HS256 with a symmetric key from the set": sign(t, jwt.SigningMethodHS256, []byte("a shared secret an attacker might know"), "oct1", good),
		"bad signature":                           sign(t, jwt.SigningMethodES256, other, "ec1", good),
		"expired":                                 sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "exp", now.Add(-time.Minute).Unix())),
		"not yet valid":                           sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "nbf", now.Add(time.Minute).Unix())),
		"issued in the future":                    sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "iat", now.Add(time.Minute).Unix())),
		"wrong issuer":                            sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "iss", "https://evil.test/")),
		"wrong audience":                          sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "aud", "other")),
		"no audience":                             sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "aud", nil)),
		"no expiry":                               sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "exp", nil)),
		"no subject":                              sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "sub", nil)),
		"roles not strings":                       sign(t, jwt.SigningMethodES256, ec, "ec1", with(good, "roles", []int{1})),
		"no key id":                               sign(t, jwt.SigningMethodES256, ec, "", good),
		"unknown key id":                          sign(t, jwt.SigningMethodES256, ec, "ec9", good),
		"key id of another algorithm":             sign(t, jwt.SigningMethodES256, ec, "rsa1", good),
		"not a JWT":                               "kefu_0123456789abcdef_" + "ab",
		"empty":                                   "",
	}
	for name, tok := range hostile {
		_, err := v.Verify(ctx, tok)
		require.ErrorIs(t, err, auth.ErrInvalidToken, name)
	}
	t.Logf("hostile staff tokens tried: %d, accepted wrongly: 0", len(hostile))
}

func TestJWTVerifierRefusesUnsafeConfiguration(t *testing.T) {
	keys := auth.NewJWKS("http://127.0.0.1:1/jwks", auth.JWKSOptions{})
	for _, cfg := range []auth.JWTConfig{
		{Audience: testAudience},
		{Issuer: testIssuer},
		{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"HS256"}},
		{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"none"}},
		{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"XS999"}},
	} {
		_, err := auth.NewJWTVerifier(cfg, keys)
		require.Error(t, err, "%+v", cfg)
	}
	_, err := auth.NewJWTVerifier(auth.JWTConfig{Issuer: testIssuer, Audience: testAudience}, nil)
	require.Error(t, err)
}

// TestJWKSFollowsRotationWithoutBeingHammered checks the key cache: a new key id is fetched once, many
// unknown ids within MinRefresh cost one fetch, a stale set is fetched again, and an issuer that is down
// leaves the cached keys in use.
func TestJWKSFollowsRotationWithoutBeingHammered(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k1, k2 := ecKey(t), ecKey(t)
	is := newIssuer(t)
	is.publish(jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "k1", Use: "sig"})
	s := auth.NewJWKS(is.srv.URL, auth.JWKSOptions{Now: clock, MinRefresh: 30 * time.Second, MaxAge: 10 * time.Minute})
	ctx := context.Background()

	got, err := s.Key(ctx, "k1")
	require.NoError(t, err)
	require.True(t, k1.PublicKey.Equal(got))
	_, err = s.Key(ctx, "k1")
	require.NoError(t, err)
	require.Equal(t, int64(1), is.fetches.Load(), "a known key is served from the cache")

	for range 50 {
		_, err = s.Key(ctx, "forged")
		require.ErrorIs(t, err, auth.ErrUnknownKey)
	}
	require.Equal(t, int64(1), is.fetches.Load(), "unknown ids within MinRefresh of the last fetch cost nothing")

	is.publish(jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "k1", Use: "sig"}, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "k2", Use: "sig"})
	now = now.Add(31 * time.Second)
	got, err = s.Key(ctx, "k2")
	require.NoError(t, err, "a rotated-in key is fetched when first seen")
	require.True(t, k2.PublicKey.Equal(got))
	require.Equal(t, int64(2), is.fetches.Load())

	is.setFailing(true)
	now = now.Add(11 * time.Minute)
	_, err = s.Key(ctx, "k1")
	require.NoError(t, err, "the issuer being down keeps the cached set in use")
	require.Equal(t, int64(3), is.fetches.Load(), "a stale set is fetched again")

	fresh := auth.NewJWKS(is.srv.URL, auth.JWKSOptions{Now: clock})
	_, err = fresh.Key(ctx, "k1")
	require.ErrorContains(t, err, "status 503", "with nothing cached, a failed fetch is an error")
}
