package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/domain/message"
)

// Message is an outbound message as stored.
type Message struct {
	ID uuid.UUID
	// DedupeKey names what made the message ("ack:<ticket>", "reply:<entry>"), so it is made once.
	DedupeKey    string
	Kind         message.Kind
	TicketID     uuid.UUID
	TicketNumber string
	CustomerID   uuid.UUID // uuid.Nil: unknown
	Channel      message.Channel
	ContactKind  message.ContactKind
	Address      string
	Language     string
	Body         string
	EntryID      string
	// AnnouncementID is the incident announcement the message carries (uuid.Nil: none).
	AnnouncementID uuid.UUID
	delivery.Status
	CreatedAt time.Time
}

const messageColumns = `id, dedupe_key, kind, ticket_id, ticket_number, customer_id, channel, contact_kind, address,
	language, body, entry_id, state, failure_reason, provider_message_id, created_at, sent_at, finished_at, announcement_id`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	var customer, announcement *uuid.UUID
	var sent, finished *time.Time
	err := row.Scan(&m.ID, &m.DedupeKey, &m.Kind, &m.TicketID, &m.TicketNumber, &customer, &m.Channel, &m.ContactKind,
		&m.Address, &m.Language, &m.Body, &m.EntryID, &m.State, &m.FailureReason, &m.ProviderMessageID, &m.CreatedAt,
		&sent, &finished, &announcement)
	if announcement != nil {
		m.AnnouncementID = *announcement
	}
	if customer != nil {
		m.CustomerID = *customer
	}
	if sent != nil {
		m.SentAt = *sent
	}
	if finished != nil {
		m.FinishedAt = *finished
	}
	return m, err
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// InsertMessage writes m unless a message with its dedupe key exists; inserted says which. The row is
// the message's outbox entry: a queued message is published after commit.
func (t *Tx) InsertMessage(ctx context.Context, m Message) (inserted bool, err error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO messages (`+messageColumns+`, published)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT ON CONSTRAINT messages_dedupe_key_key DO NOTHING`,
		m.ID, m.DedupeKey, m.Kind, m.TicketID, m.TicketNumber, nullUUID(m.CustomerID), m.Channel, m.ContactKind,
		m.Address, m.Language, m.Body, m.EntryID, m.State, m.FailureReason, m.ProviderMessageID, m.CreatedAt,
		nullTime(m.SentAt), nullTime(m.FinishedAt), nullUUID(m.AnnouncementID), m.State != delivery.Queued)
	if err != nil {
		return false, fmt.Errorf("insert message: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// LockMessage reads message id for update.
func (t *Tx) LockMessage(ctx context.Context, id uuid.UUID) (Message, error) {
	m, err := scanMessage(t.tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("lock message: %w", err)
	}
	return m, nil
}

// SetMessageStatus writes a message's delivery status.
func (t *Tx) SetMessageStatus(ctx context.Context, id uuid.UUID, st delivery.Status) error {
	_, err := t.tx.Exec(ctx, `UPDATE messages SET state = $2, failure_reason = $3, provider_message_id = $4,
		sent_at = $5, finished_at = $6 WHERE id = $1`,
		id, st.State, st.FailureReason, st.ProviderMessageID, nullTime(st.SentAt), nullTime(st.FinishedAt))
	if err != nil {
		return fmt.Errorf("set message status: %w", err)
	}
	return nil
}

// Cursor is a listing's position: the last row's time and id.
type Cursor struct {
	T  time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// ListMessages returns up to limit of a ticket's messages after cursor (nil: from the newest), newest
// first.
func (s *Store) ListMessages(ctx context.Context, ticket uuid.UUID, after *Cursor, limit int) ([]Message, error) {
	args := []any{ticket, limit}
	q := `SELECT ` + messageColumns + ` FROM messages WHERE ticket_id = $1`
	if after != nil {
		q += ` AND (created_at, id) < ($3, $4)`
		args = append(args, after.T, after.ID)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY created_at DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return ms, nil
}

// Unpublished returns up to limit queued messages not yet on the OUTBOUND stream, oldest first, locked so
// that another replica's publisher skips them.
func (t *Tx) Unpublished(ctx context.Context, limit int) ([]Message, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE NOT published
		ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("unpublished messages: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("unpublished messages: %w", err)
	}
	return ms, nil
}

// MarkPublished records that messages ids are on the stream.
func (t *Tx) MarkPublished(ctx context.Context, ids []uuid.UUID) error {
	if _, err := t.tx.Exec(ctx, `UPDATE messages SET published = true WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("mark published: %w", err)
	}
	return nil
}

// MessageCounts returns how many messages are in each state, of one announcement (uuid.Nil: all messages).
func (s *Store) MessageCounts(ctx context.Context, announcement uuid.UUID) (map[delivery.State]int64, error) {
	q := `SELECT state, count(*) FROM messages`
	var args []any
	if announcement != uuid.Nil {
		q += ` WHERE announcement_id = $1`
		args = append(args, announcement)
	}
	rows, err := s.pool.Query(ctx, q+` GROUP BY state`, args...)
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	out := map[delivery.State]int64{}
	for rows.Next() {
		var st delivery.State
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// MarkSent moves queued messages ids to sent at at: an outbound webhook's receiver took them.
func (s *Store) MarkSent(ctx context.Context, ids []uuid.UUID, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET state = 'sent', sent_at = $2 WHERE id = ANY($1) AND state = 'queued'`,
		ids, at)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// EraseCustomer removes a customer's addresses and message texts: their messages keep their ids, kinds,
// channels and states, with the address blank and the body "[erased]"; the outbound webhook payloads of
// those messages lose their body, and deliveries of them still pending are dead (reason "erased"), so
// nothing personal goes out after an erasure. It returns how many messages it changed.
func (t *Tx) EraseCustomer(ctx context.Context, customer uuid.UUID, at time.Time) (int, error) {
	rows, err := t.tx.Query(ctx, `UPDATE messages SET address = '', body = '[erased]'
		WHERE customer_id = $1 AND (address <> '' OR body <> '[erased]') RETURNING id`, customer)
	if err != nil {
		return 0, fmt.Errorf("erase messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("erase messages: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'dead', last_error = 'erased', finished_at = $2
		WHERE payload_id = ANY($1) AND state = 'pending'`, ids, at); err != nil {
		return 0, fmt.Errorf("erase deliveries: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE webhook_payloads SET body = '{"erased":true}'::bytea WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("erase payloads: %w", err)
	}
	return len(ids), nil
}

// MoveCustomer points a merged duplicate's messages at the survivor, so a later erasure of the survivor
// finds them.
func (t *Tx) MoveCustomer(ctx context.Context, duplicate, survivor uuid.UUID) error {
	if _, err := t.tx.Exec(ctx, `UPDATE messages SET customer_id = $2 WHERE customer_id = $1`, duplicate, survivor); err != nil {
		return fmt.Errorf("move messages: %w", err)
	}
	return nil
}
