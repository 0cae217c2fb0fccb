package pgxutil

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"

	"github.com/jackc/pgx/v5"
)

// Roles are the two database URLs a service uses: OwnerURL runs migrations (the role owns the schema and
// everything in it); RuntimeURL is what the running service connects with (no ownership, only the grants
// the owner's default privileges and migrations give it).
type Roles struct {
	OwnerURL, RuntimeURL string
}

// OwnerRole names the role that owns a service's schema and runs its migrations: kefu_<service>_owner.
func OwnerRole(service string) string { return "kefu_" + service + "_owner" }

// RuntimeRole names the role a service connects with at run time: kefu_<service>.
func RuntimeRole(service string) string { return "kefu_" + service }

// Provision creates, in the database at adminURL (a superuser URL), what a service needs to run as
// non-superuser roles: the LOGIN roles kefu_<service>_owner and kefu_<service> (neither superuser nor
// CREATEDB/CREATEROLE), the schema <service> owned by the owner role, USAGE on it and CONNECT on the
// database for the runtime role, and default privileges so that every table and sequence the owner creates
// there is readable and writable by the runtime role. Migrations then REVOKE what the runtime must never do
// (UPDATE or DELETE on timeline rows); that works only because the runtime role owns nothing.
//
// Passwords equal the role names. That is a dev and test convenience only: production creates its roles
// and passes its own owner and runtime URLs. Existing roles are left as they are.
//
// Provision is idempotent and safe to call concurrently, also on several databases of one cluster: roles
// are cluster-wide, so a concurrent creation is recognised by its error (42710 or 23505) and ignored, and
// the per-database part runs under an advisory lock.
func Provision(ctx context.Context, adminURL, service string) (Roles, error) {
	if err := checkIdent("service", service); err != nil {
		return Roles{}, err
	}
	roles, err := DevRoles(adminURL, service)
	if err != nil {
		return Roles{}, err
	}
	owner, runtime := OwnerRole(service), RuntimeRole(service)

	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return Roles{}, fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	for _, r := range []struct{ name, attrs string }{
		{owner, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"},
		{runtime, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"},
	} {
		if err := createRole(ctx, conn, r.name, r.attrs); err != nil {
			return Roles{}, err
		}
	}

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("kefu.provision", service)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var db string
		if err := tx.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
			return fmt.Errorf("current database: %w", err)
		}
		stmts := []string{
			fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s`, service, owner),
			fmt.Sprintf(`GRANT CONNECT ON DATABASE %s TO %s, %s`, pgx.Identifier{db}.Sanitize(), owner, runtime),
			fmt.Sprintf(`GRANT USAGE ON SCHEMA %s TO %s`, service, runtime),
			fmt.Sprintf(`ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s`, owner, service, runtime),
			fmt.Sprintf(`ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %s`, owner, service, runtime),
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return Roles{}, fmt.Errorf("provision schema %s: %w", service, err)
	}
	return roles, nil
}

// DevRoles returns the URLs [Provision] hands out for service (same host and database as adminURL, users
// and passwords equal to the role names) without touching the database: for code that knows the roles
// were provisioned already, such as a database cloned from a provisioned template.
func DevRoles(adminURL, service string) (Roles, error) {
	if err := checkIdent("service", service); err != nil {
		return Roles{}, err
	}
	owner, runtime := OwnerRole(service), RuntimeRole(service)
	ownerURL, err := WithUser(adminURL, owner, owner)
	if err != nil {
		return Roles{}, err
	}
	runtimeURL, err := WithUser(adminURL, runtime, runtime)
	if err != nil {
		return Roles{}, err
	}
	return Roles{OwnerURL: ownerURL, RuntimeURL: runtimeURL}, nil
}

// createRole creates a role unless it exists. Two sessions creating the same role at once: the loser
// waits on pg_authid's unique index and fails with 23505 (or 42710 if it saw the committed row), which
// means the role is there.
func createRole(ctx context.Context, conn *pgx.Conn, name, attrs string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("check role %s: %w", name, err)
	}
	if exists {
		return nil
	}
	// Identifiers and the password literal come from checkIdent-validated names, never from input.
	_, err := conn.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s %s PASSWORD '%s'`, name, attrs, name))
	if err == nil {
		return nil
	}
	if code := PgCode(err); code == "42710" || code == codeUniqueViolation {
		return nil
	}
	return fmt.Errorf("create role %s: %w", name, err)
}

// WithUser returns url with its user and password replaced.
func WithUser(url, user, password string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", redact(err))
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", errors.New("database url must be a postgres:// URL")
	}
	u.User = neturl.UserPassword(user, password)
	return u.String(), nil
}

// WithDatabase returns url pointing at database db instead.
func WithDatabase(url, db string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", redact(err))
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String(), nil
}

// redact drops the URL from a url.Error so a password in it does not reach logs.
func redact(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
