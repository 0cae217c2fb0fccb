package store

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"kefu.dev/pkg/auth"
)

// scopeSQL is the one predicate of a caller's ticket scope over the tickets table. Every read and write of
// a ticket made for a caller applies it (GetTicket, ListTickets, ListTimeline, UpdateTicket), so what one
// shows the others allow, and a ticket outside it is NotFound like an absent one. It adds its parameters
// through arg and returns "" for a scope over all tickets. Ids that are not UUIDs match nothing (the
// columns are uuid).
func scopeSQL(sc auth.TicketScope, arg func(any) string) string {
	if sc.All {
		return ""
	}
	var or []string
	if id, err := uuid.Parse(sc.AssigneeID); err == nil {
		or = append(or, "assignee_id = "+arg(id))
	}
	var groups []uuid.UUID
	for _, g := range sc.GroupIDs {
		if id, err := uuid.Parse(g); err == nil {
			groups = append(groups, id)
		}
	}
	if len(groups) > 0 {
		or = append(or, "group_id = ANY("+arg(groups)+")")
	}
	if sc.Ungrouped {
		or = append(or, "group_id IS NULL")
	}
	if sc.SubmitterKind != "" && sc.SubmitterID != "" {
		or = append(or, "(submitter_kind = "+arg(sc.SubmitterKind)+" AND submitter_id = "+arg(sc.SubmitterID)+")")
	}
	if len(or) == 0 {
		return "false"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// scopedWhere returns " AND <predicate>" for sc, or "" for a scope over all tickets.
func scopedWhere(sc auth.TicketScope, arg func(any) string) string {
	if p := scopeSQL(sc, arg); p != "" {
		return " AND " + p
	}
	return ""
}

// scopeKey identifies a scope inside page tokens, so a token is good only for the caller whose scope made
// it: replaying another user's token is InvalidArgument, never a view into their tickets.
func scopeKey(sc auth.TicketScope) string {
	b, _ := json.Marshal(sc) // plain fields: always encodes, deterministically
	return string(b)
}

// args collects positional parameters for a statement built piece by piece.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}
