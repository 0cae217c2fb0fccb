package store

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
	"kefu.dev/services/analytics/internal/domain/facts"
)

// TestHistogramsMergeWhenCreatedConcurrently: two transactions add to histograms one of them creates.
// The second reads before the first commits, so it finds the new row missing, tries to create it with its
// own counts, queues behind the first, and then (its creation undone) adds to the row instead. Rows it
// finds stored are added to as well; rows nobody has are created with the counts as they are.
func TestHistogramsMergeWhenCreatedConcurrently(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, Schema, Migrations()...)
	hour := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	key := func(ch string) facts.HistKey {
		return facts.HistKey{Dims: facts.Dims{Hour: hour, Channel: ch}, Metric: "first_response", Bucket: 3}
	}
	merge := func(tx pgx.Tx, m map[facts.HistKey]int64) error {
		w, err := Prepare(nil, &facts.Delta{Hist: m}, 0, hour)
		if err != nil {
			return err
		}
		return Wrap(tx).Write(t.Context(), w)
	}
	require.NoError(t, pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error {
		return merge(tx, map[facts.HistKey]int64{key("app"): 5})
	}))

	first, err := db.Pool.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = first.Rollback(context.WithoutCancel(t.Context())) }()
	require.NoError(t, merge(first, map[facts.HistKey]int64{key("web_chat"): 1}))
	var pid int
	second := make(chan error, 1)
	conn, err := db.Pool.Acquire(t.Context())
	require.NoError(t, err)
	defer conn.Release()
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid))
	go func() {
		second <- pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
			return merge(tx, map[facts.HistKey]int64{key("web_chat"): 2, key("app"): 10, key("email"): 7})
		})
	}()
	testkit.Eventually(t, func() bool {
		var waiting bool
		err := db.Pool.QueryRow(t.Context(), `SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, "the second transaction queues behind the first's new row")
	require.NoError(t, first.Commit(t.Context()))
	require.NoError(t, <-second)

	got := map[string]int64{}
	rows, err := db.Pool.Query(t.Context(), `SELECT channel, counts FROM duration_hist ORDER BY channel`)
	require.NoError(t, err)
	for rows.Next() {
		var ch string
		var packed []byte
		require.NoError(t, rows.Scan(&ch, &packed))
		h := facts.Histogram{}
		require.NoError(t, h.Decode(packed))
		got[ch] = h[3]
		require.Len(t, h, 1, "bucket 3 only in %s", ch)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]int64{"app": 15, "web_chat": 3, "email": 7}, got)
}
