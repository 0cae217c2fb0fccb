// Package protoconv maps the ticket domain's enums and values to and from the generated kefu.intake.v1
// types. Both the gRPC layer (requests and responses) and the app layer (event payloads) need the same
// mapping, so it lives in one place; the domain itself stays free of generated code.
//
// The domain's enums were numbered like the proto enums on purpose, so most mappings are conversions; the
// test in this package checks every value by name, so a reordering on either side fails loudly.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// Channel maps a domain channel to the proto enum.
func Channel(c ticket.Channel) intakev1.Channel { return intakev1.Channel(c) }

// ChannelFromProto maps a proto channel (unspecified stays unspecified).
func ChannelFromProto(c intakev1.Channel) ticket.Channel { return ticket.Channel(c) }

// Status maps a domain status.
func Status(s ticket.Status) intakev1.TicketStatus { return intakev1.TicketStatus(s) }

// StatusFromProto maps a proto status.
func StatusFromProto(s intakev1.TicketStatus) ticket.Status { return ticket.Status(s) }

// Type maps a domain type (unclassified is unspecified).
func Type(t ticket.Type) intakev1.TicketType { return intakev1.TicketType(t) }

// TypeFromProto maps a proto type (unspecified is unclassified).
func TypeFromProto(t intakev1.TicketType) ticket.Type { return ticket.Type(t) }

// Urgency maps a domain urgency.
func Urgency(u ticket.Urgency) intakev1.Urgency { return intakev1.Urgency(u) }

// UrgencyFromProto maps a proto urgency (unspecified stays unspecified: no hint).
func UrgencyFromProto(u intakev1.Urgency) ticket.Urgency { return ticket.Urgency(u) }

// Level maps a domain complaint level (none is unspecified).
func Level(l ticket.Level) intakev1.ComplaintLevel { return intakev1.ComplaintLevel(l) }

// LevelFromProto maps a proto complaint level.
func LevelFromProto(l intakev1.ComplaintLevel) ticket.Level { return ticket.Level(l) }

// Priority maps a domain priority.
func Priority(p ticket.Priority) intakev1.Priority { return intakev1.Priority(p) }

// Satisfaction maps a domain rating.
func Satisfaction(s ticket.Satisfaction) intakev1.Satisfaction { return intakev1.Satisfaction(s) }

// SatisfactionFromProto maps a proto rating.
func SatisfactionFromProto(s intakev1.Satisfaction) ticket.Satisfaction {
	return ticket.Satisfaction(s)
}

// ContactKind maps a domain contact kind.
func ContactKind(k ticket.ContactKind) intakev1.ContactKind { return intakev1.ContactKind(k) }

// ContactKindFromProto maps a proto contact kind.
func ContactKindFromProto(k intakev1.ContactKind) ticket.ContactKind { return ticket.ContactKind(k) }

// VerificationMethod maps a domain verification method.
func VerificationMethod(m ticket.VerificationMethod) intakev1.VerificationMethod {
	return intakev1.VerificationMethod(m)
}

// Source maps who classified a ticket.
func Source(s ticket.ClassificationSource) intakev1.ClassificationSource {
	return intakev1.ClassificationSource(s)
}

// ActorKind maps a domain actor kind (a principal kind).
func ActorKind(kind string) intakev1.ActorKind {
	switch kind {
	case ticket.ActorAdapter:
		return intakev1.ActorKind_ACTOR_KIND_ADAPTER
	case ticket.ActorStaff:
		return intakev1.ActorKind_ACTOR_KIND_STAFF
	case ticket.ActorService:
		return intakev1.ActorKind_ACTOR_KIND_SERVICE
	case ticket.ActorSystem:
		return intakev1.ActorKind_ACTOR_KIND_SYSTEM
	}
	return intakev1.ActorKind_ACTOR_KIND_UNSPECIFIED
}

// Actor maps a domain actor.
func Actor(a ticket.Actor) *intakev1.Actor {
	return &intakev1.Actor{Kind: ActorKind(a.Kind), Id: a.ID}
}

// EntryKind maps the kind of change that wrote a timeline entry to the entry kind the API shows. Close has
// no entry kind of its own: it is a status change.
func EntryKind(k ticket.EventKind) intakev1.TimelineEntryKind {
	switch k {
	case ticket.EventCreated:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CREATED
	case ticket.EventUpdated:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CLASSIFICATION
	case ticket.EventAssigned:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_ASSIGNMENT
	case ticket.EventStatusChanged, ticket.EventClosed:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_STATUS_CHANGE
	case ticket.EventReplied:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_AGENT_REPLY
	case ticket.EventCustomerMessageAdded:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CUSTOMER_MESSAGE
	case ticket.EventNoteAdded:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_NOTE
	case ticket.EventEscalated:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_ESCALATION
	case ticket.EventResolved:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_RESOLUTION
	case ticket.EventReopened:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_REOPEN
	case ticket.EventRated:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_SATISFACTION
	case ticket.EventArchived:
		return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_ARCHIVE
	}
	return intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_UNSPECIFIED
}

// Time maps a time; the zero time is absent.
func Time(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
