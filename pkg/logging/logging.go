// Package logging builds kefu's JSON slog loggers and names the attribute keys every service uses. Records
// logged with a context carry the trace_id and span_id of the active span, so logs join traces.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Attribute keys: snake_case, shared by every service. Never log personal data under any key.
const (
	KeyService   = "service"
	KeyTicketID  = "ticket_id"
	KeyEventID   = "event_id"
	KeyConsumer  = "consumer"
	KeyMethod    = "method"
	KeyCode      = "code"
	KeyDuration  = "duration_ms"
	KeyRef       = "ref"
	KeyPrincipal = "principal_kind"
	KeyTraceID   = "trace_id"
	KeySpanID    = "span_id"
	KeyError     = "error"
)

// New returns a JSON logger writing to w at level, tagged with the service name.
func New(w io.Writer, level slog.Leveler, service string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{h}).With(KeyService, service)
}

// traceHandler adds the active span's ids to every record logged with a context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// Discard returns a logger that drops everything (tests that do not read logs).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
