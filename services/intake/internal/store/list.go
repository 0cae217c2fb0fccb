package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/auth"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// Order is a ticket listing's sort order; every order ends with the ticket id, so it is total and pages
// are stable.
type Order int

// Orders.
const (
	// OrderNewest is newest first: (created_at, ticket_id) descending. The default.
	OrderNewest Order = iota
	// OrderOldest is oldest first: (created_at, ticket_id) ascending.
	OrderOldest
	// OrderPriority is work-queue order: (priority, created_at, ticket_id) ascending, P1 first.
	OrderPriority
)

// TicketFilter selects tickets; zero fields do not filter. Every set field must match.
type TicketFilter struct {
	Statuses      []ticket.Status
	Type          ticket.Type // TypeUnclassified: any
	Subcategory   string
	Urgency       ticket.Urgency // UrgencyUnspecified: any
	Level         ticket.Level   // LevelNone: any
	Channel       ticket.Channel // ChannelUnspecified: any
	GroupID       uuid.UUID
	AssigneeID    uuid.UUID
	CustomerID    uuid.UUID
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	Number        string
	Order         Order
	// Scope is the caller's: only tickets in it are listed, and page tokens are good only within it.
	Scope auth.TicketScope
}

// TicketPage is one page of a ticket listing.
type TicketPage struct {
	Tickets       []*ticket.Ticket
	NextPageToken string
}

// ListTickets returns one page of the tickets matching f, in f.Order, after the position pageToken names.
// It reads pageSize+1 rows to know whether another page follows, and seeks with a row comparison on the
// order's index rather than an OFFSET, so deep pages cost what the first does.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter, pageSize int, pageToken string) (TicketPage, error) {
	size := PageSize(pageSize)
	scopeBytes, _ := json.Marshal(f) // plain fields: always encodes, deterministically
	scope := "tickets:" + string(scopeBytes)

	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.Statuses) > 0 {
		names := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			names[i] = st.String()
		}
		where = append(where, "status = ANY("+arg(names)+")")
	}
	if f.Type != ticket.TypeUnclassified {
		where = append(where, "type = "+arg(f.Type.String()))
	}
	if f.Subcategory != "" {
		where = append(where, "subcategory = "+arg(f.Subcategory))
	}
	if f.Urgency != ticket.UrgencyUnspecified {
		where = append(where, "urgency = "+arg(f.Urgency.String()))
	}
	if f.Level != ticket.LevelNone {
		where = append(where, "level = "+arg(f.Level.String()))
	}
	if f.Channel != ticket.ChannelUnspecified {
		where = append(where, "channel = "+arg(f.Channel.String()))
	}
	if f.GroupID != uuid.Nil {
		where = append(where, "group_id = "+arg(f.GroupID))
	}
	if f.AssigneeID != uuid.Nil {
		where = append(where, "assignee_id = "+arg(f.AssigneeID))
	}
	if f.CustomerID != uuid.Nil {
		where = append(where, "customer_id = "+arg(f.CustomerID))
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "created_at >= "+arg(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < "+arg(f.CreatedBefore))
	}
	if f.Number != "" {
		where = append(where, "number = "+arg(f.Number))
	}
	if p := scopeSQL(f.Scope, arg); p != "" {
		where = append(where, p)
	}

	var orderBy string
	switch f.Order {
	case OrderOldest:
		orderBy = "created_at, ticket_id"
	case OrderPriority:
		orderBy = "priority, created_at, ticket_id"
	default:
		orderBy = "created_at DESC, ticket_id DESC"
	}
	if pageToken != "" {
		c, err := decodeCursor(pageToken, scope)
		if err != nil {
			return TicketPage{}, err
		}
		switch f.Order {
		case OrderOldest:
			where = append(where, fmt.Sprintf("(created_at, ticket_id) > (%s, %s)", arg(c.createdAt()), arg(c.ID)))
		case OrderPriority:
			where = append(where, fmt.Sprintf("(priority, created_at, ticket_id) > (%s, %s, %s)",
				arg(c.Priority), arg(c.createdAt()), arg(c.ID)))
		default:
			where = append(where, fmt.Sprintf("(created_at, ticket_id) < (%s, %s)", arg(c.createdAt()), arg(c.ID)))
		}
	}
	sql := `SELECT ` + ticketColumns + ` FROM tickets`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	sql += ` ORDER BY ` + orderBy + ` LIMIT ` + arg(size+1)

	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return TicketPage{}, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	var page TicketPage
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return TicketPage{}, fmt.Errorf("list tickets: %w", err)
		}
		page.Tickets = append(page.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return TicketPage{}, fmt.Errorf("list tickets: %w", err)
	}
	if len(page.Tickets) > size {
		page.Tickets = page.Tickets[:size]
		last := page.Tickets[size-1]
		page.NextPageToken = encodeCursor(cursor{
			Created: last.CreatedAt.UnixMicro(), Priority: int16(last.Priority), ID: last.ID,
		}, scope)
	}
	return page, nil
}
