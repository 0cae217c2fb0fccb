package pgxutil

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// SQLSTATE codes kefu reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001" // concurrent update under REPEATABLE READ/SERIALIZABLE: retry
	codeDeadlockDetected     = "40P01" // the server aborted one side of a deadlock: retry
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03" // starting up or shutting down
	classConnectionException = "08"
)

// PgCode returns the SQLSTATE of the Postgres error in err's chain, or "".
func PgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// UniqueViolation reports whether err is a unique violation (23505) and which constraint it hit, so a store
// can turn a known constraint into a domain error.
func UniqueViolation(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation {
		return pe.ConstraintName, true
	}
	return "", false
}

// IsSerialization reports whether err is a serialization failure (40001) or a deadlock (40P01): the
// transaction did nothing and may be retried as a whole.
func IsSerialization(err error) bool {
	switch PgCode(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// IsUnavailable reports whether err means the database cannot be reached right now: connection refused,
// reset or closed, a server shutting down or starting (57P01, 57P02, 57P03), any connection exception
// (class 08), or a closed pool. The gRPC edge answers Unavailable for these.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if code := PgCode(err); code != "" {
		switch code {
		case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
			return true
		}
		return strings.HasPrefix(code, classConnectionException)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &ne) && !ne.Timeout():
		// A non-timeout network error on an established connection: the server went away.
		return true
	}
	// pgx reports a connection lost mid-query as "conn closed" or "unexpected EOF" text from a
	// wrapped error without a sentinel in some paths.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF")
}
