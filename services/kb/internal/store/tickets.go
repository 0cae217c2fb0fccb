package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ApplyTicket records a ticket event's subcategory (a full code, "" when unclassified) if the event is
// newer (seq) than the one that set the stored one, and the ticket's creation time when created is not
// nil (kefu.ticket.created). Events may arrive in any order and more than once: an older one changes
// nothing, and the creation time, once known, stays.
func (t *Tx) ApplyTicket(ctx context.Context, id uuid.UUID, subcategory string, seq int64, created *time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO tickets (ticket_id, subcategory, seq, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT ON CONSTRAINT tickets_pkey DO UPDATE SET
			subcategory = CASE WHEN EXCLUDED.seq > tickets.seq THEN EXCLUDED.subcategory ELSE tickets.subcategory END,
			seq = GREATEST(tickets.seq, EXCLUDED.seq),
			created_at = COALESCE(tickets.created_at, EXCLUDED.created_at)`, id, subcategory, seq, created)
	if err != nil {
		return fmt.Errorf("apply ticket: %w", err)
	}
	return nil
}
