package testkit_test

import (
	"embed"
	"io/fs"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

//go:embed testdata/migrations/*.sql
var migrationFiles embed.FS

func widgets(t *testing.T) pgxutil.MigrationSet {
	t.Helper()
	sub, err := fs.Sub(migrationFiles, "testdata/migrations")
	require.NoError(t, err)
	return pgxutil.MigrationSet{Name: "widgets", FS: sub}
}

// TestNewDB proves a cloned database is migrated, private to its test, reached as the runtime role with the
// service schema on the search path, and carries the grants the migrations set.
func TestNewDB(t *testing.T) {
	t.Parallel()

	t.Run("the pool is the runtime role on the service schema and tables are unqualified", func(t *testing.T) {
		t.Parallel()
		db := testkit.NewDB(t, "testkit", widgets(t))
		var user, searchPath, dbName string
		require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT current_user, current_setting('search_path'), current_database()`).
			Scan(&user, &searchPath, &dbName))
		require.Equal(t, "kefu_testkit", user)
		require.Equal(t, "testkit", searchPath)
		require.Equal(t, db.Name, dbName)
		_, err := db.Pool.Exec(t.Context(), `INSERT INTO widgets (name) VALUES ('a')`)
		require.NoError(t, err)
	})

	t.Run("a revoke in a migration binds the runtime role", func(t *testing.T) {
		t.Parallel()
		db := testkit.NewDB(t, "testkit", widgets(t))
		_, err := db.Pool.Exec(t.Context(), `INSERT INTO widget_log (widget_id, note) VALUES (1, 'x')`)
		require.NoError(t, err)
		_, err = db.Pool.Exec(t.Context(), `DELETE FROM widget_log`)
		require.Equal(t, "42501", pgxutil.PgCode(err), "delete must be denied, got %v", err)
	})

	t.Run("each test gets its own database", func(t *testing.T) {
		t.Parallel()
		a := testkit.NewDB(t, "testkit", widgets(t))
		b := testkit.NewDB(t, "testkit", widgets(t))
		require.NotEqual(t, a.Name, b.Name)
		_, err := a.Pool.Exec(t.Context(), `INSERT INTO widgets (name) VALUES ('only-in-a')`)
		require.NoError(t, err)
		var n int
		require.NoError(t, b.Pool.QueryRow(t.Context(), `SELECT count(*) FROM widgets`).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("the owner and admin urls reach the same database", func(t *testing.T) {
		t.Parallel()
		db := testkit.NewDB(t, "testkit", widgets(t))
		for _, url := range []string{db.OwnerURL, db.AdminURL} {
			conn, err := pgx.Connect(t.Context(), url)
			require.NoError(t, err)
			var name string
			require.NoError(t, conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&name))
			require.Equal(t, db.Name, name)
			require.NoError(t, conn.Close(t.Context()))
		}
	})
}

// TestNewDBDropsTheDatabaseOnCleanup proves test databases do not pile up on the cluster.
func TestNewDBDropsTheDatabaseOnCleanup(t *testing.T) {
	t.Parallel()
	var name, adminURL string
	t.Run("inner", func(t *testing.T) {
		db := testkit.NewDB(t, "testkit", widgets(t))
		name, adminURL = db.Name, db.AdminURL
	})
	admin, err := pgxutil.WithDatabase(adminURL, "postgres")
	require.NoError(t, err)
	conn, err := pgx.Connect(t.Context(), admin)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var exists bool
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	require.False(t, exists, "database %s should be dropped", name)
}

// TestNewDBInParallel clones many databases at once from one template, as a package of parallel tests does.
func TestNewDBInParallel(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run("clone "+string(rune('a'+i)), func(t *testing.T) {
			t.Parallel()
			db := testkit.NewDB(t, "testkit", widgets(t))
			testkit.EventuallyNoError(t, func() error { return db.Pool.Ping(t.Context()) }, 5*time.Second)
		})
	}
}
