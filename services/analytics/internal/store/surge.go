package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/analytics/internal/domain/surge"
)

// surgeLockKey is the pg_advisory_xact_lock key every surge evaluation holds for its transaction, so the
// replicas evaluate one at a time and each sees the surges the one before it fired or cleared. It is the
// bytes of "kefusurg" read as a big-endian int64: fixed, and unlike any key pkg/pgxutil derives by hashing.
const surgeLockKey int64 = 0x6b65667573757267

// surgeColumns maps a dimension to its rollup column; the only column names spliced into surge SQL.
var surgeColumns = map[surge.Dimension]string{surge.Channel: "channel", surge.Subcategory: "subcategory"}

// SurgeTx is a surge evaluation's transaction, holding the surge lock.
type SurgeTx struct{ tx pgx.Tx }

// InSurgeTx runs fn in a transaction that first takes the surge lock (waiting for another replica's
// evaluation to commit), retried as pgxutil.InTx retries.
func (s *Store) InSurgeTx(ctx context.Context, fn func(ctx context.Context, tx *SurgeTx) error) error {
	return pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, surgeLockKey); err != nil {
			return fmt.Errorf("take the surge lock: %w", err)
		}
		return fn(ctx, &SurgeTx{tx: tx})
	})
}

const surgeSelect = `SELECT id, dimension, value, since, until, active, tickets, baseline, factor, peak_tickets, last_over,
	detected_at, cleared_at FROM surges`

func scanSurge(row pgx.Row) (surge.Surge, error) {
	var s surge.Surge
	var dim string
	var until, cleared *time.Time
	err := row.Scan(&s.ID, &dim, &s.Value, &s.Since, &until, &s.Active, &s.Tickets, &s.Baseline, &s.Factor, &s.Peak,
		&s.LastOver, &s.DetectedAt, &cleared)
	if err != nil {
		return s, fmt.Errorf("scan surge: %w", err)
	}
	s.Dimension = surge.Dimension(dim)
	s.Since, s.LastOver, s.DetectedAt = s.Since.UTC(), s.LastOver.UTC(), s.DetectedAt.UTC()
	if until != nil {
		s.Until = until.UTC()
	}
	if cleared != nil {
		s.ClearedAt = cleared.UTC()
	}
	return s, nil
}

func collectSurges(rows pgx.Rows, err error) ([]surge.Surge, error) {
	if err != nil {
		return nil, fmt.Errorf("read surges: %w", err)
	}
	defer rows.Close()
	var out []surge.Surge
	for rows.Next() {
		s, err := scanSurge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read surges: %w", err)
	}
	return out, nil
}

// ActiveSurges reads the active surges.
func (t *SurgeTx) ActiveSurges(ctx context.Context) ([]surge.Surge, error) {
	return collectSurges(t.tx.Query(ctx, surgeSelect+` WHERE active ORDER BY dimension, value`))
}

// Counts reads the tickets received in hours per value of dim (the empty value left out), summed over the
// rollup's other columns.
func (t *SurgeTx) Counts(ctx context.Context, dim surge.Dimension, hours []time.Time) (*surge.Counts, error) {
	col, ok := surgeColumns[dim]
	if !ok {
		return nil, fmt.Errorf("unknown surge dimension %q", dim)
	}
	out := surge.NewCounts()
	if len(hours) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT hour, `+col+`, sum(tickets)::bigint FROM ticket_rollup
		WHERE grain = 0 AND hour = ANY($1::timestamptz[]) AND `+col+` <> '' GROUP BY 1, 2`, hours)
	if err != nil {
		return nil, fmt.Errorf("count tickets by %s: %w", dim, err)
	}
	defer rows.Close()
	for rows.Next() {
		var hour time.Time
		var value string
		var n int64
		if err := rows.Scan(&hour, &value, &n); err != nil {
			return nil, fmt.Errorf("count tickets by %s: %w", dim, err)
		}
		out.Add(value, hour, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count tickets by %s: %w", dim, err)
	}
	return out, nil
}

// InsertSurge saves a new surge and adds msgs (its kefu.analytics.volume_surge) to the outbox.
func (t *SurgeTx) InsertSurge(ctx context.Context, s surge.Surge, msgs ...outbox.Message) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO surges (id, dimension, value, since, until, active, tickets, baseline, factor,
			peak_tickets, last_over, detected_at, cleared_at)
		VALUES ($1, $2, $3, $4, NULL, true, $5, $6, $7, $8, $9, $10, NULL)`,
		s.ID, string(s.Dimension), s.Value, s.Since, s.Tickets, s.Baseline, s.Factor, s.Peak, s.LastOver, s.DetectedAt)
	if err != nil {
		return fmt.Errorf("insert surge of %s %s: %w", s.Dimension, s.Value, err)
	}
	return t.addEvents(ctx, msgs)
}

// UpdateSurge saves what an evaluation changed on an active surge (peak, last hour over, and when it
// clears: until, active, cleared_at) and adds msgs to the outbox.
func (t *SurgeTx) UpdateSurge(ctx context.Context, s surge.Surge, msgs ...outbox.Message) error {
	var until, cleared *time.Time
	if !s.Active {
		until, cleared = &s.Until, &s.ClearedAt
	}
	tag, err := t.tx.Exec(ctx, `UPDATE surges SET peak_tickets = $2, last_over = $3, active = $4, until = $5, cleared_at = $6
		WHERE id = $1 AND active`, s.ID, s.Peak, s.LastOver, s.Active, until, cleared)
	if err != nil {
		return fmt.Errorf("update surge %s: %w", s.ID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update surge %s: no longer active", s.ID)
	}
	return t.addEvents(ctx, msgs)
}

func (t *SurgeTx) addEvents(ctx context.Context, msgs []outbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return outbox.Add(ctx, t.tx, msgs...)
}

// ListSurges reads at most limit surges, the active ones first, then by start, newest first; with
// activeOnly only the active ones.
func (s *Store) ListSurges(ctx context.Context, activeOnly bool, limit int) ([]surge.Surge, error) {
	where := ``
	if activeOnly {
		where = ` WHERE active`
	}
	return collectSurges(s.pool.Query(ctx, surgeSelect+where+` ORDER BY active DESC, since DESC, id DESC LIMIT $1`, limit))
}
