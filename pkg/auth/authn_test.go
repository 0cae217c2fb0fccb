package auth_test

import (
	"context"
	"crypto"
	cryptoRand "crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

// keyMap is a KeyLookup over a map: the authenticator's logic is under test here; the Postgres store has
// its own tests in apikeys.
type keyMap struct {
	mu    sync.Mutex
	keys  map[string]auth.APIKeyRecord
	reads int
	err   error
}

func (m *keyMap) LookupAPIKey(_ context.Context, id string) (auth.APIKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.err != nil {
		return auth.APIKeyRecord{}, m.err
	}
	r, ok := m.keys[id]
	if !ok {
		return auth.APIKeyRecord{}, auth.ErrUnknownAPIKey
	}
	return r, nil
}

func (m *keyMap) set(r auth.APIKeyRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[r.ID] = r
}

var testPepper = auth.Pepper(strings.Repeat("p", auth.MinPepperBytes))

// newKey stores a fresh key built by edit and returns its text.
func newKey(t *testing.T, m *keyMap, edit func(*auth.APIKeyRecord)) string {
	t.Helper()
	id, text, err := auth.NewAPIKey(cryptoRand.Reader)
	require.NoError(t, err)
	_, secret, err := auth.ParseAPIKey(text)
	require.NoError(t, err)
	r := auth.APIKeyRecord{ID: id, Kind: auth.KindAdapter, PrincipalID: "web-form", Roles: []string{auth.RoleAdapter},
		Channels: []string{"web_chat"}, Hash: testPepper.Hash(id, secret)}
	if edit != nil {
		edit(&r)
	}
	m.set(r)
	return text
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	keys := &keyMap{keys: map[string]auth.APIKeyRecord{}}
	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	other, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	staff, err := auth.NewJWTVerifier(auth.JWTConfig{Issuer: iss.Issuer, Audience: iss.Audience, Now: func() time.Time { return now }}, iss)
	require.NoError(t, err)
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Keys: keys, Pepper: testPepper, Staff: staff, KeyCacheTTL: -1,
		Now: func() time.Time { return now }})
	require.NoError(t, err)

	good := newKey(t, keys, nil)
	goodID, _, _ := auth.ParseAPIKey(good)
	revoked := newKey(t, keys, func(r *auth.APIKeyRecord) { r.Revoked = true })
	expired := newKey(t, keys, func(r *auth.APIKeyRecord) { r.ExpiresAt = now })
	expiring := newKey(t, keys, func(r *auth.APIKeyRecord) { r.ExpiresAt = now.Add(time.Second) })
	wrongSecret := good[:len(good)-1] + map[bool]string{true: "0", false: "1"}[good[len(good)-1] != '0']
	unknown := newKey(t, &keyMap{keys: map[string]auth.APIKeyRecord{}}, nil) // stored elsewhere
	mint := func(issuer *auth.DevIssuer, roles ...string) string {
		tok, err := issuer.Mint(auth.StaffToken{Subject: "u-1", Roles: roles, Groups: []string{"g-1"}, Now: now})
		require.NoError(t, err)
		return tok
	}

	tests := []struct {
		name string
		cred string
		want auth.Principal
		err  error
	}{
		{"no credentials", "", auth.Principal{}, auth.ErrNoCredentials},
		{"another scheme", "Basic " + good, auth.Principal{}, auth.ErrBadCredentials},
		{"bearer without a credential", "Bearer ", auth.Principal{}, auth.ErrBadCredentials},
		{"malformed key", "Bearer kefu_123_456", auth.Principal{}, auth.ErrBadCredentials},
		{"unknown key", "Bearer " + unknown, auth.Principal{}, auth.ErrBadCredentials},
		{"wrong secret", "Bearer " + wrongSecret, auth.Principal{}, auth.ErrBadCredentials},
		{"revoked key", "Bearer " + revoked, auth.Principal{}, auth.ErrBadCredentials},
		{"expired key", "Bearer " + expired, auth.Principal{}, auth.ErrBadCredentials},
		{"key", "bearer " + good, auth.Principal{Kind: auth.KindAdapter, ID: "web-form", Roles: []string{auth.RoleAdapter},
			Channels: []string{"web_chat"}, KeyID: goodID}, nil},
		{"key before its expiry", "Bearer " + expiring, auth.Principal{}, nil},
		{"staff token", "Bearer " + mint(iss, auth.RoleAgent), auth.Principal{Kind: auth.KindStaff, ID: "u-1",
			Roles: []string{auth.RoleAgent}, Groups: []string{"g-1"}}, nil},
		{"machine roles in a token grant nothing", "Bearer " + mint(iss, auth.RoleService, auth.RoleAdapter, auth.RoleSupervisor),
			auth.Principal{Kind: auth.KindStaff, ID: "u-1", Roles: []string{auth.RoleSupervisor}, Groups: []string{"g-1"}}, nil},
		{"token of another issuer's key", "Bearer " + mint(other, auth.RoleAdmin), auth.Principal{}, auth.ErrBadCredentials},
		{"garbage token", "Bearer eyJhbGciOiJub25lIn0.e30.", auth.Principal{}, auth.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := a.Authenticate(t.Context(), tc.cred)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.True(t, p.IsZero())
				return
			}
			require.NoError(t, err)
			if !tc.want.IsZero() {
				require.Equal(t, tc.want, p)
			}
		})
	}
}

func TestAuthenticatorCachesKeysForTheTTL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	keys := &keyMap{keys: map[string]auth.APIKeyRecord{}}
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Keys: keys, Pepper: testPepper, Now: func() time.Time { return now }})
	require.NoError(t, err)
	text := newKey(t, keys, nil)
	id, _, _ := auth.ParseAPIKey(text)
	for range 3 {
		_, err := a.Authenticate(t.Context(), "Bearer "+text)
		require.NoError(t, err)
	}
	require.Equal(t, 1, keys.reads, "one read serves the cache's lifetime")

	r := keys.keys[id]
	r.Revoked = true
	keys.set(r)
	_, err = a.Authenticate(t.Context(), "Bearer "+text)
	require.NoError(t, err, "another replica's revocation applies only when the cached record expires")
	now = now.Add(auth.DefaultKeyCacheTTL)
	_, err = a.Authenticate(t.Context(), "Bearer "+text)
	require.ErrorIs(t, err, auth.ErrBadCredentials, "after the TTL the revocation applies")

	text2 := newKey(t, keys, nil)
	id2, _, _ := auth.ParseAPIKey(text2)
	_, err = a.Authenticate(t.Context(), "Bearer "+text2)
	require.NoError(t, err)
	r2 := keys.keys[id2]
	r2.Revoked = true
	keys.set(r2)
	a.Forget(id2)
	_, err = a.Authenticate(t.Context(), "Bearer "+text2)
	require.ErrorIs(t, err, auth.ErrBadCredentials, "a revocation through this replica applies at once")
}

func TestAuthenticatorStoreFailureIsNotABadCredential(t *testing.T) {
	t.Parallel()
	keys := &keyMap{keys: map[string]auth.APIKeyRecord{}}
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Keys: keys, Pepper: testPepper})
	require.NoError(t, err)
	text := newKey(t, keys, nil)
	keys.err = errors.New("connection refused")
	_, err = a.Authenticate(t.Context(), "Bearer "+text)
	require.Error(t, err)
	require.NotErrorIs(t, err, auth.ErrBadCredentials, "an outage must not read as a bad key (Unavailable, not Unauthenticated)")
}

func TestAuthenticatorRefusesWhatItIsNotGiven(t *testing.T) {
	t.Parallel()
	_, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Keys: &keyMap{}, Pepper: auth.Pepper("short")})
	require.Error(t, err, "a short pepper")
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{})
	require.NoError(t, err)
	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	tok, err := iss.Mint(auth.StaffToken{Subject: "u-1", Roles: []string{auth.RoleAdmin}})
	require.NoError(t, err)
	_, err = a.Authenticate(t.Context(), "Bearer "+tok)
	require.ErrorIs(t, err, auth.ErrBadCredentials, "no verifier: tokens refused")
	key := newKey(t, &keyMap{keys: map[string]auth.APIKeyRecord{}}, nil)
	_, err = a.Authenticate(t.Context(), "Bearer "+key)
	require.ErrorIs(t, err, auth.ErrBadCredentials, "no key store: keys refused")
}

// TestDevIssuerRoundTrip: the dev issuer's JWKS document, served over HTTP, verifies its tokens, and its
// key survives a save and load with the same key id.
func TestDevIssuerRoundTrip(t *testing.T) {
	t.Parallel()
	iss, err := auth.NewDevIssuer("http://127.0.0.1/dev", "kefu")
	require.NoError(t, err)
	doc, err := iss.JWKS()
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	t.Cleanup(srv.Close)
	v, err := auth.NewJWTVerifier(auth.JWTConfig{Issuer: iss.Issuer, Audience: iss.Audience}, auth.NewJWKS(srv.URL, auth.JWKSOptions{}))
	require.NoError(t, err)

	pemKey, err := iss.KeyPEM()
	require.NoError(t, err)
	again, err := auth.LoadDevIssuer(pemKey, iss.Issuer, iss.Audience)
	require.NoError(t, err)
	tok, err := again.Mint(auth.StaffToken{Subject: "sup-1", Roles: []string{auth.RoleSupervisor}, Groups: []string{"g"}})
	require.NoError(t, err)
	c, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	require.Equal(t, "sup-1", c.Subject)
	require.Equal(t, []string{auth.RoleSupervisor}, c.Roles)
	require.Equal(t, []string{"g"}, c.Groups)

	_, err = auth.LoadDevIssuer([]byte("not a key"), iss.Issuer, iss.Audience)
	require.Error(t, err)
}

// countingKeys is a KeySource that counts signature checks (each verification asks for the key).
type countingKeys struct {
	auth.KeySource
	mu sync.Mutex
	n  int
}

func (c *countingKeys) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.KeySource.Key(ctx, kid)
}

func (c *countingKeys) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestAuthenticatorCachesVerifiedTokensUntilTheyExpireOrTheTTL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	keys := &countingKeys{KeySource: iss}
	v, err := auth.NewJWTVerifier(auth.JWTConfig{Issuer: iss.Issuer, Audience: iss.Audience, Now: func() time.Time { return now }}, keys)
	require.NoError(t, err)
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Staff: v, Now: func() time.Time { return now }})
	require.NoError(t, err)

	tok, err := iss.Mint(auth.StaffToken{Subject: "agent-7", Roles: []string{auth.RoleAgent}, Groups: []string{"g1"}, Now: now, TTL: 3 * time.Second})
	require.NoError(t, err)
	for range 3 {
		p, err := a.Authenticate(t.Context(), "Bearer "+tok)
		require.NoError(t, err)
		require.Equal(t, "agent-7", p.ID)
		p.Roles[0] = auth.RoleAdmin // a caller scribbling on its copy changes nothing cached
	}
	require.Equal(t, 1, keys.count(), "one verification serves the repeats")
	p, err := a.Authenticate(t.Context(), "Bearer "+tok)
	require.NoError(t, err)
	require.Equal(t, []string{auth.RoleAgent}, p.Roles)

	// The token expires before the cache's TTL: the entry ends at its expiry (the verifier, with its
	// leeway for clock skew, decides again), and past the leeway the token is refused.
	now = now.Add(3 * time.Second)
	_, err = a.Authenticate(t.Context(), "Bearer "+tok)
	require.NoError(t, err, "within the verifier's leeway")
	require.Equal(t, 2, keys.count(), "the cached entry ended at the token's expiry, before the TTL")
	now = now.Add(auth.DefaultJWTLeeway + time.Second)
	_, err = a.Authenticate(t.Context(), "Bearer "+tok)
	require.ErrorIs(t, err, auth.ErrBadCredentials)

	// A long-lived token is verified again once the TTL has passed.
	long, err := iss.Mint(auth.StaffToken{Subject: "agent-8", Roles: []string{auth.RoleAgent}, Now: now, TTL: time.Hour})
	require.NoError(t, err)
	_, err = a.Authenticate(t.Context(), "Bearer "+long)
	require.NoError(t, err)
	before := keys.count()
	now = now.Add(auth.DefaultKeyCacheTTL)
	_, err = a.Authenticate(t.Context(), "Bearer "+long)
	require.NoError(t, err)
	require.Equal(t, before+1, keys.count(), "verified again after the TTL")

	// A token that fails is never cached: a flipped signature fails every time.
	bad := long[:len(long)-2] + "AA"
	for range 2 {
		_, err = a.Authenticate(t.Context(), "Bearer "+bad)
		require.ErrorIs(t, err, auth.ErrBadCredentials)
	}
}
