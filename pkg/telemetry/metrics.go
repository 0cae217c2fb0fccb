package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/sdk/metric"
)

// Metrics is a process's Prometheus endpoint: every instrument made through the global OpenTelemetry meter
// provider (gRPC requests through otelgrpc, pgx pool statistics, the outbox, consumers and each service's
// own) is exposed at /metrics, with the Go runtime's and the process's collectors.
type Metrics struct {
	// Handler serves the metrics in the Prometheus text format.
	Handler  http.Handler
	provider *metric.MeterProvider
}

// SetupMetrics installs a meter provider that exports to a private Prometheus registry as the process's
// global one (once, in main, before any instrument is made) and returns its handler.
func SetupMetrics(service string) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := metric.NewMeterProvider(metric.WithReader(exp), metric.WithResource(serviceResource(service)))
	otel.SetMeterProvider(mp)
	return &Metrics{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), provider: mp}, nil
}

// Serve serves /metrics on lis until ctx ends, then flushes the provider.
func (m *Metrics) Serve(ctx context.Context, lis net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return m.provider.Shutdown(sctx)
}
