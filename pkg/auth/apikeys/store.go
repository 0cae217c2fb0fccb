// Package apikeys stores the API keys of machine callers (channel adapters and kefu services) and serves
// kefu.auth.v1.KeyService, the admin API that creates, lists, rotates and revokes them. Its Store is also
// the auth.KeyLookup an auth.Authenticator verifies keys against. Keys are revoked, never deleted; the
// secret is shown once and stored only as auth.Pepper's HMAC.
package apikeys

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the api_keys table's migration set; a service that issues keys lists it next to its
// own (and idempotency.Migrations, which Create and Rotate claim their request ids in).
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time: impossible
	}
	return pgxutil.MigrationSet{Name: "apikeys", FS: sub}
}

// MaxActiveKeys is how many active keys one principal may hold: two, so a key can be rotated without a
// moment in which its holder has none.
const MaxActiveKeys = 2

// DefaultGracePeriod is how long a rotated key keeps working when the request names no grace period.
const DefaultGracePeriod = 24 * time.Hour

// Reasons of the FailedPrecondition errors, as listed in key_service.proto.
const (
	// ReasonKeyLimit: the principal already holds MaxActiveKeys active keys.
	ReasonKeyLimit = "API_KEY_LIMIT"
	// ReasonKeyRevoked: the key to rotate is revoked or expired.
	ReasonKeyRevoked = "API_KEY_REVOKED"
)

// resourceType names keys in NotFound errors.
const resourceType = "api_key"

// Idempotency scopes of the retryable writes.
const (
	scopeCreate = "create_api_key"
	scopeRotate = "rotate_api_key:" // + the old key's id
)

// Key is a stored key's record, without its hash. Times are UTC with microsecond precision.
type Key struct {
	ID            string
	PrincipalKind string // auth.KindAdapter or auth.KindService
	PrincipalID   string
	DisplayName   string
	Roles         []string
	Channels      []string // lower snake channel names (web_chat); empty for service keys
	ExpiresAt     time.Time
	RevokedAt     time.Time // zero while not revoked
	CreatedAt     time.Time
	CreatedBy     string // "<kind>:<id>" of the admin who created it
	RotatedFrom   string // the key this one replaced, if any
}

// ActiveAt reports whether the key authenticates at now: not revoked and not expired. It agrees with
// auth.APIKeyRecord.ActiveAt.
func (k Key) ActiveAt(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// Request identifies a retryable write: who asked, the request id they chose, and a fingerprint of the
// request with that id cleared (idempotency.Fingerprint).
type Request struct {
	Caller      string // auth.Principal.String()
	ID          string
	Fingerprint []byte
}

// Spec describes a key to create.
type Spec struct {
	PrincipalKind string // auth.KindAdapter or auth.KindService
	PrincipalID   string
	DisplayName   string
	Roles         []string  // empty: the kind's role (adapter or service)
	Channels      []string  // lower snake channel names
	ExpiresAt     time.Time // zero: never; else must lie in the future
}

// Issued is a created key. Text is its full text, set only by the call that created it: a replay of the
// same request returns the key with Text empty.
type Issued struct {
	Key  Key
	Text string
}

// Rotation says how to rotate a key.
type Rotation struct {
	// GracePeriod is how long the old key keeps working from now; zero ends it at once.
	GracePeriod time.Duration
	// ExpiresAt is when the new key stops working. Zero keeps the old key's policy: no expiry if it had
	// none, else the same lifetime counted from now.
	ExpiresAt time.Time
}

// Rotated is the result of a rotation: the new key (Text set only by the call that created it) and the
// old key with its shortened expiry.
type Rotated struct {
	Key      Key
	Text     string
	Previous Key
}

// Store keeps API keys in the api_keys table of the pool's schema.
type Store struct {
	pool   *pgxpool.Pool
	pepper auth.Pepper
	clk    clock.Clock
	random io.Reader
}

// New returns a store on pool. pepper keys the secrets' hashes; random (crypto/rand.Reader in
// production) draws key ids and secrets.
func New(pool *pgxpool.Pool, pepper auth.Pepper, clk clock.Clock, random io.Reader) *Store {
	return &Store{pool: pool, pepper: pepper, clk: clk, random: random}
}

// now is the clock's time as Postgres stores it, so a value written and read back compares equal.
func (s *Store) now() time.Time { return s.clk.Now().UTC().Truncate(time.Microsecond) }

// LookupAPIKey implements auth.KeyLookup: one primary-key read.
func (s *Store) LookupAPIKey(ctx context.Context, id string) (auth.APIKeyRecord, error) {
	var (
		r       auth.APIKeyRecord
		expires *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT key_id, principal_kind, principal_id, roles, channels, hash, expires_at,
		revoked_at IS NOT NULL FROM api_keys WHERE key_id = $1`, id).
		Scan(&r.ID, &r.Kind, &r.PrincipalID, &r.Roles, &r.Channels, &r.Hash, &expires, &r.Revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.APIKeyRecord{}, auth.ErrUnknownAPIKey
	}
	if err != nil {
		return auth.APIKeyRecord{}, fmt.Errorf("look up API key %s: %w", id, err)
	}
	if expires != nil {
		r.ExpiresAt = expires.UTC()
	}
	return r, nil
}

// Create issues a key for spec. The request id is claimed in the same transaction as the insert, so a
// retry returns the key the first call made (without its text), and the same id with another request is
// AlreadyExists. It is FailedPrecondition ReasonKeyLimit when the principal already holds MaxActiveKeys
// active keys, and InvalidArgument on expire_time when spec.ExpiresAt is not in the future.
func (s *Store) Create(ctx context.Context, req Request, spec Spec) (Issued, error) {
	id, text, err := auth.NewAPIKey(s.random)
	if err != nil {
		return Issued{}, err
	}
	_, secret, err := auth.ParseAPIKey(text)
	if err != nil {
		return Issued{}, fmt.Errorf("new API key: %w", err)
	}
	now := s.now()
	k := Key{
		ID:            id,
		PrincipalKind: spec.PrincipalKind,
		PrincipalID:   spec.PrincipalID,
		DisplayName:   spec.DisplayName,
		Roles:         slices.Clone(spec.Roles),
		Channels:      slices.Clone(spec.Channels),
		ExpiresAt:     spec.ExpiresAt.UTC().Truncate(time.Microsecond),
		CreatedAt:     now,
		CreatedBy:     req.Caller,
	}
	if len(k.Roles) == 0 {
		k.Roles = []string{defaultRole(k.PrincipalKind)}
	}

	var out Issued
	err = pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		claim := idempotency.Claim{Principal: req.Caller, Scope: scopeCreate, Key: req.ID, Fingerprint: req.Fingerprint, ResourceID: id}
		prior, err := claim.Claim(ctx, tx, now)
		if err != nil {
			return err
		}
		if prior != "" {
			key, err := getKey(ctx, tx, prior, "")
			out = Issued{Key: key}
			return err
		}
		// Checked after the claim, so a retry gets its key even once the expiry it chose has passed.
		if !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now) {
			return apierr.InvalidField("expire_time", "must lie in the future")
		}
		if err := s.checkLimit(ctx, tx, k.PrincipalID, now); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, k, s.pepper.Hash(id, secret)); err != nil {
			return err
		}
		out = Issued{Key: k, Text: text}
		return nil
	})
	if err != nil {
		return Issued{}, err
	}
	return out, nil
}

// Rotate issues a new key with the old one's principal, roles and channels, and shortens the old key's
// life to r.GracePeriod from now (never lengthens it). The request id is claimed per old key, as in
// Create. Errors: NotFound for an unknown key; FailedPrecondition ReasonKeyRevoked when the old key is
// revoked or expired; FailedPrecondition ReasonKeyLimit when, with the old key's new expiry, the principal
// would hold more than MaxActiveKeys active keys (so while a rotated key is in its grace period, its
// holder's other keys cannot be rotated unless the grace is zero); InvalidArgument on expire_time when
// r.ExpiresAt is not in the future.
func (s *Store) Rotate(ctx context.Context, req Request, oldID string, r Rotation) (Rotated, error) {
	id, text, err := auth.NewAPIKey(s.random)
	if err != nil {
		return Rotated{}, err
	}
	_, secret, err := auth.ParseAPIKey(text)
	if err != nil {
		return Rotated{}, fmt.Errorf("new API key: %w", err)
	}
	now := s.now()
	var newExpiry time.Time
	if !r.ExpiresAt.IsZero() {
		newExpiry = r.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	graceEnd := now.Add(max(r.GracePeriod, 0))

	var out Rotated
	err = pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		claim := idempotency.Claim{Principal: req.Caller, Scope: scopeRotate + oldID, Key: req.ID, Fingerprint: req.Fingerprint, ResourceID: id}
		prior, err := claim.Claim(ctx, tx, now)
		if err != nil {
			return err
		}
		if prior != "" {
			key, err := getKey(ctx, tx, prior, "")
			if err != nil {
				return err
			}
			previous, err := getKey(ctx, tx, oldID, "")
			out = Rotated{Key: key, Previous: previous}
			return err
		}
		expiry := newExpiry
		if !expiry.IsZero() && !expiry.After(now) {
			return apierr.InvalidField("expire_time", "must lie in the future")
		}
		// The row lock orders concurrent rotations and revocations of this key; the principal's lock
		// (always taken after it, in checkLimit) orders the count against other keys' creations and
		// rotations.
		old, err := getKey(ctx, tx, oldID, " FOR UPDATE")
		if err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() {
			return apierr.FailedPrecondition(ReasonKeyRevoked, fmt.Sprintf("API key %s is revoked; create a new key instead", oldID)).
				WithMeta("current_state", "revoked")
		}
		if !old.ActiveAt(now) {
			return apierr.FailedPrecondition(ReasonKeyRevoked, fmt.Sprintf("API key %s has expired; create a new key instead", oldID)).
				WithMeta("current_state", "expired")
		}
		if expiry.IsZero() && !old.ExpiresAt.IsZero() {
			expiry = now.Add(old.ExpiresAt.Sub(old.CreatedAt)) // the same lifetime, from now
		}
		oldEnd := graceEnd
		if !old.ExpiresAt.IsZero() && old.ExpiresAt.Before(oldEnd) {
			oldEnd = old.ExpiresAt
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET expires_at = $2 WHERE key_id = $1`, oldID, oldEnd); err != nil {
			return fmt.Errorf("shorten API key %s: %w", oldID, err)
		}
		old.ExpiresAt = oldEnd
		if err := s.checkLimit(ctx, tx, old.PrincipalID, now); err != nil {
			return err
		}
		k := Key{
			ID:            id,
			PrincipalKind: old.PrincipalKind,
			PrincipalID:   old.PrincipalID,
			DisplayName:   old.DisplayName,
			Roles:         old.Roles,
			Channels:      old.Channels,
			ExpiresAt:     expiry,
			CreatedAt:     now,
			CreatedBy:     req.Caller,
			RotatedFrom:   oldID,
		}
		if err := insertKey(ctx, tx, k, s.pepper.Hash(id, secret)); err != nil {
			return err
		}
		out = Rotated{Key: k, Text: text, Previous: old}
		return nil
	})
	if err != nil {
		return Rotated{}, err
	}
	return out, nil
}

// Revoke revokes a key now. Revoking a revoked key returns it unchanged; an unknown id is NotFound.
func (s *Store) Revoke(ctx context.Context, id string) (Key, error) {
	row := s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1
		RETURNING `+keyColumns, id, s.now())
	k, err := scanKey(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, apierr.NotFound(resourceType, id)
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return k, nil
}

// checkLimit fails with ReasonKeyLimit when principalID holds MaxActiveKeys active keys at now. It takes
// the principal's lock first (a no-op when the transaction holds it), so concurrent creations and
// rotations for one principal count one after another: under READ COMMITTED each count, a new statement
// after the lock, sees the keys the previous holder committed.
func (s *Store) checkLimit(ctx context.Context, tx pgx.Tx, principalID string, now time.Time) error {
	if err := lockPrincipal(ctx, tx, principalID); err != nil {
		return err
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE principal_id = $1 AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > $2)`, principalID, now).Scan(&n)
	if err != nil {
		return fmt.Errorf("count active API keys of %s: %w", principalID, err)
	}
	if n >= MaxActiveKeys {
		msg := fmt.Sprintf("principal %s already has %d active API keys; revoke one first", principalID, n)
		return apierr.FailedPrecondition(ReasonKeyLimit, msg, apierr.PreconditionViolation{
			Type: ReasonKeyLimit, Subject: principalID, Description: msg,
		})
	}
	return nil
}

// lockPrincipal takes the transaction-scoped advisory lock of one principal's keys.
func lockPrincipal(ctx context.Context, tx pgx.Tx, principalID string) error {
	h := fnv.New64a()
	h.Write([]byte("kefu.apikeys.principal\x00" + principalID))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock API keys of %s: %w", principalID, err)
	}
	return nil
}

func defaultRole(kind string) string {
	if kind == auth.KindService {
		return auth.RoleService
	}
	return auth.RoleAdapter
}

// keyColumns are the columns scanKey reads, in its order.
const keyColumns = `key_id, principal_kind, principal_id, display_name, roles, channels, expires_at, revoked_at,
	created_at, created_by, rotated_from`

func scanKey(row pgx.Row) (Key, error) {
	var (
		k                Key
		expires, revoked *time.Time
		rotatedFrom      *string
		roles, channels  []string
	)
	if err := row.Scan(&k.ID, &k.PrincipalKind, &k.PrincipalID, &k.DisplayName, &roles, &channels,
		&expires, &revoked, &k.CreatedAt, &k.CreatedBy, &rotatedFrom); err != nil {
		return Key{}, err
	}
	k.Roles, k.Channels = nonNil(roles), nonNil(channels)
	k.CreatedAt = k.CreatedAt.UTC()
	if expires != nil {
		k.ExpiresAt = expires.UTC()
	}
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	if rotatedFrom != nil {
		k.RotatedFrom = *rotatedFrom
	}
	return k, nil
}

// getKey reads one key in tx; lock is "" or " FOR UPDATE".
func getKey(ctx context.Context, tx pgx.Tx, id, lock string) (Key, error) {
	k, err := scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_id = $1`+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, apierr.NotFound(resourceType, id)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read API key %s: %w", id, err)
	}
	return k, nil
}

func insertKey(ctx context.Context, tx pgx.Tx, k Key, hash []byte) error {
	var expires *time.Time
	if !k.ExpiresAt.IsZero() {
		expires = &k.ExpiresAt
	}
	var rotatedFrom *string
	if k.RotatedFrom != "" {
		rotatedFrom = &k.RotatedFrom
	}
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (key_id, principal_kind, principal_id, display_name, roles, channels,
		hash, expires_at, revoked_at, created_at, created_by, rotated_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11)`,
		k.ID, k.PrincipalKind, k.PrincipalID, k.DisplayName, nonNil(k.Roles), nonNil(k.Channels),
		hash, expires, k.CreatedAt, k.CreatedBy, rotatedFrom)
	if err != nil {
		// A 64-bit id colliding (api_keys_pkey) is as unlikely as guessing one; it surfaces as Internal.
		return fmt.Errorf("insert API key %s: %w", k.ID, err)
	}
	return nil
}

// nonNil turns a nil slice into an empty one, which pgx writes as '{}' rather than NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
