package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/pgxutil"
)

// CopyRows inserts new customers with all their child rows through COPY, in one transaction: a bulk load
// for benchmark data sets (make bench). It writes the columns Create and queueChildren write (keep them
// alike; the loader's test reads the rows back through the service), but no outbox events or idempotency
// keys, and it runs no dedupe: the rows must be new and their business keys free, which the tables'
// constraints still check.
func (s *Store) CopyRows(ctx context.Context, rows []*Row) error {
	var customers, persons, contacts, consents, keys [][]any
	for _, r := range rows {
		var merged *uuid.UUID
		if r.MergedInto != uuid.Nil {
			merged = &r.MergedInto
		}
		customers = append(customers, []any{r.ID, r.Kind, r.State, r.Tier, r.PreferredChannel, r.DataKey,
			nullIfEmpty(r.DataKeyID), r.Profile, r.Provenance, r.CompanyName, r.Size, r.Industry, r.SoleProprietor,
			r.NationalIDIndex, r.CreditCodeIndex, merged, r.Version, r.CreatedAt, r.UpdatedAt, r.ErasedAt})
		for i, p := range r.Persons {
			var linked *uuid.UUID
			if p.LinkedCustomerID != uuid.Nil {
				linked = &p.LinkedCustomerID
			}
			persons = append(persons, []any{p.ID, r.ID, i, linked, p.Title})
		}
		for _, c := range r.Contacts {
			var person *uuid.UUID
			if c.PersonID != uuid.Nil {
				person = &c.PersonID
			}
			contacts = append(contacts, []any{c.ID, r.ID, person, c.Kind, c.Value, c.Index, c.Provenance, c.CreatedAt})
			for i, cs := range c.Consents {
				consents = append(consents, []any{c.ID, i, cs.Purpose, cs.GrantedAt, cs.Channel, cs.WithdrawnAt})
			}
		}
		for _, k := range r.Keys {
			keys = append(keys, []any{k.Kind, k.Value, r.ID, k.Provenance, k.CreatedAt})
		}
	}
	// Parents before children, for the foreign keys.
	tables := []struct {
		name    string
		columns []string
		rows    [][]any
	}{
		{"customers", []string{"id", "kind", "state", "tier", "preferred_channel", "data_key", "data_key_id", "profile",
			"provenance", "company_name", "enterprise_size", "industry", "sole_proprietor", "national_id_index",
			"credit_code_index", "merged_into", "version", "created_at", "updated_at", "erased_at"}, customers},
		{"contact_persons", []string{"id", "customer_id", "position", "linked_customer_id", "title"}, persons},
		{"contacts", []string{"id", "customer_id", "person_id", "kind", "value", "value_index", "provenance", "created_at"}, contacts},
		{"consents", []string{"contact_id", "position", "purpose", "granted_at", "channel", "withdrawn_at"}, consents},
		{"business_keys", []string{"kind", "value", "customer_id", "provenance", "created_at"}, keys},
	}
	return pgxutil.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		for _, t := range tables {
			if len(t.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, mapWriteErr(err))
			}
		}
		return nil
	})
}
