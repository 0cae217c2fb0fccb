package pgxutil_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

// TestUUIDsTravelInBinary checks that pools from Open send google/uuid values as 16 binary bytes (not via
// their driver.Valuer string) and that values, pointers and nil pointers all arrive intact.
func TestUUIDsTravelInBinary(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"))
	id := uuid.Must(uuid.NewV7())

	conn, err := db.Pool.Acquire(t.Context())
	require.NoError(t, err)
	defer conn.Release()
	plan := conn.Conn().TypeMap().PlanEncode(pgtype.UUIDOID, pgx.BinaryFormatCode, id)
	require.NotNil(t, plan)
	// Without the wrapper pgx picks its driver.Valuer plan: format the id as text, then parse it back.
	require.NotContains(t, fmt.Sprintf("%T", plan), "DriverValuer", "a uuid.UUID must not go through its string form")
	buf, err := plan.Encode(id, nil)
	require.NoError(t, err)
	require.Equal(t, id[:], buf, "a uuid.UUID is encoded as its 16 bytes")

	var same bool
	var back uuid.UUID
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT $1::uuid = $2::text::uuid, $1::uuid`, id, id.String()).Scan(&same, &back))
	require.True(t, same)
	require.Equal(t, id, back)

	var isNull bool
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT $1::uuid = $2::text::uuid, $3::uuid IS NULL`, &id, id.String(), (*uuid.UUID)(nil)).Scan(&same, &isNull))
	require.True(t, same, "a *uuid.UUID is dereferenced")
	require.True(t, isNull, "a nil *uuid.UUID is NULL")
}

// TestLockOrderSortsAsPostgresAndDropsRepeats: ids come back in Postgres's uuid order (bytewise), each once,
// and the caller's slice is left as it was.
func TestLockOrderSortsAsPostgresAndDropsRepeats(t *testing.T) {
	a := uuid.MustParse("00000000-0000-4000-8000-000000000001")
	b := uuid.MustParse("0f000000-0000-4000-8000-000000000000")
	c := uuid.MustParse("f0000000-0000-4000-8000-000000000000")
	in := []uuid.UUID{c, a, b, a, c}
	require.Equal(t, []uuid.UUID{a, b, c}, pgxutil.LockOrder(in))
	require.Equal(t, []uuid.UUID{c, a, b, a, c}, in, "the argument is not changed")
	require.Empty(t, pgxutil.LockOrder(nil))
}
