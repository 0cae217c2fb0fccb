package platform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"kefu.dev/pkg/events"
)

// observeTimeout bounds the queries one metrics collection runs: a scrape never hangs on a slow database.
const observeTimeout = 2 * time.Second

// registerMetrics adds what every service reports through the global meter provider (a no-op until the
// process installs one, telemetry.SetupMetrics): the Postgres pool's statistics; the outbox backlog and
// the age of its oldest unpublished event (a stuck relay shows as a growing age); events parked in
// dead_letters; and, for each of the service's durable consumers on the KEFU stream, the events not yet
// delivered, those delivered and awaiting their ack, and the redeliveries (consumer lag).
func (p *Platform) registerMetrics(ctx context.Context) error {
	svc := attribute.String("service", p.o.Name) // several services share one process in the dev stack
	if err := otelpgx.RecordStats(p.Pool, otelpgx.WithStatsAttributes(svc)); err != nil {
		return fmt.Errorf("pool metrics: %w", err)
	}
	m := otel.GetMeterProvider().Meter("kefu.dev/pkg/platform")
	backlog, err := m.Int64ObservableGauge("kefu.outbox.backlog", metric.WithUnit("{event}"),
		metric.WithDescription("Events written to the outbox and not yet published."))
	if err != nil {
		return err
	}
	oldest, err := m.Float64ObservableGauge("kefu.outbox.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest unpublished outbox event (0 when none)."))
	if err != nil {
		return err
	}
	parked, err := m.Int64ObservableGauge("kefu.events.dead_letters", metric.WithUnit("{event}"),
		metric.WithDescription("Events the service's consumers parked after their last delivery failed and no replay has applied."))
	if err != nil {
		return err
	}
	pending, err := m.Int64ObservableGauge("kefu.consumer.pending", metric.WithUnit("{event}"),
		metric.WithDescription("Events in the stream a durable consumer has not been delivered yet (its lag)."))
	if err != nil {
		return err
	}
	ackPending, err := m.Int64ObservableGauge("kefu.consumer.ack_pending", metric.WithUnit("{event}"),
		metric.WithDescription("Events delivered to a durable consumer and not acknowledged yet."))
	if err != nil {
		return err
	}
	redelivered, err := m.Int64ObservableGauge("kefu.consumer.redelivered", metric.WithUnit("{event}"),
		metric.WithDescription("Events a durable consumer has had delivered more than once and not yet acknowledged."))
	if err != nil {
		return err
	}
	prefix := p.o.Name + "-"
	// Only services that consume events have the inbox's dead_letters table.
	var hasDeadLetters bool
	lctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	if err := p.Pool.QueryRow(lctx, `SELECT to_regclass('dead_letters') IS NOT NULL`).Scan(&hasDeadLetters); err != nil {
		return fmt.Errorf("look for dead_letters: %w", err)
	}
	_, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		var n int64
		var age float64
		own := metric.WithAttributes(svc)
		if err := p.Pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
			FROM outbox WHERE published_at IS NULL`).Scan(&n, &age); err == nil {
			o.ObserveInt64(backlog, n, own)
			o.ObserveFloat64(oldest, age, own)
		}
		if hasDeadLetters {
			if n, err := events.ParkedCount(ctx, p.Pool); err == nil {
				o.ObserveInt64(parked, n, own)
			}
		}
		if p.JS == nil {
			return nil
		}
		stream, err := p.JS.Stream(ctx, events.StreamName)
		if err != nil {
			return nil // no stream yet: nothing to report
		}
		names := stream.ConsumerNames(ctx)
		for name := range names.Name() {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			c, err := stream.Consumer(ctx, name)
			if err != nil {
				continue
			}
			info, err := c.Info(ctx)
			if err != nil {
				continue
			}
			attrs := metric.WithAttributes(attribute.String("consumer", name))
			o.ObserveInt64(pending, int64(info.NumPending), attrs)
			o.ObserveInt64(ackPending, int64(info.NumAckPending), attrs)
			o.ObserveInt64(redelivered, int64(info.NumRedelivered), attrs)
		}
		return nil
	}, backlog, oldest, parked, pending, ackPending, redelivered)
	return err
}
