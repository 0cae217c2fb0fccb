package pgxutil

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationSet is one independently versioned list of goose SQL migrations: a service's own tables, or a
// shared package's (outbox, inbox, idempotency).
type MigrationSet struct {
	// Name identifies the set; its version table is <schema>.goose_<Name>. Lower snake case.
	Name string
	// FS holds the files NNNNN_name.sql at its root (use fs.Sub for an embedded sub-folder).
	FS fs.FS
}

// identRE is what kefu accepts as a schema, service or set name: it is spliced into SQL and role names, so
// it must never need quoting.
var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func checkIdent(kind, s string) error {
	if !identRE.MatchString(s) {
		return fmt.Errorf("%s %q must be lower snake case, at most 40 characters", kind, s)
	}
	return nil
}

// Migrate applies sets, in the order given, to schema in the database at url. The schema is created if
// missing and is the migration session's search_path, so migration SQL is unqualified. Each set is run by
// a goose provider whose version table is <schema>.goose_<set.Name>, under goose's Postgres session lock
// (an advisory lock per schema and set), so replicas starting together apply each file exactly once and
// the others wait. Run it as the schema's owner role.
func Migrate(ctx context.Context, url, schema string, sets ...MigrationSet) error {
	if err := checkIdent("schema", schema); err != nil {
		return err
	}
	for _, s := range sets {
		if err := checkIdent("migration set name", s.Name); err != nil {
			return err
		}
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	db.SetMaxOpenConns(2) // the session locker holds one connection, the migrations use another

	if err := ensureSchema(ctx, db, schema); err != nil {
		return err
	}
	for _, s := range sets {
		if err := migrateSet(ctx, db, schema, s); err != nil {
			return err
		}
	}
	return protectVersionTables(ctx, db, schema, sets)
}

// protectVersionTables takes write access to the goose version tables away from the service's runtime role
// (kefu_<schema>, see [Provision]), which the owner's default privileges granted it like any table: the
// running service may read its schema version but never forge it. Nothing happens when that role does not
// exist (production may name its roles differently). The advisory lock serializes concurrent migrators,
// whose GRANT/REVOKE on one table would otherwise fail with "tuple concurrently updated".
func protectVersionTables(ctx context.Context, db *sql.DB, schema string, sets []MigrationSet) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("kefu.schema", schema)); err != nil {
		return fmt.Errorf("lock schema: %w", err)
	}
	runtime := RuntimeRole(schema)
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, runtime).Scan(&exists); err != nil {
		return fmt.Errorf("check role %s: %w", runtime, err)
	}
	if !exists {
		return nil
	}
	for _, s := range sets {
		q := fmt.Sprintf(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s.goose_%s FROM %s`, schema, s.Name, runtime)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("protect version table of %s: %w", s.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ensureSchema creates schema unless it exists. The existence check comes first because CREATE SCHEMA IF
// NOT EXISTS still demands CREATE on the database, which an owner role given a provisioned schema lacks. The
// transaction-scoped advisory lock stops two replicas racing to create it (23505 on pg_namespace).
func ensureSchema(ctx context.Context, db *sql.DB, schema string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("kefu.schema", schema)); err != nil {
		return fmt.Errorf("lock schema creation: %w", err)
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return fmt.Errorf("check schema %s: %w", schema, err)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema %s: %w", schema, err)
	}
	return nil
}

func migrateSet(ctx context.Context, db *sql.DB, schema string, s MigrationSet) error {
	// Poll the lock every second for up to ten minutes: a replica that lost the race waits for the winner's
	// migrations rather than failing start-up.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockKey("kefu.goose", schema+"."+s.Name)),
		lock.WithLockTimeout(1, 600),
	)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, s.FS,
		goose.WithTableName(schema+".goose_"+s.Name),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		if errors.Is(err, goose.ErrNoMigrations) {
			return fmt.Errorf("migration set %s: no NNNNN_name.sql files at the root of its FS: %w", s.Name, err)
		}
		return fmt.Errorf("migration set %s: %w", s.Name, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s.%s: %w", schema, s.Name, err)
	}
	return nil
}

// lockKey derives a stable advisory lock key from a purpose and a name.
func lockKey(purpose, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}
