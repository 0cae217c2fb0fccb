// Package consume holds intake's event handlers: what intake does when another service's events arrive.
// Today that is the customer service's kefu.customer.erased and kefu.customer.merged, consumed by the
// durable consumer intake-customer.
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
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/services/intake/internal/app"
)

// CustomerConsumer is the durable consumer of customer events (STYLE §6: <service>-<purpose>).
const CustomerConsumer = "intake-customer"

// Subjects of the customer events intake follows.
var (
	SubjectCustomerErased = events.Subject("customer", "erased")
	SubjectCustomerMerged = events.Subject("customer", "merged")
)

// Customer applies customer events to tickets.
type Customer struct {
	app *app.App
	log *slog.Logger
}

// NewCustomer returns the handler set.
func NewCustomer(a *app.App, log *slog.Logger) *Customer { return &Customer{app: a, log: log} }

// Run consumes kefu.customer.erased and kefu.customer.merged until ctx ends (events.Consume: the inbox
// row and the ack make each event count once). It tolerates a stream that does not exist yet: Consume
// retries creating the consumer with backoff until it does.
func (c *Customer) Run(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool) error {
	return events.Consume(ctx, js, pool, events.ConsumerConfig{
		Durable:        CustomerConsumer,
		FilterSubjects: []string{SubjectCustomerErased, SubjectCustomerMerged},
		Logger:         c.log,
	}, c.Handle)
}

// Handle applies one customer event. The inbox row is written in tx; the tickets change in the app's own
// short batch transactions (a customer may have thousands of tickets), before tx commits. That is safe
// because erasing and moving are idempotent: if tx then fails, the redelivery finds the work done or
// finishes it, and once tx commits the event is never applied again.
func (c *Customer) Handle(ctx context.Context, _ pgx.Tx, d events.Delivery) error {
	switch d.Subject {
	case SubjectCustomerErased:
		var ev eventsv1.CustomerErased
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, events.ErrPermanent, err)
		}
		id, err := customerID("meta.aggregate_id", ev.GetMeta().GetAggregateId())
		if err != nil {
			return err
		}
		n, err := c.app.EraseCustomer(ctx, id, ev.GetEraseCustomerWords())
		if err != nil {
			return fmt.Errorf("erase customer %s: %w", id, err)
		}
		c.log.InfoContext(ctx, "erased a customer's personal data from their tickets", logging.KeyEventID, d.EventID,
			"tickets", n, "customer_words", ev.GetEraseCustomerWords())
		return nil
	case SubjectCustomerMerged:
		var ev eventsv1.CustomerMerged
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, events.ErrPermanent, err)
		}
		dup, err := customerID("duplicate_id", ev.GetDuplicateId())
		if err != nil {
			return err
		}
		survivor, err := customerID("survivor_id", ev.GetSurvivorId())
		if err != nil {
			return err
		}
		if dup == survivor {
			return fmt.Errorf("%s: duplicate_id equals survivor_id: %w", d.Subject, events.ErrPermanent)
		}
		n, err := c.app.MergeCustomer(ctx, dup, survivor)
		if err != nil {
			return fmt.Errorf("move tickets of customer %s to %s: %w", dup, survivor, err)
		}
		c.log.InfoContext(ctx, "moved a merged customer's tickets to the surviving record", logging.KeyEventID, d.EventID,
			"tickets", n)
		return nil
	default:
		// The consumer's filter admits only the two subjects; anything else is a configuration mistake no
		// retry fixes.
		return fmt.Errorf("unexpected subject %s: %w", d.Subject, events.ErrPermanent)
	}
}

// customerID parses a customer id from an event; a bad one can never be applied.
func customerID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, fmt.Errorf("event field %s %q is not a customer id: %w", field, s, events.ErrPermanent)
	}
	return id, nil
}
