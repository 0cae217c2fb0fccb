// Package store is intake's Postgres persistence: tickets, their timeline, numbering, the taxonomy and
// the keyword rules. Every write owns its transaction and sends its statements in as few round trips as
// it can (pgx batches), because SubmitTicket's throughput is bounded by them. Known constraint violations
// become domain errors; anything else is returned wrapped and surfaces as Internal.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
)

// Schema is intake's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "intake"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set intake applies, in order: the shared idempotency keys, outbox,
// security tables and the events inbox (intake consumes kefu.customer.* events), then intake's own tables.
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
		{Name: "intake", FS: sub},
	}
}

// Store reads and writes intake's tables through a pool whose search_path is the intake schema.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool (for the outbox relay and idempotency purges, which share it).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// runTx runs one READ COMMITTED transaction whose BEGIN travels in the same round trip as the statements
// first queues (pgx's Batch.BeginTx), then fn with those statements' results (collected by first's
// callbacks), then COMMIT. Like pgxutil.InTx it runs the whole transaction again on a serialization failure
// or deadlock (40001/40P01), up to pgxutil.MaxTxAttempts times, so first and fn must have no effects
// outside the transaction and must reset whatever their callbacks fill.
func (s *Store) runTx(ctx context.Context, first func(b *pgx.Batch), fn func(ctx context.Context, tx pgx.Tx) error) error {
	return pgxutil.Retry(ctx, func(ctx context.Context) error { return s.tryTx(ctx, first, fn) })
}

func (s *Store) tryTx(ctx context.Context, first func(b *pgx.Batch), fn func(ctx context.Context, tx pgx.Tx) error) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	first(b)
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	if err := br.Close(); err != nil {
		if tx != nil {
			_ = tx.Rollback(ctx)
		}
		return err
	}
	if err := fn(ctx, tx); err != nil {
		// A failed rollback means pgx discards the connection; the error that matters is fn's.
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("commit: transaction was rolled back: %w", err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// execBatch sends b in one round trip and returns each statement's command tag, or the first error.
func execBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) ([]pgconn.CommandTag, error) {
	if b.Len() == 0 {
		return nil, nil
	}
	br := tx.SendBatch(ctx, b)
	tags := make([]pgconn.CommandTag, 0, b.Len())
	for range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, err
		}
		tags = append(tags, tag)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("close batch: %w", err)
	}
	return tags, nil
}

// isNoRows reports whether err says a single-row query found nothing.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
