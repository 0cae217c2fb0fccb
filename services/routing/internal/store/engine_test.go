package store_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// TestUnclaimReleasesTheAgent: the assignment engine holds group locks and at most one claimed agent when it
// confirms a pick; when the pick does not hold up it must let go of that agent before it locks the group's
// members in id order, or two engines could wait on each other in a circle. ClaimAgent's lock must go with
// Unclaim while the transaction goes on.
func TestUnclaimReleasesTheAgent(t *testing.T) {
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	ctx := t.Context()
	group, agent := uuid.New(), uuid.New()
	_, err := db.Pool.Exec(ctx, `INSERT INTO agents (id, seniority, capacity, presence, created_at, updated_at)
		VALUES ($1, 'junior', 2, 'online', now(), now())`, agent)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO groups (id, code, display_name, strategy, transfer_deadline_seconds, created_at, updated_at)
		VALUES ($1, 'g', 'g', 'least_loaded', 7200, now(), now())`, group)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO memberships (group_id, agent_id) VALUES ($1, $2)`, group, agent)
	require.NoError(t, err)

	tx, err := db.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	st := store.Wrap(tx)
	c, err := st.ClaimAgent(ctx, group, agent)
	require.NoError(t, err)
	require.True(t, c.Found)
	require.True(t, c.Member)
	require.Equal(t, routing.PresenceOnline, c.Presence)
	require.Equal(t, 2, c.Capacity)
	require.Positive(t, c.Turn)

	other, err := db.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(ctx) }()
	// NOWAIT: while claimed, the agent's row is locked…
	_, err = other.Exec(ctx, `SAVEPOINT probe`)
	require.NoError(t, err)
	_, err = other.Exec(ctx, `SELECT 1 FROM agents WHERE id = $1 FOR UPDATE NOWAIT`, agent)
	require.Error(t, err, "the claimed agent should be locked")
	_, err = other.Exec(ctx, `ROLLBACK TO SAVEPOINT probe`)
	require.NoError(t, err)

	// …and once unclaimed it is free, though the claiming transaction is still open and still usable.
	require.NoError(t, st.Unclaim(ctx))
	_, err = other.Exec(ctx, `SELECT 1 FROM agents WHERE id = $1 FOR UPDATE NOWAIT`, agent)
	require.NoError(t, err, "Unclaim should release the agent")
	var one int
	require.NoError(t, tx.QueryRow(ctx, `SELECT 1`).Scan(&one))

	// A claim of an agent who left the group, or never existed, says so.
	require.NoError(t, other.Rollback(ctx))
	c, err = st.ClaimAgent(ctx, uuid.New(), agent)
	require.NoError(t, err)
	require.True(t, c.Found)
	require.False(t, c.Member)
	c, err = st.ClaimAgent(ctx, group, uuid.New())
	require.NoError(t, err)
	require.False(t, c.Found)
	require.NoError(t, tx.Commit(ctx))
}
