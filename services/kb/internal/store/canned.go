package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/kb/internal/domain/canned"
)

// CannedRow is a canned response as stored.
type CannedRow struct {
	ID, GroupID uuid.UUID
	canned.Response
	CreateActor, UpdateActor string
	CreatedAt, UpdatedAt     time.Time
	// Revision counts changes: the etag.
	Revision int64
}

const cannedColumns = `id, group_id, title, body, create_actor, created_at, update_actor, updated_at, revision`

func scanCanned(r pgx.Row) (CannedRow, error) {
	var c CannedRow
	err := r.Scan(&c.ID, &c.GroupID, &c.Title, &c.Body, &c.CreateActor, &c.CreatedAt, &c.UpdateActor, &c.UpdatedAt, &c.Revision)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func notFoundCanned(id uuid.UUID) error {
	return apierr.NotFound("kefu.kb.v1.CannedResponse", id.String()).WithCause(ErrNotFound)
}

// InsertCanned writes a new canned response.
func (t *Tx) InsertCanned(ctx context.Context, c CannedRow) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO canned_responses (`+cannedColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.GroupID, c.Title, c.Body, c.CreateActor, c.CreatedAt, c.UpdateActor, c.UpdatedAt, c.Revision)
	if err != nil {
		return fmt.Errorf("insert canned response: %w", err)
	}
	return nil
}

// GetCanned reads a canned response.
func (s *Store) GetCanned(ctx context.Context, id uuid.UUID) (CannedRow, error) {
	c, err := scanCanned(s.pool.QueryRow(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return CannedRow{}, notFoundCanned(id)
	}
	if err != nil {
		return CannedRow{}, fmt.Errorf("get canned response: %w", err)
	}
	return c, nil
}

// LockCanned reads a canned response and locks it until the transaction ends.
func (t *Tx) LockCanned(ctx context.Context, id uuid.UUID) (CannedRow, error) {
	c, err := scanCanned(t.tx.QueryRow(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return CannedRow{}, notFoundCanned(id)
	}
	if err != nil {
		return CannedRow{}, fmt.Errorf("lock canned response: %w", err)
	}
	return c, nil
}

// SaveCanned writes a locked canned response's title, body and bookkeeping.
func (t *Tx) SaveCanned(ctx context.Context, c CannedRow) error {
	_, err := t.tx.Exec(ctx, `UPDATE canned_responses SET title = $2, body = $3, update_actor = $4, updated_at = $5, revision = $6
		WHERE id = $1`, c.ID, c.Title, c.Body, c.UpdateActor, c.UpdatedAt, c.Revision)
	if err != nil {
		return fmt.Errorf("save canned response: %w", err)
	}
	return nil
}

// DeleteCanned removes a canned response.
func (s *Store) DeleteCanned(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM canned_responses WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete canned response: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFoundCanned(id)
	}
	return nil
}

// CannedCursor is the position after the last canned response of a page (they are listed by title, then
// id).
type CannedCursor struct {
	Title string    `json:"t"`
	ID    uuid.UUID `json:"i"`
}

// ListCanned reads up to limit canned responses of a group by title, after the cursor when it is not nil.
func (s *Store) ListCanned(ctx context.Context, group uuid.UUID, after *CannedCursor, limit int) ([]CannedRow, error) {
	var rows pgx.Rows
	var err error
	if after == nil {
		rows, err = s.pool.Query(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE group_id = $1
			ORDER BY title, id LIMIT $2`, group, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE group_id = $1 AND (title, id) > ($2, $3)
			ORDER BY title, id LIMIT $4`, group, after.Title, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list canned responses: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CannedRow, error) { return scanCanned(r) })
	if err != nil {
		return nil, fmt.Errorf("list canned responses: %w", err)
	}
	return out, nil
}
