package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/services/intake/internal/domain/ticket"
)

// queueResolutionSQL records that a new ticket's customer is still to be resolved (the customer service
// was unreachable at submit); the sweeper asks again from next_attempt_at.
const queueResolutionSQL = `INSERT INTO customer_resolutions (ticket_id, next_attempt_at, created_at) VALUES ($1, $2, $2)`

// PendingResolution is a ticket whose customer is still to be resolved, and how often that was tried.
type PendingResolution struct {
	Ticket   *ticket.Ticket
	Attempts int
}

// ClaimResolutions takes up to limit resolutions due at now, pushes each one's next attempt back (30 s
// doubling per attempt, at most maxDelay) so no other replica takes it meanwhile, and returns them with
// their tickets. Rows another transaction holds are skipped, so replicas share the work.
func (s *Store) ClaimResolutions(ctx context.Context, now time.Time, limit int, maxDelay time.Duration) ([]PendingResolution, error) {
	var out []PendingResolution
	err := s.runTx(ctx, func(*pgx.Batch) {}, func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `UPDATE customer_resolutions r
			SET attempts = r.attempts + 1,
				next_attempt_at = $1 + make_interval(secs => least($3::float8, 30 * power(2, r.attempts)))
			WHERE ticket_id IN (SELECT ticket_id FROM customer_resolutions WHERE next_attempt_at <= $1
				ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING ticket_id, attempts`, now, limit, maxDelay.Seconds())
		if err != nil {
			return err
		}
		attempts := map[uuid.UUID]int{}
		var ids []uuid.UUID
		for rows.Next() {
			var id uuid.UUID
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			attempts[id] = n
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		trows, err := tx.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = ANY($1) ORDER BY ticket_id`, ids)
		if err != nil {
			return err
		}
		defer trows.Close()
		for trows.Next() {
			t, err := scanTicket(trows)
			if err != nil {
				return err
			}
			out = append(out, PendingResolution{Ticket: t, Attempts: attempts[t.ID]})
		}
		return trows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim customer resolutions: %w", err)
	}
	return out, nil
}

// SettleResolution ends a ticket's pending resolution: with a customer id, it becomes the ticket's
// customer (unless the ticket got one meanwhile) with tier; with uuid.Nil, the ticket stays without one.
// Like a merge, this is bookkeeping, not a change of the ticket's lifecycle: no event, version unchanged.
func (s *Store) SettleResolution(ctx context.Context, ticketID, customerID uuid.UUID, tier string) error {
	err := s.runTx(ctx, func(b *pgx.Batch) {
		if customerID != uuid.Nil {
			b.Queue(`UPDATE tickets SET customer_id = $2, customer_tier = $3 WHERE ticket_id = $1 AND customer_id IS NULL`,
				ticketID, customerID, tier)
		}
		b.Queue(`DELETE FROM customer_resolutions WHERE ticket_id = $1`, ticketID)
	}, func(context.Context, pgx.Tx) error { return nil })
	if err != nil {
		return fmt.Errorf("settle customer resolution of ticket %s: %w", ticketID, err)
	}
	return nil
}
