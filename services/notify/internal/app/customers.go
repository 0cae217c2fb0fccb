package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/services/notify/internal/store"
)

// Subjects of the customer events notify follows.
var (
	SubjectCustomerErased = events.Subject("customer", "erased")
	SubjectCustomerMerged = events.Subject("customer", "merged")
)

// HandleCustomerEvent applies a customer's erasure (PIPL art. 47: their addresses and message texts go,
// and nothing personal is sent to them any more) or merge (their messages follow the survivor) in the
// consumer's transaction.
func (a *App) HandleCustomerEvent(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	switch d.Subject {
	case SubjectCustomerErased:
		var ev eventsv1.CustomerErased
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		id, err := uuid.Parse(ev.GetMeta().GetAggregateId())
		if err != nil {
			return fmt.Errorf("customer id: %w: %w", err, events.ErrPermanent)
		}
		n, err := store.Wrap(tx).EraseCustomer(ctx, id, a.clock.Now())
		if err == nil && n > 0 {
			a.log.InfoContext(ctx, "erased a customer's messages", "customer_id", id.String(), "messages", n)
		}
		return err
	case SubjectCustomerMerged:
		var ev eventsv1.CustomerMerged
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		dup, err1 := uuid.Parse(ev.GetDuplicateId())
		surv, err2 := uuid.Parse(ev.GetSurvivorId())
		if err1 != nil || err2 != nil {
			return fmt.Errorf("merge ids: %w", events.ErrPermanent)
		}
		return store.Wrap(tx).MoveCustomer(ctx, dup, surv)
	}
	return nil
}
