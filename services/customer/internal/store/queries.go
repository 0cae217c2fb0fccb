package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/pgxutil"
)

func constraintOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

// FindLimit caps how many records one exact-match lookup returns.
const FindLimit = 20

// FindByContact returns the ids of active customers with a contact whose blind index is index, newest first.
func (s *Store) FindByContact(ctx context.Context, index []byte) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT DISTINCT c.id FROM contacts ct JOIN customers c ON c.id = ct.customer_id
		WHERE ct.value_index = $1 AND c.state = 'active' ORDER BY c.id DESC LIMIT $2`, index, FindLimit)
}

// LoadByContact is FindByContact returning the records, in one statement: the hot path of FindCustomers
// by phone, email or WeChat id.
func (s *Store) LoadByContact(ctx context.Context, index []byte) ([]*Row, error) {
	return query(ctx, s.pool, `id IN (SELECT ct.customer_id FROM contacts ct WHERE ct.value_index = $1)
		AND state = 'active' ORDER BY id DESC LIMIT $2`, index, FindLimit)
}

// FindByNationalID returns the ids of active customers whose ID number's blind index is index.
func (s *Store) FindByNationalID(ctx context.Context, index []byte) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT id FROM customers WHERE national_id_index = $1 AND state = 'active' ORDER BY id DESC LIMIT $2`, index, FindLimit)
}

// FindByCreditCode returns the ids of active customers whose credit code's blind index is index.
func (s *Store) FindByCreditCode(ctx context.Context, index []byte) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT id FROM customers WHERE credit_code_index = $1 AND state = 'active' ORDER BY id DESC LIMIT $2`, index, FindLimit)
}

// FindByKey returns the id of the customer a normalised business key is linked to (at most one).
func (s *Store) FindByKey(ctx context.Context, kind, value string) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT k.customer_id FROM business_keys k JOIN customers c ON c.id = k.customer_id
		WHERE k.kind = $1 AND k.value = $2 AND c.state = 'active' LIMIT $3`, kind, value, FindLimit)
}

// Match is a customer a ticket's facts point to.
type Match struct {
	ID   uuid.UUID
	Tier string
}

// MatchTicket finds, in one statement, the customer a ticket's facts point to, in order of precedence: an
// active customer holding the contact whose blind index is contactIndex (nil: no usable contact), newest
// first; else the holder of the order number; else of the member number (empty: none). ok is false when
// none matches. ResolveCustomer runs it on every submit, so it reads ids and tiers only.
func (s *Store) MatchTicket(ctx context.Context, contactIndex []byte, order, member string) (m Match, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id, tier FROM (
			SELECT c.id, c.tier, 1 AS precedence FROM contacts ct JOIN customers c ON c.id = ct.customer_id
			WHERE $1::bytea IS NOT NULL AND ct.value_index = $1 AND c.state = 'active'
			UNION ALL
			SELECT c.id, c.tier, 2 FROM business_keys k JOIN customers c ON c.id = k.customer_id
			WHERE $2 <> '' AND k.kind = 'order_number' AND k.value = $2 AND c.state = 'active'
			UNION ALL
			SELECT c.id, c.tier, 3 FROM business_keys k JOIN customers c ON c.id = k.customer_id
			WHERE $3 <> '' AND k.kind = 'member_number' AND k.value = $3 AND c.state = 'active'
		) m ORDER BY precedence, id DESC LIMIT 1`, contactIndex, order, member).Scan(&m.ID, &m.Tier)
	if errors.Is(err, pgx.ErrNoRows) {
		return Match{}, false, nil
	}
	if err != nil {
		return Match{}, false, fmt.Errorf("match ticket to customer: %w", err)
	}
	return m, true, nil
}

// MergedInto returns the ids of the records merged into id.
func (s *Store) MergedInto(ctx context.Context, id uuid.UUID) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT id FROM customers WHERE merged_into = $1 ORDER BY id`, id)
}

func (s *Store) ids(ctx context.Context, sql string, args ...any) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	return ids, nil
}

// Filter selects customers for List.
type Filter struct {
	Kind          string
	Tier          string
	States        []string
	CreatedAfter  time.Time
	CreatedBefore time.Time
}

// List returns up to limit customers matching f, newest first (UUIDv7 order), after the cursor id (nil:
// from the newest).
func (s *Store) List(ctx context.Context, f Filter, after uuid.UUID, limit int) ([]*Row, error) {
	var afterArg *uuid.UUID
	if after != uuid.Nil {
		afterArg = &after
	}
	var createdAfter, createdBefore *time.Time
	if !f.CreatedAfter.IsZero() {
		createdAfter = &f.CreatedAfter
	}
	if !f.CreatedBefore.IsZero() {
		createdBefore = &f.CreatedBefore
	}
	return query(ctx, s.pool, `state = ANY($1) AND ($2 = '' OR kind = $2) AND ($3 = '' OR tier = $3)
		  AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
		  AND ($6::uuid IS NULL OR id < $6)
		ORDER BY id DESC LIMIT $7`, f.States, f.Kind, f.Tier, createdAfter, createdBefore, afterArg, limit)
}

// Tier is a customer tier.
type Tier struct {
	Code        string
	DisplayName string
	Builtin     bool
	CreatedAt   time.Time
}

// Tiers lists the tiers, built-in first, then by code.
func (s *Store) Tiers(ctx context.Context) ([]Tier, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, display_name, builtin, created_at FROM tiers ORDER BY builtin DESC, created_at, code`)
	if err != nil {
		return nil, fmt.Errorf("list tiers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tier, error) {
		var t Tier
		err := r.Scan(&t.Code, &t.DisplayName, &t.Builtin, &t.CreatedAt)
		return t, err
	})
}

// CreateTier adds a tier; an existing code is AlreadyExists.
func (s *Store) CreateTier(ctx context.Context, t Tier) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tiers (code, display_name, builtin, created_at) VALUES ($1, $2, false, $3)`,
		t.Code, t.DisplayName, t.CreatedAt)
	if c, ok := pgxutil.UniqueViolation(err); ok && c == "tiers_pkey" {
		return apierr.New(apierr.KindAlreadyExists, "TIER_EXISTS", "tier %q already exists", t.Code).
			WithMeta("field", "tier.code")
	}
	if err != nil {
		return fmt.Errorf("create tier: %w", err)
	}
	return nil
}

// Attempt is one VerifyIdentity attempt.
type Attempt struct {
	ID           uuid.UUID
	SubjectIndex []byte
	CustomerID   uuid.UUID
	At           time.Time
	Verified     bool
	Principal    string
}

// RecordAttempt counts the attempts on subject since `since` and, when fewer than max, runs check and records
// its outcome as an attempt. It serialises attempts on one subject (a transaction-scoped advisory lock on
// the subject's index), so parallel guesses cannot all slip under the limit. It returns the outcome, or
// ok=false and the time the oldest counted attempt leaves the window when the limit is reached.
func (s *Store) RecordAttempt(ctx context.Context, a Attempt, since time.Time, max int, check func() bool) (verified, ok bool, oldest time.Time, err error) {
	err = pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 5))`, a.SubjectIndex); err != nil {
			return err
		}
		var n int
		var first *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), min(attempted_at) FROM verification_attempts
			WHERE subject_index = $1 AND attempted_at >= $2`, a.SubjectIndex, since).Scan(&n, &first); err != nil {
			return err
		}
		if n >= max {
			ok, verified = false, false
			if first != nil {
				oldest = *first
			}
			return nil
		}
		ok, verified = true, check()
		var cust *uuid.UUID
		if a.CustomerID != uuid.Nil {
			cust = &a.CustomerID
		}
		_, err := tx.Exec(ctx, `INSERT INTO verification_attempts (id, subject_index, customer_id, attempted_at, verified, principal)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, a.SubjectIndex, cust, a.At, verified, a.Principal)
		return err
	})
	if err != nil {
		return false, false, time.Time{}, fmt.Errorf("record verification attempt: %w", err)
	}
	return verified, ok, oldest, nil
}

// Attempts returns the verification attempts against a customer, newest first, at most limit.
func (s *Store) Attempts(ctx context.Context, customer uuid.UUID, limit int) ([]Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, attempted_at, verified, principal FROM verification_attempts
		WHERE customer_id = $1 ORDER BY attempted_at DESC LIMIT $2`, customer, limit)
	if err != nil {
		return nil, fmt.Errorf("list verification attempts: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		a := Attempt{CustomerID: customer}
		err := r.Scan(&a.ID, &a.At, &a.Verified, &a.Principal)
		return a, err
	})
}

// forgetAttemptsSQL removes the subject indexes of an erased customer's attempts, since an index is derived
// from their contacts. The attempts stay (time, outcome, caller), anonymous.
const forgetAttemptsSQL = `UPDATE verification_attempts SET subject_index = '\x00'::bytea WHERE customer_id = $1`

// Rekey rewraps up to batch customers' data keys that are not under primary, one short transaction per
// batch with SKIP LOCKED so it runs beside live traffic. rewrap gets a row's id and wrapped key and returns
// the key wrapped under primary. It returns how many rows it moved; 0 means none are left.
func (s *Store) Rekey(ctx context.Context, primary string, batch int, rewrap func(id uuid.UUID, wrapped []byte) ([]byte, error)) (int, error) {
	n := 0
	err := pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id, data_key FROM customers WHERE data_key_id IS NOT NULL AND data_key_id <> $1
			LIMIT $2 FOR UPDATE SKIP LOCKED`, primary, batch)
		if err != nil {
			return err
		}
		type item struct {
			id  uuid.UUID
			key []byte
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var it item
			err := r.Scan(&it.id, &it.key)
			return it, err
		})
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, it := range items {
			nk, err := rewrap(it.id, it.key)
			if err != nil {
				return fmt.Errorf("customer %s: %w", it.id, err)
			}
			b.Queue(`UPDATE customers SET data_key = $2, data_key_id = $3 WHERE id = $1`, it.id, nk, primary)
		}
		n = len(items)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("rekey: %w", err)
	}
	return n, nil
}
