package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// AuthorizationKey is the gRPC metadata key of the credential, "Bearer <API key or staff token>". The
// gateway forwards REST's Authorization header into it.
const AuthorizationKey = "authorization"

// ForwardedAuthorizationKey carries, from a service, the credential of the staff member it calls for
// ("Bearer <staff token>"). The callee verifies it like any credential and believes it only from a caller
// with the service role; an identity is never taken from a plain header.
const ForwardedAuthorizationKey = "kefu-on-behalf-of"

// Errors of Authenticate. Both become Unauthenticated; the wrapped detail is for the server's log only.
var (
	ErrNoCredentials  = errors.New("no credentials")
	ErrBadCredentials = errors.New("invalid credentials")
)

// ErrUnknownAPIKey is what a KeyLookup returns for a key id it does not hold.
var ErrUnknownAPIKey = errors.New("unknown API key")

// APIKeyRecord is what a key store knows about one key: enough to verify it and build its principal.
type APIKeyRecord struct {
	ID          string
	Kind        string // KindAdapter or KindService
	PrincipalID string
	Roles       []string
	Channels    []string
	Hash        []byte    // Pepper.Hash(id, secret)
	ExpiresAt   time.Time // zero: never
	Revoked     bool
}

// ActiveAt reports whether the key authenticates at now.
func (r APIKeyRecord) ActiveAt(now time.Time) bool {
	return !r.Revoked && (r.ExpiresAt.IsZero() || now.Before(r.ExpiresAt))
}

// KeyLookup finds API keys by id (ErrUnknownAPIKey when there is none).
type KeyLookup interface {
	LookupAPIKey(ctx context.Context, id string) (APIKeyRecord, error)
}

// Memberships tells which groups a staff member works in or heads. Routing's records are the source of
// truth (pkg/membership, which intake uses when it is given routing's address); ClaimGroups reads the
// token, for a service running without routing.
type Memberships interface {
	Groups(ctx context.Context, staff StaffClaims) ([]string, error)
}

// ClaimGroups takes a staff member's groups from their token's groups claim.
type ClaimGroups struct{}

// Groups returns the claim's groups.
func (ClaimGroups) Groups(_ context.Context, staff StaffClaims) ([]string, error) {
	return staff.Groups, nil
}

// staffRoles are the roles a staff token may carry. Machine roles (adapter, service) come only from keys:
// a token that claims them gets nothing for it.
var staffRoles = []string{RoleAgent, RoleSupervisor, RoleAdmin, RoleAuditor}

// AuthenticatorOptions configures an Authenticator. A nil Keys refuses API keys; a nil Staff refuses tokens.
type AuthenticatorOptions struct {
	Keys   KeyLookup
	Pepper Pepper
	Staff  *JWTVerifier
	// Memberships default ClaimGroups.
	Memberships Memberships
	// KeyCacheTTL is how long a key's record is reused before it is read again: how long a revocation in
	// another replica takes to apply here. Default 5 s; negative disables the cache.
	KeyCacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultKeyCacheTTL bounds how stale a cached key record may be.
const DefaultKeyCacheTTL = 5 * time.Second

// maxCachedKeys bounds the cache; unknown ids are cached too, so a caller guessing ids cannot grow it
// without limit.
const maxCachedKeys = 10000

// maxCachedTokens bounds the verified-token cache; only tokens that verified are cached.
const maxCachedTokens = 10000

// Authenticator turns a request's credential into a principal.
type Authenticator struct {
	o AuthenticatorOptions

	mu     sync.RWMutex
	cache  map[string]cachedKey
	tokens map[[sha256.Size]byte]cachedToken
}

// cachedToken is a staff token that verified: the principal it stands for, until until.
type cachedToken struct {
	p     Principal
	until time.Time
}

type cachedKey struct {
	rec   APIKeyRecord
	found bool
	at    time.Time
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(o AuthenticatorOptions) (*Authenticator, error) {
	if o.Keys != nil && len(o.Pepper) < MinPepperBytes {
		return nil, fmt.Errorf("auth: API keys need a pepper of at least %d bytes", MinPepperBytes)
	}
	if o.Memberships == nil {
		o.Memberships = ClaimGroups{}
	}
	if o.KeyCacheTTL == 0 {
		o.KeyCacheTTL = DefaultKeyCacheTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Authenticator{o: o, cache: map[string]cachedKey{}, tokens: map[[sha256.Size]byte]cachedToken{}}, nil
}

// Authenticate verifies authorization ("Bearer <credential>"): an API key (kefu_...) against the key store,
// anything else as a staff token. It returns ErrNoCredentials or ErrBadCredentials (wrapped with the
// reason, for the log) when the caller is not authenticated, and any other error when it could not tell
// (the key store is unreachable).
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	if authorization == "" {
		return Principal{}, ErrNoCredentials
	}
	scheme, cred, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || cred == "" || len(cred) > 8192 {
		return Principal{}, fmt.Errorf("%w: want Bearer <credential>", ErrBadCredentials)
	}
	if strings.HasPrefix(cred, apiKeyPrefix+"_") {
		return a.apiKey(ctx, cred)
	}
	return a.staff(ctx, cred)
}

func (a *Authenticator) apiKey(ctx context.Context, text string) (Principal, error) {
	if a.o.Keys == nil {
		return Principal{}, fmt.Errorf("%w: API keys are not accepted here", ErrBadCredentials)
	}
	id, secret, err := ParseAPIKey(text)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	rec, found, err := a.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	// The hash is checked for unknown ids too (against nothing), so both answers take the same time.
	if !a.o.Pepper.Verify(id, secret, rec.Hash) || !found {
		return Principal{}, fmt.Errorf("%w: API key %s unknown or wrong secret", ErrBadCredentials, id)
	}
	if !rec.ActiveAt(a.o.Now()) {
		return Principal{}, fmt.Errorf("%w: API key %s revoked or expired", ErrBadCredentials, id)
	}
	return Principal{
		Kind: rec.Kind, ID: rec.PrincipalID, Roles: rec.Roles, Channels: rec.Channels, KeyID: rec.ID,
	}, nil
}

// lookup reads a key's record through the cache.
func (a *Authenticator) lookup(ctx context.Context, id string) (APIKeyRecord, bool, error) {
	now := a.o.Now()
	if a.o.KeyCacheTTL > 0 {
		a.mu.RLock()
		c, ok := a.cache[id]
		a.mu.RUnlock()
		if ok && now.Sub(c.at) < a.o.KeyCacheTTL && !now.Before(c.at) {
			return c.rec, c.found, nil
		}
	}
	rec, err := a.o.Keys.LookupAPIKey(ctx, id)
	found := err == nil
	if err != nil && !errors.Is(err, ErrUnknownAPIKey) {
		return APIKeyRecord{}, false, fmt.Errorf("look up API key %s: %w", id, err)
	}
	if a.o.KeyCacheTTL > 0 {
		a.mu.Lock()
		if len(a.cache) >= maxCachedKeys {
			clear(a.cache)
		}
		a.cache[id] = cachedKey{rec: rec, found: found, at: now}
		a.mu.Unlock()
	}
	return rec, found, nil
}

// Forget drops a key from the cache, so a change made through this replica applies at once.
func (a *Authenticator) Forget(keyID string) {
	a.mu.Lock()
	delete(a.cache, keyID)
	a.mu.Unlock()
}

// staff verifies a staff token, through a cache of tokens that verified: a signature check costs about as
// much as the rest of a lookup call (docs/benchmarks.md), and staff clients send the same token for its
// whole life. An entry lives until the token expires or KeyCacheTTL passes, whichever is first, so a
// provider key withdrawn or a membership changed applies here within the same bound as a key revocation.
// Only the token's hash is kept; tokens that fail are never cached.
func (a *Authenticator) staff(ctx context.Context, token string) (Principal, error) {
	if a.o.Staff == nil {
		return Principal{}, fmt.Errorf("%w: staff tokens are not accepted here", ErrBadCredentials)
	}
	sum := sha256.Sum256([]byte(token))
	now := a.o.Now()
	if a.o.KeyCacheTTL > 0 {
		a.mu.RLock()
		c, ok := a.tokens[sum]
		a.mu.RUnlock()
		if ok && now.Before(c.until) {
			return c.p.clone(), nil
		}
	}
	p, exp, err := a.verifyStaff(ctx, token)
	if err != nil || a.o.KeyCacheTTL <= 0 {
		return p, err
	}
	until := now.Add(a.o.KeyCacheTTL)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	a.mu.Lock()
	if len(a.tokens) >= maxCachedTokens {
		clear(a.tokens)
	}
	a.tokens[sum] = cachedToken{p: p.clone(), until: until}
	a.mu.Unlock()
	return p, nil
}

// verifyStaff checks a staff token's signature and claims and returns its principal and expiry.
func (a *Authenticator) verifyStaff(ctx context.Context, token string) (Principal, time.Time, error) {
	claims, err := a.o.Staff.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrBadCredentials, err)
		}
		return Principal{}, time.Time{}, err
	}
	roles := make([]string, 0, len(claims.Roles))
	for _, r := range claims.Roles {
		if slices.Contains(staffRoles, r) && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	groups, err := a.o.Memberships.Groups(ctx, claims)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("staff memberships: %w", err)
	}
	return Principal{Kind: KindStaff, ID: claims.Subject, Roles: roles, Groups: groups}, claims.ExpiresAt, nil
}
