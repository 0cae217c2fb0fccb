package analytics_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
	"kefu.dev/services/analytics"
	"kefu.dev/services/analytics/internal/store"
)

// TestRollupsAreLaidOutForCounterUpdates: the tables ingestion rewrites on every batch keep free room in
// their pages, so an update can stay in the row's page without a new index entry, and their key codes
// compare byte by byte rather than through the database's locale (migration 00006; the bench prints the
// share of updates made in place).
func TestRollupsAreLaidOutForCounterUpdates(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, store.Schema, analytics.Migrations()...)

	fillfactors := map[string]string{}
	rows, err := db.Pool.Query(t.Context(), `SELECT c.relname, coalesce(o.option_value, '100')
		FROM pg_class c LEFT JOIN pg_options_to_table(c.reloptions) o ON o.option_name = 'fillfactor'
		WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'`, store.Schema)
	require.NoError(t, err)
	for rows.Next() {
		var table, ff string
		require.NoError(t, rows.Scan(&table, &ff))
		fillfactors[table] = ff
	}
	require.NoError(t, rows.Err())
	for table, want := range map[string]string{
		"ticket_rollup": "70", "sla_rollup": "70", "agent_rollup": "70", "topic_rollup": "70",
		"group_time_rollup": "70", "duration_hist": "50", "tickets": "70",
	} {
		require.Equal(t, want, fillfactors[table], "fillfactor of %s", table)
	}

	// Every text column of a rollup's primary key is collated "C" (the test counts them, so that it cannot
	// pass on a query that finds none).
	var keys int
	var notC []string
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*),
			coalesce(array_agg(c.relname || '.' || a.attname ORDER BY 1) FILTER (WHERE co.collname IS DISTINCT FROM 'C'), '{}')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE i.indisprimary AND c.relnamespace = $1::regnamespace AND a.atttypid = 'text'::regtype
			AND (c.relname LIKE '%\_rollup' OR c.relname = 'duration_hist')`, store.Schema).Scan(&keys, &notC))
	require.Equal(t, 6*6+4, keys, "text key columns: six dimensions in six tables, and a seventh in four")
	require.Empty(t, notC)
}
