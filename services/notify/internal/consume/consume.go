// Package consume runs the notify service's durable consumers: notify-messages turns kefu.ticket.created,
// kefu.ticket.replied and kefu.sla.progress_due (when the customer is to be told) into outbound messages, notify-incidents sends incident announcements,
// notify-customers applies erasures and merges to them, and
// notify-webhooks writes a delivery of every event (kefu.>) for each webhook subscribed to its subject. Each applies its events in the transaction that
// records them in the inbox, so a redelivery changes nothing.
package consume

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/services/notify/internal/app"
)

// Durable consumer names (STYLE §6: <service>-<purpose>).
const (
	MessagesConsumer  = "notify-messages"
	CustomersConsumer = "notify-customers"
	IncidentsConsumer = "notify-incidents"
	WebhooksConsumer  = "notify-webhooks"
)

// Messages runs notify-messages until ctx ends, in batches split by ticket into up to workers transactions
// at a time (one ticket's events in order, in one: its acknowledgement before its replies). A batch saves a
// commit per message, and reads its tickets and contacts at once before making the messages in order; it
// stays small because those reads are calls to intake and customer.
func Messages(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, workers int, log *slog.Logger) error {
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: MessagesConsumer,
			FilterSubjects: []string{app.SubjectTicketCreated, app.SubjectTicketReplied, app.SubjectProgressDue},
			Logger:         log, AfterCommit: a.AfterCommit},
		BatchSize: 128, MaxWait: 20 * time.Millisecond, Shards: workers,
	}, a.HandleTicketEvents)
}

// Customers runs notify-customers until ctx ends.
func Customers(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, log *slog.Logger) error {
	return events.Consume(ctx, js, pool, events.ConsumerConfig{
		Durable: CustomersConsumer, FilterSubjects: []string{app.SubjectCustomerErased, app.SubjectCustomerMerged}, Logger: log,
	}, a.HandleCustomerEvent)
}

// Incidents runs notify-incidents (incident announcements) until ctx ends. An announcement may reach
// thousands of customers, so it gets a long ack wait.
func Incidents(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, log *slog.Logger) error {
	return events.Consume(ctx, js, pool, events.ConsumerConfig{
		Durable: IncidentsConsumer, FilterSubjects: []string{app.SubjectIncidentAnnounced}, Logger: log, AckWait: 10 * time.Minute,
	}, a.HandleIncidentEvent)
}

// Webhooks runs notify-webhooks until ctx ends, in batches: fan-out is one insert per subscriber and
// event, and a backlog (a subscriber added, the service down a while) should drain fast.
func Webhooks(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, log *slog.Logger) error {
	return events.ConsumeBatches(ctx, js, pool, events.BatchConfig{
		ConsumerConfig: events.ConsumerConfig{Durable: WebhooksConsumer, FilterSubjects: []string{events.StreamSubjects},
			Logger: log, AfterCommit: a.WakeSender},
		BatchSize: 500,
	}, a.FanOut)
}
