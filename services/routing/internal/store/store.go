// Package store is the routing service's Postgres persistence: groups, agents and memberships, routing
// rules, and the projection of the tickets it routes (queues and loads) with the assignments waiting for
// intake. Admin writes own their transactions; the assignment engine's steps run in a transaction the
// caller holds (Tx), because an event's inbox row, the decision and its outbox events commit together.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/routing/internal/domain/routing"
)

// Schema is the routing service's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "routing"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set the service applies, in order: the shared idempotency keys,
// outbox, API keys, audit log, rate-limit buckets and event inbox, then routing's tables.
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
		{Name: "routing", FS: sub},
	}
}

// Store reads and writes the routing schema through a pool whose search_path is that schema.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the pool, for the event consumer and the outbox.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTx runs fn in a transaction (pgxutil.InTx: retried on serialization failures and deadlocks).
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	return pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, Wrap(tx)) })
}

// Tx is a transaction on the routing schema.
type Tx struct{ tx pgx.Tx }

// Wrap returns the store's view of a transaction the caller opened (the event consumer's).
func Wrap(tx pgx.Tx) *Tx { return &Tx{tx: tx} }

// AddEvents adds messages to the outbox in this transaction.
func (t *Tx) AddEvents(ctx context.Context, msgs ...outbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return outbox.Add(ctx, t.tx, msgs...)
}

// ErrNotFound is returned (wrapped in an apierr NotFound) when a record does not exist.
var ErrNotFound = errors.New("not found")

func notFound(kind string, id uuid.UUID) error {
	return apierr.NotFound("kefu.routing.v1."+kind, id.String()).WithCause(ErrNotFound)
}

// seedKey marks in settings that the defaults were seeded, so groups and rules an admin deleted are not
// brought back at the next start.
const seedKey = "defaults_seeded"

// Seed inserts the default groups and rules (routing.DefaultGroups, DefaultRules) once per database. It is
// safe when several replicas start at once: the first takes the settings row, the others find it.
func (s *Store) Seed(ctx context.Context, now time.Time, newID func() (uuid.UUID, error)) (bool, error) {
	seeded := false
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		tag, err := t.tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
			seedKey, now.UTC().Format(time.RFC3339))
		if err != nil {
			return fmt.Errorf("claim seeding: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		ids := map[string]uuid.UUID{}
		for _, g := range routing.DefaultGroups() {
			// A group an admin created with a default code before the first start keeps its id.
			var id uuid.UUID
			err := t.tx.QueryRow(ctx, `SELECT id FROM groups WHERE code = $1`, g.Code).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				g.CreatedAt, g.UpdatedAt = now, now
				if err := t.insertGroup(ctx, g); err != nil {
					return err
				}
				id = g.ID
			} else if err != nil {
				return fmt.Errorf("find group %s: %w", g.Code, err)
			}
			ids[g.Code] = id
		}
		for _, r := range routing.DefaultRules(ids) {
			if r.ID, err = newID(); err != nil {
				return err
			}
			r.CreatedAt = now
			if err := t.insertRule(ctx, r); err != nil {
				return err
			}
		}
		seeded = true
		return nil
	})
	return seeded, err
}

// QueueMetric is one group's queue as metrics report it.
type QueueMetric struct {
	GroupID    string
	Depth      int64
	OldestWait float64 // seconds
}

// QueueMetrics reads every non-empty queue's depth and oldest wait.
func (s *Store) QueueMetrics(ctx context.Context) ([]QueueMetric, error) {
	rows, err := s.pool.Query(ctx, `SELECT group_id::text, count(*), extract(epoch FROM now() - min(enqueued_at))::float8
		FROM routed_tickets WHERE state = 'queued' AND group_id IS NOT NULL GROUP BY group_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueMetric, error) {
		var q QueueMetric
		err := r.Scan(&q.GroupID, &q.Depth, &q.OldestWait)
		return q, err
	})
}
