// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_* variables. It is off unless an
// exporter is configured (OTEL_TRACES_EXPORTER, or an OTLP endpoint), but the W3C propagator is always
// installed so trace context still flows through a process that records nothing.
package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// Setup installs the global tracer provider and propagator for this process (once, in main) and returns
// a shutdown function that flushes spans. getenv is os.Getenv in main.
func Setup(ctx context.Context, service string, getenv func(string) string) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	exp := getenv("OTEL_TRACES_EXPORTER")
	if exp == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	if exp == "none" {
		return func(context.Context) error { return nil }, nil
	}
	se, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("otel span exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(se), sdktrace.WithResource(serviceResource(service)))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// serviceResource names the process's service in its traces and metrics. The service name is schemaless:
// merged with a schema URL other than the default resource's, the merge fails and the name would be lost.
func serviceResource(service string) *resource.Resource {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return resource.Default()
	}
	return res
}
