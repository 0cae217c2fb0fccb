package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// SubmittedTicket returns the ticket an earlier submit created under c's key, without claiming the key:
// nil when the key is free, AlreadyExists (reason IDEMPOTENCY_KEY_REUSED) when another request used it.
// A submit that asks the customer service before its transaction calls it first, so a retry is answered
// without asking again; CreateTicket's claim still settles two submits racing with one key.
func (s *Store) SubmittedTicket(ctx context.Context, c idempotency.Claim) (*ticket.Ticket, error) {
	var (
		fp       []byte
		resource string
	)
	err := s.pool.QueryRow(ctx, `SELECT fingerprint, resource_id FROM idempotency_keys
		WHERE principal = $1 AND scope = $2 AND key = $3`, c.Principal, c.Scope, c.Key).Scan(&fp, &resource)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if string(fp) != string(c.Fingerprint) {
		return nil, apierr.New(apierr.KindAlreadyExists, "IDEMPOTENCY_KEY_REUSED",
			"the key was already used with a different request").WithCause(idempotency.ErrKeyReused)
	}
	id, err := uuid.Parse(resource)
	if err != nil {
		return nil, fmt.Errorf("idempotency key names ticket %q: %w", resource, err)
	}
	// The key and the ticket were committed together, so the ticket exists.
	t, err := scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("load ticket %s of a replayed submit: %w", id, err)
	}
	return t, nil
}

// eraseTicketsSQL erases the personal data of up to $3 of customer $1's tickets that still hold some, in
// one statement (one short transaction): it locks the tickets in id order, like any change, then removes
// the contact and the member number and, when $2 (the customer's words too), replaces the customer's text
// on the ticket and in its customer-message and satisfaction entries with the erased forms the migration
// defines (the timeline's guard accepts exactly those). Ticket version and updated_at stay: no event.
const eraseTicketsSQL = `WITH batch AS (
		SELECT ticket_id FROM tickets
		WHERE customer_id = $1 AND (erased_at IS NULL OR ($2 AND NOT customer_words_erased))
		ORDER BY ticket_id LIMIT $3
		FOR UPDATE
	), entries AS (
		UPDATE timeline_entries e
		SET text = erased_text(e.text), attachments = erased_attachments(e.attachments), erased_at = $4
		FROM batch
		WHERE $2 AND e.ticket_id = batch.ticket_id AND e.erased_at IS NULL
			AND e.kind IN ('customer_message_added', 'rated')
	)
	UPDATE tickets t SET
		contact_kind = NULL, contact_value = NULL, consent_purpose = NULL, member_number = '',
		erased_at = coalesce(t.erased_at, $4),
		customer_words_erased = t.customer_words_erased OR $2,
		subject = CASE WHEN $2 THEN erased_text(t.subject) ELSE t.subject END,
		description = CASE WHEN $2 THEN erased_text(t.description) ELSE t.description END,
		key_facts = CASE WHEN $2 THEN erased_key_facts(t.key_facts) ELSE t.key_facts END,
		attachments = CASE WHEN $2 THEN erased_attachments(t.attachments) ELSE t.attachments END,
		satisfaction_comment = CASE WHEN $2 THEN erased_text(t.satisfaction_comment) ELSE t.satisfaction_comment END
	FROM batch
	WHERE t.ticket_id = batch.ticket_id`

// EraseCustomerTickets erases the personal data of up to limit of the customer's tickets that still hold
// some (see ticket.Erasure), and returns how many it changed: fewer than limit means none is left. Erasing
// is idempotent, so the caller repeats it until then, and a repeat after a crash finishes the work.
func (s *Store) EraseCustomerTickets(ctx context.Context, customerID uuid.UUID, words bool, now time.Time, limit int) (int, error) {
	var n int
	err := pgxutil.Retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, eraseTicketsSQL, customerID, words, limit, now)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("erase tickets of customer %s: %w", customerID, err)
	}
	return n, nil
}

// RecordErasedCustomer remembers that the customer's data was erased (words: their words too), so tickets
// moved onto them later by a merge are erased as well. Recording again keeps the wider erasure.
func (s *Store) RecordErasedCustomer(ctx context.Context, customerID uuid.UUID, words bool, now time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO erased_customers (customer_id, customer_words, erased_at) VALUES ($1, $2, $3)
		ON CONFLICT ON CONSTRAINT erased_customers_pkey
		DO UPDATE SET customer_words = erased_customers.customer_words OR EXCLUDED.customer_words`, customerID, words, now)
	if err != nil {
		return fmt.Errorf("record erased customer %s: %w", customerID, err)
	}
	return nil
}

// ErasedCustomer reports whether the customer's data was erased, and whether their words were too.
func (s *Store) ErasedCustomer(ctx context.Context, customerID uuid.UUID) (erased, words bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT customer_words FROM erased_customers WHERE customer_id = $1`, customerID).Scan(&words)
	if isNoRows(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read erased customer %s: %w", customerID, err)
	}
	return true, words, nil
}

// MoveCustomerTickets moves up to limit of from's tickets to customer to, locking them in id order like
// any change, and returns how many it moved: fewer than limit means none is left. The move publishes no
// event and keeps each ticket's version (consumers that care follow kefu.customer.merged themselves).
func (s *Store) MoveCustomerTickets(ctx context.Context, from, to uuid.UUID, limit int) (int, error) {
	var n int
	err := pgxutil.Retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `WITH batch AS (
				SELECT ticket_id FROM tickets WHERE customer_id = $1 ORDER BY ticket_id LIMIT $3 FOR UPDATE
			)
			UPDATE tickets t SET customer_id = $2 FROM batch WHERE t.ticket_id = batch.ticket_id`, from, to, limit)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("move tickets of customer %s to %s: %w", from, to, err)
	}
	return n, nil
}
