package app

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

// TestIngestPlansAgainWhenATicketIsNotAsExpected: a batch plans on the states the batches in flight
// announced. When one of those fails (its transaction never commits), the next finds another revision
// under its locks and plans again on what is stored, so nothing of the failed batch is counted.
func TestIngestPlansAgainWhenATicketIsNotAsExpected(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	at := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	a := New(store.New(db.Pool, time.UTC), clock.NewFake(at), nil, "analytics-events", logging.Discard())
	id := uuid.New()
	ingest := func(evs ...facts.Event) {
		t.Helper()
		tevs := make([]TicketEvent, len(evs))
		for i, e := range evs {
			tevs[i] = TicketEvent{TicketID: id, Event: e}
		}
		require.NoError(t, pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error {
			return a.Ingest(t.Context(), store.Wrap(tx), tevs, len(tevs))
		}))
	}
	stored := func() store.Stored {
		t.Helper()
		var st store.Stored
		require.NoError(t, pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error {
			m, err := store.Wrap(tx).ReadTickets(t.Context(), []uuid.UUID{id})
			st = m[id]
			return err
		}))
		return st
	}
	sum := func(col string) int64 {
		t.Helper()
		var n int64
		require.NoError(t, db.Pool.QueryRow(context.WithoutCancel(t.Context()),
			`SELECT coalesce(sum(`+col+`), 0) FROM ticket_rollup WHERE grain = 0`).Scan(&n))
		return n
	}

	ingest(facts.Event{Kind: facts.KindCreated, Seq: 1, At: at, ReceivedAt: at, Channel: "web_chat", Type: "complaint",
		Subcategory: "logistics_delay", Urgency: "normal", Level: "l1", ToStatus: "new"})
	require.NotZero(t, stored().Rev)
	require.Zero(t, a.replans.Load())

	// A batch in flight announces the ticket resolved, then fails.
	failed := stored()
	failed.Ticket = failed.Clone()
	failed.Apply(facts.Event{Kind: facts.KindResolved, Seq: 2, At: at.Add(time.Hour), ToStatus: "resolved"})
	failed.Rev = store.NewRev()
	a.inflight.mu.Lock()
	a.inflight.next++
	token := a.inflight.next
	a.inflight.announce(token, []store.Stored{failed})
	a.inflight.mu.Unlock()

	ingest(facts.Event{Kind: facts.KindAssigned, Seq: 3, At: at.Add(2 * time.Minute), GroupID: "g1", AssigneeID: "a1", ToStatus: "assigned"})
	require.EqualValues(t, 1, a.replans.Load(), "planned on the failed batch's state, then again on the stored one")
	st := stored()
	require.Equal(t, "assigned", st.Status)
	require.EqualValues(t, 1, sum("tickets"))
	require.Zero(t, sum("resolutions"), "the failed batch's resolution is not counted")
	a.inflight.retract(token, []uuid.UUID{id})

	// Nothing announced: the batch plans on the stored state, which its locks confirm.
	ingest(facts.Event{Kind: facts.KindResolved, Seq: 4, At: at.Add(time.Hour), ToStatus: "resolved"})
	require.EqualValues(t, 1, a.replans.Load())
	require.NotEqual(t, st.Rev, stored().Rev)
	require.EqualValues(t, 1, sum("resolutions"))
	require.EqualValues(t, 1, sum("tickets"))

	// The same event again (a redelivery): nothing applied, the ticket not even rewritten.
	rev := stored().Rev
	ingest(facts.Event{Kind: facts.KindResolved, Seq: 4, At: at.Add(time.Hour), ToStatus: "resolved"})
	require.Equal(t, rev, stored().Rev)
	require.EqualValues(t, 1, sum("resolutions"))
}
