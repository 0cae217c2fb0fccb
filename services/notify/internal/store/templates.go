package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kefu.dev/services/notify/internal/domain/message"
)

// StoredTemplate is an admin's template with who changed it last.
type StoredTemplate struct {
	message.Template
	UpdateActor string
	UpdatedAt   time.Time
}

// Templates returns the admins' templates by kind, channel and language.
func (s *Store) Templates(ctx context.Context) ([]StoredTemplate, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, channel, language, body, update_actor, updated_at FROM templates
		ORDER BY kind, channel, language`)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredTemplate, error) {
		var t StoredTemplate
		err := r.Scan(&t.Kind, &t.Channel, &t.Language, &t.Body, &t.UpdateActor, &t.UpdatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return ts, nil
}

// SetTemplate creates or replaces the template of t's kind, channel and language.
func (s *Store) SetTemplate(ctx context.Context, t StoredTemplate) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO templates (kind, channel, language, body, update_actor, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT ON CONSTRAINT templates_pkey DO UPDATE
		SET body = EXCLUDED.body, update_actor = EXCLUDED.update_actor, updated_at = EXCLUDED.updated_at`,
		t.Kind, t.Channel, t.Language, t.Body, t.UpdateActor, t.UpdatedAt)
	if err != nil {
		return fmt.Errorf("set template: %w", err)
	}
	return nil
}
