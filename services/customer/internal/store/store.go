// Package store is the customer service's Postgres persistence. It holds customer rows as the database
// sees them: personal fields already sealed and lookups as blind indexes (the app seals and opens them), so
// nothing here ever handles plaintext personal data. Every write owns its transaction, locks the records
// it changes, rewrites their child rows and adds their events to the outbox in that transaction.
package store

import (
	"context"
	"embed"
	"encoding/json"
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
}

const customerColumns = `id, kind, state, tier, preferred_channel, data_key, coalesce(data_key_id, ''), profile,
	provenance, company_name, enterprise_size, industry, sole_proprietor, national_id_index, credit_code_index,
	merged_into, version, created_at, updated_at, erased_at`

// childrenColumns are a customer's contacts (with their consents), contact persons and business keys, each
// aggregated as JSON next to the customer's row, so a record loads in one statement and one round trip
// (a lookup's latency is mostly statements and round trips: docs/benchmarks.md). bytea goes as base64.
const childrenColumns = `
	(SELECT json_agg(json_build_object('id', ct.id, 'person_id', ct.person_id, 'kind', ct.kind,
		'value', encode(ct.value, 'base64'), 'value_index', encode(ct.value_index, 'base64'),
		'provenance', ct.provenance, 'created_at', ct.created_at,
		'consents', (SELECT json_agg(json_build_object('purpose', cs.purpose, 'channel', cs.channel,
			'granted_at', cs.granted_at, 'withdrawn_at', cs.withdrawn_at) ORDER BY cs.position)
			FROM consents cs WHERE cs.contact_id = ct.id))
		ORDER BY ct.created_at, ct.id) FROM contacts ct WHERE ct.customer_id = customers.id),
	(SELECT json_agg(json_build_object('id', p.id, 'linked_customer_id', p.linked_customer_id, 'title', p.title)
		ORDER BY p.position) FROM contact_persons p WHERE p.customer_id = customers.id),
	(SELECT json_agg(json_build_object('kind', k.kind, 'value', k.value, 'provenance', k.provenance,
		'created_at', k.created_at) ORDER BY k.created_at, k.kind, k.value)
		FROM business_keys k WHERE k.customer_id = customers.id)`

// The JSON shapes of childrenColumns.
type (
	jsonContact struct {
		ID         uuid.UUID       `json:"id"`
		PersonID   *uuid.UUID      `json:"person_id"`
		Kind       string          `json:"kind"`
		Value      []byte          `json:"value"`
		Index      []byte          `json:"value_index"`
		Provenance json.RawMessage `json:"provenance"`
		CreatedAt  time.Time       `json:"created_at"`
		Consents   []struct {
			Purpose     string     `json:"purpose"`
			Channel     string     `json:"channel"`
			GrantedAt   time.Time  `json:"granted_at"`
			WithdrawnAt *time.Time `json:"withdrawn_at"`
		} `json:"consents"`
	}
	jsonPerson struct {
		ID     uuid.UUID  `json:"id"`
		Linked *uuid.UUID `json:"linked_customer_id"`
		Title  string     `json:"title"`
	}
	jsonKey struct {
		Kind       string          `json:"kind"`
		Value      string          `json:"value"`
		Provenance json.RawMessage `json:"provenance"`
		CreatedAt  time.Time       `json:"created_at"`
	}
)

// scanRecord reads one row of customerColumns and childrenColumns.
func scanRecord(rows pgx.Rows) (*Row, error) {
	var r Row
	var merged *uuid.UUID
	var contacts, persons, keys []byte
	if err := rows.Scan(&r.ID, &r.Kind, &r.State, &r.Tier, &r.PreferredChannel, &r.DataKey, &r.DataKeyID, &r.Profile,
		&r.Provenance, &r.CompanyName, &r.Size, &r.Industry, &r.SoleProprietor, &r.NationalIDIndex, &r.CreditCodeIndex,
		&merged, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.ErasedAt, &contacts, &persons, &keys); err != nil {
		return nil, err
	}
	if merged != nil {
		r.MergedInto = *merged
	}
	var cs []jsonContact
	var ps []jsonPerson
	var ks []jsonKey
	for _, part := range []struct {
		raw []byte
		to  any
	}{{contacts, &cs}, {persons, &ps}, {keys, &ks}} {
		if part.raw != nil {
			if err := json.Unmarshal(part.raw, part.to); err != nil {
				return nil, fmt.Errorf("customer %s: decode child rows: %w", r.ID, err)
			}
		}
	}
	for _, c := range cs {
		cr := ContactRow{ID: c.ID, Kind: c.Kind, Value: c.Value, Index: c.Index, Provenance: c.Provenance, CreatedAt: c.CreatedAt}
		if c.PersonID != nil {
			cr.PersonID = *c.PersonID
		}
		for _, x := range c.Consents {
			cr.Consents = append(cr.Consents, ConsentRow{Purpose: x.Purpose, Channel: x.Channel, GrantedAt: x.GrantedAt, WithdrawnAt: x.WithdrawnAt})
		}
		r.Contacts = append(r.Contacts, cr)
	}
	for _, p := range ps {
		pr := PersonRow{ID: p.ID, Title: p.Title}
		if p.Linked != nil {
			pr.LinkedCustomerID = *p.Linked
		}
		r.Persons = append(r.Persons, pr)
	}
	for _, k := range ks {
		r.Keys = append(r.Keys, KeyRow{Kind: k.Kind, Value: k.Value, Provenance: k.Provenance, CreatedAt: k.CreatedAt})
	}
	return &r, nil
}

// query loads the customers a condition selects (SQL after WHERE, with its ordering and locking clauses)
// with their child rows, in one statement.
func query(ctx context.Context, q querier, cond string, args ...any) ([]*Row, error) {
	rows, err := q.Query(ctx, `SELECT `+customerColumns+`,`+childrenColumns+` FROM customers WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("load customers: %w", err)
	}
	defer rows.Close()
	var out []*Row
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load customers: %w", err)
	}
	return out, nil
}

// load reads the customers with ids and their child rows, in the order of ids (absent ones left out).
// With lock, the customer rows are locked FOR UPDATE in id order (so two writers never deadlock).
func load(ctx context.Context, q querier, ids []uuid.UUID, lock bool) ([]*Row, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cond := `id = ANY($1)`
	if lock {
		cond += ` ORDER BY id FOR UPDATE OF customers`
	}
	found, err := query(ctx, q, cond, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]*Row, len(found))
	for _, r := range found {
		byID[r.ID] = r
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

// maxMergeHops bounds GetSurvivor's walk. Merging needs two active records and a merged one never becomes
// active again, so chains are short and acyclic; the bound only guards against a corrupt row.
const maxMergeHops = 32

// GetSurvivor returns the customer with id or, when it was merged, the record it was merged into (following
// later merges of that one too), or NotFound for an unknown id.
func (s *Store) GetSurvivor(ctx context.Context, id uuid.UUID) (*Row, error) {
	r, err := s.Get(ctx, id)
	for hops := 0; err == nil && r.State == "merged" && r.MergedInto != uuid.Nil; hops++ {
		if hops == maxMergeHops {
			return nil, fmt.Errorf("customer %s: merge chain longer than %d records", id, maxMergeHops)
		}
		r, err = s.Get(ctx, r.MergedInto)
	}
	return r, err
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
