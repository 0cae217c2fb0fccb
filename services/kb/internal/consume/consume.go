// Package consume runs the knowledge base's durable consumer kb-tickets: it keeps each ticket's current
// subcategory and creation time from kefu.ticket.created and kefu.ticket.updated, for the report of
// subcategories with many tickets and no article. Each event is applied in the transaction that records
// it in the inbox, so a redelivery changes nothing, and an older event than the one applied changes
// nothing either (the ticket's sequence).
package consume

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/services/kb/internal/app"
)

// TicketsConsumer is the durable consumer's name (STYLE §6: <service>-<purpose>).
const TicketsConsumer = "kb-tickets"

// Tickets runs kb-tickets until ctx ends, in batches split by ticket into up to workers transactions at a
// time (one ticket's events in order, in one): a commit per batch rather than per event.
func Tickets(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, workers int, log *slog.Logger) error {
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: TicketsConsumer,
			FilterSubjects: []string{app.SubjectTicketCreated, app.SubjectTicketUpdated}, Logger: log},
		BatchSize: 256, MaxWait: 20 * time.Millisecond, Shards: workers,
	}, events.Each(a.HandleTicketEvent))
}
