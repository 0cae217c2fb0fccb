// Package grpcx builds kefu's gRPC servers and clients: the fixed interceptor chain (recovery → request
// log → error mapping → authentication and permission → validation → handler), health, reflection (dev
// only), OpenTelemetry, and the one place where errors become statuses.
package grpcx

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
)

// ServerOptions configures NewServer.
type ServerOptions struct {
	Logger *slog.Logger
	// Auth authenticates callers. Nil refuses every call but health checks (and reflection when on).
	Auth *auth.Authenticator
	// Reflection serves server reflection without credentials. Dev only: it lists every method.
	Reflection bool
	// Anonymous, with Auth nil, runs every call as this principal without credentials. It exists only so
	// `make bench` can measure authentication's cost against a baseline without it; no flag or variable
	// of any binary sets it. The permission check still applies.
	Anonymous *auth.Principal
	// Audit records the calls the policy table marks (pkg/auth/audit's Writer); nil records nothing.
	Audit Auditor
	// Limiter and Limits rate-limit each principal (pkg/auth/ratelimit's Limiter); nil Limiter: no limits.
	Limiter RateLimiter
	Limits  auth.Limits
	// Clock stamps audit records; nil is the real clock.
	Clock clock.Clock
	// MaxConnectionAge closes each client connection this long after it opened (with a GOAWAY, after
	// which the client reconnects and resolves the service's name again), so callers spread over
	// replicas that started after they connected; default DefaultMaxConnectionAge, negative: never.
	MaxConnectionAge time.Duration
}

// DefaultMaxConnectionAge is how long a client connection lives by default. Calls in flight when it
// ends get connectionAgeGrace to finish.
const (
	DefaultMaxConnectionAge = 2 * time.Minute
	connectionAgeGrace      = DefaultCallTimeout + 5*time.Second
)

// Server is a gRPC server with its health service.
type Server struct {
	*grpc.Server
	Health     *health.Server
	reflection bool
}

// streamWorkers is how many request workers a server keeps (see NewServer).
const streamWorkers = 64

// NewServer returns a gRPC server with kefu's interceptor chain, grpc.health.v1 (SERVING) and, when
// asked, reflection. Register services on it, then serve it with ServeUntil, which refuses to start while
// a registered method has no entry in auth's policy table.
func NewServer(o ServerOptions, extra ...grpc.ServerOption) (*Server, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	c := newCodec()
	g := &guard{authn: o.Auth, anon: o.Anonymous, reflection: o.Reflection, audit: o.Audit, limiter: o.Limiter,
		limits: o.Limits, log: o.Logger, clock: o.Clock}
	if g.clock == nil {
		g.clock = clock.Real{}
	}
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(c),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		// Requests run on long-lived workers whose stacks have already grown to what a handler needs, instead
		// of a fresh goroutine per call whose stack is copied several times on the way down (copystack was 4%
		// of intake's CPU under load). Calls beyond the workers still get their own goroutine.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(
			recovery(o.Logger),
			requestLog(o.Logger),
			mapErrors(),
			g.unary(),
			validate(c, v),
		),
		grpc.ChainStreamInterceptor(g.stream()),
	}
	if age := o.MaxConnectionAge; age >= 0 {
		if age == 0 {
			age = DefaultMaxConnectionAge
		}
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: age, MaxConnectionAgeGrace: connectionAgeGrace}))
	}
	s := grpc.NewServer(append(opts, extra...)...)
	h := health.NewServer()
	healthpb.RegisterHealthServer(s, h)
	if o.Reflection {
		reflection.Register(s)
	}
	return &Server{Server: s, Health: h, reflection: o.Reflection}, nil
}

// CheckPolicy returns an error naming every registered method that is neither open (health, dev
// reflection) nor in auth's policy table: such a method would be denied to everyone, and a new RPC must
// come with its decision.
func (s *Server) CheckPolicy() error {
	var missing []string
	for svc, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			if _, ok := auth.RuleFor(full); !ok && !open(full, s.reflection) {
				missing = append(missing, full)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("methods without an entry in the policy table (pkg/auth/policy.go): %s", strings.Join(missing, ", "))
	}
	return nil
}

// Stop marks the server NOT_SERVING, then stops gracefully within timeout, then hard.
func (s *Server) Stop(timeout time.Duration) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.Server.Stop()
		<-done
	}
}

type refKey struct{}

// recovery turns a panic into Internal with a reference id; the stack is logged, never sent.
func recovery(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				ref := newRef()
				log.ErrorContext(ctx, "panic in handler", logging.KeyMethod, info.FullMethod, logging.KeyRef, ref,
					"panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "internal error (ref %s)", ref)
			}
		}()
		return h(ctx, req)
	}
}

// requestLog writes one line per call with the final code. Client errors log at Info; Internal and
// Unavailable at Error with the cause (kept in ctx by mapErrors).
func requestLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == healthpb.Health_Check_FullMethodName {
			return h(ctx, req)
		}
		start := time.Now()
		cause := &causeHolder{}
		resp, err := h(context.WithValue(ctx, refKey{}, cause), req)
		code := status.Code(err)
		attrs := []any{
			logging.KeyMethod, info.FullMethod,
			logging.KeyCode, code.String(),
			logging.KeyDuration, float64(time.Since(start).Microseconds()) / 1000,
		}
		if p, ok := auth.FromContext(ctx); ok {
			attrs = append(attrs, logging.KeyPrincipal, p.Kind)
		}
		switch code {
		case codes.OK:
			log.DebugContext(ctx, "rpc", attrs...)
		case codes.Internal, codes.Unavailable, codes.Unknown, codes.DataLoss:
			if cause.err != nil {
				attrs = append(attrs, logging.KeyRef, cause.ref, logging.KeyError, cause.err.Error())
			}
			log.ErrorContext(ctx, "rpc", attrs...)
		default:
			log.InfoContext(ctx, "rpc", attrs...)
		}
		return resp, err
	}
}

type causeHolder struct {
	err error
	ref string
}

// mapErrors turns every error into a status (see ToStatus) and hands the cause of server-side errors to
// the request log.
func mapErrors() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err == nil {
			return resp, nil
		}
		st, ref := ToStatus(err)
		if ch, ok := ctx.Value(refKey{}).(*causeHolder); ok && ref != "" {
			ch.err, ch.ref = err, ref
		}
		return nil, st.Err()
	}
}

// validate rejects undecodable strings (found by the codec), NUL bytes anywhere, and protovalidate
// violations, each as InvalidArgument naming the field.
func validate(c *codec, v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if field, bad := c.takeViolation(req); bad {
			return nil, apierr.InvalidField(field, "must be valid UTF-8")
		}
		m, ok := req.(proto.Message)
		if !ok {
			return h(ctx, req)
		}
		if field := findNUL(m.ProtoReflect(), ""); field != "" {
			return nil, apierr.InvalidField(field, "must not contain NUL bytes")
		}
		if err := v.Validate(m); err != nil {
			return nil, fromValidation(err)
		}
		return h(ctx, req)
	}
}
