// Package consume holds the SLA-timer service's event handlers: intake's ticket events and routing's
// transfer events drive each ticket's clocks. The durable consumer slatimer-tickets applies each one in
// the transaction that records the event in the inbox.
package consume

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/slatimer/internal/app"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// TicketsConsumer is the durable consumer of ticket events (STYLE §6: <service>-<purpose>).
const TicketsConsumer = "slatimer-tickets"

// subjects maps the events the service follows to the app's kinds.
var subjects = map[string]app.EventKind{
	events.Subject("ticket", "created"):                app.EventCreated,
	events.Subject("ticket", "updated"):                app.EventUpdated,
	events.Subject("ticket", "assigned"):               app.EventAssigned,
	events.Subject("ticket", "status_changed"):         app.EventStatusChanged,
	events.Subject("ticket", "replied"):                app.EventReplied,
	events.Subject("ticket", "customer_message_added"): app.EventCustomerMessage,
	events.Subject("ticket", "resolved"):               app.EventResolved,
	events.Subject("ticket", "reopened"):               app.EventReopened,
	events.Subject("ticket", "closed"):                 app.EventClosed,
	events.Subject("ticket", "archived"):               app.EventArchived,
	events.Subject("routing", "transfer_requested"):    app.EventTransferRequested,
	events.Subject("routing", "transfer_accepted"):     app.EventTransferAccepted,
}

// Tickets applies ticket events.
type Tickets struct {
	app *app.App
	log *slog.Logger
}

// NewTickets returns the handler set.
func NewTickets(a *app.App, log *slog.Logger) *Tickets { return &Tickets{app: a, log: log} }

// Filters returns the subjects the consumer follows, sorted.
func Filters() []string {
	out := make([]string, 0, len(subjects))
	for s := range subjects {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Batch bounds of the slatimer-tickets consumer: a batch is split by ticket into shards, each applied in
// one transaction (one commit, one disk flush, for all its events).
const (
	batchSize    = 256
	batchMaxWait = 20 * time.Millisecond
)

// Run consumes the events until ctx ends in batches split into shards by ticket (one ticket's events in
// order, in one transaction), shards transactions at a time.
func (c *Tickets) Run(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, shards int) error {
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: TicketsConsumer, FilterSubjects: Filters(), Logger: c.log},
		BatchSize:      batchSize, MaxWait: batchMaxWait, Shards: shards,
	}, c.HandleBatch)
}

// Handle decodes one event and applies it in tx.
func (c *Tickets) Handle(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	return c.HandleBatch(ctx, tx, []events.Delivery{d})
}

// HandleBatch decodes events and applies them in tx, in order.
func (c *Tickets) HandleBatch(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
	evs, err := events.DecodeAll(ds, Decode)
	if err != nil {
		return err
	}
	return c.app.HandleTicketEvents(ctx, store.Wrap(tx), evs)
}

// Decode turns a delivery into the app's TicketEvent. An undecodable event is permanent: no retry makes it
// readable.
func Decode(d events.Delivery) (app.TicketEvent, error) {
	kind, ok := subjects[d.Subject]
	if !ok {
		return app.TicketEvent{}, fmt.Errorf("unexpected subject %s: %w", d.Subject, events.ErrPermanent)
	}
	var (
		msg  proto.Message
		meta func() *eventsv1.EventMeta
	)
	switch kind {
	case app.EventCreated:
		m := &eventsv1.TicketCreated{}
		msg, meta = m, m.GetMeta
	case app.EventUpdated:
		m := &eventsv1.TicketUpdated{}
		msg, meta = m, m.GetMeta
	case app.EventAssigned:
		m := &eventsv1.TicketAssigned{}
		msg, meta = m, m.GetMeta
	case app.EventStatusChanged:
		m := &eventsv1.TicketStatusChanged{}
		msg, meta = m, m.GetMeta
	case app.EventReplied:
		m := &eventsv1.TicketReplied{}
		msg, meta = m, m.GetMeta
	case app.EventCustomerMessage:
		m := &eventsv1.TicketCustomerMessageAdded{}
		msg, meta = m, m.GetMeta
	case app.EventResolved:
		m := &eventsv1.TicketResolved{}
		msg, meta = m, m.GetMeta
	case app.EventReopened:
		m := &eventsv1.TicketReopened{}
		msg, meta = m, m.GetMeta
	case app.EventClosed:
		m := &eventsv1.TicketClosed{}
		msg, meta = m, m.GetMeta
	case app.EventArchived:
		m := &eventsv1.TicketArchived{}
		msg, meta = m, m.GetMeta
	case app.EventTransferRequested:
		m := &eventsv1.RoutingTransferRequested{}
		msg, meta = m, m.GetMeta
	case app.EventTransferAccepted:
		m := &eventsv1.RoutingTransferAccepted{}
		msg, meta = m, m.GetMeta
	}
	ev := app.TicketEvent{Kind: kind}
	if err := proto.Unmarshal(d.Data, msg); err != nil {
		return ev, fmt.Errorf("decode %s: %w: %w", d.Subject, events.ErrPermanent, err)
	}
	id, err := uuid.Parse(meta().GetAggregateId())
	if err != nil || id == uuid.Nil {
		return ev, fmt.Errorf("%s: meta.aggregate_id %q is not an id: %w", d.Subject, meta().GetAggregateId(), events.ErrPermanent)
	}
	ev.TicketID, ev.Seq, ev.At = id, meta().GetAggregateSeq(), meta().GetOccurredAt().AsTime()
	if ev.Seq <= 0 {
		return ev, fmt.Errorf("%s: meta.aggregate_seq %d: %w", d.Subject, ev.Seq, events.ErrPermanent)
	}
	if meta().GetOccurredAt() == nil {
		return ev, fmt.Errorf("%s: meta.occurred_at is missing: %w", d.Subject, events.ErrPermanent)
	}
	switch m := msg.(type) {
	case *eventsv1.TicketCreated:
		ev.Facts = facts(m.GetClassification())
		ev.Facts.Channel, ev.Facts.Tier = protocode.Code(m.GetChannel(), "CHANNEL_"), m.GetCustomerTier()
		ev.Subcategory = m.GetClassification().GetSubcategory()
		if m.GetReceivedTime() != nil {
			ev.ReceivedAt = m.GetReceivedTime().AsTime()
		}
	case *eventsv1.TicketUpdated:
		ev.Facts, ev.Subcategory = facts(m.GetCurrent()), m.GetCurrent().GetSubcategory()
	case *eventsv1.TicketAssigned:
		ev.ToStatus = protocode.Code(m.GetToStatus(), "TICKET_STATUS_")
		if g := m.GetGroupId(); g != "" {
			if ev.GroupID, err = uuid.Parse(g); err != nil {
				return ev, fmt.Errorf("%s: group_id %q is not an id: %w", d.Subject, g, events.ErrPermanent)
			}
		}
		if ev.AssigneeID, err = optionalID(d.Subject, "assignee_id", m.GetAssigneeId()); err != nil {
			return ev, err
		}
	case *eventsv1.TicketReopened:
		if ev.AssigneeID, err = optionalID(d.Subject, "assignee_id", m.GetAssigneeId()); err != nil {
			return ev, err
		}
	case *eventsv1.TicketStatusChanged:
		ev.ToStatus = protocode.Code(m.GetToStatus(), "TICKET_STATUS_")
	case *eventsv1.TicketReplied:
		ev.ToStatus = protocode.Code(m.GetToStatus(), "TICKET_STATUS_")
	case *eventsv1.TicketCustomerMessageAdded:
		ev.ToStatus = protocode.Code(m.GetToStatus(), "TICKET_STATUS_")
	case *eventsv1.RoutingTransferRequested:
		if m.GetAcceptDeadline() != nil {
			ev.Deadline = m.GetAcceptDeadline().AsTime()
		}
	}
	return ev, nil
}

// optionalID parses an event's id field; empty is uuid.Nil. A malformed one is permanent.
func optionalID(subject, field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s: %s %q is not an id: %w", subject, field, s, events.ErrPermanent)
	}
	return id, nil
}

// facts are a classification's codes (channel and tier come from the created event).
func facts(c *eventsv1.TicketClassification) sla.Facts {
	return sla.Facts{Type: protocode.Code(c.GetType(), "TICKET_TYPE_"), Level: protocode.Code(c.GetLevel(), "COMPLAINT_LEVEL_"),
		Urgency: protocode.Code(c.GetUrgency(), "URGENCY_")}
}
