package pgxutil_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

func TestClassification(t *testing.T) {
	t.Parallel()
	pgErr := func(code string) error { return fmt.Errorf("load: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name          string
		err           error
		serialization bool
		unavailable   bool
	}{
		{"nil is nothing", nil, false, false},
		{"a plain error is nothing", errors.New("boom"), false, false},
		{"a wrapped serialization failure is retryable", pgErr("40001"), true, false},
		{"a deadlock is retryable", pgErr("40P01"), true, false},
		{"a unique violation is neither", pgErr("23505"), false, false},
		{"an admin shutdown is unavailable", pgErr("57P01"), false, true},
		{"a server starting up is unavailable", pgErr("57P03"), false, true},
		{"a connection failure is unavailable", pgErr("08006"), false, true},
		{"a closed connection is unavailable", fmt.Errorf("query: %w", pgconn.ErrConnClosed), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.serialization, pgxutil.IsSerialization(tc.err))
			require.Equal(t, tc.unavailable, pgxutil.IsUnavailable(tc.err))
		})
	}

	t.Run("unique violation names its constraint", func(t *testing.T) {
		t.Parallel()
		c, ok := pgxutil.UniqueViolation(fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505", ConstraintName: "accounts_email_key"}))
		require.True(t, ok)
		require.Equal(t, "accounts_email_key", c)
		_, ok = pgxutil.UniqueViolation(pgErr("23503"))
		require.False(t, ok)
	})
}

// TestUnavailableFromRealFailures proves the classification on errors the driver really returns, not only
// on hand-built ones.
func TestUnavailableFromRealFailures(t *testing.T) {
	t.Parallel()

	t.Run("a refused connection is unavailable", func(t *testing.T) {
		t.Parallel()
		_, err := pgx.Connect(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")
		require.Error(t, err)
		require.True(t, pgxutil.IsUnavailable(err), "got %v", err)
	})

	t.Run("a terminated session is unavailable", func(t *testing.T) {
		t.Parallel()
		db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"), set(t, "extra", "extra"))
		conn, err := pgx.Connect(t.Context(), db.RuntimeURL)
		require.NoError(t, err)
		defer conn.Close(t.Context())
		var pid uint32
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid))

		admin, err := pgx.Connect(t.Context(), db.AdminURL)
		require.NoError(t, err)
		defer admin.Close(t.Context())
		_, err = admin.Exec(t.Context(), `SELECT pg_terminate_backend($1, 10000)`, pid)
		require.NoError(t, err)

		_, err = conn.Exec(t.Context(), `SELECT 1`)
		require.Error(t, err)
		require.True(t, pgxutil.IsUnavailable(err), "got %v", err)
		_, err = conn.Exec(t.Context(), `SELECT 1`)
		require.True(t, pgxutil.IsUnavailable(err), "the dead connection afterwards: got %v", err)
	})

	t.Run("a query error is not unavailable", func(t *testing.T) {
		t.Parallel()
		db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"), set(t, "extra", "extra"))
		_, err := db.Pool.Exec(t.Context(), `SELECT nosuchcolumn FROM accounts`)
		require.Error(t, err)
		require.False(t, pgxutil.IsUnavailable(err))
	})
}

func TestOpen(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"), set(t, "extra", "extra"))

	t.Run("the pool applies schema, application name and size", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxutil.Open(t.Context(), db.RuntimeURL, pgxutil.Options{Schema: "pgxutiltest", MaxConns: 3, AppName: "kefu-test"})
		require.NoError(t, err)
		defer pool.Close()
		var sp, app string
		require.NoError(t, pool.QueryRow(t.Context(), `SELECT current_setting('search_path'), current_setting('application_name')`).Scan(&sp, &app))
		require.Equal(t, "pgxutiltest", sp)
		require.Equal(t, "kefu-test", app)
		require.Equal(t, int32(3), pool.Config().MaxConns)
	})

	t.Run("an unreachable server fails at open", func(t *testing.T) {
		t.Parallel()
		_, err := pgxutil.Open(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", pgxutil.Options{})
		require.Error(t, err)
		require.True(t, pgxutil.IsUnavailable(err), "got %v", err)
	})
}
