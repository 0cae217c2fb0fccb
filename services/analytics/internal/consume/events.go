// Package consume turns the event stream into the analytics projection: the durable consumer
// analytics-events takes every event (kefu.>) in batches and folds each batch's ticket events into the
// projection and rollups in one transaction, each event once (by the ticket's applied sequences; the
// events the projection does not read, by the inbox).
package consume

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/analytics/internal/app"
	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

// Consumer is the durable consumer of every event (STYLE §6: <service>-<purpose>).
const Consumer = "analytics-events"

// kinds maps the subjects the projection reads to their kinds; every other event is counted and skipped.
var kinds = map[string]facts.Kind{
	events.Subject("ticket", "created"):                facts.KindCreated,
	events.Subject("ticket", "updated"):                facts.KindUpdated,
	events.Subject("ticket", "assigned"):               facts.KindAssigned,
	events.Subject("ticket", "status_changed"):         facts.KindStatusChanged,
	events.Subject("ticket", "replied"):                facts.KindReplied,
	events.Subject("ticket", "customer_message_added"): facts.KindCustomerMessage,
	events.Subject("ticket", "resolved"):               facts.KindResolved,
	events.Subject("ticket", "reopened"):               facts.KindReopened,
	events.Subject("ticket", "closed"):                 facts.KindClosed,
	events.Subject("ticket", "archived"):               facts.KindArchived,
	events.Subject("ticket", "escalated"):              facts.KindEscalated,
	events.Subject("ticket", "rated"):                  facts.KindRated,
	events.Subject("sla", "applied"):                   facts.KindSLAApplied,
	events.Subject("sla", "warning"):                   facts.KindSLAWarning,
	events.Subject("sla", "breached"):                  facts.KindSLABreached,
	events.Subject("sla", "met"):                       facts.KindSLAMet,
	events.Subject("routing", "transfer_requested"):    facts.KindTransferRequested,
	events.Subject("routing", "transfer_accepted"):     facts.KindTransferAccepted,
}

// Events ingests the stream.
type Events struct {
	app *app.App
	log *slog.Logger
}

// NewEvents returns the consumer's handler.
func NewEvents(a *app.App, log *slog.Logger) *Events { return &Events{app: a, log: log} }

// Run consumes every event in batches of batchSize, concurrency batches at once, until ctx ends. Handle
// meets ConsumeBatches' terms for concurrency: the store locks tickets, histograms and rollup rows table
// by table in key order, and the projection is the same whatever order a ticket's events arrive in.
func (c *Events) Run(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, batchSize, concurrency int) error {
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: Consumer, FilterSubjects: []string{events.StreamSubjects}, Logger: c.log,
			SelfDeduplicated: SelfDeduplicated},
		BatchSize:   batchSize,
		Concurrency: concurrency,
	}, c.Handle)
}

// SelfDeduplicated reports the subjects the projection reads: it keeps each ticket's applied sequences
// (facts.Ticket.Applied), so their events need no inbox row. Every other event is only counted, and the
// inbox keeps it from being counted twice.
func SelfDeduplicated(subject string) bool {
	_, ok := kinds[subject]
	return ok
}

// Handle decodes a batch and folds it in tx: the ticket events into the projection, each once, and the
// others (new to the inbox) into the count of events ingested.
func (c *Events) Handle(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
	evs := make([]app.TicketEvent, 0, len(ds))
	for _, d := range ds {
		ev, ok, err := Decode(d)
		if err != nil {
			return err
		}
		if ok {
			evs = append(evs, ev)
		}
	}
	return c.app.Ingest(ctx, store.Wrap(tx), evs, len(ds)-len(evs))
}

// Decode reads one delivery; ok is false for an event the projection does not read. An undecodable event
// is permanent: no retry makes it readable.
func Decode(d events.Delivery) (app.TicketEvent, bool, error) {
	kind, ok := kinds[d.Subject]
	if !ok {
		return app.TicketEvent{}, false, nil
	}
	var msg interface {
		proto.Message
		GetMeta() *eventsv1.EventMeta
	}
	switch kind {
	case facts.KindCreated:
		msg = &eventsv1.TicketCreated{}
	case facts.KindUpdated:
		msg = &eventsv1.TicketUpdated{}
	case facts.KindAssigned:
		msg = &eventsv1.TicketAssigned{}
	case facts.KindStatusChanged:
		msg = &eventsv1.TicketStatusChanged{}
	case facts.KindReplied:
		msg = &eventsv1.TicketReplied{}
	case facts.KindCustomerMessage:
		msg = &eventsv1.TicketCustomerMessageAdded{}
	case facts.KindResolved:
		msg = &eventsv1.TicketResolved{}
	case facts.KindReopened:
		msg = &eventsv1.TicketReopened{}
	case facts.KindClosed:
		msg = &eventsv1.TicketClosed{}
	case facts.KindArchived:
		msg = &eventsv1.TicketArchived{}
	case facts.KindEscalated:
		msg = &eventsv1.TicketEscalated{}
	case facts.KindRated:
		msg = &eventsv1.TicketRated{}
	case facts.KindSLAApplied:
		msg = &eventsv1.SlaApplied{}
	case facts.KindSLAWarning:
		msg = &eventsv1.SlaWarning{}
	case facts.KindSLABreached:
		msg = &eventsv1.SlaBreached{}
	case facts.KindSLAMet:
		msg = &eventsv1.SlaMet{}
	case facts.KindTransferRequested:
		msg = &eventsv1.RoutingTransferRequested{}
	case facts.KindTransferAccepted:
		msg = &eventsv1.RoutingTransferAccepted{}
	}
	if err := proto.Unmarshal(d.Data, msg); err != nil {
		return app.TicketEvent{}, false, fmt.Errorf("decode %s: %w: %w", d.Subject, events.ErrPermanent, err)
	}
	meta := msg.GetMeta()
	id, err := uuid.Parse(meta.GetAggregateId())
	if err != nil || id == uuid.Nil {
		return app.TicketEvent{}, false, fmt.Errorf("%s: meta.aggregate_id %q is not an id: %w", d.Subject, meta.GetAggregateId(), events.ErrPermanent)
	}
	if meta.GetAggregateSeq() <= 0 || meta.GetOccurredAt() == nil {
		return app.TicketEvent{}, false, fmt.Errorf("%s: meta without sequence or time: %w", d.Subject, events.ErrPermanent)
	}
	e := facts.Event{Kind: kind, Seq: meta.GetAggregateSeq(), At: meta.GetOccurredAt().AsTime()}
	switch m := msg.(type) {
	case *eventsv1.TicketCreated:
		classify(&e, m.GetClassification())
		e.Channel, e.ToStatus = protocode.Code(m.GetChannel(), "CHANNEL_"), code(m.GetToStatus())
		if m.GetReceivedTime() != nil {
			e.ReceivedAt = m.GetReceivedTime().AsTime()
		}
		e.Topics = m.GetTopics()
	case *eventsv1.TicketUpdated:
		classify(&e, m.GetCurrent())
	case *eventsv1.TicketAssigned:
		e.GroupID, e.AssigneeID, e.ToStatus = m.GetGroupId(), m.GetAssigneeId(), code(m.GetToStatus())
	case *eventsv1.TicketStatusChanged:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketReplied:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketCustomerMessageAdded:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketResolved:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketReopened:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketClosed:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketArchived:
		e.ToStatus = code(m.GetToStatus())
	case *eventsv1.TicketRated:
		e.Rating = protocode.Code(m.GetRating(), "SATISFACTION_")
	case *eventsv1.SlaApplied:
		for _, dl := range m.GetDeadlines() {
			e.Targets = append(e.Targets, target(dl.GetTarget()))
		}
	case *eventsv1.SlaWarning:
		e.Targets = []string{target(m.GetTarget())}
	case *eventsv1.SlaBreached:
		e.Targets = []string{target(m.GetTarget())}
	case *eventsv1.SlaMet:
		e.Targets = []string{target(m.GetTarget())}
		e.Cycle, e.Elapsed = int(m.GetCycle()), m.GetElapsed().AsDuration()
	case *eventsv1.RoutingTransferAccepted:
		e.Wait = m.GetWait().AsDuration()
	}
	return app.TicketEvent{TicketID: id, Event: e}, true, nil
}

// code is a ticket status's code ("pending_customer").
func code(s intakev1.TicketStatus) string { return protocode.Code(s, "TICKET_STATUS_") }

func target(t eventsv1.SlaTarget) string { return protocode.Code(t, "SLA_TARGET_") }

func classify(e *facts.Event, c *eventsv1.TicketClassification) {
	e.Type, e.Subcategory = protocode.Code(c.GetType(), "TICKET_TYPE_"), c.GetSubcategory()
	e.Urgency, e.Level = protocode.Code(c.GetUrgency(), "URGENCY_"), protocode.Code(c.GetLevel(), "COMPLAINT_LEVEL_")
}
