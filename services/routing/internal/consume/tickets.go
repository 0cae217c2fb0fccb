// Package consume holds routing's event handlers: what routing does when intake's ticket events and the SLA
// service's breaches arrive. The durable consumer routing-tickets applies each one through the app's
// assignment engine, in the transaction that records the event in the inbox.
package consume

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// TicketsConsumer is the durable consumer of ticket events (STYLE §6: <service>-<purpose>).
const TicketsConsumer = "routing-tickets"

// Principal is routing's name at intake (its API key's principal, service:routing): the actor of the
// assignments routing makes, which come back as events routing has already applied.
const Principal = "routing"

// subjects maps the ticket events routing follows to the engine's kinds.
var subjects = map[string]app.EventKind{
	events.Subject("ticket", "created"):   app.EventCreated,
	events.Subject("ticket", "updated"):   app.EventUpdated,
	events.Subject("ticket", "assigned"):  app.EventAssigned,
	events.Subject("ticket", "reopened"):  app.EventReopened,
	events.Subject("ticket", "resolved"):  app.EventResolved,
	events.Subject("ticket", "closed"):    app.EventClosed,
	events.Subject("ticket", "archived"):  app.EventArchived,
	events.Subject("ticket", "escalated"): app.EventEscalated,
	events.Subject("sla", "breached"):     app.EventSLABreached,
}

// Tickets applies ticket events.
type Tickets struct {
	app *app.App
	log *slog.Logger
}

// NewTickets returns the handler set.
func NewTickets(a *app.App, log *slog.Logger) *Tickets { return &Tickets{app: a, log: log} }

// Batch bounds of the routing-tickets consumer. A transaction that places tickets holds every group's lock
// to its commit (app.HandleTicketEvents), so batches stay moderate: an agent's presence change or a
// transfer waits behind one batch's decisions, which are made set-wise in a few round trips.
const (
	batchSize    = 256
	batchMaxWait = 20 * time.Millisecond
)

// Run consumes the ticket events until ctx ends in batches split into shards by ticket (one ticket's events
// in order, in one transaction), shards transactions at a time.
func (c *Tickets) Run(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, shards int) error {
	filters := make([]string, 0, len(subjects))
	for s := range subjects {
		filters = append(filters, s)
	}
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: TicketsConsumer, FilterSubjects: filters, Logger: c.log},
		BatchSize:      batchSize, MaxWait: batchMaxWait, Shards: shards,
	}, c.HandleBatch)
}

// Handle decodes one ticket event and applies it in tx.
func (c *Tickets) Handle(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	return c.HandleBatch(ctx, tx, []events.Delivery{d})
}

// HandleBatch decodes ticket events and applies them in tx, in order.
func (c *Tickets) HandleBatch(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
	evs, err := events.DecodeAll(ds, Decode)
	if err != nil {
		return err
	}
	return c.app.HandleTicketEvents(ctx, store.Wrap(tx), evs)
}

// Decode turns a delivery into the engine's TicketEvent. An undecodable event is permanent: no retry
// makes it readable.
func Decode(d events.Delivery) (app.TicketEvent, error) {
	kind, ok := subjects[d.Subject]
	if !ok {
		return app.TicketEvent{}, fmt.Errorf("unexpected subject %s: %w", d.Subject, events.ErrPermanent)
	}
	var (
		msg  proto.Message
		meta func() *eventsv1.EventMeta
	)
	ev := app.TicketEvent{Kind: kind}
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
	case app.EventReopened:
		m := &eventsv1.TicketReopened{}
		msg, meta = m, m.GetMeta
	case app.EventResolved:
		m := &eventsv1.TicketResolved{}
		msg, meta = m, m.GetMeta
	case app.EventClosed:
		m := &eventsv1.TicketClosed{}
		msg, meta = m, m.GetMeta
	case app.EventArchived:
		m := &eventsv1.TicketArchived{}
		msg, meta = m, m.GetMeta
	case app.EventEscalated:
		m := &eventsv1.TicketEscalated{}
		msg, meta = m, m.GetMeta
	case app.EventSLABreached:
		m := &eventsv1.SlaBreached{}
		msg, meta = m, m.GetMeta
	}
	if err := proto.Unmarshal(d.Data, msg); err != nil {
		return ev, fmt.Errorf("decode %s: %w: %w", d.Subject, events.ErrPermanent, err)
	}
	var err error
	if ev.TicketID, err = parseID("meta.aggregate_id", meta().GetAggregateId(), true); err != nil {
		return ev, err
	}
	ev.Seq, ev.At = meta().GetAggregateSeq(), meta().GetOccurredAt().AsTime()
	actor := meta().GetActor()
	ev.ByRouting = actor.GetKind() == intakev1.ActorKind_ACTOR_KIND_SERVICE && actor.GetId() == Principal
	if ev.Seq <= 0 {
		return ev, fmt.Errorf("%s: meta.aggregate_seq %d: %w", d.Subject, ev.Seq, events.ErrPermanent)
	}
	switch m := msg.(type) {
	case *eventsv1.TicketCreated:
		ev.Facts, ev.Priority = facts(m.GetClassification()), int(m.GetClassification().GetPriority())
		ev.Facts.Channel, ev.Facts.Tier = protocode.Code(m.GetChannel(), "CHANNEL_"), m.GetCustomerTier()
		if ev.IncidentGroupID, err = parseID("incident_group_id", m.GetIncidentGroupId(), false); err != nil {
			return ev, err
		}
	case *eventsv1.TicketUpdated:
		ev.Facts, ev.Priority = facts(m.GetCurrent()), int(m.GetCurrent().GetPriority())
	case *eventsv1.TicketAssigned:
		if ev.GroupID, err = parseID("group_id", m.GetGroupId(), false); err != nil {
			return ev, err
		}
		if ev.AssigneeID, err = parseID("assignee_id", m.GetAssigneeId(), false); err != nil {
			return ev, err
		}
	case *eventsv1.SlaBreached:
		ev.NotifyOnly = m.GetAction() == eventsv1.SlaBreachAction_SLA_BREACH_ACTION_NOTIFY
	case *eventsv1.TicketReopened:
		if m.GetToStatus() == intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS {
			if ev.AssigneeID, err = parseID("assignee_id", m.GetAssigneeId(), false); err != nil {
				return ev, err
			}
		}
	}
	return ev, nil
}

// facts are a classification's codes. An updated event does not repeat the channel and tier, which the
// engine keeps from the created event.
func facts(c *eventsv1.TicketClassification) routing.Facts {
	return routing.Facts{Type: protocode.Code(c.GetType(), "TICKET_TYPE_"), Subcategory: c.GetSubcategory(),
		Level: protocode.Code(c.GetLevel(), "COMPLAINT_LEVEL_"), Urgency: protocode.Code(c.GetUrgency(), "URGENCY_")}
}

func parseID(field, s string, required bool) (uuid.UUID, error) {
	if s == "" && !required {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, fmt.Errorf("event field %s %q is not an id: %w", field, s, events.ErrPermanent)
	}
	return id, nil
}
