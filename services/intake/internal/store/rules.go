package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// ResourceRule is the resource type NotFound errors name for classification rules.
const ResourceRule = "kefu.intake.v1.ClassificationRule"

// Rule is a keyword rule as stored: the domain's rule plus what only admins see.
type Rule struct {
	ticket.Rule
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const ruleColumns = `rule_id, position, keywords, target, set_urgency, set_level, enabled, description, created_at, updated_at`

func scanRule(row pgx.Row) (Rule, error) {
	var (
		r          Rule
		id         uuid.UUID
		pos        int32
		urg, level string
	)
	if err := row.Scan(&id, &pos, &r.Keywords, &r.Target, &urg, &level, &r.Enabled, &r.Description,
		&r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	r.ID, r.Position = id.String(), int(pos)
	if urg != ticket.UrgencyUnspecified.String() {
		u, err := ticket.ParseUrgency(urg)
		if err != nil {
			return r, fmt.Errorf("rule %s: %w", id, err)
		}
		r.SetUrgency = u
	}
	l, err := ticket.ParseLevel(level)
	if err != nil {
		return r, fmt.Errorf("rule %s: %w", id, err)
	}
	r.SetLevel = l
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func ruleArgs(r Rule) ([]any, error) {
	id, err := uuid.Parse(r.ID)
	if err != nil {
		return nil, fmt.Errorf("rule id %q: %w", r.ID, err)
	}
	keywords := r.Keywords
	if keywords == nil {
		keywords = []string{}
	}
	return []any{id, int32(r.Position), keywords, r.Target, r.SetUrgency.String(), r.SetLevel.String(), r.Enabled,
		r.Description, r.CreatedAt, r.UpdatedAt}, nil
}

const insertRuleSQL = `INSERT INTO classification_rules (` + ruleColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ` + ruleColumns

// ListRules returns every rule in evaluation order.
func (s *Store) ListRules(ctx context.Context) ([]Rule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ruleColumns+` FROM classification_rules ORDER BY position, rule_id`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	return out, nil
}

// CreateRule inserts r under claim c (resource id: r.ID). An enabled rule's target must be an active
// subcategory (InvalidArgument on targetField otherwise), checked under a share lock so it cannot be
// deactivated meanwhile. A replay of the same request returns the rule as it is now.
func (s *Store) CreateRule(ctx context.Context, c idempotency.Claim, r Rule, targetField string) (Rule, bool, error) {
	var (
		claimed, replayed bool
		out               Rule
	)
	err := s.runTx(ctx, func(b *pgx.Batch) {
		replayed = false
		queueClaim(b, &c, r.CreatedAt, &claimed)
	}, func(ctx context.Context, tx pgx.Tx) error {
		if !claimed {
			existing, err := settleClaim(ctx, tx, &c, r.CreatedAt)
			if err != nil {
				return err
			}
			if existing != "" {
				out, err = scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM classification_rules WHERE rule_id = $1`, existing))
				if isNoRows(err) {
					// Deleted since: the key still names it, and the client's create did happen.
					return apierr.NotFound(ResourceRule, existing)
				}
				if err != nil {
					return fmt.Errorf("load rule %s: %w", existing, err)
				}
				replayed = true
				return nil
			}
		}
		if r.Target != "" && r.Enabled {
			if err := lockTarget(ctx, tx, r.Target, targetField); err != nil {
				return err
			}
		}
		args, err := ruleArgs(r)
		if err != nil {
			return err
		}
		if out, err = scanRule(tx.QueryRow(ctx, insertRuleSQL, args...)); err != nil {
			return fmt.Errorf("insert rule: %w", err)
		}
		return nil
	})
	if err != nil {
		return Rule{}, false, err
	}
	return out, replayed, nil
}

// UpdateRule changes rule id under its row lock: fn edits the loaded rule (and validates it). When the
// result is enabled with a target, the target must be an active subcategory (InvalidArgument on
// targetField).
func (s *Store) UpdateRule(ctx context.Context, id uuid.UUID, targetField string, now time.Time, fn func(r *Rule) error) (Rule, error) {
	var (
		cur     Rule
		loadErr error
	)
	err := s.runTx(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT `+ruleColumns+` FROM classification_rules WHERE rule_id = $1 FOR UPDATE`, id).QueryRow(func(row pgx.Row) error {
			cur, loadErr = scanRule(row)
			return nil
		})
	}, func(ctx context.Context, tx pgx.Tx) error {
		if isNoRows(loadErr) {
			return apierr.NotFound(ResourceRule, id.String())
		}
		if loadErr != nil {
			return fmt.Errorf("load rule %s: %w", id, loadErr)
		}
		if err := fn(&cur); err != nil {
			return err
		}
		if cur.Target != "" && cur.Enabled {
			if err := lockTarget(ctx, tx, cur.Target, targetField); err != nil {
				return err
			}
		}
		cur.UpdatedAt = now
		args, err := ruleArgs(cur)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE classification_rules SET position = $2, keywords = $3, target = $4,
			set_urgency = $5, set_level = $6, enabled = $7, description = $8, updated_at = $9
			WHERE rule_id = $1`, append(args[:8:8], args[9])...); err != nil {
			return fmt.Errorf("update rule %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Rule{}, err
	}
	return cur, nil
}

// DeleteRule deletes rule id; NotFound when there is none. Tickets it classified keep its id.
func (s *Store) DeleteRule(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM classification_rules WHERE rule_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete rule %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return apierr.NotFound(ResourceRule, id.String())
	}
	return nil
}
