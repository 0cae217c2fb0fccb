// Package audit keeps a service's append-only audit log: one record for every state-changing call and
// every read of unmasked personal data by an authenticated caller, allowed or refused. A Writer appends
// records with group commit (concurrent calls share one INSERT); a Store and its Server read them back for
// kefu.auth.v1.AuditService. The table lives in the service's own schema, and its migration takes UPDATE,
// DELETE and TRUNCATE away from every role but the owner, whose own attempts a trigger refuses.
package audit

import (
	"embed"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the audit_records table's migration set; every service lists it next to its own.
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time: impossible
	}
	return pgxutil.MigrationSet{Name: "audit", FS: sub}
}

// Kind is why a call is recorded.
type Kind string

// Kinds, as stored in audit_records.kind.
const (
	// KindChange: the call changes state (or tried to).
	KindChange Kind = "change"
	// KindPersonalDataRead: the call reads unmasked personal data (or tried to).
	KindPersonalDataRead Kind = "personal_data_read"
)

// valid reports whether k is one of the kinds the table accepts.
func (k Kind) valid() bool { return k == KindChange || k == KindPersonalDataRead }

// Record is one recorded call. Read back, At is UTC with microsecond precision.
type Record struct {
	// ID is the record's id; the zero UUID makes the Writer assign a UUIDv7.
	ID uuid.UUID
	// At is when the call finished; zero makes the Writer use its clock.
	At time.Time
	// Principal is who called, "<kind>:<id>" (auth.Principal.String()).
	Principal string
	// KeyID is the API key that authenticated the call; empty for staff tokens.
	KeyID string
	// OnBehalfOf is the end user a service called for ("<kind>:<id>"), verified from the credential the
	// service forwarded; empty when the caller acted for itself.
	OnBehalfOf string
	// Method is the full gRPC method, e.g. /kefu.intake.v1.IntakeService/AssignTicket.
	Method string
	// ObjectType is the kind of object the call named or created (ticket, api_key); empty when none.
	ObjectType string
	// ObjectID is that object's id; empty when none.
	ObjectID string
	// Result is the call's gRPC code name (OK, NOT_FOUND, PERMISSION_DENIED, ...).
	Result string
	// TraceID is the call's W3C trace id; empty when it was not traced.
	TraceID string
	// Kind is why the call is recorded.
	Kind Kind
	// Reason is why the caller says it made the call: the request's reason as typed, kept to its first
	// MaxReasonRunes runes; empty when the request has none. It is stored as given, so it is the one
	// field that may hold whatever a caller wrote; the customer APIs tell callers to keep personal data
	// out of it, as the log can never remove it.
	Reason string
	// Fields is what the call read or changed: the field groups a reveal unmasked (name, national_id) or
	// the paths of an update's mask. Names, never values; at most MaxFields of MaxFieldRunes runes each.
	Fields []string
}

// Limits on what a record keeps of a caller's input. The guard records a call before validation (a
// refused call too), so these bound what any authenticated caller can make the log store.
const (
	// MaxReasonRunes is how much of a reason a record keeps.
	MaxReasonRunes = 500
	// MaxFields is how many field names a record keeps.
	MaxFields = 64
	// MaxFieldRunes is how much of each field name a record keeps.
	MaxFieldRunes = 128
)
