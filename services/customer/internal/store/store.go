// Package store is the customer service's Postgres persistence. It holds customer rows as the database
// sees them: personal fields already sealed and lookups as blind indexes (the app seals and opens them), so
// nothing here ever handles plaintext personal data. Every write owns its transaction, locks the records
// it changes, rewrites their child rows and adds their events to the outbox in that transaction.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
)

// Schema is the customer service's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "customer"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set the service applies, in order: the shared idempotency keys,
// outbox, API keys, audit log and rate-limit buckets, then the customer tables.
func Migrations() []pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic("store: embedded migrations missing: " + err.Error()) // fixed at build time
	}
	return []pgxutil.MigrationSet{
		idempotency.Migrations(),
		outbox.Migrations(),
		apikeys.Migrations(),
		audit.Migrations(),
		ratelimit.Migrations(),
		{Name: "customer", FS: sub},
	}
}

// Row is one customer as stored.
type Row struct {
	ID               uuid.UUID
	Kind             string
	State            string
	Tier             string
	PreferredChannel string
	DataKey          []byte // wrapped; nil once erased
	DataKeyID        string
	Profile          []byte // sealed
	Provenance       []byte // JSON, no personal data
	CompanyName      *string
	Size             string
	Industry         string
	SoleProprietor   bool
	NationalIDIndex  []byte
	CreditCodeIndex  []byte
	MergedInto       uuid.UUID
	Version          int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ErasedAt         *time.Time
	Persons          []PersonRow
	Contacts         []ContactRow
	Keys             []KeyRow
}

// PersonRow is an enterprise's contact person; the name is in the sealed profile.
type PersonRow struct {
	ID               uuid.UUID
	LinkedCustomerID uuid.UUID
	Title            string
}

// ContactRow is a contact with its sealed value and blind index.
type ContactRow struct {
	ID         uuid.UUID
	PersonID   uuid.UUID
	Kind       string
	Value      []byte // sealed
	Index      []byte
	Provenance []byte // JSON
	CreatedAt  time.Time
	Consents   []ConsentRow
}

// ConsentRow is one consent of a contact.
type ConsentRow struct {
	Purpose     string
	Channel     string
	GrantedAt   time.Time
	WithdrawnAt *time.Time
}

// KeyRow is a business key (order or member number, normalised).
type KeyRow struct {
	Kind       string
	Value      string
	Provenance []byte // JSON
	CreatedAt  time.Time
}

// Store reads and writes the customer schema through a pool whose search_path is that schema.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool (for the outbox relay and idempotency purges, which share it).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// querier is what loading needs: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

const customerColumns = `id, kind, state, tier, preferred_channel, data_key, coalesce(data_key_id, ''), profile,
	provenance, company_name, enterprise_size, industry, sole_proprietor, national_id_index, credit_code_index,
	merged_into, version, created_at, updated_at, erased_at`

func scanCustomer(rows pgx.Rows) (*Row, error) {
	var r Row
	var merged *uuid.UUID
	if err := rows.Scan(&r.ID, &r.Kind, &r.State, &r.Tier, &r.PreferredChannel, &r.DataKey, &r.DataKeyID, &r.Profile,
		&r.Provenance, &r.CompanyName, &r.Size, &r.Industry, &r.SoleProprietor, &r.NationalIDIndex, &r.CreditCodeIndex,
		&merged, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.ErasedAt); err != nil {
		return nil, err
	}
	if merged != nil {
		r.MergedInto = *merged
	}
	return &r, nil
}

// load reads the customers with ids and their child rows in one round trip, in the order of ids (absent
// ones left out). With lock, the customer rows are locked FOR UPDATE (callers pass ids sorted, so two
// writers lock in one order and never deadlock).
func load(ctx context.Context, q querier, ids []uuid.UUID, lock bool) ([]*Row, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	forUpdate := ""
	if lock {
		forUpdate = " ORDER BY id FOR UPDATE"
	}
	b := &pgx.Batch{}
	byID := map[uuid.UUID]*Row{}
	b.Queue(`SELECT `+customerColumns+` FROM customers WHERE id = ANY($1)`+forUpdate, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			r, err := scanCustomer(rows)
			if err != nil {
				return err
			}
			byID[r.ID] = r
		}
		return rows.Err()
	})
	type person struct {
		customer uuid.UUID
		p        PersonRow
	}
	var persons []person
	b.Queue(`SELECT customer_id, id, linked_customer_id, title FROM contact_persons WHERE customer_id = ANY($1) ORDER BY customer_id, position`, ids).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var x person
				var linked *uuid.UUID
				if err := rows.Scan(&x.customer, &x.p.ID, &linked, &x.p.Title); err != nil {
					return err
				}
				if linked != nil {
					x.p.LinkedCustomerID = *linked
				}
				persons = append(persons, x)
			}
			return rows.Err()
		})
	type contact struct {
		customer uuid.UUID
		c        ContactRow
	}
	var contacts []contact
	b.Queue(`SELECT customer_id, id, person_id, kind, value, value_index, provenance, created_at FROM contacts
		WHERE customer_id = ANY($1) ORDER BY customer_id, created_at, id`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var x contact
			var person *uuid.UUID
			if err := rows.Scan(&x.customer, &x.c.ID, &person, &x.c.Kind, &x.c.Value, &x.c.Index, &x.c.Provenance, &x.c.CreatedAt); err != nil {
				return err
			}
			if person != nil {
				x.c.PersonID = *person
			}
			contacts = append(contacts, x)
		}
		return rows.Err()
	})
	consents := map[uuid.UUID][]ConsentRow{}
	b.Queue(`SELECT cs.contact_id, cs.purpose, cs.channel, cs.granted_at, cs.withdrawn_at FROM consents cs
		JOIN contacts c ON c.id = cs.contact_id WHERE c.customer_id = ANY($1) ORDER BY cs.contact_id, cs.position`, ids).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id uuid.UUID
				var cs ConsentRow
				if err := rows.Scan(&id, &cs.Purpose, &cs.Channel, &cs.GrantedAt, &cs.WithdrawnAt); err != nil {
					return err
				}
				consents[id] = append(consents[id], cs)
			}
			return rows.Err()
		})
	type key struct {
		customer uuid.UUID
		k        KeyRow
	}
	var keys []key
	b.Queue(`SELECT customer_id, kind, value, provenance, created_at FROM business_keys WHERE customer_id = ANY($1)
		ORDER BY customer_id, created_at, kind, value`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var x key
			if err := rows.Scan(&x.customer, &x.k.Kind, &x.k.Value, &x.k.Provenance, &x.k.CreatedAt); err != nil {
				return err
			}
			keys = append(keys, x)
		}
		return rows.Err()
	})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load customers: %w", err)
	}
	for _, x := range persons {
		if r := byID[x.customer]; r != nil {
			r.Persons = append(r.Persons, x.p)
		}
	}
	for _, x := range contacts {
		if r := byID[x.customer]; r != nil {
			x.c.Consents = consents[x.c.ID]
			r.Contacts = append(r.Contacts, x.c)
		}
	}
	for _, x := range keys {
		if r := byID[x.customer]; r != nil {
			r.Keys = append(r.Keys, x.k)
		}
	}
	out := make([]*Row, 0, len(ids))
	for _, id := range ids {
		if r := byID[id]; r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Get returns one customer, or NotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*Row, error) {
	rows, err := load(ctx, s.pool, []uuid.UUID{id}, false)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, apierr.NotFound("customer", id.String())
	}
	return rows[0], nil
}

// GetMany returns the customers with ids that exist, in the order of ids.
func (s *Store) GetMany(ctx context.Context, ids []uuid.UUID) ([]*Row, error) {
	return load(ctx, s.pool, ids, false)
}

// Create inserts r (version 1) with its children and msgs in one transaction whose first write is
// claim. When the claim finds the same request already done, nothing is written and the existing
// customer's id is returned. With dedupe (a contact's blind index), Create first takes a transaction lock
// on that index and returns the newest active customer holding the contact instead of inserting, so two
// tickets from one new contact never create two customers.
func (s *Store) Create(ctx context.Context, claim *idempotency.Claim, now time.Time, r *Row, msgs []outbox.Message, dedupe []byte) (existing uuid.UUID, err error) {
	err = pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		existing = uuid.Nil
		if claim != nil {
			prev, err := claim.Claim(ctx, tx, now)
			if err != nil {
				return err
			}
			if prev != "" {
				existing, err = uuid.Parse(prev)
				return err
			}
		}
		if dedupe != nil {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 6))`, dedupe); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `SELECT c.id FROM contacts ct JOIN customers c ON c.id = ct.customer_id
				WHERE ct.value_index = $1 AND c.state = 'active' ORDER BY c.id DESC LIMIT 1`, dedupe).Scan(&existing)
			if err == nil {
				if claim != nil {
					// The claim recorded the id this call meant to create; it names the one found instead.
					_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET resource_id = $4 WHERE principal = $1 AND scope = $2 AND key = $3`,
						claim.Principal, claim.Scope, claim.Key, existing.String())
				}
				return err
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO customers (id, kind, state, tier, preferred_channel, data_key, data_key_id, profile,
			provenance, company_name, enterprise_size, industry, sole_proprietor, national_id_index, credit_code_index,
			version, created_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15)`,
			r.ID, r.Kind, r.Tier, r.PreferredChannel, r.DataKey, r.DataKeyID, r.Profile, r.Provenance, r.CompanyName,
			r.Size, r.Industry, r.SoleProprietor, r.NationalIDIndex, r.CreditCodeIndex, r.CreatedAt)
		queueChildren(b, r)
		if err := outbox.Queue(ctx, b, msgs...); err != nil {
			return err
		}
		return mapWriteErr(tx.SendBatch(ctx, b).Close())
	})
	return existing, err
}

// Update locks the customers with ids (in id order), loads them and runs fn on them (in the order of
// ids). fn changes the rows and returns the events to add; Update then saves every row whose Version fn
// raised (its children rewritten) and adds the events, all in that transaction. Absent ids are NotFound.
func (s *Store) Update(ctx context.Context, ids []uuid.UUID, fn func(rows []*Row) ([]outbox.Message, error)) error {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		locked, err := load(ctx, tx, sorted, true)
		if err != nil {
			return err
		}
		byID := map[uuid.UUID]*Row{}
		versions := map[uuid.UUID]int64{}
		for _, r := range locked {
			byID[r.ID], versions[r.ID] = r, r.Version
		}
		rows := make([]*Row, len(ids))
		for i, id := range ids {
			if rows[i] = byID[id]; rows[i] == nil {
				return apierr.NotFound("customer", id.String())
			}
		}
		msgs, err := fn(rows)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		var changed []*Row
		for _, r := range rows {
			if r.Version != versions[r.ID] {
				changed = append(changed, r)
				b.Queue(`DELETE FROM business_keys WHERE customer_id = $1`, r.ID)
				b.Queue(`DELETE FROM contacts WHERE customer_id = $1`, r.ID)
				b.Queue(`DELETE FROM contact_persons WHERE customer_id = $1`, r.ID)
			}
		}
		for _, r := range changed {
			var merged *uuid.UUID
			if r.MergedInto != uuid.Nil {
				merged = &r.MergedInto
			}
			b.Queue(`UPDATE customers SET state = $2, tier = $3, preferred_channel = $4, data_key = $5, data_key_id = $6,
				profile = $7, provenance = $8, company_name = $9, enterprise_size = $10, industry = $11, sole_proprietor = $12,
				national_id_index = $13, credit_code_index = $14, merged_into = $15, version = $16, updated_at = $17,
				erased_at = $18 WHERE id = $1`,
				r.ID, r.State, r.Tier, r.PreferredChannel, r.DataKey, nullIfEmpty(r.DataKeyID), r.Profile, r.Provenance,
				r.CompanyName, r.Size, r.Industry, r.SoleProprietor, r.NationalIDIndex, r.CreditCodeIndex, merged,
				r.Version, r.UpdatedAt, r.ErasedAt)
			queueChildren(b, r)
			if r.State == "erased" {
				b.Queue(forgetAttemptsSQL, r.ID)
			}
		}
		if err := outbox.Queue(ctx, b, msgs...); err != nil {
			return err
		}
		return mapWriteErr(tx.SendBatch(ctx, b).Close())
	})
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// queueChildren queues the inserts of r's contact persons, contacts, consents and business keys.
func queueChildren(b *pgx.Batch, r *Row) {
	for i, p := range r.Persons {
		var linked *uuid.UUID
		if p.LinkedCustomerID != uuid.Nil {
			linked = &p.LinkedCustomerID
		}
		b.Queue(`INSERT INTO contact_persons (id, customer_id, position, linked_customer_id, title) VALUES ($1, $2, $3, $4, $5)`,
			p.ID, r.ID, i, linked, p.Title)
	}
	for _, c := range r.Contacts {
		var person *uuid.UUID
		if c.PersonID != uuid.Nil {
			person = &c.PersonID
		}
		b.Queue(`INSERT INTO contacts (id, customer_id, person_id, kind, value, value_index, provenance, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, r.ID, person, c.Kind, c.Value, c.Index, c.Provenance, c.CreatedAt)
		for i, cs := range c.Consents {
			b.Queue(`INSERT INTO consents (contact_id, position, purpose, granted_at, channel, withdrawn_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				c.ID, i, cs.Purpose, cs.GrantedAt, cs.Channel, cs.WithdrawnAt)
		}
	}
	for _, k := range r.Keys {
		b.Queue(`INSERT INTO business_keys (kind, value, customer_id, provenance, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.Kind, k.Value, r.ID, k.Provenance, k.CreatedAt)
	}
}

// ErrKeyTaken is wrapped by the AlreadyExists error of a business key linked to another customer.
var ErrKeyTaken = errors.New("business key taken")

// mapWriteErr turns known constraint violations into domain errors.
func mapWriteErr(err error) error {
	if err == nil {
		return nil
	}
	if c, ok := pgxutil.UniqueViolation(err); ok && c == "business_keys_pkey" {
		return apierr.New(apierr.KindAlreadyExists, "BUSINESS_KEY_TAKEN",
			"an order or member number is already linked to another customer").WithCause(ErrKeyTaken)
	}
	if pgxutil.PgCode(err) == "23503" && constraintOf(err) == "customers_tier_fkey" {
		return apierr.InvalidField("customer.tier", "is not a known tier (ListTiers)")
	}
	if pgxutil.PgCode(err) == "23503" && constraintOf(err) == "contact_persons_linked_fkey" {
		return apierr.InvalidField("customer.enterprise.contact_persons.customer_id", "names no customer")
	}
	return err
}
