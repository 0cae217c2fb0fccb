package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// ResourceSubcategory is the resource type NotFound errors name for subcategories.
const ResourceSubcategory = "kefu.intake.v1.Subcategory"

// Subcategory is a taxonomy entry as stored.
type Subcategory struct {
	ticket.Subcategory
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// typeOrder sorts subcategories by type in the API's enum order rather than alphabetically.
const typeOrder = `array_position(ARRAY['inquiry', 'complaint', 'request', 'suggestion'], type)`

const subcategoryColumns = `type, code, name_zh, name_en, active, created_at, updated_at`

func scanSubcategory(row pgx.Row) (Subcategory, error) {
	var s Subcategory
	var typ string
	if err := row.Scan(&typ, &s.Code, &s.NameZH, &s.NameEN, &s.Active, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	var err error
	if s.Type, err = ticket.ParseType(typ); err != nil {
		return s, fmt.Errorf("subcategory %s.%s: %w", typ, s.Code, err)
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// ListSubcategories returns the whole taxonomy (active and inactive) ordered by type, then code.
func (s *Store) ListSubcategories(ctx context.Context) ([]Subcategory, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+subcategoryColumns+` FROM subcategories ORDER BY `+typeOrder+`, code`)
	if err != nil {
		return nil, fmt.Errorf("list subcategories: %w", err)
	}
	defer rows.Close()
	var out []Subcategory
	for rows.Next() {
		sc, err := scanSubcategory(rows)
		if err != nil {
			return nil, fmt.Errorf("list subcategories: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list subcategories: %w", err)
	}
	return out, nil
}

// CreateSubcategory inserts sc (active) under claim c, whose resource id is sc's full code. A code taken in
// the type is AlreadyExists naming "code"; a replay of the same request returns the subcategory as it is.
func (s *Store) CreateSubcategory(ctx context.Context, c idempotency.Claim, sc Subcategory) (Subcategory, bool, error) {
	var (
		claimed, replayed bool
		out               Subcategory
	)
	err := s.runTx(ctx, func(b *pgx.Batch) {
		replayed = false
		queueClaim(b, &c, sc.CreatedAt, &claimed)
	}, func(ctx context.Context, tx pgx.Tx) error {
		if !claimed {
			existing, err := settleClaim(ctx, tx, &c, sc.CreatedAt)
			if err != nil {
				return err
			}
			if existing != "" {
				typ, code, err := ticket.ParseTarget(existing)
				if err != nil {
					return fmt.Errorf("idempotency key names subcategory %q: %w", existing, err)
				}
				if out, err = scanSubcategory(tx.QueryRow(ctx, `SELECT `+subcategoryColumns+` FROM subcategories
					WHERE type = $1 AND code = $2`, typ.String(), code)); err != nil {
					return fmt.Errorf("load subcategory %s: %w", existing, err)
				}
				replayed = true
				return nil
			}
		}
		var err error
		out, err = scanSubcategory(tx.QueryRow(ctx, `INSERT INTO subcategories (`+subcategoryColumns+`)
			VALUES ($1, $2, $3, $4, true, $5, $5) RETURNING `+subcategoryColumns,
			sc.Type.String(), sc.Code, sc.NameZH, sc.NameEN, sc.CreatedAt))
		if name, ok := pgxutil.UniqueViolation(err); ok && name == "subcategories_pkey" {
			return alreadyExists(ReasonSubcategoryExists, "code",
				fmt.Sprintf("subcategory %q already exists", ticket.FormatTarget(sc.Type, sc.Code)))
		}
		if err != nil {
			return fmt.Errorf("insert subcategory: %w", err)
		}
		return nil
	})
	if err != nil {
		return Subcategory{}, false, err
	}
	return out, replayed, nil
}

// Reasons for the errors the taxonomy and rule writes report.
const (
	ReasonSubcategoryExists = "SUBCATEGORY_EXISTS"
	ReasonSubcategoryInUse  = "SUBCATEGORY_IN_USE"
	PreconditionRuleTargets = "RULE_TARGETS_SUBCATEGORY"
)

// alreadyExists is AlreadyExists naming the field whose value is taken.
func alreadyExists(reason, field, message string) error {
	e := apierr.New(apierr.KindAlreadyExists, reason, "%s", message)
	e.Fields = []apierr.FieldViolation{{Field: field, Description: message}}
	return e
}

// SubcategoryChange is an admin's change to a subcategory; nil fields stay.
type SubcategoryChange struct {
	NameZH, NameEN *string
	Active         *bool
}

// UpdateSubcategory applies ch to the subcategory typ.code under its row lock. Deactivating one that an
// enabled rule targets is FailedPrecondition listing the rules: tickets would otherwise be classified into
// a subcategory staff can no longer choose. Rule writes take a share lock on their target's row, so the
// check cannot race a rule being pointed at it.
func (s *Store) UpdateSubcategory(ctx context.Context, typ ticket.Type, code string, ch SubcategoryChange, now time.Time) (Subcategory, error) {
	full := ticket.FormatTarget(typ, code)
	var (
		cur     Subcategory
		loadErr error
		users   []string
	)
	err := s.runTx(ctx, func(b *pgx.Batch) {
		users = nil
		b.Queue(`SELECT `+subcategoryColumns+` FROM subcategories WHERE type = $1 AND code = $2 FOR UPDATE`,
			typ.String(), code).QueryRow(func(row pgx.Row) error {
			cur, loadErr = scanSubcategory(row)
			return nil
		})
		b.Queue(`SELECT rule_id::text FROM classification_rules WHERE target = $1 AND enabled ORDER BY position, rule_id`,
			full).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				users = append(users, id)
			}
			return rows.Err()
		})
	}, func(ctx context.Context, tx pgx.Tx) error {
		if isNoRows(loadErr) {
			return apierr.NotFound(ResourceSubcategory, full)
		}
		if loadErr != nil {
			return fmt.Errorf("load subcategory %s: %w", full, loadErr)
		}
		if ch.Active != nil && !*ch.Active && cur.Active && len(users) > 0 {
			vs := make([]apierr.PreconditionViolation, len(users))
			for i, id := range users {
				vs[i] = apierr.PreconditionViolation{Type: PreconditionRuleTargets, Subject: id,
					Description: fmt.Sprintf("enabled rule %s targets %s", id, full)}
			}
			return apierr.FailedPrecondition(ReasonSubcategoryInUse,
				fmt.Sprintf("cannot deactivate %s: enabled rules target it", full), vs...)
		}
		if ch.NameZH != nil {
			cur.NameZH = *ch.NameZH
		}
		if ch.NameEN != nil {
			cur.NameEN = *ch.NameEN
		}
		if ch.Active != nil {
			cur.Active = *ch.Active
		}
		if err := ticket.ValidateSubcategory(cur.Subcategory); err != nil {
			return err
		}
		cur.UpdatedAt = now
		if _, err := tx.Exec(ctx, `UPDATE subcategories SET name_zh = $3, name_en = $4, active = $5, updated_at = $6
			WHERE type = $1 AND code = $2`, typ.String(), code, cur.NameZH, cur.NameEN, cur.Active, now); err != nil {
			return fmt.Errorf("update subcategory %s: %w", full, err)
		}
		return nil
	})
	if err != nil {
		return Subcategory{}, err
	}
	return cur, nil
}

// lockTarget takes a share lock on a rule's target subcategory and reports InvalidArgument on field when it
// does not exist or is inactive. The lock keeps it from being deactivated until the rule write commits.
func lockTarget(ctx context.Context, tx pgx.Tx, target, field string) error {
	typ, code, err := ticket.ParseTarget(target)
	if err != nil {
		return apierr.InvalidField(field, "must be a type.subcategory code such as request.refund")
	}
	var active bool
	err = tx.QueryRow(ctx, `SELECT active FROM subcategories WHERE type = $1 AND code = $2 FOR SHARE`,
		typ.String(), code).Scan(&active)
	switch {
	case isNoRows(err):
		return apierr.InvalidField(field, fmt.Sprintf("subcategory %q does not exist", target))
	case err != nil:
		return fmt.Errorf("lock subcategory %s: %w", target, err)
	case !active:
		return apierr.InvalidField(field, fmt.Sprintf("subcategory %q is inactive", target))
	}
	return nil
}
