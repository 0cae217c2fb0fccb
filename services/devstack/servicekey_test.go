package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/customer"
	"kefu.dev/services/intake"
)

func newPepper(t *testing.T) string {
	t.Helper()
	p := make([]byte, auth.MinPepperBytes)
	_, err := rand.Read(p)
	require.NoError(t, err)
	return hex.EncodeToString(p)
}

// activeKeys lists k's caller's active keys in db, the callee's schema.
func activeKeys(t *testing.T, db *testkit.DB, k serviceKey) []apikeys.Key {
	t.Helper()
	page, err := apikeys.New(db.Pool, nil, clock.Real{}, rand.Reader).List(t.Context(), apikeys.Filter{PrincipalID: k.caller}, 0, "")
	require.NoError(t, err)
	return page.Keys
}

func TestServiceKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		between func(t *testing.T, dir string, pepper *string) // what happens between the two starts
		reused  bool
	}{
		{name: "a restart reuses the kept key", between: func(*testing.T, string, *string) {}, reused: true},
		{name: "a lost key file gets a new key and the lost one revoked", between: func(t *testing.T, dir string, _ *string) {
			require.NoError(t, os.Remove(filepath.Join(dir, intakeAtCustomer.file)))
		}},
		{name: "a new pepper gets a new key and the old one revoked", between: func(t *testing.T, _ string, pepper *string) {
			*pepper = newPepper(t)
		}},
		{name: "a key file that is not a key gets a new key", between: func(t *testing.T, dir string, _ *string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, intakeAtCustomer.file), []byte("not a key"), 0o600))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testkit.NewDB(t, "customer", customer.Migrations()...)
			dir, pepper := t.TempDir(), newPepper(t)

			first, err := ensureServiceKey(t.Context(), intakeAtCustomer, dir, db.RuntimeURL, pepper)
			require.NoError(t, err)
			fi, err := os.Stat(filepath.Join(dir, intakeAtCustomer.file))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			tc.between(t, dir, &pepper)
			second, err := ensureServiceKey(t.Context(), intakeAtCustomer, dir, db.RuntimeURL, pepper)
			require.NoError(t, err)

			if tc.reused {
				require.Equal(t, first, second)
			} else {
				require.NotEqual(t, first, second)
			}
			kept, err := os.ReadFile(filepath.Join(dir, intakeAtCustomer.file))
			require.NoError(t, err)
			require.Equal(t, second, string(kept))
			keys := activeKeys(t, db, intakeAtCustomer)
			require.Len(t, keys, 1, "only the current key stays active")
			id, _, err := auth.ParseAPIKey(second)
			require.NoError(t, err)
			require.Equal(t, id, keys[0].ID)
			require.Equal(t, auth.KindService, keys[0].PrincipalKind)
			require.Equal(t, []string{auth.RoleService}, keys[0].Roles)
		})
	}
}

// TestServiceKeyLeavesAnAdminsKeysAlone: only the keys the dev stack issued are revoked when it
// issues a new one.
func TestServiceKeyLeavesAnAdminsKeysAlone(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "customer", customer.Migrations()...)
	dir, pepper := t.TempDir(), newPepper(t)
	p, err := auth.Config{APIKeyPepper: pepper}.Pepper()
	require.NoError(t, err)
	admins, err := apikeys.New(db.Pool, p, clock.Real{}, rand.Reader).Create(t.Context(),
		apikeys.Request{Caller: "staff:admin-1", ID: "r1", Fingerprint: []byte{1}},
		apikeys.Spec{PrincipalKind: auth.KindService, PrincipalID: intakeAtCustomer.caller})
	require.NoError(t, err)

	_, err = ensureServiceKey(t.Context(), intakeAtCustomer, dir, db.RuntimeURL, pepper)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, intakeAtCustomer.file)))
	_, err = ensureServiceKey(t.Context(), intakeAtCustomer, dir, db.RuntimeURL, pepper)
	require.NoError(t, err)

	var ids []string
	for _, k := range activeKeys(t, db, intakeAtCustomer) {
		ids = append(ids, k.ID)
	}
	require.Len(t, ids, 2)
	require.Contains(t, ids, admins.Key.ID)
}

// TestRoutingIntakeKey: routing's key lives in intake's schema, under its own file, and a restart reuses it.
func TestRoutingIntakeKey(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "intake", intake.Migrations()...)
	dir, pepper := t.TempDir(), newPepper(t)
	first, err := ensureServiceKey(t.Context(), routingAtIntake, dir, db.RuntimeURL, pepper)
	require.NoError(t, err)
	second, err := ensureServiceKey(t.Context(), routingAtIntake, dir, db.RuntimeURL, pepper)
	require.NoError(t, err)
	require.Equal(t, first, second)
	kept, err := os.ReadFile(filepath.Join(dir, routingAtIntake.file))
	require.NoError(t, err)
	require.Equal(t, first, string(kept))
	keys := activeKeys(t, db, routingAtIntake)
	require.Len(t, keys, 1)
	require.Equal(t, auth.KindService, keys[0].PrincipalKind)
	require.Equal(t, "routing", keys[0].PrincipalID)
}
