// Package store is the SLA-timer service's Postgres persistence: calendars, policies, the tickets it
// follows and their clocks. A ticket's row lock guards its clocks: every writer (the event consumer, the
// timer loop, an admin's re-apply) locks the ticket first, so one ticket's changes never interleave. The
// timer loop claims due clocks with SKIP LOCKED on both rows, so it never waits behind a writer and two
// replicas never claim the same clock.
package store

import (
	"context"
	"embed"
	"encoding/json"
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
	"kefu.dev/services/slatimer/internal/domain/sla"
)

// Schema is the service's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "slatimer"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set the service applies, in order: the shared idempotency keys,
// outbox, API keys, audit log, rate-limit buckets and event inbox, then the service's tables.
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
		{Name: "slatimer", FS: sub},
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

// Wrap returns the store's view of a transaction the caller opened (the event consumer's).
func Wrap(tx pgx.Tx) *Tx { return &Tx{tx: tx} }

// Raw returns the transaction, for the idempotency claim.
func (t *Tx) Raw() pgx.Tx { return t.tx }

// AddEvents adds messages to the outbox in this transaction.
func (t *Tx) AddEvents(ctx context.Context, msgs ...outbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return outbox.Add(ctx, t.tx, msgs...)
}

// ErrNotFound is returned (wrapped in an apierr NotFound) when a record does not exist.
var ErrNotFound = errors.New("not found")

// TicketRow is a followed ticket with what the domain's Ticket does not hold.
type TicketRow struct {
	sla.Ticket
	Subcategory string
	GroupID     uuid.UUID
	// AssigneeID is the agent the ticket is assigned to, as last seen (uuid.Nil: nobody); AssignSeq the
	// intake sequence of the event that said so (an assignment or a reopen).
	AssigneeID uuid.UUID
	AssignSeq  int64
	// Seq is the last intake event applied, RoutingSeq the last routing transfer event, SLASeq the last
	// kefu.sla.* event written.
	Seq, RoutingSeq, SLASeq int64
}

// ClockRow is a clock with its derived due time and next firing instant (zero: none), as stored.
type ClockRow struct {
	sla.Clock
	Due, Next time.Time
}

// LockTickets locks the rows of the tickets ids the service has seen, in id order, and reads them with their
// clocks, in one round trip: a transaction that applies several tickets' events takes them all first, so
// that two replicas' batches queue behind each other instead of deadlocking (the timer loop skips locked
// tickets). A ticket missing from the map is one the service has not seen.
func (t *Tx) LockTickets(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]TicketRow, error) {
	rows, err := t.loadTickets(ctx, ids, true)
	if err != nil {
		return nil, fmt.Errorf("lock %d tickets: %w", len(ids), err)
	}
	out := make(map[uuid.UUID]TicketRow, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// LockTicket locks ticket id's row and reads it with its clocks; found is false for a ticket the
// service has not seen.
func (t *Tx) LockTicket(ctx context.Context, id uuid.UUID) (TicketRow, bool, error) {
	rows, err := t.loadTickets(ctx, []uuid.UUID{id}, true)
	if err != nil || len(rows) == 0 {
		return TicketRow{}, false, err
	}
	return rows[0], true, nil
}

const ticketColumns = `id, type, subcategory, level, urgency, channel, tier, group_id, received_at, pending, closed,
	policy_ids, seq, routing_seq, sla_seq, assignee_id, assign_seq, resolved`

const clockColumns = `ticket_id, target, cycle, policy_id, calendar, length_ms, warnings, breach, start_at, pauses,
	state, warned, met_at, breached_at, cancelled_at, due_at, next_at, every_ms, notify_customer`

// loadTickets reads tickets ids (locking them when lock) and their clocks, in one round trip.
func (t *Tx) loadTickets(ctx context.Context, ids []uuid.UUID, lock bool) ([]TicketRow, error) {
	q := `SELECT ` + ticketColumns + ` FROM tickets WHERE id = ANY($1) ORDER BY id`
	if lock {
		q += ` FOR UPDATE`
	}
	b := &pgx.Batch{}
	var out []TicketRow
	b.Queue(q, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			r, err := scanTicket(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	clocks := map[uuid.UUID][]sla.Clock{}
	b.Queue(`SELECT `+clockColumns+` FROM clocks WHERE ticket_id = ANY($1) ORDER BY ticket_id, target`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			id, c, err := scanClock(rows)
			if err != nil {
				return err
			}
			clocks[id] = append(clocks[id], c.Clock)
		}
		return rows.Err()
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load tickets: %w", err)
	}
	for i := range out {
		out[i].Clocks = clocks[out[i].ID]
	}
	return out, nil
}

func scanTicket(rows pgx.Rows) (TicketRow, error) {
	var r TicketRow
	var group, assignee *uuid.UUID
	err := rows.Scan(&r.ID, &r.Facts.Type, &r.Subcategory, &r.Facts.Level, &r.Facts.Urgency, &r.Facts.Channel,
		&r.Facts.Tier, &group, &r.Start, &r.Pending, &r.Closed, &r.PolicyIDs, &r.Seq, &r.RoutingSeq, &r.SLASeq, &assignee,
		&r.AssignSeq, &r.Resolved)
	if err != nil {
		return r, fmt.Errorf("scan ticket: %w", err)
	}
	if group != nil {
		r.GroupID = *group
	}
	if assignee != nil {
		r.AssigneeID = *assignee
	}
	return r, nil
}

// warningJSON is a warning as stored.
type warningJSON struct {
	Percent  int   `json:"percent,omitempty"`
	BeforeMS int64 `json:"before_ms,omitempty"`
}

func encodeWarnings(ws []sla.Warning) ([]byte, error) {
	out := make([]warningJSON, len(ws))
	for i, w := range ws {
		out[i] = warningJSON{Percent: w.Percent, BeforeMS: w.Before.Milliseconds()}
	}
	return json.Marshal(out)
}

func decodeWarnings(b []byte) ([]sla.Warning, error) {
	var in []warningJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decode warnings: %w", err)
	}
	out := make([]sla.Warning, len(in))
	for i, w := range in {
		out[i] = sla.Warning{Percent: w.Percent, Before: time.Duration(w.BeforeMS) * time.Millisecond}
	}
	return out, nil
}

// spanJSON is a pause as stored.
type spanJSON struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to,omitempty"`
}

func encodePauses(ps []sla.Span) ([]byte, error) {
	out := make([]spanJSON, len(ps))
	for i, p := range ps {
		out[i].From = p.From
		if !p.To.IsZero() {
			to := p.To
			out[i].To = &to
		}
	}
	return json.Marshal(out)
}

func decodePauses(b []byte) ([]sla.Span, error) {
	var in []spanJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decode pauses: %w", err)
	}
	var out []sla.Span
	for _, p := range in {
		s := sla.Span{From: p.From}
		if p.To != nil {
			s.To = *p.To
		}
		out = append(out, s)
	}
	return out, nil
}

// scanClock scans head (leading columns of the query, if any), then the clock's columns.
func scanClock(rows pgx.Rows, head ...any) (uuid.UUID, ClockRow, error) {
	var (
		id                       uuid.UUID
		c                        ClockRow
		policy                   *uuid.UUID
		lengthMS, everyMS        int64
		warnings, pauses         []byte
		target, breach, state    string
		met, breached, cancelled *time.Time
		due, next                *time.Time
	)
	err := rows.Scan(append(head, &id, &target, &c.Cycle, &policy, &c.Calendar, &lengthMS, &warnings, &breach, &c.Start,
		&pauses, &state, &c.Warned, &met, &breached, &cancelled, &due, &next, &everyMS, &c.NotifyCustomer)...)
	if err != nil {
		return id, c, fmt.Errorf("scan clock: %w", err)
	}
	c.Target, c.Breach, c.State = sla.Target(target), sla.BreachAction(breach), sla.ClockState(state)
	c.Length = time.Duration(lengthMS) * time.Millisecond
	c.Every = time.Duration(everyMS) * time.Millisecond
	if policy != nil {
		c.PolicyID = *policy
	}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&c.MetAt, met}, {&c.BreachedAt, breached}, {&c.CancelledAt, cancelled}, {&c.Due, due}, {&c.Next, next}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	if c.Warnings, err = decodeWarnings(warnings); err != nil {
		return id, c, err
	}
	if c.Pauses, err = decodePauses(pauses); err != nil {
		return id, c, err
	}
	return id, c, nil
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nullID is id, or NULL for the nil id.
func nullID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// TicketWrite is one ticket's row, the clocks to write with it and the events its change caused.
type TicketWrite struct {
	Row    TicketRow
	Clocks []ClockRow
	Events []outbox.Message
}

// Write saves tickets' rows and clocks and adds their events to the outbox, all in one round trip (one
// pgx batch). Each ticket's events must be in its sequence order, and its row locked by this transaction.
func (t *Tx) Write(ctx context.Context, ws []TicketWrite, now time.Time) error {
	b := &pgx.Batch{}
	var events []outbox.Message
	for _, w := range ws {
		r := w.Row
		policyIDs := r.PolicyIDs
		if policyIDs == nil {
			policyIDs = []uuid.UUID{}
		}
		b.Queue(`INSERT INTO tickets (`+ticketColumns+`, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, subcategory = excluded.subcategory, level = excluded.level,
				urgency = excluded.urgency, channel = excluded.channel, tier = excluded.tier, group_id = excluded.group_id,
				pending = excluded.pending, closed = excluded.closed, policy_ids = excluded.policy_ids, seq = excluded.seq,
				routing_seq = excluded.routing_seq, sla_seq = excluded.sla_seq, assignee_id = excluded.assignee_id,
				assign_seq = excluded.assign_seq, resolved = excluded.resolved, updated_at = excluded.updated_at`,
			r.ID, r.Facts.Type, r.Subcategory, r.Facts.Level, r.Facts.Urgency, r.Facts.Channel, r.Facts.Tier, nullID(r.GroupID),
			r.Start, r.Pending, r.Closed, policyIDs, r.Seq, r.RoutingSeq, r.SLASeq, nullID(r.AssigneeID), r.AssignSeq, r.Resolved, now)
		for _, c := range w.Clocks {
			if err := queueClock(b, r.ID, c, now); err != nil {
				return err
			}
		}
		events = append(events, w.Events...)
	}
	if len(events) > 0 {
		if err := outbox.Queue(ctx, b, events...); err != nil {
			return err
		}
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save %d tickets: %w", len(ws), err)
	}
	return nil
}

func queueClock(b *pgx.Batch, ticket uuid.UUID, c ClockRow, now time.Time) error {
	warnings, err := encodeWarnings(c.Warnings)
	if err != nil {
		return err
	}
	pauses, err := encodePauses(c.Pauses)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO clocks (`+clockColumns+`, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT (ticket_id, target) DO UPDATE SET cycle = excluded.cycle, policy_id = excluded.policy_id,
			calendar = excluded.calendar, length_ms = excluded.length_ms, warnings = excluded.warnings,
			breach = excluded.breach, start_at = excluded.start_at, pauses = excluded.pauses, state = excluded.state,
			warned = excluded.warned, met_at = excluded.met_at, breached_at = excluded.breached_at,
			cancelled_at = excluded.cancelled_at,
			due_at = excluded.due_at, next_at = excluded.next_at, every_ms = excluded.every_ms,
			notify_customer = excluded.notify_customer, updated_at = excluded.updated_at`,
		ticket, string(c.Target), c.Cycle, nullID(c.PolicyID), c.Calendar, c.Length.Milliseconds(), warnings, string(c.Breach),
		c.Start, pauses, string(c.State), c.Warned, nullTime(c.MetAt), nullTime(c.BreachedAt), nullTime(c.CancelledAt), nullTime(c.Due),
		nullTime(c.Next), c.Every.Milliseconds(), c.NotifyCustomer, now)
	return nil
}

// ClaimDue locks up to limit tickets having a clock due at now, skipping tickets another transaction
// holds, and reads them with their clocks. Earliest instants first.
func (t *Tx) ClaimDue(ctx context.Context, now time.Time, limit int) ([]TicketRow, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT t.id FROM (
			SELECT c.ticket_id FROM clocks c JOIN tickets t ON t.id = c.ticket_id
			WHERE c.next_at <= $1 ORDER BY c.next_at LIMIT $2
			FOR UPDATE OF c, t SKIP LOCKED) d JOIN tickets t ON t.id = d.ticket_id`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due clocks: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("claim due clocks: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return t.loadTickets(ctx, ids, false)
}

// NextDue returns the earliest next firing instant of any clock (zero when none).
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var next *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(next_at) FROM clocks WHERE next_at IS NOT NULL`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("next due clock: %w", err)
	}
	if next == nil {
		return time.Time{}, nil
	}
	return *next, nil
}

// Ticket reads ticket id with its clocks (their stored schedules).
func (s *Store) Ticket(ctx context.Context, id uuid.UUID) (TicketRow, []ClockRow, error) {
	var r TicketRow
	var clocks []ClockRow
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		rows, err := t.tx.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("read ticket: %w", err)
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read ticket: %w", err)
			}
			return apierr.NotFound("kefu.sla.v1.TicketSla", id.String()).WithCause(ErrNotFound)
		}
		if r, err = scanTicket(rows); err != nil {
			return err
		}
		rows.Close()
		crows, err := t.tx.Query(ctx, `SELECT `+clockColumns+` FROM clocks WHERE ticket_id = $1 ORDER BY target`, id)
		if err != nil {
			return fmt.Errorf("read clocks: %w", err)
		}
		defer crows.Close()
		clocks = nil
		for crows.Next() {
			_, c, err := scanClock(crows)
			if err != nil {
				return err
			}
			clocks = append(clocks, c)
		}
		return crows.Err()
	})
	return r, clocks, err
}

// BoardFilter narrows the countdown board.
type BoardFilter struct {
	GroupID uuid.UUID
	Level   string
	// State: "running", "warning", "breached", "paused" or "" for all.
	State string
	// DueBefore keeps running targets due before it (breached ones always show); zero for all.
	DueBefore time.Time
}

// BoardCursor is where a board page ends.
type BoardCursor struct {
	Rank   int       `json:"r"`
	Due    time.Time `json:"d"`
	Ticket uuid.UUID `json:"t"`
	Target string    `json:"g"`
}

// BoardLine is one line of the board.
type BoardLine struct {
	TicketID uuid.UUID
	GroupID  uuid.UUID
	Level    string
	Urgency  string
	Clock    ClockRow
	Cursor   BoardCursor
}

// boardRank orders the board: breached first (0), then running by due time (1), then paused (2).
const boardRank = `CASE WHEN c.state = 'breached' THEN 0 WHEN c.state = 'running' THEN 1 ELSE 2 END`

// Board lists open and unmet-breached targets of open tickets: breached first, then by due time, paused
// last; after cursor (nil: from the start), at most limit. Progress clocks are reminders, not targets, and
// never show.
func (s *Store) Board(ctx context.Context, f BoardFilter, after *BoardCursor, limit int) ([]BoardLine, error) {
	args := []any{limit}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := `NOT t.closed AND c.target <> 'progress' AND
		(c.state IN ('running', 'paused') OR (c.state = 'breached' AND c.met_at IS NULL))`
	if f.GroupID != uuid.Nil {
		where += ` AND t.group_id = ` + arg(f.GroupID)
	}
	if f.Level != "" {
		where += ` AND t.level = ` + arg(f.Level)
	}
	switch f.State {
	case "running":
		where += ` AND c.state = 'running' AND c.warned = 0`
	case "warning":
		where += ` AND c.state = 'running' AND c.warned > 0`
	case "breached", "paused":
		where += ` AND c.state = ` + arg(f.State)
	}
	if !f.DueBefore.IsZero() {
		where += ` AND (c.state = 'breached' OR c.due_at < ` + arg(f.DueBefore) + `)`
	}
	// Paused targets have no due time: they sort last, under a far-future key a cursor can carry.
	due := `COALESCE(c.due_at, '9999-12-31T00:00:00Z'::timestamptz)`
	if after != nil {
		where += fmt.Sprintf(` AND (%s, %s, c.ticket_id, c.target) > (%s, %s, %s, %s)`, boardRank, due,
			arg(after.Rank), arg(after.Due), arg(after.Ticket), arg(after.Target))
	}
	rows, err := s.pool.Query(ctx, `SELECT t.group_id, t.level, t.urgency, `+boardRank+`, `+due+`, `+clockColumns+`
		FROM clocks c JOIN tickets t ON t.id = c.ticket_id
		WHERE `+where+`
		ORDER BY `+boardRank+`, `+due+`, c.ticket_id, c.target LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("list at-risk targets: %w", err)
	}
	defer rows.Close()
	var out []BoardLine
	for rows.Next() {
		var l BoardLine
		var group *uuid.UUID
		var rank int
		var dueKey time.Time
		id, c, err := scanClock(rows, &group, &l.Level, &l.Urgency, &rank, &dueKey)
		if err != nil {
			return nil, err
		}
		l.TicketID, l.Clock = id, c
		if group != nil {
			l.GroupID = *group
		}
		l.Cursor = BoardCursor{Rank: rank, Due: dueKey, Ticket: id, Target: string(c.Target)}
		out = append(out, l)
	}
	return out, rows.Err()
}

// PendingTimers counts clocks with a next firing instant.
func (s *Store) PendingTimers(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM clocks WHERE next_at IS NOT NULL`).Scan(&n)
	return n, err
}
