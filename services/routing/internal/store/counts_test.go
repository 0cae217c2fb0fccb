package store_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing/internal/store"
)

// TestKeptCountsMatchCounting: agents' loads and queues' depths are kept by a trigger and folded now and
// then (migration 00004, FoldCounts), no longer counted. After every step of a random walk of ticket
// changes (assign, reassign, queue, move between groups, finish, delete, a rolled-back change) and folds at
// random points, what the store reads equals counting routed_tickets.
func TestKeptCountsMatchCounting(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	ctx := t.Context()
	st := store.New(db.Pool)
	agents := make([]uuid.UUID, 4)
	for i := range agents {
		agents[i] = uuid.New()
		_, err := db.Pool.Exec(ctx, `INSERT INTO agents (id, seniority, capacity, presence, created_at, updated_at)
			VALUES ($1, 'junior', 50, 'online', now(), now())`, agents[i])
		require.NoError(t, err)
	}
	groups := []uuid.UUID{uuid.New(), uuid.New()}
	tickets := make([]uuid.UUID, 30)
	for i := range tickets {
		tickets[i] = uuid.New()
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(ids []uuid.UUID) uuid.UUID { return ids[rng.IntN(len(ids))] }
	states := []string{"queued", "assigned", "done"}

	check := func(step int) {
		t.Helper()
		for _, a := range agents {
			v, err := st.Agent(ctx, a)
			require.NoError(t, err)
			var want int
			require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM routed_tickets WHERE assignee_id = $1 AND state = 'assigned'`, a).Scan(&want))
			require.Equal(t, want, v.Open, "step %d: agent %s's load", step, a)
		}
		require.NoError(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			for _, g := range groups {
				got, err := store.Wrap(tx).QueueDepth(ctx, g)
				require.NoError(t, err)
				var want int
				require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM routed_tickets WHERE group_id = $1 AND state = 'queued'`, g).Scan(&want))
				require.Equal(t, want, got, "step %d: group %s's queue", step, g)
			}
			return nil
		}))
	}
	for step := range 400 {
		tk := pick(tickets)
		var err error
		switch op := rng.IntN(10); {
		case op < 6: // insert or overwrite, as SaveTicket does
			state := states[rng.IntN(len(states))]
			var assignee *uuid.UUID
			if state == "assigned" && rng.IntN(4) > 0 {
				a := pick(agents)
				assignee = &a
			}
			_, err = db.Pool.Exec(ctx, `INSERT INTO routed_tickets (ticket_id, group_id, assignee_id, state, enqueued_at, seq, created_at, updated_at)
				VALUES ($1, $2, $3, $4, now(), 1, now(), now())
				ON CONFLICT (ticket_id) DO UPDATE SET group_id = excluded.group_id, assignee_id = excluded.assignee_id, state = excluded.state`,
				tk, pick(groups), assignee, state)
		case op < 7: // an update touching nothing counted
			_, err = db.Pool.Exec(ctx, `UPDATE routed_tickets SET priority = priority + 1 WHERE ticket_id = $1`, tk)
		case op < 8:
			_, err = db.Pool.Exec(ctx, `DELETE FROM routed_tickets WHERE ticket_id = $1`, tk)
		case op < 9: // a change rolled back leaves nothing behind
			tx, berr := db.Pool.Begin(ctx)
			require.NoError(t, berr)
			_, err = tx.Exec(ctx, `UPDATE routed_tickets SET state = 'assigned', assignee_id = $2 WHERE ticket_id = $1`, tk, pick(agents))
			require.NoError(t, tx.Rollback(context.WithoutCancel(ctx)))
		default:
			_, err = st.FoldCounts(ctx)
		}
		require.NoError(t, err)
		check(step)
	}
	n, err := st.FoldCounts(ctx)
	require.NoError(t, err)
	check(-1)
	var left int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM routing_count_deltas`).Scan(&left))
	require.Zero(t, left, "a fold leaves no delta behind")
	t.Logf("last fold touched %d counts", n)
}
