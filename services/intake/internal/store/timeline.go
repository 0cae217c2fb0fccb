package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// Entry is a timeline entry as stored: the domain's entry plus its id, its ticket and the details the API
// shows for some kinds (the assignment's group and agent, whether a reply asks the customer).
type Entry struct {
	ID       uuid.UUID
	TicketID uuid.UUID
	ticket.TimelineEntry
	AsksCustomer bool
	GroupID      uuid.UUID
	AssigneeID   uuid.UUID
	// ErasedAt is when the customer's words in the entry were erased (text is then ticket.ErasedText);
	// zero otherwise. Only EraseCustomerTickets sets it.
	ErasedAt time.Time
}

// insertEntryColumns are the columns a new entry is written with; entryColumns, what reads select.
const (
	insertEntryColumns = `entry_id, ticket_id, seq, kind, actor_kind, actor_id, created_at, text, channel,
	from_status, to_status, asks_customer, group_id, assignee_id, attachments`
	entryColumns = insertEntryColumns + `, erased_at`
)

const insertEntrySQL = `INSERT INTO timeline_entries (` + insertEntryColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

func queueInsertEntry(b *pgx.Batch, e Entry) error {
	var channel, from, to, attachments any
	if e.Channel != ticket.ChannelUnspecified {
		channel = e.Channel.String()
	}
	if e.From != ticket.StatusUnspecified {
		from = e.From.String()
	}
	if e.To != ticket.StatusUnspecified {
		to = e.To.String()
	}
	if len(e.Attachments) > 0 {
		b, err := encodeAttachments(e.Attachments)
		if err != nil {
			return fmt.Errorf("encode entry attachments: %w", err)
		}
		attachments = b
	}
	b.Queue(insertEntrySQL, e.ID, e.TicketID, e.Seq, e.Kind.String(), e.Actor.Kind, e.Actor.ID, e.At, e.Text,
		channel, from, to, e.AsksCustomer, nullUUID(e.GroupID), nullUUID(e.AssigneeID), attachments)
	return nil
}

func scanEntry(row pgx.Row) (Entry, error) {
	var (
		e                   Entry
		kind                string
		channel, from, to   *string
		groupID, assigneeID *uuid.UUID
		attachments         []byte
		erasedAt            *time.Time
	)
	if err := row.Scan(&e.ID, &e.TicketID, &e.Seq, &kind, &e.Actor.Kind, &e.Actor.ID, &e.At, &e.Text, &channel,
		&from, &to, &e.AsksCustomer, &groupID, &assigneeID, &attachments, &erasedAt); err != nil {
		return e, err
	}
	var err error
	if e.Kind, err = ticket.ParseEventKind(kind); err != nil {
		return e, fmt.Errorf("entry %s: %w", e.ID, err)
	}
	if channel != nil {
		if e.Channel, err = ticket.ParseChannel(*channel); err != nil {
			return e, fmt.Errorf("entry %s: %w", e.ID, err)
		}
	}
	if from != nil {
		if e.From, err = ticket.ParseStatus(*from); err != nil {
			return e, fmt.Errorf("entry %s: %w", e.ID, err)
		}
	}
	if to != nil {
		if e.To, err = ticket.ParseStatus(*to); err != nil {
			return e, fmt.Errorf("entry %s: %w", e.ID, err)
		}
	}
	e.GroupID, e.AssigneeID = derefUUID(groupID), derefUUID(assigneeID)
	if e.Attachments, err = decodeAttachments(attachments); err != nil {
		return e, fmt.Errorf("entry %s: attachments: %w", e.ID, err)
	}
	e.At, e.ErasedAt = e.At.UTC(), derefTime(erasedAt)
	return e, nil
}

// getEntry loads one entry (a replayed message-adding call returns the entry the first call wrote).
func getEntry(ctx context.Context, q pgx.Tx, id uuid.UUID) (Entry, error) {
	e, err := scanEntry(q.QueryRow(ctx, `SELECT `+entryColumns+` FROM timeline_entries WHERE entry_id = $1`, id))
	if err != nil {
		return e, fmt.Errorf("load timeline entry %s: %w", id, err)
	}
	return e, nil
}

// TimelinePage is one page of a ticket's timeline, oldest first.
type TimelinePage struct {
	Entries       []Entry
	NextPageToken string
}

// ListTimeline returns a page of the ticket's entries ordered by (seq, entry_id). An unknown ticket, or one
// outside sc, is NotFound; a token from another ticket's listing or another scope is InvalidArgument
// page_token.
func (s *Store) ListTimeline(ctx context.Context, ticketID uuid.UUID, sc auth.TicketScope, pageSize int, pageToken string) (TimelinePage, error) {
	size := PageSize(pageSize)
	scope := "timeline:" + ticketID.String() + ":" + scopeKey(sc)
	var cur cursor
	if pageToken != "" {
		c, err := decodeCursor(pageToken, scope)
		if err != nil {
			return TimelinePage{}, err
		}
		cur = c
	}
	var exists bool
	b := &pgx.Batch{}
	visible := args{ticketID}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM tickets WHERE ticket_id = $1`+scopedWhere(sc, visible.add)+`)`, visible...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&exists)
	})
	var page TimelinePage
	var last Entry
	n := 0
	b.Queue(`SELECT `+entryColumns+` FROM timeline_entries
		WHERE ticket_id = $1 AND (seq, entry_id) > ($2, $3)
		ORDER BY seq, entry_id LIMIT $4`, ticketID, cur.Seq, cur.ID, size+1).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			n++
			if n > size {
				page.NextPageToken = encodeCursor(cursor{Seq: last.Seq, ID: last.ID}, scope)
				break
			}
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			page.Entries = append(page.Entries, e)
			last = e
		}
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return TimelinePage{}, fmt.Errorf("list timeline of %s: %w", ticketID, err)
	}
	if !exists {
		return TimelinePage{}, apierr.NotFound(ResourceTicket, ticketID.String())
	}
	return page, nil
}
