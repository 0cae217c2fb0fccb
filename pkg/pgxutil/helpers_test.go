package pgxutil_test

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
)

//go:embed testdata
var testdata embed.FS

func set(t testing.TB, name, dir string) pgxutil.MigrationSet {
	t.Helper()
	sub, err := fs.Sub(testdata, "testdata/"+dir)
	require.NoError(t, err)
	return pgxutil.MigrationSet{Name: name, FS: sub}
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// freshDatabase creates an empty database on the DATABASE_URL cluster, for tests of the pieces testkit.NewDB
// is built from (Provision, Migrate), and drops it afterwards. It returns a superuser URL of it.
func freshDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("DATABASE_URL")
	if admin == "" {
		t.Fatal("DATABASE_URL is not set: run tests through `make test`, which starts a private cluster")
	}
	name := randomName("kefu_pgxutil_")
	conn, err := pgx.Connect(t.Context(), admin)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), `CREATE DATABASE `+name+` TEMPLATE template0`)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	url, err := pgxutil.WithDatabase(admin, name)
	require.NoError(t, err)
	return url
}

// dropRolesAtCleanup removes a test service's roles once its databases are gone (roles are cluster-wide and
// would otherwise pile up on a reused cluster). Register it before freshDatabase so it runs after the drop.
func dropRolesAtCleanup(t testing.TB, service string) {
	t.Helper()
	admin := os.Getenv("DATABASE_URL")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, r := range []string{pgxutil.RuntimeRole(service), pgxutil.OwnerRole(service)} {
			if _, err := conn.Exec(ctx, `DROP ROLE IF EXISTS `+r); err != nil {
				t.Logf("drop role %s: %v", r, err)
			}
		}
	})
}
