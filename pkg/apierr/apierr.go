// Package apierr describes errors that cross kefu's API edge in plain Go: a kind (which becomes the gRPC
// code), a stable reason, a readable message and the structured details a client can act on. It imports
// no transport, so domain code can build these errors and pkg/grpcx maps them to statuses in one place.
package apierr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an error; pkg/grpcx maps each kind to exactly one gRPC code.
type Kind int

// Kinds, one per gRPC code that kefu returns on purpose.
const (
	KindInternal           Kind = iota // anything unclassified: the client sees only a reference id
	KindInvalidArgument                // a field is malformed or out of range
	KindNotFound                       // the resource does not exist (or is outside the caller's scope)
	KindAlreadyExists                  // a unique field or idempotency key is taken by something else
	KindFailedPrecondition             // the resource's state forbids the operation
	KindAborted                        // a concurrency conflict: stale etag, serialization retries used up
	KindUnavailable                    // a dependency (Postgres, a peer) cannot be reached
	KindUnauthenticated                // the caller is unknown
	KindPermissionDenied               // the caller may not call this
	KindResourceExhausted              // a rate limit or quota
)

// Domain is the ErrorInfo domain kefu reports with every reason.
const Domain = "kefu"

// FieldViolation names a request field (a dotted proto path such as "contact.email") and what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// PreconditionViolation is one unmet precondition: Type is a stable code (e.g. "SATISFACTION"), Subject what
// it concerns (e.g. a ticket id), Description readable text.
type PreconditionViolation struct {
	Type        string
	Subject     string
	Description string
}

// Error is kefu's API error. Build it with the constructors below.
type Error struct {
	Kind          Kind
	Reason        string            // stable UPPER_SNAKE reason, e.g. TICKET_ILLEGAL_TRANSITION
	Message       string            // readable, names the field or state; never personal data
	Meta          map[string]string // ErrorInfo metadata, e.g. current_state
	Fields        []FieldViolation
	Preconditions []PreconditionViolation
	Resource      *Resource     // for NotFound
	RetryAfter    time.Duration // for ResourceExhausted: when to try again (RetryInfo; REST's Retry-After)
	cause         error
}

// Resource identifies the resource a NotFound error is about.
type Resource struct {
	Type string // e.g. "kefu.intake.v1.Ticket"
	Name string // the id that was asked for
}

// Error returns the message.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause, if any, for errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// WithCause attaches an underlying error for logs; it is never sent to the client.
func (e *Error) WithCause(err error) *Error { e.cause = err; return e }

// WithMeta adds one ErrorInfo metadata pair.
func (e *Error) WithMeta(k, v string) *Error {
	if e.Meta == nil {
		e.Meta = map[string]string{}
	}
	e.Meta[k] = v
	return e
}

// InvalidField reports one bad field: InvalidArgument with a field violation; the message names the field.
func InvalidField(field, description string) *Error {
	return &Error{
		Kind:    KindInvalidArgument,
		Reason:  "INVALID_ARGUMENT",
		Message: fmt.Sprintf("invalid %s: %s", field, description),
		Fields:  []FieldViolation{{Field: field, Description: description}},
	}
}

// InvalidFields reports several bad fields at once.
func InvalidFields(vs ...FieldViolation) *Error {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Field + ": " + v.Description
	}
	return &Error{Kind: KindInvalidArgument, Reason: "INVALID_ARGUMENT", Message: "invalid " + strings.Join(names, "; "), Fields: vs}
}

// NotFound reports an absent resource.
func NotFound(resourceType, id string) *Error {
	return &Error{
		Kind: KindNotFound, Reason: "NOT_FOUND",
		Message:  fmt.Sprintf("%s %q not found", resourceType, id),
		Resource: &Resource{Type: resourceType, Name: id},
	}
}

// New builds an error of any kind with a reason and message.
func New(kind Kind, reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// FailedPrecondition reports a state that forbids the operation, with every unmet item listed.
func FailedPrecondition(reason, message string, vs ...PreconditionViolation) *Error {
	return &Error{Kind: KindFailedPrecondition, Reason: reason, Message: message, Preconditions: vs}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KindOf returns the kind of err's *Error, or KindInternal when err carries none.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return KindInternal
}
