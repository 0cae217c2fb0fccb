// Package grpcx builds kefu's gRPC servers and clients: the fixed interceptor chain (recovery → request
// log → error mapping → authentication and permission → validation → handler), health, reflection (dev
// only), OpenTelemetry, and the one place where errors become statuses.
package grpcx

import (
	"context"
	"errors"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
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
}

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
			authorize(o.Auth, o.Anonymous, o.Reflection),
			validate(c, v),
		),
		grpc.ChainStreamInterceptor(authorizeStream(o.Auth, o.Anonymous, o.Reflection)),
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

// open reports whether a method needs no credentials: health checks always, reflection in dev mode.
func open(fullMethod string, reflection bool) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		(reflection && strings.HasPrefix(fullMethod, "/grpc.reflection."))
}

// authorize authenticates the caller (Unauthenticated), then checks the method's permission in the policy
// table (PermissionDenied; a method without an entry is denied to all), and puts the principal into the
// context. It runs before validation, so an unauthorised caller learns nothing about a request's shape.
// Object scope comes last, in the service, where the objects are.
func authorize(a *auth.Authenticator, anon *auth.Principal, reflection bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if open(info.FullMethod, reflection) {
			return h(ctx, req)
		}
		ctx, err := authorizeCall(ctx, a, anon, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// authorizeStream is authorize for streaming methods (health Watch and reflection are the open ones).
func authorizeStream(a *auth.Authenticator, anon *auth.Principal, reflection bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if open(info.FullMethod, reflection) {
			return h(srv, ss)
		}
		ctx, err := authorizeCall(ss.Context(), a, anon, info.FullMethod)
		if err != nil {
			st, _ := ToStatus(err)
			return st.Err()
		}
		return h(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

func authorizeCall(ctx context.Context, a *auth.Authenticator, anon *auth.Principal, fullMethod string) (context.Context, error) {
	p, err := authenticate(ctx, a, anon)
	if err != nil {
		return nil, err
	}
	rule, ok := auth.RuleFor(fullMethod)
	if !ok || !p.Can(rule.Permission) {
		perm := string(rule.Permission)
		if !ok {
			perm = "a decision in the policy table"
		}
		return nil, apierr.New(apierr.KindPermissionDenied, "PERMISSION_DENIED", "the caller lacks %s", perm)
	}
	return auth.WithPrincipal(ctx, p), nil
}

// authenticate returns the caller's principal from the authorization metadata.
func authenticate(ctx context.Context, a *auth.Authenticator, anon *auth.Principal) (auth.Principal, error) {
	if a == nil {
		if anon != nil {
			return *anon, nil
		}
		return auth.Principal{}, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "this server accepts no credentials")
	}
	var cred string
	// ValueFromIncomingContext reads one key without copying the whole metadata map.
	if vs := metadata.ValueFromIncomingContext(ctx, auth.AuthorizationKey); len(vs) == 1 {
		cred = vs[0]
	} else if len(vs) > 1 {
		return auth.Principal{}, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "more than one authorization value")
	}
	p, err := a.Authenticate(ctx, cred)
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return p, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_MISSING",
			"credentials required: send authorization: Bearer <API key or token>")
	case errors.Is(err, auth.ErrBadCredentials):
		// The reason (expired, revoked, bad signature...) stays in the server's log: telling the caller
		// would help the next attempt.
		return p, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "invalid credentials").WithCause(err)
	case err != nil:
		return p, apierr.New(apierr.KindUnavailable, "AUTH_UNAVAILABLE", "cannot verify credentials now; retry").WithCause(err)
	}
	return p, nil
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
