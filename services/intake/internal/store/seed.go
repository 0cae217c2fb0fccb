package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/services/intake/internal/domain/ticket"
)

// settingDefaultsSeeded records that the default taxonomy and rules were seeded, so they are seeded once
// per database: an admin who deletes every rule does not get the defaults back at the next start.
const settingDefaultsSeeded = "defaults_seeded"

// seedLockKey is the advisory lock that serialises seeding across replicas starting together.
func seedLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("kefu.intake.seed_defaults"))
	return int64(h.Sum64())
}

// SeedDefaults seeds tax and rules unless that was done before, in one transaction under an advisory lock.
// Rules get fresh UUIDv7 ids; the domain's ids (names such as default.request.refund) become their
// descriptions. It reports whether it seeded.
func (s *Store) SeedDefaults(ctx context.Context, tax ticket.Taxonomy, rules []ticket.Rule, now time.Time) (bool, error) {
	var seeded, done bool
	err := s.runTx(ctx, func(b *pgx.Batch) {
		done = false
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, seedLockKey())
		b.Queue(`SELECT EXISTS (SELECT 1 FROM settings WHERE key = $1)`, settingDefaultsSeeded).QueryRow(func(row pgx.Row) error {
			return row.Scan(&done)
		})
	}, func(ctx context.Context, tx pgx.Tx) error {
		seeded = false
		if done {
			return nil
		}
		b := &pgx.Batch{}
		for _, sc := range tax.Subcategories {
			b.Queue(`INSERT INTO subcategories (`+subcategoryColumns+`) VALUES ($1, $2, $3, $4, true, $5, $5)
				ON CONFLICT ON CONSTRAINT subcategories_pkey DO NOTHING`, sc.Type.String(), sc.Code, sc.NameZH, sc.NameEN, now)
		}
		for _, r := range rules {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("rule id: %w", err)
			}
			args, err := ruleArgs(Rule{Rule: withID(r, id), Description: r.ID, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return err
			}
			b.Queue(insertRuleSQL, args...)
		}
		b.Queue(`INSERT INTO settings (key, value, updated_at) VALUES ($1, 'true', $2)`, settingDefaultsSeeded, now)
		if _, err := execBatch(ctx, tx, b); err != nil {
			return fmt.Errorf("seed defaults: %w", err)
		}
		seeded = true
		return nil
	})
	return seeded, err
}

func withID(r ticket.Rule, id uuid.UUID) ticket.Rule {
	r.ID = id.String()
	return r
}
