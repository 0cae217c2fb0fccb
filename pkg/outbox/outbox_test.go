package outbox_test

import (
	"bytes"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/testkit"
)

func valid() outbox.Message {
	return outbox.Message{
		EventID: uuid.NewString(), Subject: "kefu.ticket.created", AggregateID: "t-1", AggregateSeq: 1,
		Type: "kefu.events.v1.TicketCreated", Payload: []byte("p"),
	}
}

func TestAddRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "outbox_test", outbox.Migrations(), aggregatesSet)
	tests := []struct {
		name   string
		change func(*outbox.Message)
		want   string
	}{
		{name: "an event id that is not a uuid is refused", change: func(m *outbox.Message) { m.EventID = "42" }, want: "not a UUID"},
		{name: "an empty subject is refused", change: func(m *outbox.Message) { m.Subject = "" }, want: "not a literal NATS subject"},
		{name: "a wildcard subject is refused", change: func(m *outbox.Message) { m.Subject = "kefu.ticket.*" }, want: "not a literal NATS subject"},
		{name: "an empty aggregate id is refused", change: func(m *outbox.Message) { m.AggregateID = "" }, want: "aggregate id is empty"},
		{name: "an empty type is refused", change: func(m *outbox.Message) { m.Type = "" }, want: "type is empty"},
		{name: "a payload NATS would refuse is refused", change: func(m *outbox.Message) { m.Payload = bytes.Repeat([]byte{1}, outbox.MaxPayload+1) }, want: "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := valid()
			tc.change(&m)
			err := pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error {
				return outbox.Add(t.Context(), tx, valid(), m)
			})
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "outbox message 1")
		})
	}
}

// TestAddKeepsAnAggregateTogetherInOrder proves several events of one call land in one partition with ids
// in argument order, and that a call without messages does nothing.
func TestAddKeepsAnAggregateTogetherInOrder(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "outbox_test", outbox.Migrations(), aggregatesSet)
	ctx := t.Context()
	var msgs []outbox.Message
	for seq := int64(1); seq <= 5; seq++ {
		m := valid()
		m.AggregateSeq = seq
		m.Headers = map[string]string{"Kefu-Source": "test"}
		msgs = append(msgs, m)
	}
	require.NoError(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := outbox.Add(ctx, tx); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, msgs...)
	}))
	rows, err := db.Pool.Query(ctx, `SELECT aggregate_seq, partition, headers->>'Kefu-Source' FROM outbox ORDER BY id`)
	require.NoError(t, err)
	var seqs []int64
	partitions := map[int16]bool{}
	for rows.Next() {
		var seq int64
		var p int16
		var src string
		require.NoError(t, rows.Scan(&seq, &p, &src))
		require.Equal(t, "test", src)
		seqs = append(seqs, seq)
		partitions[p] = true
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{1, 2, 3, 4, 5}, seqs)
	require.Len(t, partitions, 1)
	for p := range partitions {
		require.True(t, p >= 0 && p < 16, "partition %d within the recorded count", p)
	}
	var count int16
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT partitions FROM outbox_settings`).Scan(&count))
	require.Equal(t, int16(16), count)
}

// TestAddIsPlannedOncePerConnection checks that Postgres settles on one generic plan for the insert after
// its first executions, instead of planning it again on every call (which it did while the statement's
// row estimates made every custom plan look cheaper). It holds for one message and for several.
func TestAddIsPlannedOncePerConnection(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "outbox_test", outbox.Migrations(), aggregatesSet)
	ctx := t.Context()
	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, n := range []int{1, 3} {
		for range 10 {
			msgs := make([]outbox.Message, n)
			agg := uuid.NewString()
			for i := range msgs {
				msgs[i] = valid()
				msgs[i].AggregateID, msgs[i].AggregateSeq = agg, int64(i+1)
			}
			require.NoError(t, pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, msgs...) }))
		}
	}
	rows, err := conn.Query(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE 'INSERT INTO outbox%'`)
	require.NoError(t, err)
	plans, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Generic, Custom int64 }])
	require.NoError(t, err)
	require.Len(t, plans, 2, "one prepared insert per message count")
	for _, p := range plans {
		require.Positive(t, p.Generic, "the insert is planned once and the plan reused")
		require.LessOrEqual(t, p.Custom, int64(5), "Postgres tries at most five custom plans before settling")
	}
}

// TestLargeCallsAreSplitInOrder writes more messages in one call than one statement can carry (Postgres
// takes at most 65,535 parameters, seven a message): Add and Queue split them and keep their order.
func TestLargeCallsAreSplitInOrder(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "outbox_test", outbox.Migrations(), aggregatesSet)
	ctx := t.Context()
	const n = 9500
	batchOf := func(agg string) []outbox.Message {
		msgs := make([]outbox.Message, n)
		for i := range msgs {
			msgs[i] = valid()
			msgs[i].AggregateID, msgs[i].AggregateSeq = agg, int64(i+1)
		}
		return msgs
	}
	require.NoError(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, batchOf("added")...) }))
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	require.NoError(t, outbox.Queue(ctx, b, batchOf("queued")...))
	b.Queue(`COMMIT`)
	require.NoError(t, db.Pool.SendBatch(ctx, b).Close())
	for _, agg := range []string{"added", "queued"} {
		var count, inOrder int64
		require.NoError(t, db.Pool.QueryRow(ctx, `
			SELECT count(*), count(*) FILTER (WHERE aggregate_seq = rn)
			FROM (SELECT aggregate_seq, row_number() OVER (ORDER BY id) AS rn FROM outbox WHERE aggregate_id = $1) AS o`,
			agg).Scan(&count, &inOrder))
		require.Equal(t, int64(n), count, agg)
		require.Equal(t, int64(n), inOrder, "%s: ids follow argument order across statements", agg)
	}
}
