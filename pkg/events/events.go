// Package events defines how kefu's domain events travel over NATS JetStream: the one stream KEFU and its
// subjects (kefu.<aggregate>.<event>), the headers that repeat what infrastructure needs without decoding the
// body, trace context propagation, stream setup, and an effectively-once consumer helper that records each
// event id in an inbox table in the same Postgres transaction as the handler's effect.
//
// Publishing is not here: events reach NATS only through pkg/outbox, after the producing transaction commits.
package events

import (
	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the JetStream stream that holds every domain event.
const StreamName = "KEFU"

// SubjectPrefix starts every event subject; StreamSubjects is the stream's one subject filter. Outbound
// customer messages, which carry personal data, live on another stream outside this prefix.
const (
	SubjectPrefix  = "kefu."
	StreamSubjects = "kefu.>"
)

// Header names carried by every event message. The body (a kefu.events.v1 proto) stays the truth; these
// repeat the meta so routing, dedupe, ordering checks and tracing work without decoding it.
const (
	// HeaderMsgID is JetStream's dedupe header; kefu sets it to the event id (a UUIDv7), so a re-sent event
	// is stored once within the stream's duplicate window, and consumers dedupe on it beyond that.
	HeaderMsgID = jetstream.MsgIDHeader
	// HeaderType is the event's proto full name (kefu.events.v1.TicketCreated).
	HeaderType = "Kefu-Type"
	// HeaderAggregateID is the id of the aggregate the event belongs to (the ticket id).
	HeaderAggregateID = "Kefu-Aggregate-Id"
	// HeaderSeq is the event's per-aggregate sequence number in decimal; it increases by aggregate in
	// stream order, which the outbox relay guarantees.
	HeaderSeq = "Kefu-Seq"
	// HeaderTraceparent and HeaderTracestate carry the W3C trace context of the change that caused the event.
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Subject returns the subject for an event of an aggregate: Subject("ticket", "status_changed") is
// "kefu.ticket.status_changed". Both parts are lower snake case by convention (STYLE §6).
func Subject(aggregate, event string) string {
	return SubjectPrefix + aggregate + "." + event
}
