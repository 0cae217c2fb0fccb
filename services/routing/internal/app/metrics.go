package app

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"kefu.dev/services/routing/internal/store"
)

// registerMetrics reports each group's queue: the tickets waiting for an agent and how long the oldest
// has waited (at collection time, from the database, so every replica reports the same).
func registerMetrics(st *store.Store) {
	m := otel.GetMeterProvider().Meter("kefu.dev/services/routing")
	depth, err1 := m.Int64ObservableGauge("kefu.routing.queue_depth", metric.WithUnit("{ticket}"),
		metric.WithDescription("Tickets waiting in a group's queue."))
	oldest, err2 := m.Float64ObservableGauge("kefu.routing.oldest_wait", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest ticket in a group's queue has waited."))
	if err1 != nil || err2 != nil {
		return
	}
	_, _ = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		qs, err := st.QueueMetrics(ctx)
		if err != nil {
			return nil
		}
		for _, q := range qs {
			attrs := metric.WithAttributes(attribute.String("group_id", q.GroupID))
			o.ObserveInt64(depth, q.Depth, attrs)
			o.ObserveFloat64(oldest, q.OldestWait, attrs)
		}
		return nil
	}, depth, oldest)
}
