package events

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts NATS headers to OpenTelemetry's TextMapCarrier, so a propagator can write and read
// the W3C traceparent/tracestate headers of a message. NATS header keys are case-sensitive; the W3C
// propagator uses lower-case keys on both sides.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string { return nats.Header(c).Get(key) }

// Set replaces the values of key.
func (c HeaderCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

// Keys lists the header names present.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// InjectTrace writes ctx's trace context into h with prop, or with the global propagator when prop is nil.
// The global one is read at call time, not cached, so telemetry set up after construction still applies.
func InjectTrace(ctx context.Context, prop propagation.TextMapPropagator, h nats.Header) {
	propagator(prop).Inject(ctx, HeaderCarrier(h))
}

// ExtractTrace returns ctx carrying the remote trace context found in h (if any), read with prop or the
// global propagator when prop is nil.
func ExtractTrace(ctx context.Context, prop propagation.TextMapPropagator, h nats.Header) context.Context {
	return propagator(prop).Extract(ctx, HeaderCarrier(h))
}

func propagator(p propagation.TextMapPropagator) propagation.TextMapPropagator {
	if p != nil {
		return p
	}
	return otel.GetTextMapPropagator()
}
