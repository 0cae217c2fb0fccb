package app

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// meters are the SLA timer's own instruments: how late warnings, breaches and reminders fire, and how
// many timers wait to fire.
type meters struct {
	lateness metric.Float64Histogram // kefu.sla.fire_lateness{kind}
}

func newMeters(st *store.Store) meters {
	m := otel.GetMeterProvider().Meter("kefu.dev/services/slatimer")
	lateness, _ := m.Float64Histogram("kefu.sla.fire_lateness", metric.WithUnit("s"),
		metric.WithDescription("Time from a warning's, breach's or progress reminder's instant to its firing."),
		metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
	pending, err := m.Int64ObservableGauge("kefu.sla.timers_pending", metric.WithUnit("{timer}"),
		metric.WithDescription("Clocks with a next firing instant: warnings, breaches and reminders still to fire."))
	if err == nil {
		_, _ = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
			if n, err := st.PendingTimers(ctx); err == nil {
				o.ObserveInt64(pending, n)
			}
			return nil
		}, pending)
	}
	return meters{lateness: lateness}
}

// recordFirings records how late each fired change was at now.
func (ms meters) recordFirings(ctx context.Context, changes []sla.Change, now time.Time) {
	for _, ch := range changes {
		if ch.At.IsZero() {
			continue
		}
		ms.lateness.Record(ctx, max(now.Sub(ch.At), 0).Seconds(), metric.WithAttributes(attribute.String("kind", string(ch.Kind))))
	}
}
