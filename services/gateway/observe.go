package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"kefu.dev/pkg/logging"
)

// Log keys the gateway adds to pkg/logging's shared ones.
const (
	keyRoute  = "route"
	keyRPC    = "rpc"
	keyStatus = "status"
)

// requestInfo collects, while one request is served, what its log line and span need but only inner
// layers learn: the matched route, the RPC, the error code, and a cause hidden from the client. One
// goroutine serves a request (the unary gRPC call runs in it), so no lock is needed.
type requestInfo struct {
	method string
	route  string
	rpc    string
	code   string
	cause  string
	ref    string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// noteRoute records the route grpc-gateway matched (its template, e.g. /v1/tickets/{ticket_id}, never
// the raw path with ids in it) and renames the server span "{method} {route}" per HTTP semantic
// conventions.
func noteRoute(ctx context.Context) {
	pattern, ok := runtime.HTTPPathPattern(ctx)
	if !ok {
		return
	}
	rpc, _ := runtime.RPCMethod(ctx)
	setRoute(ctx, pattern, rpc)
}

func setRoute(ctx context.Context, pattern, rpc string) {
	info := infoFrom(ctx)
	if info == nil {
		return
	}
	info.route, info.rpc = pattern, rpc
	route := attribute.String("http.route", pattern)
	span := trace.SpanFromContext(ctx)
	span.SetName(info.method + " " + pattern)
	span.SetAttributes(route)
	if l, ok := otelhttp.LabelerFromContext(ctx); ok {
		l.Add(route)
	}
}

// noteCode records the status name of an error answer.
func noteCode(ctx context.Context, c codes.Code) {
	if info := infoFrom(ctx); info != nil {
		info.code = code.Code(c).String()
	}
}

// noteCause records why a request failed on the server side; the client sees only the ref. The first
// cause wins: it is the closest to the fault.
func noteCause(ctx context.Context, cause, ref string) {
	if info := infoFrom(ctx); info != nil && info.cause == "" {
		info.cause, info.ref = cause, ref
	}
}

// observe writes one JSON log line per request: method, route template (when a route matched), RPC,
// HTTP status, duration and, for errors, the status name and any hidden cause. It never logs bodies,
// paths or query strings, which can hold personal data. It also turns a panic into a 500 in the error
// shape. Failed requests with 5xx log at Error; successful probes at Debug, so they do not flood the log.
func observe(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{method: r.Method}
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				ref := newRef()
				noteCause(ctx, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()), ref)
				if rec.status == 0 {
					writeStatus(ctx, rec, http.StatusInternalServerError, status.Newf(codes.Internal, "internal error (ref %s)", ref))
				}
			}
			logRequest(ctx, logger, info, rec.status, time.Since(start), isProbe(r))
		}()
		next.ServeHTTP(rec, r)
	})
}

func logRequest(ctx context.Context, logger *slog.Logger, info *requestInfo, httpStatus int, d time.Duration, probe bool) {
	if httpStatus == 0 {
		httpStatus = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs, slog.String(logging.KeyMethod, info.method))
	if info.route != "" {
		attrs = append(attrs, slog.String(keyRoute, info.route))
	}
	if info.rpc != "" {
		attrs = append(attrs, slog.String(keyRPC, info.rpc))
	}
	attrs = append(attrs,
		slog.Int(keyStatus, httpStatus),
		slog.Float64(logging.KeyDuration, float64(d.Microseconds())/1000),
	)
	if info.code != "" {
		attrs = append(attrs, slog.String(logging.KeyCode, info.code))
	}
	if info.cause != "" {
		attrs = append(attrs, slog.String(logging.KeyError, info.cause), slog.String(logging.KeyRef, info.ref))
	}
	level := slog.LevelInfo
	switch {
	case httpStatus >= http.StatusInternalServerError:
		level = slog.LevelError
	case probe && httpStatus < http.StatusBadRequest:
		level = slog.LevelDebug
	}
	logger.LogAttrs(ctx, level, "http request", attrs...)
}

// isProbe tells health probes apart: they are not traced and log at Debug when they succeed.
func isProbe(r *http.Request) bool {
	return r.URL.Path == pathHealthz || r.URL.Path == pathReadyz
}

// statusRecorder remembers the status a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(c int) {
	if s.status == 0 && c >= http.StatusOK {
		s.status = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
