// Package store is the knowledge base's Postgres persistence: articles with their versions and search
// vectors (made by the search package in Go and passed as tsvector literals), the document frequency of
// every term, the search query itself, articles' uses on tickets, the projection of tickets'
// subcategories and canned responses. Every write that changes an article's content changes its vectors,
// its version rows and the term counts in one transaction.
package store

import (
	"context"
	"embed"
	"errors"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
)

// Schema is the service's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "kb"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set the service applies, in order: the shared idempotency keys,
// outbox (kb publishes no events, but the platform's relay reads the table), API keys, audit log,
// rate-limit buckets and event inbox, then the service's tables.
func Migrations() []pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic("store: embedded migrations missing: " + err.Error()) // fixed at build time
	}
	return []pgxutil.MigrationSet{
		idempotency.Migrations(),
		outbox.Migrations(),
		apikeys.Migrations(),
		audit.Migrations(),
		ratelimit.Migrations(),
		events.Migrations(),
		{Name: "kb", FS: sub},
	}
}

// Store reads and writes the schema through a pool whose search_path is that schema.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// InTx runs fn in a transaction (pgxutil.InTx: retried on serialization failures and deadlocks).
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	return pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, Wrap(tx)) })
}

// Tx is a transaction on the schema.
type Tx struct{ tx pgx.Tx }

// Wrap returns the store's view of a transaction the caller opened (an event consumer's).
func Wrap(tx pgx.Tx) *Tx { return &Tx{tx: tx} }

// Raw returns the transaction, for the idempotency claim.
func (t *Tx) Raw() pgx.Tx { return t.tx }

// ErrNotFound is wrapped by lookups of a row that does not exist.
var ErrNotFound = errors.New("not found")
