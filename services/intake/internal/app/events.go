package app

import (
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
	"kefu.dev/services/intake/internal/store"
)

// aggregate is the subject segment of ticket events: kefu.ticket.<event>.
const aggregate = "ticket"

// classification is a ticket's classification at one moment, kept to report an update's before and after.
type classification struct {
	typ         ticket.Type
	subcategory string
	urgency     ticket.Urgency
	level       ticket.Level
	priority    ticket.Priority
	source      ticket.ClassificationSource
	ruleID      string
}

func classificationOf(t *ticket.Ticket) classification {
	return classification{t.Type, t.Subcategory, t.Urgency, t.Level, t.Priority, t.ClassificationSource, t.RuleID}
}

func (c classification) proto() *eventsv1.TicketClassification {
	return &eventsv1.TicketClassification{
		Type: protoconv.Type(c.typ), Subcategory: c.subcategory, Urgency: protoconv.Urgency(c.urgency),
		Level: protoconv.Level(c.level), Priority: protoconv.Priority(c.priority), Source: protoconv.Source(c.source),
		RuleId: c.ruleID,
	}
}

// changeContext is what building a change's entries and events needs beyond the domain's Change.
type changeContext struct {
	before    classification // the ticket's classification before the change
	entryID   uuid.UUID      // id of the change's timeline entry (chosen early when a request id claims it)
	automatic bool           // the close was the auto-close sweep's
}

// buildWrite turns a domain Change into the timeline entries and outbox messages the store saves. Exactly
// one event per change is the domain's promise; this keeps one message per domain event.
func (a *App) buildWrite(t *ticket.Ticket, ch ticket.Change, cc changeContext) (store.Write, error) {
	var w store.Write
	for i, te := range ch.Timeline {
		id := cc.entryID
		if i > 0 || id == uuid.Nil {
			var err error
			if id, err = newID(); err != nil {
				return w, err
			}
		}
		e := store.Entry{ID: id, TicketID: t.ID, TimelineEntry: te}
		if i < len(ch.Events) {
			ev := ch.Events[i]
			switch ev.Kind {
			case ticket.EventAssigned:
				e.GroupID, e.AssigneeID = ev.GroupID, ev.AssigneeID
			case ticket.EventReplied:
				e.AsksCustomer = ev.AskedCustomer
			}
		}
		w.Entries = append(w.Entries, e)
	}
	for i, ev := range ch.Events {
		var entryID uuid.UUID
		if i < len(w.Entries) {
			entryID = w.Entries[i].ID
		}
		m, err := a.message(t, ev, entryID, cc)
		if err != nil {
			return w, err
		}
		w.Messages = append(w.Messages, m)
	}
	return w, nil
}

// message encodes one domain event as its kefu.events.v1 message on kefu.ticket.<kind>. Payloads carry ids,
// codes, counts and times only: never contact details or any text (replies, notes, reasons, summaries).
func (a *App) message(t *ticket.Ticket, ev ticket.Event, entryID uuid.UUID, cc changeContext) (outbox.Message, error) {
	eventID, err := newID()
	if err != nil {
		return outbox.Message{}, err
	}
	from, to := protoconv.Status(ev.From), protoconv.Status(ev.To)
	if ev.From == ticket.StatusUnspecified && ev.To == ticket.StatusUnspecified {
		// The status did not move: events that report a status pair report it unchanged.
		from, to = protoconv.Status(t.Status), protoconv.Status(t.Status)
	}
	var body proto.Message
	switch ev.Kind {
	case ticket.EventCreated:
		body = &eventsv1.TicketCreated{
			Number: t.Number, Channel: protoconv.Channel(t.Channel), Classification: classificationOf(t).proto(),
			CustomerId: uuidString(t.CustomerID), ReceivedTime: timestamppb.New(t.ReceivedAt),
			ToStatus: protoconv.Status(ticket.StatusNew), HasContact: t.Contact != nil, CustomerTier: t.CustomerTier,
			IdentityVerified: t.Verification != nil && t.Verification.Verified,
			Topics:           a.lexicon.Match(t.Subject + "\n" + t.Description),
			IncidentId:       uuidString(ev.LinkedIncident), IncidentGroupId: uuidString(ev.IncidentGroupID),
		}
	case ticket.EventUpdated:
		body = &eventsv1.TicketUpdated{Previous: cc.before.proto(), Current: classificationOf(t).proto(), ChangedFields: ev.Changed}
	case ticket.EventAssigned:
		body = &eventsv1.TicketAssigned{
			FromStatus: from, ToStatus: to, GroupId: uuidString(ev.GroupID), AssigneeId: uuidString(ev.AssigneeID),
			PreviousGroupId: uuidString(ev.PreviousGroupID), PreviousAssigneeId: uuidString(ev.PreviousAssigneeID),
			IncidentId: uuidString(ev.LinkedIncident),
		}
	case ticket.EventStatusChanged:
		body = &eventsv1.TicketStatusChanged{FromStatus: from, ToStatus: to}
	case ticket.EventReplied:
		body = &eventsv1.TicketReplied{
			EntryId: entryID.String(), Channel: protoconv.Channel(ev.MessageChannel), AsksCustomer: ev.AskedCustomer,
			FirstReply: ev.FirstReply, FromStatus: from, ToStatus: to,
		}
	case ticket.EventCustomerMessageAdded:
		body = &eventsv1.TicketCustomerMessageAdded{
			EntryId: entryID.String(), Channel: protoconv.Channel(ev.MessageChannel), FromStatus: from, ToStatus: to,
		}
	case ticket.EventNoteAdded:
		body = &eventsv1.TicketNoteAdded{EntryId: entryID.String()}
	case ticket.EventEscalated:
		body = &eventsv1.TicketEscalated{EscalationLevel: int32(ev.EscalationLevel), Status: protoconv.Status(t.Status)}
	case ticket.EventResolved:
		body = &eventsv1.TicketResolved{FromStatus: from, ToStatus: to, ResolutionNumber: int32(ev.ResolutionCount)}
	case ticket.EventClosed:
		body = &eventsv1.TicketClosed{FromStatus: from, ToStatus: to, Automatic: cc.automatic}
	case ticket.EventReopened:
		body = &eventsv1.TicketReopened{FromStatus: from, ToStatus: to, AssigneeId: uuidString(ev.AssigneeID)}
	case ticket.EventRated:
		body = &eventsv1.TicketRated{Rating: protoconv.Satisfaction(ev.Rating), CustomerUnreachable: ev.Waived,
			ResolutionNumber: int32(ev.ResolutionCount)}
	case ticket.EventArchived:
		body = &eventsv1.TicketArchived{FromStatus: from, ToStatus: to}
	default:
		return outbox.Message{}, fmt.Errorf("ticket %s: no event message for kind %s", t.ID, ev.Kind)
	}
	meta := &eventsv1.EventMeta{
		EventId: eventID.String(), Source: a.cfg.Source, AggregateId: t.ID.String(),
		AggregateSeq: ev.Seq, OccurredAt: timestamppb.New(ev.OccurredAt), Actor: protoconv.Actor(ev.Actor),
	}
	return outbox.NewEvent(events.Subject(aggregate, ev.Kind.String()), body, meta)
}

func uuidString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
