package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// Write is what a change saves besides the ticket's new state: its timeline entries and its events, in the
// same transaction.
type Write struct {
	Entries  []Entry
	Messages []outbox.Message
	// ResolveCustomerLater (new tickets only) queues the ticket for the sweeper to resolve its customer,
	// which the customer service could not answer at submit.
	ResolveCustomerLater bool
}

// Empty reports whether there is nothing to save (a change that changed nothing).
func (w Write) Empty() bool { return len(w.Entries) == 0 && len(w.Messages) == 0 }

// Result is the outcome of a ticket write.
type Result struct {
	// Ticket is the ticket after the change (or, for a replay, as it is now).
	Ticket *ticket.Ticket
	// Entries are the timeline entries written; for a replayed message-adding call, the entry the first
	// call wrote.
	Entries []Entry
	// Replayed is true when the idempotency key or request id was already used with the same request:
	// nothing was written.
	Replayed bool
}

// claimSQL is idempotency.Claim's first statement. The store queues it in the transaction's first round trip
// (with BEGIN and the reads the write needs), so a fresh claim costs no round trip of its own; when it finds
// the key taken, idempotency.Claim itself decides (same request: replay; different: AlreadyExists).
const claimSQL = `INSERT INTO idempotency_keys (principal, scope, key, fingerprint, resource_id, created_at)
	VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING`

// queueClaim queues c's insert; *claimed reports after the batch whether the key was free.
func queueClaim(b *pgx.Batch, c *idempotency.Claim, now time.Time, claimed *bool) {
	*claimed = false
	b.Queue(claimSQL, c.Principal, c.Scope, c.Key, c.Fingerprint, c.ResourceID, now).Exec(func(ct pgconn.CommandTag) error {
		*claimed = ct.RowsAffected() == 1
		return nil
	})
}

// settleClaim runs after a queued claim found its key taken: the full idempotency.Claim tells a replay of
// the same request (the stored resource id) from a reuse with another request (AlreadyExists). It returns
// "" when the key turned out free after all (purged meanwhile): the claim is now this transaction's.
func settleClaim(ctx context.Context, tx pgx.Tx, c *idempotency.Claim, now time.Time) (string, error) {
	return c.Claim(ctx, tx, now)
}

// CreateTicket creates a ticket in two round trips: the day's next serial (drawn outside the transaction:
// a submit that fails or turns out to be a retry leaves a gap, which numbering allows), then one pipelined
// batch BEGIN, idempotency claim, ticket, timeline, outbox, COMMIT. build receives the serial and returns
// the ticket and what to save with it. The claim is a plain INSERT, so a key already taken aborts the
// batch with a unique violation (a concurrent duplicate first waits on the key until the other
// transaction ends); then idempotency.Claim, in a transaction of its own, tells a retry of the same
// request (the existing ticket comes back with replayed true) from a reuse with another (AlreadyExists).
// day is the business day the number is drawn for.
func (s *Store) CreateTicket(ctx context.Context, c idempotency.Claim, day time.Time, now time.Time,
	build func(serial int64) (*ticket.Ticket, Write, error)) (*ticket.Ticket, bool, error) {
	// One connection for the serial and the batch: a pool round trip fewer on the hot path.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire connection: %w", err)
	}
	var serial int64
	if err := conn.QueryRow(ctx, `SELECT next_ticket_serial($1)`, pgDate(day)).Scan(&serial); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("draw ticket serial: %w", err)
	}
	nt, w, err := build(serial)
	if err != nil {
		conn.Release()
		return nil, false, err
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(claimStrictSQL, c.Principal, c.Scope, c.Key, c.Fingerprint, c.ResourceID, now)
	if err := queueInsertTicket(b, nt); err != nil {
		return nil, false, err
	}
	if err := queueWrite(ctx, b, w); err != nil {
		return nil, false, err
	}
	if w.ResolveCustomerLater {
		b.Queue(queueResolutionSQL, nt.ID, now)
	}
	if err := audit.Queue(ctx, b, ResourceTicketAudit, nt.ID.String()); err != nil {
		return nil, false, err
	}
	b.Queue(`COMMIT`)
	first := true
	err = pgxutil.Retry(ctx, func(ctx context.Context) error {
		if first { // retries (rare: 40001/40P01) take a fresh connection
			first = false
			return sendInTx(ctx, conn, b)
		}
		return s.sendInTx(ctx, b)
	})
	conn.Release()
	if err == nil {
		return nt, false, nil
	}
	if constraint, ok := pgxutil.UniqueViolation(err); !ok || constraint != "idempotency_keys_pkey" {
		return nil, false, fmt.Errorf("save ticket %s: %w", nt.ID, err)
	}
	var existing *ticket.Ticket
	err = s.runTx(ctx, func(*pgx.Batch) {}, func(ctx context.Context, tx pgx.Tx) error {
		id, err := settleClaim(ctx, tx, &c, now)
		if err != nil {
			return err
		}
		if id == "" {
			// The key was purged meanwhile: the claim now in this transaction is ours, but the ticket
			// write was rolled back, so ask the caller to retry rather than half-create.
			return apierr.New(apierr.KindAborted, "RETRY", "the idempotency key changed hands during the submit; retry")
		}
		tid, err := uuid.Parse(id)
		if err != nil {
			return fmt.Errorf("idempotency key names ticket %q: %w", id, err)
		}
		existing, err = scanTicket(tx.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = $1`, tid))
		if err != nil {
			return fmt.Errorf("load ticket %s of a replayed submit: %w", tid, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return existing, true, nil
}

// claimStrictSQL claims a key with a plain INSERT: a taken key fails the statement (and the transaction)
// instead of being skipped, which lets the whole create travel in one batch.
const claimStrictSQL = `INSERT INTO idempotency_keys (principal, scope, key, fingerprint, resource_id, created_at)
	VALUES ($1, $2, $3, $4, $5, $6)`

// sendInTx sends a batch that holds a whole transaction (BEGIN ... COMMIT) on one connection. When a
// statement fails, Postgres skips the rest of the batch and leaves the session in the failed transaction;
// the ROLLBACK returns the connection to the pool clean.
func (s *Store) sendInTx(ctx context.Context, b *pgx.Batch) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	return sendInTx(ctx, conn, b)
}

func sendInTx(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch) error {
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			if _, rbErr := conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`); rbErr != nil {
				conn.Conn().Close(context.WithoutCancel(ctx)) // never hand a session in a transaction back
			}
		}
		return err
	}
	return nil
}

// UpdateTicket changes one ticket in one transaction, if it lies in sc (else NotFound): (BEGIN, the optional claim, the row locked FOR
// UPDATE), then fn, then (ticket, timeline, outbox), then COMMIT. fn calls the domain method on the locked
// ticket and returns what to save; its error rolls everything back. The row lock serialises changes to one
// ticket, so the version fn's change produces is the ticket's next event sequence number, and outbox rows
// of one ticket are written in sequence order.
//
// With a claim whose key was already used for the same request, nothing is written: the result carries
// the ticket as it is now, Replayed, and the entry the first call wrote when the claim's resource is one.
// An fn that returns an empty Write commits the claim only.
func (s *Store) UpdateTicket(ctx context.Context, id uuid.UUID, sc auth.TicketScope, c *idempotency.Claim, now time.Time,
	fn func(t *ticket.Ticket) (Write, error)) (Result, error) {
	load := args{id}
	loadSQL := `SELECT ` + ticketColumns + ` FROM tickets WHERE ticket_id = $1` + scopedWhere(sc, load.add) + ` FOR UPDATE`
	var (
		res     Result
		claimed bool
		loaded  *ticket.Ticket
		loadErr error
	)
	err := s.runTx(ctx, func(b *pgx.Batch) {
		res, loaded, loadErr = Result{}, nil, nil
		if c != nil {
			queueClaim(b, c, now, &claimed)
		}
		b.Queue(loadSQL, load...).QueryRow(func(row pgx.Row) error {
			loaded, loadErr = scanTicket(row)
			return nil
		})
	}, func(ctx context.Context, tx pgx.Tx) error {
		if isNoRows(loadErr) {
			return apierr.NotFound(ResourceTicket, id.String())
		}
		if loadErr != nil {
			return fmt.Errorf("load ticket %s: %w", id, loadErr)
		}
		if c != nil && !claimed {
			existing, err := settleClaim(ctx, tx, c, now)
			if err != nil {
				return err
			}
			if existing != "" {
				res = Result{Ticket: loaded, Replayed: true}
				if eid, err := uuid.Parse(existing); err == nil && eid != id {
					e, err := getEntry(ctx, tx, eid)
					if err != nil {
						return err
					}
					res.Entries = []Entry{e}
				}
				return nil
			}
		}
		prev := loaded.Version
		w, err := fn(loaded)
		if err != nil {
			return err
		}
		res.Ticket, res.Entries = loaded, w.Entries
		if w.Empty() {
			return nil
		}
		b := &pgx.Batch{}
		if err := queueUpdateTicket(b, loaded, prev); err != nil {
			return err
		}
		if err := queueWrite(ctx, b, w); err != nil {
			return err
		}
		if err := audit.Queue(ctx, b, ResourceTicketAudit, id.String()); err != nil {
			return err
		}
		tags, err := execBatch(ctx, tx, b)
		if err != nil {
			return fmt.Errorf("save ticket %s: %w", id, err)
		}
		if tags[0].RowsAffected() != 1 {
			return fmt.Errorf("update ticket %s: version %d is no longer current", id, prev)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// queueWrite queues w's entries and outbox rows after the ticket's statement.
func queueWrite(ctx context.Context, b *pgx.Batch, w Write) error {
	for _, e := range w.Entries {
		if err := queueInsertEntry(b, e); err != nil {
			return err
		}
	}
	if err := outbox.Queue(ctx, b, w.Messages...); err != nil {
		return fmt.Errorf("queue events: %w", err)
	}
	return nil
}

// CloseDue closes up to limit resolved tickets whose resolution is at or before cutoff, in one transaction,
// skipping tickets another transaction holds (another replica's sweep, or a staff change in flight), so
// sweeps on several replicas share the work. fn makes the change for one ticket. It returns how many
// tickets it closed.
func (s *Store) CloseDue(ctx context.Context, cutoff time.Time, limit int, fn func(t *ticket.Ticket) (Write, error)) (int, error) {
	var (
		due     []*ticket.Ticket
		scanErr error
	)
	n := 0
	err := s.runTx(ctx, func(b *pgx.Batch) {
		due, scanErr, n = nil, nil, 0
		b.Queue(`SELECT `+ticketColumns+` FROM tickets
			WHERE status = 'resolved' AND resolved_at <= $1
			ORDER BY resolved_at LIMIT $2 FOR UPDATE SKIP LOCKED`, cutoff, limit).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				t, err := scanTicket(rows)
				if err != nil {
					scanErr = err
					return nil
				}
				due = append(due, t)
			}
			return rows.Err()
		})
	}, func(ctx context.Context, tx pgx.Tx) error {
		if scanErr != nil {
			return fmt.Errorf("load due tickets: %w", scanErr)
		}
		b := &pgx.Batch{}
		var updates []int
		for _, t := range due {
			prev := t.Version
			w, err := fn(t)
			if err != nil {
				return fmt.Errorf("close ticket %s: %w", t.ID, err)
			}
			if w.Empty() {
				continue
			}
			updates = append(updates, b.Len())
			if err := queueUpdateTicket(b, t, prev); err != nil {
				return err
			}
			if err := queueWrite(ctx, b, w); err != nil {
				return err
			}
			n++
		}
		tags, err := execBatch(ctx, tx, b)
		if err != nil {
			return fmt.Errorf("save closed tickets: %w", err)
		}
		for _, i := range updates {
			if tags[i].RowsAffected() != 1 {
				return fmt.Errorf("close due tickets: a locked ticket changed version")
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// pgDate is the calendar date of day (already in the business zone) as Postgres's date type expects it:
// midnight UTC of the same year, month and day, so no zone conversion can shift it.
func pgDate(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
