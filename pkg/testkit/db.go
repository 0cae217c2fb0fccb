// Package testkit gives integration tests real infrastructure cheaply: a fresh, migrated Postgres database
// per test cloned from a template, and polling helpers that replace sleeps.
package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/pgxutil"
)

// DB is a test's own database, dropped when the test ends. The URLs all point at it.
type DB struct {
	// Pool connects as the service's runtime role with search_path = the service schema, exactly as the
	// service does in production.
	Pool *pgxpool.Pool
	// Name is the database name (kefu_t_<random>).
	Name string
	// AdminURL is a superuser URL, for a test that must look behind the service's back.
	AdminURL string
	// OwnerURL connects as kefu_<service>_owner, the role that ran the migrations.
	OwnerURL string
	// RuntimeURL connects as kefu_<service>, the role Pool uses.
	RuntimeURL string
}

// templateVersion is part of every template's hash: bump it when the way templates are built changes
// (Provision, Migrate), so stale templates on a long-lived cluster are not reused.
const templateVersion = "kefu-testkit-template-v2"

// templates remembers, per test binary, the templates already known to exist, so parallel tests in one
// package take the cross-process advisory lock only once per template.
var templates sync.Map // template name → *templateOnce

type templateOnce struct {
	once sync.Once
	err  error
}

// NewDB returns a fresh database for service with sets migrated, cloned from a template on the cluster at
// DATABASE_URL (a superuser URL; `make test` starts a private cluster and sets it).
//
// The template kefu_tpl_<service>_<hash12> is built once per distinct service and migration content, by
// whichever test process gets there first: under a Postgres advisory lock it provisions the roles
// ([pgxutil.Provision]), migrates as the owner role into a scratch database, and only then renames it to
// the template name, so a half-built template is never cloned. Each test then gets CREATE DATABASE ...
// TEMPLATE (no migrations per test), a pool as the runtime role, and a t.Cleanup that closes the pool and
// drops the database.
func NewDB(t testing.TB, service string, sets ...pgxutil.MigrationSet) *DB {
	t.Helper()
	adminURL := os.Getenv("DATABASE_URL")
	if adminURL == "" {
		t.Fatal("DATABASE_URL is not set: run tests through `make test`, which starts a private cluster")
	}
	ctx := t.Context()

	hash, err := contentHash(service, sets)
	if err != nil {
		t.Fatalf("testkit: hash migrations of %s: %v", service, err)
	}
	tpl := fmt.Sprintf("kefu_tpl_%s_%s", service, hash[:12])
	if len(tpl+"_build") > 63 {
		t.Fatalf("testkit: service name %q is too long for a template database name (max 35 characters)", service)
	}
	v, _ := templates.LoadOrStore(tpl, &templateOnce{})
	to := v.(*templateOnce)
	to.once.Do(func() {
		// Detached from the first test's lifetime: the template serves every test in the binary.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		to.err = ensureTemplate(bctx, adminURL, tpl, service, sets)
	})
	if to.err != nil {
		t.Fatalf("testkit: build template %s: %v", tpl, to.err)
	}

	name := "kefu_t_" + randomHex(8)
	if err := cloneDatabase(ctx, adminURL, tpl, name, service); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	db := &DB{Name: name}
	t.Cleanup(func() {
		if db.Pool != nil {
			db.Pool.Close()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := dropDatabase(cctx, adminURL, name); err != nil {
			t.Logf("testkit: drop test database %s: %v", name, err)
		}
	})

	if db.AdminURL, err = pgxutil.WithDatabase(adminURL, name); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	roles, err := pgxutil.DevRoles(db.AdminURL, service)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	db.OwnerURL, db.RuntimeURL = roles.OwnerURL, roles.RuntimeURL
	db.Pool, err = pgxutil.Open(ctx, db.RuntimeURL, pgxutil.Options{Schema: service, AppName: t.Name()})
	if err != nil {
		t.Fatalf("testkit: open pool on %s: %v", name, err)
	}
	return db
}

// contentHash covers everything that shapes the template: the service name and every set's name, file
// names and file contents, in order.
func contentHash(service string, sets []pgxutil.MigrationSet) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", templateVersion, service)
	for _, s := range sets {
		fmt.Fprintf(h, "set\x00%s\x00", s.Name)
		if s.FS == nil {
			continue
		}
		err := fs.WalkDir(s.FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(s.FS, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "file\x00%s\x00%d\x00", path, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("read set %s: %w", s.Name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ensureTemplate builds tpl unless it exists. The session advisory lock is taken on the admin database,
// which every test process shares, so concurrent test binaries build each template once; the existence
// check happens after the lock, when a concurrent builder has finished.
func ensureTemplate(ctx context.Context, adminURL, tpl, service string, sets []pgxutil.MigrationSet) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	key := lockKey(tpl)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	defer func() { _, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key) }()

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tpl).Scan(&exists); err != nil {
		return fmt.Errorf("check template: %w", err)
	}
	if exists {
		return nil
	}

	// The scratch name is free to reuse: only the lock holder touches it, and a leftover means a builder
	// died half-way.
	build := tpl + "_build"
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(build)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop leftover %s: %w", build, err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident(build)+` TEMPLATE template0`); err != nil {
		return fmt.Errorf("create %s: %w", build, err)
	}
	buildURL, err := pgxutil.WithDatabase(adminURL, build)
	if err != nil {
		return err
	}
	roles, err := pgxutil.Provision(ctx, buildURL, service)
	if err != nil {
		return err
	}
	if err := pgxutil.Migrate(ctx, roles.OwnerURL, service, sets...); err != nil {
		return err
	}
	// The migration sessions have closed, but their backends may take a moment to exit, and RENAME
	// refuses while anyone is connected (55006).
	if err := retryInUse(ctx, func() error {
		_, err := conn.Exec(ctx, `ALTER DATABASE `+ident(build)+` RENAME TO `+ident(tpl))
		return err
	}); err != nil {
		return fmt.Errorf("rename %s to %s: %w", build, tpl, err)
	}
	// No connections to the template from now on, so cloning it never meets "being accessed by other users".
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+ident(tpl)+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return fmt.Errorf("mark %s as template: %w", tpl, err)
	}
	return nil
}

func cloneDatabase(ctx context.Context, adminURL, tpl, name, service string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := retryInUse(ctx, func() error {
		_, err := conn.Exec(ctx, `CREATE DATABASE `+ident(name)+` TEMPLATE `+ident(tpl))
		return err
	}); err != nil {
		return fmt.Errorf("clone %s: %w", tpl, err)
	}
	// Database ACLs live in the shared catalog and are not copied from the template.
	grant := fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s, %s`, ident(name),
		ident(pgxutil.OwnerRole(service)), ident(pgxutil.RuntimeRole(service)))
	if _, err := conn.Exec(ctx, grant); err != nil {
		return fmt.Errorf("grant connect on %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(name)+` WITH (FORCE)`)
	return err
}

// retryInUse repeats fn while it fails with 55006 (object_in_use: a database being accessed by other
// users), for up to 30 s.
func retryInUse(ctx context.Context, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := fn()
		if err == nil || pgxutil.PgCode(err) != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still in use: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("kefu.testkit.template\x00" + name))
	return int64(h.Sum64())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
