package store_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// all is the scope of admins, auditors and services.
var all = auth.TicketScope{All: true}

// TestOneScopeForEveryReadAndWrite places four tickets and checks, for each kind of caller, that Get,
// List, the timeline and an update agree exactly on which tickets exist: those in scope and no other.
func TestOneScopeForEveryReadAndWrite(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	g1, g2 := uuid.New(), uuid.New()
	a1, a2 := uuid.New(), uuid.New()
	place := func(group, assignee *uuid.UUID, submitter string) uuid.UUID {
		tk := createTicket(t, st, "placed")
		_, err := db.Pool.Exec(t.Context(), `UPDATE tickets SET group_id = $2, assignee_id = $3, submitter_id = $4 WHERE ticket_id = $1`,
			tk.ID, group, assignee, submitter)
		require.NoError(t, err)
		return tk.ID
	}
	t1 := place(&g1, &a1, "test")
	t2 := place(&g2, nil, "test")
	t3 := place(nil, nil, "test")
	t4 := place(&g1, &a2, "other")
	every := []uuid.UUID{t1, t2, t3, t4}

	tests := []struct {
		name  string
		scope auth.TicketScope
		sees  []uuid.UUID
	}{
		{"an agent: assigned to them or in their groups", auth.TicketScope{AssigneeID: a1.String(), GroupIDs: []string{g2.String()}}, []uuid.UUID{t1, t2}},
		{"an agent in no group: assigned to them", auth.TicketScope{AssigneeID: a2.String()}, []uuid.UUID{t4}},
		{"a supervisor: the headed group and the ungrouped", auth.TicketScope{AssigneeID: "not-a-uuid", GroupIDs: []string{g1.String(), "not-a-uuid"}, Ungrouped: true}, []uuid.UUID{t1, t3, t4}},
		{"an adapter: what it submitted", auth.TicketScope{SubmitterKind: string(ticket.ActorAdapter), SubmitterID: "test"}, []uuid.UUID{t1, t2, t3}},
		{"another adapter", auth.TicketScope{SubmitterKind: string(ticket.ActorAdapter), SubmitterID: "other"}, []uuid.UUID{t4}},
		{"the same name as another kind", auth.TicketScope{SubmitterKind: "staff", SubmitterID: "test"}, nil},
		{"nothing", auth.TicketScope{}, nil},
		{"all", all, every},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, err := st.ListTickets(t.Context(), store.TicketFilter{Scope: tc.scope}, 100, "")
			require.NoError(t, err)
			var listed []uuid.UUID
			for _, tk := range page.Tickets {
				listed = append(listed, tk.ID)
			}
			require.ElementsMatch(t, tc.sees, listed, "list")
			for _, id := range every {
				in := false
				for _, s := range tc.sees {
					in = in || s == id
				}
				_, getErr := st.GetTicket(t.Context(), id, tc.scope)
				_, tlErr := st.ListTimeline(t.Context(), id, tc.scope, 10, "")
				_, updErr := st.UpdateTicket(t.Context(), id, tc.scope, nil, now, func(*ticket.Ticket) (store.Write, error) {
					return store.Write{}, nil
				})
				for what, err := range map[string]error{"get": getErr, "timeline": tlErr, "update": updErr} {
					if in {
						require.NoError(t, err, "%s of a ticket in scope", what)
					} else {
						require.Equal(t, apierr.KindNotFound, apierr.KindOf(err), "%s of a ticket outside scope: %v", what, err)
					}
				}
			}
		})
	}
}

// TestPageTokensAreBoundToTheirScope: a token made for one caller's scope is refused for another's, so
// replaying someone else's token shows nothing of theirs.
func TestPageTokensAreBoundToTheirScope(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	for range 3 {
		createTicket(t, st, "paged")
	}
	mine := auth.TicketScope{SubmitterKind: string(ticket.ActorAdapter), SubmitterID: "test"}
	theirs := auth.TicketScope{All: true}
	page, err := st.ListTickets(t.Context(), store.TicketFilter{Scope: theirs}, 1, "")
	require.NoError(t, err)
	require.NotEmpty(t, page.NextPageToken)
	_, err = st.ListTickets(t.Context(), store.TicketFilter{Scope: mine}, 1, page.NextPageToken)
	require.Equal(t, apierr.KindInvalidArgument, apierr.KindOf(err), "another scope's list token: %v", err)

	id := page.Tickets[0].ID
	_, err = st.UpdateTicket(t.Context(), id, theirs, nil, now, func(tk *ticket.Ticket) (store.Write, error) {
		ch, err := tk.AddNote("a second entry", ticket.Actor{Kind: ticket.ActorStaff, ID: "s1"}, now)
		if err != nil {
			return store.Write{}, err
		}
		var w store.Write
		for _, e := range ch.Timeline {
			w.Entries = append(w.Entries, store.Entry{ID: uuid.Must(uuid.NewV7()), TicketID: id, TimelineEntry: e})
		}
		return w, nil
	})
	require.NoError(t, err)
	tl, err := st.ListTimeline(t.Context(), id, theirs, 1, "")
	require.NoError(t, err)
	require.NotEmpty(t, tl.NextPageToken, "a new ticket's timeline has more than one entry")
	_, err = st.ListTimeline(t.Context(), id, mine, 1, tl.NextPageToken)
	require.Equal(t, apierr.KindInvalidArgument, apierr.KindOf(err), "another scope's timeline token: %v", err)
}
