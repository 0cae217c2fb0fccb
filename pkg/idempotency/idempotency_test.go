package idempotency_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

func claim(t *testing.T, db *testkit.DB, c idempotency.Claim) (string, error) {
	t.Helper()
	var got string
	err := pgxutil.InTx(t.Context(), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		got, err = c.Claim(ctx, tx, time.Now())
		return err
	})
	return got, err
}

// TestClaimRecognisesRetriesAndReuse proves the three outcomes: a new key is claimed, the same request
// again gets the first resource, and another request under the key is AlreadyExists.
func TestClaimRecognisesRetriesAndReuse(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "idemtest", idempotency.Migrations())
	c := idempotency.Claim{Principal: "adapter:chat", Scope: "submit_ticket", Key: "k1", Fingerprint: []byte{1}, ResourceID: "r1"}
	got, err := claim(t, db, c)
	require.NoError(t, err)
	require.Empty(t, got, "a new key is the caller's")

	retry := c
	retry.ResourceID = "r2"
	got, err = claim(t, db, retry)
	require.NoError(t, err)
	require.Equal(t, "r1", got, "a retry gets the first call's resource")

	other := c
	other.Fingerprint = []byte{2}
	_, err = claim(t, db, other)
	e, ok := apierr.As(err)
	require.True(t, ok, "got %v", err)
	require.Equal(t, apierr.KindAlreadyExists, e.Kind)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", e.Reason)

	elsewhere := c
	elsewhere.Principal = "adapter:email"
	got, err = claim(t, db, elsewhere)
	require.NoError(t, err)
	require.Empty(t, got, "keys are per principal")
}

// TestConcurrentClaimsMakeOneWinner runs 50 claims of one key at once: exactly one is new, every other
// waits for it and gets its resource.
func TestConcurrentClaimsMakeOneWinner(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "idemtest", idempotency.Migrations())
	var wg sync.WaitGroup
	results := make([]string, 50)
	errs := make([]error, 50)
	for i := range results {
		wg.Go(func() {
			c := idempotency.Claim{Principal: "adapter:chat", Scope: "s", Key: "same", Fingerprint: []byte{9}, ResourceID: "r" + string(rune('A'+i))}
			got, err := claim(t, db, c)
			if got == "" {
				got = c.ResourceID
			}
			results[i], errs[i] = got, err
		})
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, results[0], results[i])
	}
}

func TestPurgeDeletesOnlyOldKeys(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "idemtest", idempotency.Migrations())
	old := time.Now().Add(-48 * time.Hour)
	for i, at := range []time.Time{old, old, time.Now()} {
		err := pgxutil.InTx(t.Context(), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := idempotency.Claim{Principal: "p", Scope: "s", Key: string(rune('a' + i)), Fingerprint: []byte{1}, ResourceID: "r"}.Claim(ctx, tx, at)
			return err
		})
		require.NoError(t, err)
	}
	n, err := idempotency.Purge(t.Context(), db.Pool, time.Now().Add(-24*time.Hour), 1)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	var left int
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM idempotency_keys`).Scan(&left))
	require.Equal(t, 1, left)
}
