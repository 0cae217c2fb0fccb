// Package idempotency makes creates and message-adding calls safe to retry. The first write of the
// operation's transaction claims (principal, scope, key) with a fingerprint of the request; a retry with
// the same key gets the resource the first call made, and the same key with a different request is
// AlreadyExists (reason IDEMPOTENCY_KEY_REUSED).
package idempotency

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the idempotency_keys table's migration set; services list it next to their own.
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // embedded at build time: impossible
	}
	return pgxutil.MigrationSet{Name: "idempotency", FS: sub}
}

// ErrKeyReused is wrapped by the error Claim returns when the key was used with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Fingerprint hashes the deterministic encoding of m. Callers clear the key field (and any field that
// does not change the meaning) on a clone before passing it.
func Fingerprint(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// Claim is a claim on a key.
type Claim struct {
	Principal   string
	Scope       string // what the key is for, e.g. "submit_ticket" or "ticket:<id>"
	Key         string
	Fingerprint []byte
	ResourceID  string // the id the operation will create
}

// Claim records c in tx. It returns ("", nil) when the claim is new: go on and create the resource. It
// returns (existingID, nil) when the same request already ran: return that resource and write nothing.
// A different request under the same key is AlreadyExists. A concurrent duplicate blocks on the primary
// key until the first transaction ends (read committed), then sees its row.
func (c Claim) Claim(ctx context.Context, tx pgx.Tx, now time.Time) (string, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (principal, scope, key, fingerprint, resource_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING`,
		c.Principal, c.Scope, c.Key, c.Fingerprint, c.ResourceID, now)
	if err != nil {
		return "", fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return "", nil
	}
	var fp []byte
	var id string
	err = tx.QueryRow(ctx, `SELECT fingerprint, resource_id FROM idempotency_keys WHERE principal = $1 AND scope = $2 AND key = $3`,
		c.Principal, c.Scope, c.Key).Scan(&fp, &id)
	if err != nil {
		return "", fmt.Errorf("read idempotency key: %w", err)
	}
	if string(fp) != string(c.Fingerprint) {
		return "", apierr.New(apierr.KindAlreadyExists, "IDEMPOTENCY_KEY_REUSED",
			"the key was already used with a different request").WithCause(ErrKeyReused)
	}
	return id, nil
}

// Purge deletes keys created before cutoff, at most batch rows per statement, until none are left or ctx
// ends. It returns how many it deleted.
func Purge(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time, batch int) (int64, error) {
	var total int64
	for {
		tag, err := pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE ctid IN (
			SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`, cutoff, batch)
		if err != nil {
			return total, fmt.Errorf("purge idempotency keys: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}

// FingerprintWithout hashes m with its key field (by name) cleared, so a retry is recognised by everything
// else it says.
func FingerprintWithout(m proto.Message, key protoreflect.Name) ([]byte, error) {
	c := proto.Clone(m)
	r := c.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(key)
	if fd == nil {
		return nil, fmt.Errorf("fingerprint %s: no field %s", r.Descriptor().FullName(), key)
	}
	r.Clear(fd)
	return Fingerprint(c)
}

// DefaultTTL is how long services keep request keys: a retry within it returns the first call's result.
const DefaultTTL = 48 * time.Hour

// Sweep purges keys older than ttl every interval until ctx ends (a service's background task). A failed
// purge is logged and tried again at the next tick.
func Sweep(ctx context.Context, pool *pgxpool.Pool, now func() time.Time, every, ttl time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := Purge(ctx, pool, now().Add(-ttl), 1000); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "purge idempotency keys", "error", err.Error())
		}
	}
}
