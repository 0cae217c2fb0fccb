package pgcluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgcluster"
)

// TestClusterLifecycle proves a cluster initialises in a test's temp folder (root-owned and 0700 when tests
// run as root), serves with the settings kefu relies on, stops, restarts on the same data, ignores a stale
// postmaster.pid and refuses to start twice on one folder. The steps share one initdb because it is the
// slow part, so they run in order.
func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	start := func(t *testing.T) *pgcluster.Cluster {
		t.Helper()
		c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, c.Stop(ctx))
		})
		return c
	}
	query := func(t *testing.T, c *pgcluster.Cluster, sql string, dest ...any) {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), c.AdminURL("postgres"))
		require.NoError(t, err)
		defer conn.Close(t.Context())
		if len(dest) == 0 {
			_, err = conn.Exec(t.Context(), sql)
			require.NoError(t, err)
			return
		}
		require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(dest...))
	}

	t.Run("a new cluster serves as superuser postgres with UTF8 and C.UTF-8", func(t *testing.T) {
		c := start(t)
		require.Equal(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port()), c.AdminURL("postgres"))
		var enc, collate, user string
		var maxConns int
		var super bool
		query(t, c, `SELECT pg_encoding_to_char(encoding), datcollate, current_user, current_setting('max_connections')::int,
			(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) FROM pg_database WHERE datname = current_database()`,
			&enc, &collate, &user, &maxConns, &super)
		require.Equal(t, "UTF8", enc)
		require.Equal(t, "C.UTF-8", collate)
		require.Equal(t, "postgres", user)
		require.True(t, super)
		require.GreaterOrEqual(t, maxConns, 200)
		query(t, c, `CREATE TABLE survives_restart (id int)`)

		_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir})
		require.ErrorIs(t, err, pgcluster.ErrInUse, "a second server on the same folder is refused")

		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
		select {
		case <-c.Done():
		default:
			t.Fatal("Done must be closed after Stop")
		}
		_, err = os.Stat(filepath.Join(dir, "postmaster.pid"))
		require.ErrorIs(t, err, os.ErrNotExist, "a clean stop removes the pid file")
	})

	t.Run("a restart reuses the data and ignores a stale pid file", func(t *testing.T) {
		// A pid file naming a live process that is not a postmaster (this test) is what a crash followed by
		// pid reuse leaves; postgres alone would refuse to start.
		stale := fmt.Sprintf("%d\n%s\n0\n5432\n", os.Getpid(), dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(stale), 0o600))
		c := start(t)
		var exists bool
		query(t, c, `SELECT to_regclass('survives_restart') IS NOT NULL`, &exists)
		require.True(t, exists)
	})

	t.Run("a crash keeps committed data and the next start recovers", func(t *testing.T) {
		c := start(t)
		query(t, c, `INSERT INTO survives_restart VALUES (42)`)
		c.Crash()
		select {
		case <-c.Done():
		default:
			t.Fatal("Done must be closed after Crash")
		}
		c = start(t)
		var n int
		query(t, c, `SELECT count(*) FROM survives_restart WHERE id = 42`, &n)
		require.Equal(t, 1, n, "the commit before the crash survives it")
	})
}

func TestStartFailsClearly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    pgcluster.Options
		want string
	}{
		{"a missing dir is refused", pgcluster.Options{}, "Dir is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pgcluster.Start(t.Context(), tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}

	t.Run("binaries that are not there are reported", func(t *testing.T) {
		t.Parallel()
		_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: filepath.Join(t.TempDir(), "d"), BinDir: "/nonexistent"})
		require.ErrorContains(t, err, "initdb")
	})
}
