package pgxutil_test

import (
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

// TestRuntimeRoleIsConfined proves the runtime role can use the service's tables and sequences but cannot
// change the schema: it owns nothing, so it can neither drop nor create.
func TestRuntimeRoleIsConfined(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"), set(t, "extra", "extra"))
	ctx := t.Context()
	// The subtests share one database and run in order on purpose: the denied statements must meet the
	// tables the allowed ones used, not race them.

	allowed := []struct {
		name string
		sql  string
	}{
		{"the runtime role inserts rows", `INSERT INTO accounts (id, email) VALUES (1, 'a@example.com')`},
		{"the runtime role updates rows", `UPDATE accounts SET balance = balance + 1`},
		{"the runtime role deletes rows", `DELETE FROM account_notes`},
		{"the runtime role draws from a sequence", `SELECT nextval('account_numbers')`},
		{"the runtime role reads the migration history", `SELECT max(version_id) FROM goose_extra`},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Pool.Exec(ctx, tc.sql)
			require.NoError(t, err)
		})
	}

	denied := []struct {
		name string
		sql  string
	}{
		{"the runtime role cannot drop a table", `DROP TABLE account_notes`},
		{"the runtime role cannot alter a table", `ALTER TABLE accounts ADD COLUMN x int`},
		{"the runtime role cannot create a table in the schema", `CREATE TABLE pgxutiltest.intruders (id int)`},
		{"the runtime role cannot create a table in public", `CREATE TABLE public.intruders (id int)`},
		{"the runtime role cannot create a schema", `CREATE SCHEMA intruders`},
		{"the runtime role cannot touch a role", `ALTER ROLE kefu_pgxutiltest_owner SUPERUSER`},
		{"the runtime role cannot rewrite the migration history", `DELETE FROM goose_base`},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Pool.Exec(ctx, tc.sql)
			require.Equal(t, "42501", pgxutil.PgCode(err), "want insufficient_privilege, got %v", err)
		})
	}

	t.Run("the runtime role is neither superuser nor creator of databases or roles", func(t *testing.T) {
		var super, createDB, createRole bool
		require.NoError(t, db.Pool.QueryRow(ctx,
			`SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user`).
			Scan(&super, &createDB, &createRole))
		require.False(t, super || createDB || createRole)
	})

	t.Run("the owner role can change the schema", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, db.OwnerURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `CREATE TABLE pgxutiltest.owned_by_owner (id int)`)
		require.NoError(t, err)
	})
}

// TestProvision proves Provision is idempotent, safe to run concurrently, and hands out URLs for the same
// host and database with the service's users.
func TestProvision(t *testing.T) {
	t.Parallel()
	service := randomName("prov_")
	dropRolesAtCleanup(t, service)
	adminURL := freshDatabase(t)
	ctx := t.Context()

	var g errgroup.Group
	results := make([]pgxutil.Roles, 4)
	for i := range results {
		g.Go(func() (err error) {
			results[i], err = pgxutil.Provision(ctx, adminURL, service)
			return err
		})
	}
	require.NoError(t, g.Wait(), "concurrent provisioning must all succeed")
	again, err := pgxutil.Provision(ctx, adminURL, service)
	require.NoError(t, err, "provisioning again must succeed")
	for _, r := range results {
		require.Equal(t, again, r)
	}

	admin, err := url.Parse(adminURL)
	require.NoError(t, err)
	for user, raw := range map[string]string{"kefu_" + service + "_owner": again.OwnerURL, "kefu_" + service: again.RuntimeURL} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, user, u.User.Username())
		require.Equal(t, admin.Host, u.Host)
		require.Equal(t, admin.Path, u.Path)

		conn, err := pgx.Connect(ctx, raw)
		require.NoError(t, err, "%s must be able to log in", user)
		var owner string
		require.NoError(t, conn.QueryRow(ctx,
			`SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, service).Scan(&owner))
		require.Equal(t, "kefu_"+service+"_owner", owner, "the owner role owns the schema")
		require.NoError(t, conn.Close(ctx))
	}

	_, err = pgxutil.Provision(ctx, adminURL, "Bad-Name; DROP")
	require.Error(t, err, "a service name that would need quoting is refused")
}
