package audit_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/pgxutil"
)

// TestRecordsAreAppendOnly proves the log cannot be rewritten: the runtime role lacks UPDATE, DELETE and
// TRUNCATE (the grants refuse it before any trigger runs), no role but the owner holds them, and the
// owner's own attempts are refused by the triggers. Each refusal is SQLSTATE 42501.
func TestRecordsAreAppendOnly(t *testing.T) {
	t.Parallel()
	e := newRunningEnv(t)
	e.write(t, sample())

	// unchanged checks that the one record is still there as written.
	unchanged := func(t *testing.T) {
		t.Helper()
		resp, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{})
		require.NoError(t, err)
		require.Len(t, resp.GetRecords(), 1)
		require.Equal(t, "OK", resp.GetRecords()[0].GetResult())
		require.Equal(t, "staff:alice", resp.GetRecords()[0].GetPrincipal())
	}

	t.Run("the runtime role may insert and select but not update, delete or truncate", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			privilege string
			want      bool
		}{
			{"INSERT", true},
			{"SELECT", true},
			{"UPDATE", false},
			{"DELETE", false},
			{"TRUNCATE", false},
		}
		for _, tc := range tests {
			var has bool
			err := e.db.Pool.QueryRow(t.Context(), `SELECT has_table_privilege(current_user, 'audit_records', $1)`,
				tc.privilege).Scan(&has)
			require.NoError(t, err)
			require.Equal(t, tc.want, has, "runtime role's %s privilege", tc.privilege)
		}
	})

	t.Run("the runtime role's rewrites are refused by the grants", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{
			`UPDATE audit_records SET result = 'NOT_FOUND'`,
			`UPDATE audit_records SET result = 'NOT_FOUND' WHERE false`,
			`UPDATE audit_records SET reason = 'rewritten'`,
			`UPDATE audit_records SET fields = '{}'`,
			`DELETE FROM audit_records`,
			`DELETE FROM audit_records WHERE false`,
			`TRUNCATE audit_records`,
			`INSERT INTO audit_records (record_id, at, principal, method, result, kind)
				SELECT record_id, at, principal, method, result, kind FROM audit_records
				ON CONFLICT ON CONSTRAINT audit_records_pkey DO UPDATE SET result = 'NOT_FOUND'`,
		} {
			_, err := e.db.Pool.Exec(t.Context(), q)
			require.Equal(t, "42501", pgxutil.PgCode(err), "%s: %v", q, err)
			// The ACL check's message, not the trigger's: the grant refused it.
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe))
			require.Equal(t, "permission denied for table audit_records", pe.Message, q)
		}
		unchanged(t)
	})

	t.Run("no role but the owner holds update, delete or truncate", func(t *testing.T) {
		t.Parallel()
		admin := connect(t, e.db.AdminURL)
		rows, err := admin.Query(t.Context(), `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
				a.privilege_type
			FROM pg_class c, aclexplode(c.relacl) a
			WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`, schema+".audit_records")
		require.NoError(t, err)
		held := map[string][]string{}
		for rows.Next() {
			var role, privilege string
			require.NoError(t, rows.Scan(&role, &privilege))
			held[role] = append(held[role], privilege)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, map[string][]string{
			pgxutil.RuntimeRole(schema): {"INSERT", "SELECT"},
		}, held, "privileges on audit_records of roles other than its owner")
	})

	t.Run("no column of the table carries a grant of its own", func(t *testing.T) {
		t.Parallel()
		// A column grant (GRANT UPDATE (reason) ...) sits in pg_attribute, not in the table's ACL checked
		// above, and would let its holder rewrite that column. Columns added later must not get one.
		var cols []string
		err := e.db.Pool.QueryRow(t.Context(), `SELECT coalesce(array_agg(attname::text ORDER BY attname), '{}')
			FROM pg_attribute WHERE attrelid = 'audit_records'::regclass AND attacl IS NOT NULL`).Scan(&cols)
		require.NoError(t, err)
		require.Empty(t, cols)
		for _, col := range []string{"result", "reason", "fields"} {
			var may bool
			require.NoError(t, e.db.Pool.QueryRow(t.Context(),
				`SELECT has_column_privilege(current_user, 'audit_records', $1, 'UPDATE')`, col).Scan(&may))
			require.False(t, may, "runtime role may update %s", col)
		}
	})

	t.Run("the owner's rewrites are refused by the triggers", func(t *testing.T) {
		t.Parallel()
		owner := connect(t, e.db.OwnerURL)
		var isOwner bool
		require.NoError(t, owner.QueryRow(t.Context(), `SELECT relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
			FROM pg_class WHERE oid = $1::regclass`, schema+".audit_records").Scan(&isOwner))
		require.True(t, isOwner, "the owner URL connects as the table's owner")
		for _, q := range []string{
			`UPDATE ` + schema + `.audit_records SET result = 'NOT_FOUND'`,
			`UPDATE ` + schema + `.audit_records SET reason = 'rewritten', fields = '{}'`,
			`DELETE FROM ` + schema + `.audit_records`,
			`DELETE FROM ` + schema + `.audit_records WHERE false`,
			`TRUNCATE ` + schema + `.audit_records`,
		} {
			_, err := owner.Exec(t.Context(), q)
			require.Equal(t, "42501", pgxutil.PgCode(err), "%s: %v", q, err)
			require.ErrorContains(t, err, "audit records are append-only", q)
		}
		unchanged(t)
	})
}

// TestMigrationNamesItsIndexes checks the index names the listing's plans and the writer's ON CONFLICT rely on.
func TestMigrationNamesItsIndexes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	var names []string
	err := e.db.Pool.QueryRow(t.Context(), `SELECT array_agg(relname::text ORDER BY relname) FROM pg_class
		WHERE relnamespace = $1::regnamespace AND relname LIKE 'audit_records%' AND relkind = 'i'`, schema).Scan(&names)
	require.NoError(t, err)
	require.Equal(t, []string{"audit_records_object_at_idx", "audit_records_pkey", "audit_records_principal_at_idx"}, names)
}
