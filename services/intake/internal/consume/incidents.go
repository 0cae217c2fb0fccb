package consume

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/services/intake/internal/app"
)

// IncidentsConsumer is the durable consumer of the signals emergency mode follows: analytics' volume
// surges (suggestions for supervisors) and SLA breaches (counted on the breached ticket's incident).
const IncidentsConsumer = "intake-incidents"

// RunIncidents consumes kefu.analytics.volume_surge and kefu.sla.breached until ctx ends, each applied in
// the transaction that records it in the inbox.
func RunIncidents(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, a *app.App, log *slog.Logger) error {
	return events.Consume(ctx, js, pool, events.ConsumerConfig{
		Durable: IncidentsConsumer, FilterSubjects: []string{app.SubjectVolumeSurge, app.SubjectSLABreached}, Logger: log,
	}, a.HandleIncidentSignal)
}
