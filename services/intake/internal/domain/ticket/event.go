package ticket

import (
	"time"

	"github.com/google/uuid"
)

// EventKind names what happened to a ticket. Each kind maps to one subject, kefu.ticket.<kind>, and one
// message in kefu.events.v1; the same kind labels the timeline entry the change appends.
type EventKind int8

// Event kinds.
const (
	EventUnspecified EventKind = iota
	EventCreated
	EventUpdated              // classification, urgency or level changed
	EventAssigned             // group and/or agent changed
	EventStatusChanged        // a status move with no event of its own: StartWork, SetPendingCustomer
	EventReplied              // an agent replied to the customer
	EventCustomerMessageAdded // an adapter appended a customer message
	EventNoteAdded            // an internal note
	EventEscalated
	EventResolved
	EventClosed
	EventReopened
	EventRated // satisfaction recorded or waived
	EventArchived
)

var eventKindNames = []string{
	"unspecified", "created", "updated", "assigned", "status_changed", "replied", "customer_message_added",
	"note_added", "escalated", "resolved", "closed", "reopened", "rated", "archived",
}

// String returns the lower snake name: the last part of the subject kefu.ticket.<name> and the timeline
// entry kind stored in the database.
func (k EventKind) String() string { return enumName(k, eventKindNames) }

// ParseEventKind parses a name produced by String.
func ParseEventKind(s string) (EventKind, error) {
	return parseEnum[EventKind]("event kind", s, eventKindNames, 1)
}

// Event is one domain event. It carries ids, codes, counts and times only (never contact details or any
// text), because events fan out to every consumer. Besides the kind-specific data, every event carries a
// snapshot of the ticket's routing-relevant state after the change, so consumers (SLA, analytics, routing)
// rarely need to call back into intake.
type Event struct {
	Kind       EventKind
	TicketID   uuid.UUID
	Seq        int64 // the ticket's Version after this change: per-ticket order, starting at 1 for created
	OccurredAt time.Time
	Actor      Actor
	From, To   Status // both StatusUnspecified unless the status moved; created has To = new

	// Snapshot after the change.
	Number          string
	Channel         Channel // submit channel
	Status          Status
	Type            Type
	Subcategory     string
	Urgency         Urgency
	Level           Level
	Priority        Priority
	GroupID         uuid.UUID // uuid.Nil when unassigned
	AssigneeID      uuid.UUID // uuid.Nil when no agent
	CustomerID      uuid.UUID // uuid.Nil when unknown
	EscalationLevel int
	ResolutionCount int
	ReceivedAt      time.Time

	// Kind-specific data; zero for other kinds.
	RuleID             string               // created: the rule that classified the ticket, if any
	Source             ClassificationSource // created, updated: what decided type and subcategory
	Changed            []string             // updated: fields changed, in order type, subcategory, urgency, level, priority
	PreviousGroupID    uuid.UUID            // assigned, reopened: group before the change
	PreviousAssigneeID uuid.UUID            // assigned, reopened: agent before the change (reopen clears an inactive one)
	MessageChannel     Channel              // replied, customer_message_added: the channel the message went out or came in on
	AskedCustomer      bool                 // replied: the reply asked the customer something
	FirstReply         bool                 // replied: the ticket's first agent reply (first response time)
	Rating             Satisfaction         // rated: SatisfactionUnspecified when waived
	Waived             bool                 // rated: customer unreachable
	LinkedIncident     uuid.UUID            // created, assigned: the incident the change linked the ticket to
	IncidentGroupID    uuid.UUID            // created: the incident's emergency team, where routing sends the ticket
}

// TimelineEntry is one line of a ticket's history as agents see it: who did what, when, with the text of
// replies, notes, customer messages, escalation reasons, resolution summaries and satisfaction comments.
// Unlike events, entries may hold text; they never leave intake except through its own API.
type TimelineEntry struct {
	Seq      int64     // the Version of the change that appended it; equals the Event's Seq
	Kind     EventKind // same kind as the change's event
	Actor    Actor
	At       time.Time
	Text     string
	Channel  Channel // replies and customer messages only
	From, To Status  // set when the status moved

	// Attachments of a customer message (references only, like the ticket's).
	Attachments []Attachment
}

// Change is what one successful state-changing call produced. Today every call produces exactly one Event
// and one TimelineEntry with the same Seq; the slices let the store and app stay unchanged should a future
// call need more. An empty Change (only from Reclassify when nothing changed) means nothing to save.
type Change struct {
	Events   []Event
	Timeline []TimelineEntry
}

// Empty reports whether the call changed nothing.
func (c Change) Empty() bool { return len(c.Events) == 0 && len(c.Timeline) == 0 }
