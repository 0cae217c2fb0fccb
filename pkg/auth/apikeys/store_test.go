package apikeys_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/pgxutil"
)

// TestConcurrentCreatesKeepTheLimit proves the per-principal lock: six creates for one principal at once,
// each a separate transaction, leave exactly two keys; the rest see the first two and are refused.
func TestConcurrentCreatesKeepTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.srv.CreateApiKey(e.ctx, adapterReq(fmt.Sprintf("r%d", i), "busy"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
	}
	require.Equal(t, 2, ok)
	requireActiveKeys(t, e, "busy", 2)
}

// TestConcurrentCreatesAndRotationsKeepTheLimit races rotations of a principal's only key against creates
// for it: whichever commits first makes two active keys, so exactly one of them succeeds.
func TestConcurrentCreatesAndRotationsKeepTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(t, "first", "busy")
	const n = 3
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.srv.CreateApiKey(e.ctx, adapterReq(fmt.Sprintf("c%d", i), "busy"))
		})
		wg.Go(func() {
			_, errs[n+i] = e.srv.RotateApiKey(e.ctx, &authv1.RotateApiKeyRequest{KeyId: k.GetApiKey().GetKeyId(), RequestId: fmt.Sprintf("r%d", i)})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
	}
	require.Equal(t, 1, ok)
	requireActiveKeys(t, e, "busy", 2)
}

func requireActiveKeys(t *testing.T, e *env, principal string, n int) {
	t.Helper()
	resp, err := e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{PrincipalId: principal})
	require.NoError(t, err)
	require.Len(t, resp.GetApiKeys(), n)
}

func TestLookupAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := adapterReq("a", "web-form")
	req.ExpireTime = ts(t0.Add(90 * time.Minute))
	k, err := e.srv.CreateApiKey(e.ctx, req)
	require.NoError(t, err)
	id := k.GetApiKey().GetKeyId()

	rec, err := e.store.LookupAPIKey(t.Context(), id)
	require.NoError(t, err)
	_, secret, err := auth.ParseAPIKey(k.GetSecret())
	require.NoError(t, err)
	require.Equal(t, auth.APIKeyRecord{
		ID: id, Kind: auth.KindAdapter, PrincipalID: "web-form", Roles: []string{auth.RoleAdapter},
		Channels: []string{"web_chat"}, Hash: testPepper.Hash(id, secret), ExpiresAt: t0.Add(90 * time.Minute),
	}, rec)

	e.revoke(t, id)
	rec, err = e.store.LookupAPIKey(t.Context(), id)
	require.NoError(t, err)
	require.True(t, rec.Revoked)

	_, err = e.store.LookupAPIKey(t.Context(), "0123456789abcdef")
	require.ErrorIs(t, err, auth.ErrUnknownAPIKey)
}

// TestSecretIsNotStored checks the table behind the store's back: only the peppered hash is there.
func TestSecretIsNotStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(t, "a", "web-form")
	_, secret, err := auth.ParseAPIKey(k.GetSecret())
	require.NoError(t, err)
	var row string
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), `SELECT api_keys::text FROM api_keys WHERE key_id = $1`,
		k.GetApiKey().GetKeyId()).Scan(&row))
	require.NotContains(t, row, secret)
}

// TestRuntimeRoleCannotDeleteKeys proves keys are revoked, never deleted: the service's own connection
// (the runtime role) is refused with insufficient_privilege, even for a DELETE that matches nothing.
func TestRuntimeRoleCannotDeleteKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(t, "a", "web-form")
	for _, q := range []string{
		`DELETE FROM api_keys WHERE key_id = '` + k.GetApiKey().GetKeyId() + `'`,
		`DELETE FROM api_keys`,
		`DELETE FROM api_keys WHERE false`,
		`TRUNCATE api_keys`,
	} {
		_, err := e.db.Pool.Exec(t.Context(), q)
		require.Error(t, err, q)
		require.Equal(t, "42501", pgxutil.PgCode(err), "%s: %v", q, err)
	}
	_, err := e.store.LookupAPIKey(t.Context(), k.GetApiKey().GetKeyId())
	require.NoError(t, err, "the key is still there")

	// Revocation, the runtime role's one way to end a key, still works.
	e.revoke(t, k.GetApiKey().GetKeyId())

	t.Run("not even the owner role deletes through the service's tables", func(t *testing.T) {
		t.Parallel()
		conn, err := pgx.Connect(t.Context(), e.db.OwnerURL)
		require.NoError(t, err)
		defer conn.Close(t.Context())
		_, err = conn.Exec(t.Context(), `DELETE FROM apikeys_test.api_keys`)
		require.Equal(t, "42501", pgxutil.PgCode(err), "got %v", err)
	})
}
