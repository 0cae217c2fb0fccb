package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/kb/internal/store"
)

// Subjects kb consumes: a ticket's creation and its reclassification.
var (
	SubjectTicketCreated = events.Subject("ticket", "created")
	SubjectTicketUpdated = events.Subject("ticket", "updated")
)

// HandleTicketEvent keeps the projection of tickets' subcategories, in the consumer's transaction.
func (a *App) HandleTicketEvent(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	var (
		meta    *eventsv1.EventMeta
		class   *eventsv1.TicketClassification
		created *time.Time
	)
	switch d.Subject {
	case SubjectTicketCreated:
		var ev eventsv1.TicketCreated
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		meta, class = ev.GetMeta(), ev.GetClassification()
		at := meta.GetOccurredAt().AsTime().UTC()
		created = &at
	case SubjectTicketUpdated:
		var ev eventsv1.TicketUpdated
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		meta, class = ev.GetMeta(), ev.GetCurrent()
	default:
		return nil
	}
	id, err := uuid.Parse(meta.GetAggregateId())
	if err != nil {
		return fmt.Errorf("%s: aggregate id %q: %w", d.Subject, meta.GetAggregateId(), events.ErrPermanent)
	}
	return store.Wrap(tx).ApplyTicket(ctx, id, FullSubcategory(class.GetType(), class.GetSubcategory()), meta.GetAggregateSeq(), created)
}

// FullSubcategory renders a ticket's type and subcategory as the full code articles link
// ("request.refund"); "" when either is missing.
func FullSubcategory(typ intakev1.TicketType, code string) string {
	t := protocode.Code(typ, "TICKET_TYPE_")
	if t == "" || code == "" {
		return ""
	}
	return t + "." + code
}
