package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Transfer states.
const (
	TransferPending   = "pending"
	TransferAccepted  = "accepted"
	TransferExpired   = "expired"
	TransferCancelled = "cancelled"
)

// TransferRow is a transfer as stored.
type TransferRow struct {
	ID          uuid.UUID
	TicketID    uuid.UUID
	FromGroupID uuid.UUID
	ToGroupID   uuid.UUID
	Reason      string
	RequestedBy string
	State       string
	CreatedAt   time.Time
	DeadlineAt  time.Time
	FinishedAt  time.Time
	AcceptedBy  string
	AssigneeID  uuid.UUID
}

const transferColumns = `id, ticket_id, from_group_id, to_group_id, reason, requested_by, state, created_at, deadline_at,
	finished_at, accepted_by, assignee_id`

func scanTransfer(row pgx.Row) (TransferRow, error) {
	var (
		t              TransferRow
		from, assignee *uuid.UUID
		finished       *time.Time
	)
	err := row.Scan(&t.ID, &t.TicketID, &from, &t.ToGroupID, &t.Reason, &t.RequestedBy, &t.State, &t.CreatedAt, &t.DeadlineAt,
		&finished, &t.AcceptedBy, &assignee)
	t.FromGroupID, t.AssigneeID = deref(from), deref(assignee)
	if finished != nil {
		t.FinishedAt = *finished
	}
	return t, err
}

// InsertTransfer records a pending transfer.
func (t *Tx) InsertTransfer(ctx context.Context, r TransferRow) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO transfers (`+transferColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, '', NULL)`,
		r.ID, r.TicketID, nullID(r.FromGroupID), r.ToGroupID, r.Reason, r.RequestedBy, TransferPending, r.CreatedAt, r.DeadlineAt)
	if err != nil {
		return fmt.Errorf("insert transfer: %w", err)
	}
	return nil
}

// PendingTransfer returns the ticket's pending transfer, locked; found is false when there is none. The
// caller holds the ticket's row lock first (the engine's lock order).
func (t *Tx) PendingTransfer(ctx context.Context, ticket uuid.UUID) (TransferRow, bool, error) {
	r, err := scanTransfer(t.tx.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers WHERE ticket_id = $1 AND state = 'pending'
		FOR UPDATE`, ticket))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("load pending transfer: %w", err)
	}
	return r, true, nil
}

// FinishTransfer ends a pending transfer in state.
func (t *Tx) FinishTransfer(ctx context.Context, id uuid.UUID, state string, at time.Time, acceptedBy string, assignee uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE transfers SET state = $2, finished_at = $3, accepted_by = $4, assignee_id = $5
		WHERE id = $1 AND state = 'pending'`, id, state, at, acceptedBy, nullID(assignee))
	if err != nil {
		return fmt.Errorf("finish transfer: %w", err)
	}
	return nil
}

// Transfer returns a transfer without locking.
func (s *Store) Transfer(ctx context.Context, id uuid.UUID) (TransferRow, error) {
	r, err := scanTransfer(s.pool.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("Transfer", id)
	}
	return r, err
}

// Transfers returns the transfers into group, newest first: the pending ones, or the latest 100 of every
// state.
func (s *Store) Transfers(ctx context.Context, group uuid.UUID, all bool) ([]TransferRow, error) {
	q := `SELECT ` + transferColumns + ` FROM transfers WHERE to_group_id = $1 AND state = 'pending' ORDER BY created_at DESC, id`
	if all {
		q = `SELECT ` + transferColumns + ` FROM transfers WHERE to_group_id = $1 ORDER BY created_at DESC, id LIMIT 100`
	}
	rows, err := s.pool.Query(ctx, q, group)
	if err != nil {
		return nil, fmt.Errorf("list transfers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TransferRow, error) { return scanTransfer(r) })
}

// DueTransfers returns the tickets of up to limit pending transfers whose deadline passed, earliest first.
// Nothing is locked: the caller expires each in a transaction that locks the ticket and re-checks.
func (s *Store) DueTransfers(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT ticket_id FROM transfers WHERE state = 'pending' AND deadline_at <= $1
		ORDER BY deadline_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due transfers: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// NextTransferDue returns the earliest pending deadline; ok is false when none is pending.
func (s *Store) NextTransferDue(ctx context.Context) (time.Time, bool, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(deadline_at) FROM transfers WHERE state = 'pending'`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("next transfer deadline: %w", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return *at, true, nil
}

// TransferByID returns a transfer as this transaction sees it.
func (t *Tx) TransferByID(ctx context.Context, id uuid.UUID) (TransferRow, error) {
	r, err := scanTransfer(t.tx.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("Transfer", id)
	}
	return r, err
}
