package pgxutil_test

import (
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/pgxutil"
)

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("migrating twice applies each file once", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		sets := []pgxutil.MigrationSet{set(t, "base", "base"), set(t, "extra", "extra")}
		require.NoError(t, pgxutil.Migrate(t.Context(), url, "app", sets...))
		require.NoError(t, pgxutil.Migrate(t.Context(), url, "app", sets...))
		requireVersions(t, url, "app.goose_base", 2)
		requireVersions(t, url, "app.goose_extra", 1)
		requireTable(t, url, "app", "account_notes")
	})

	t.Run("concurrent migrations all succeed", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		sets := []pgxutil.MigrationSet{set(t, "base", "base"), set(t, "extra", "extra")}
		var g errgroup.Group
		for range 3 {
			g.Go(func() error { return pgxutil.Migrate(t.Context(), url, "app", sets...) })
		}
		require.NoError(t, g.Wait())
		requireVersions(t, url, "app.goose_base", 2)
		requireVersions(t, url, "app.goose_extra", 1)
	})

	t.Run("the owner role migrates a provisioned schema", func(t *testing.T) {
		t.Parallel()
		service := randomName("mig_")
		dropRolesAtCleanup(t, service)
		url := freshDatabase(t)
		roles, err := pgxutil.Provision(t.Context(), url, service)
		require.NoError(t, err)
		require.NoError(t, pgxutil.Migrate(t.Context(), roles.OwnerURL, service, set(t, "base", "base")))
		requireTable(t, url, service, "accounts")
	})

	t.Run("a later file is applied by the next run", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		v1 := fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id int);\n")}}
		require.NoError(t, pgxutil.Migrate(t.Context(), url, "grow", pgxutil.MigrationSet{Name: "main", FS: v1}))
		v2 := fstest.MapFS{
			"00001_a.sql": v1["00001_a.sql"],
			"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id int);\n")},
		}
		require.NoError(t, pgxutil.Migrate(t.Context(), url, "grow", pgxutil.MigrationSet{Name: "main", FS: v2}))
		requireVersions(t, url, "grow.goose_main", 2)
		requireTable(t, url, "grow", "b")
	})

	t.Run("a failing file reports its set and leaves earlier files applied", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		bad := fstest.MapFS{
			"00001_ok.sql":  {Data: []byte("-- +goose Up\nCREATE TABLE ok (id int);\n")},
			"00002_bad.sql": {Data: []byte("-- +goose Up\nCREATE TABLE broken (id nosuchtype);\n")},
		}
		err := pgxutil.Migrate(t.Context(), url, "app", pgxutil.MigrationSet{Name: "main", FS: bad})
		require.ErrorContains(t, err, "app.main")
		requireVersions(t, url, "app.goose_main", 1)
	})

	t.Run("names that would need quoting are refused", func(t *testing.T) {
		t.Parallel()
		require.Error(t, pgxutil.Migrate(t.Context(), "postgres://x@127.0.0.1/db", "App-1"))
		require.Error(t, pgxutil.Migrate(t.Context(), "postgres://x@127.0.0.1/db", "app",
			pgxutil.MigrationSet{Name: "x; drop", FS: fstest.MapFS{}}))
	})
}

// requireVersions checks how many migrations a goose version table records as applied (goose also
// keeps a version-0 row for its own table).
func requireVersions(t *testing.T, url, table string, want int) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM `+table+` WHERE version_id > 0 AND is_applied`).Scan(&n))
	require.Equal(t, want, n, "applied migrations in %s", table)
}

func requireTable(t *testing.T, url, schema, table string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var exists bool
	require.NoError(t, conn.QueryRow(t.Context(),
		`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)`, schema, table).Scan(&exists))
	require.True(t, exists, "table %s.%s", schema, table)
}
