package app

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/store"
)

// meters are the notify service's own instruments.
type meters struct {
	attempts metric.Int64Counter // kefu.webhook.attempts{result}
	messages metric.Int64Counter // kefu.messages.created{kind, state}
}

// newMeters makes the instruments on the global provider and the gauge of deliveries waiting.
func newMeters(st *store.Store) meters {
	m := otel.GetMeterProvider().Meter("kefu.dev/services/notify")
	attempts, _ := m.Int64Counter("kefu.webhook.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Webhook POSTs by result: delivered (2xx), retry (failed, will be retried) or dead."))
	messages, _ := m.Int64Counter("kefu.messages.created", metric.WithUnit("{message}"),
		metric.WithDescription("Outbound messages made, by kind and initial state (queued, or failed with no usable contact)."))
	pending, err := m.Int64ObservableGauge("kefu.webhook.pending", metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries waiting for their first attempt or a retry."))
	if err == nil {
		_, _ = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
			n, err := st.PendingDeliveries(ctx)
			if err == nil {
				o.ObserveInt64(pending, n)
			}
			return nil
		}, pending)
	}
	return meters{attempts: attempts, messages: messages}
}

// recordAttempts counts a round of attempts by what followed them.
func (ms meters) recordAttempts(ctx context.Context, rs []store.Result) {
	for _, r := range rs {
		result := "retry"
		switch r.Next {
		case delivery.DeliveryDone:
			result = "delivered"
		case delivery.DeliveryDead:
			result = "dead"
		}
		ms.attempts.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	}
}
