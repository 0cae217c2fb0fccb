// Package gateway serves kefu's public REST API: a grpc-gateway mux that turns every public RPC into a JSON
// call under /v1, errors in the Google API error shape (AIP-193), a request body limit, the generated
// OpenAPI document at /openapi.json, and health endpoints. It has no domain or store of its own; every call
// goes to a backend service over gRPC.
package gateway

import (
	"context"
	_ "embed" // the OpenAPI document is embedded, see openapiDoc
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/grpcx"
)

// openapiDoc is the merged Swagger 2.0 document `make generate` writes next to this file. The folder is
// deleted and recreated by generation, so it holds no Go code; the embed lives here instead.
//
//go:embed openapi/kefu.swagger.json
var openapiDoc []byte

// Defaults for the zero values of Config.
const (
	// DefaultHTTPAddr listens on loopback only: exposing the API is a deployment decision.
	DefaultHTTPAddr = "127.0.0.1:8080"
	// DefaultMaxBodyBytes (1 MiB) is far above any valid request (text fields are capped at 10,000
	// characters, attachments are references) and bounds the memory one request can take.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultReadHeaderTimeout bounds reading request headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request.
	DefaultReadTimeout = 30 * time.Second
	// DefaultShutdownTimeout leaves in-flight calls time to finish: more than grpcx.DefaultCallTimeout.
	DefaultShutdownTimeout = 15 * time.Second
)

// idleTimeout closes keep-alive connections nobody uses, so idle clients do not pin file descriptors.
const idleTimeout = 2 * time.Minute

// Config configures the gateway. A zero field takes its Default value, except IntakeAddr, which is
// required, and CustomerAddr, RoutingAddr, SlatimerAddr, AnalyticsAddr, NotifyAddr and KBAddr.
type Config struct {
	// HTTPAddr is the listen address for Run (host:port).
	HTTPAddr string
	// IntakeAddr is the gRPC target of the intake service (host:port or any grpc-go target).
	IntakeAddr string
	// CustomerAddr is the gRPC target of the customer service, which serves /v1/customers and /v1/tiers.
	// Empty leaves those routes out (they answer 404): a stack of intake alone, as `make bench` runs.
	CustomerAddr string
	// RoutingAddr is the gRPC target of the routing service, which serves /v1/groups, /v1/agents and
	// /v1/routingRules. Empty leaves those routes out (they answer 404).
	RoutingAddr string
	// SlatimerAddr is the gRPC target of the SLA timer service, which serves /v1/slaPolicies, /v1/calendars,
	// /v1/tickets/{ticket_id}/sla and /v1/sla/atRisk. Empty leaves those routes out (they answer 404).
	SlatimerAddr string
	// AnalyticsAddr is the gRPC target of the analytics service, which serves /v1/reports/* and
	// /v1/analytics/status. Empty leaves those routes out (they answer 404).
	AnalyticsAddr string
	// NotifyAddr is the gRPC target of the notify service, which serves /v1/tickets/{ticket_id}/messages,
	// /v1/messages/*, /v1/messageTemplates and /v1/webhooks. Empty leaves those routes out (they answer 404).
	NotifyAddr string
	// KBAddr is the gRPC target of the knowledge base, which serves /v1/articles, /v1/cannedResponses,
	// /v1/kbReport and /v1/tickets/{ticket_id}/articleSuggestions. Empty leaves those routes out.
	KBAddr string
	// MaxBodyBytes is the largest request body accepted; a larger one is answered 413.
	MaxBodyBytes int64
	// ReadHeaderTimeout bounds reading a request's headers (slowloris protection).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, so a slow body cannot hold a connection.
	ReadTimeout time.Duration
	// ShutdownTimeout is how long in-flight requests may run after shutdown begins before connections are
	// closed.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults; IntakeAddr still has to be set.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:          DefaultHTTPAddr,
		MaxBodyBytes:      DefaultMaxBodyBytes,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		ShutdownTimeout:   DefaultShutdownTimeout,
	}
}

// Validate reports the first invalid field, named as its flag so the message points at what to fix.
func (c Config) Validate() error {
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("http-addr %q: %w", c.HTTPAddr, err)
		}
	}
	switch {
	case c.IntakeAddr == "":
		return errors.New("intake-addr is required")
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("max-body-bytes must not be negative, got %d", c.MaxBodyBytes)
	case c.ReadHeaderTimeout < 0:
		return fmt.Errorf("read-header-timeout must not be negative, got %s", c.ReadHeaderTimeout)
	case c.ReadTimeout < 0:
		return fmt.Errorf("read-timeout must not be negative, got %s", c.ReadTimeout)
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("shutdown-timeout must not be negative, got %s", c.ShutdownTimeout)
	}
	return nil
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.HTTPAddr == "" {
		c.HTTPAddr = d.HTTPAddr
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	return c
}

// Run listens on cfg.HTTPAddr and serves until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("gateway config: %w", err)
	}
	cfg = cfg.withDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	return Serve(ctx, ln, cfg, logger)
}

// Serve serves on ln (ignoring cfg.HTTPAddr) until ctx is done. Then it stops accepting, lets in-flight
// requests finish for up to cfg.ShutdownTimeout, closes what is left and the backend connections. It closes
// ln. The dev runner passes its own listener so it can print the bound address.
func Serve(ctx context.Context, ln net.Listener, cfg Config, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		_ = ln.Close()
		return fmt.Errorf("gateway config: %w", err)
	}
	cfg = cfg.withDefaults()
	h, closeConns, err := NewHandler(ctx, cfg, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       idleTimeout,
		// Requests must outlive the cancellation of ctx so that shutdown is graceful; they keep its values.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.InfoContext(ctx, "gateway listening", slog.String("addr", ln.Addr().String()),
		slog.String("intake_addr", cfg.IntakeAddr), slog.String("customer_addr", cfg.CustomerAddr),
		slog.String("routing_addr", cfg.RoutingAddr), slog.String("slatimer_addr", cfg.SlatimerAddr),
		slog.String("analytics_addr", cfg.AnalyticsAddr), slog.String("notify_addr", cfg.NotifyAddr), slog.String("kb_addr", cfg.KBAddr),
		slog.Int64("max_body_bytes", cfg.MaxBodyBytes))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.WarnContext(ctx, "gateway shutdown deadline passed, closing connections", slog.Any("error", err))
			_ = srv.Close()
		}
		return nil
	})
	err = g.Wait()
	if cerr := closeConns(); cerr != nil && err == nil {
		err = cerr
	}
	logger.InfoContext(ctx, "gateway stopped")
	return err
}

// NewHandler returns the gateway's whole HTTP handler and a function that closes its backend connections.
// The connections are lazy, so a backend that is down is no start-up error: calls answer 503 until it is up.
// ctx bounds registration only; requests carry their own contexts.
func NewHandler(ctx context.Context, cfg Config, logger *slog.Logger) (http.Handler, func() error, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("gateway config: %w", err)
	}
	cfg = cfg.withDefaults()

	// Each backend has its own connection; an optional one with no address stays nil and its routes out.
	type backend struct {
		service string
		conn    *grpc.ClientConn
	}
	var backends []backend
	closeConn := func() error {
		var errs []error
		for _, b := range backends {
			if err := b.conn.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s connection: %w", b.service, err))
			}
		}
		return errors.Join(errs...)
	}
	dial := func(service, addr string) (*grpc.ClientConn, error) {
		if addr == "" {
			return nil, nil
		}
		c, err := grpcx.Dial(addr, grpc.WithChainUnaryInterceptor(hideTransportErrors(service)))
		if err != nil {
			return nil, fmt.Errorf("%s client: %w", service, err)
		}
		backends = append(backends, backend{service, c})
		return c, nil
	}
	conn, err := dial("intake", cfg.IntakeAddr)
	if err != nil {
		return nil, nil, err
	}
	customerConn, err := dial("customer", cfg.CustomerAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}
	routingConn, err := dial("routing", cfg.RoutingAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}
	slatimerConn, err := dial("slatimer", cfg.SlatimerAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}
	analyticsConn, err := dial("analytics", cfg.AnalyticsAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}
	notifyConn, err := dial("notify", cfg.NotifyAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}
	kbConn, err := dial("kb", cfg.KBAddr)
	if err != nil {
		_ = closeConn()
		return nil, nil, err
	}

	mux := newServeMux()
	if err := intakev1.RegisterIntakeServiceHandlerClient(ctx, mux, intakev1.NewIntakeServiceClient(conn)); err != nil {
		_ = closeConn()
		return nil, nil, fmt.Errorf("register intake routes: %w", err)
	}
	if err := intakev1.RegisterIncidentServiceHandlerClient(ctx, mux, intakev1.NewIncidentServiceClient(conn)); err != nil {
		_ = closeConn()
		return nil, nil, fmt.Errorf("register incident routes: %w", err)
	}
	// Intake serves the API keys of its own callers (adapters) and its audit log; see KeyService and
	// AuditService. The customer and routing services have their own KeyService and AuditService (their
	// callers' keys, their audit logs), reachable over gRPC only: one REST path cannot serve two backends.
	if err := authv1.RegisterKeyServiceHandlerClient(ctx, mux, authv1.NewKeyServiceClient(conn)); err != nil {
		_ = closeConn()
		return nil, nil, fmt.Errorf("register key routes: %w", err)
	}
	if err := authv1.RegisterAuditServiceHandlerClient(ctx, mux, authv1.NewAuditServiceClient(conn)); err != nil {
		_ = closeConn()
		return nil, nil, fmt.Errorf("register audit routes: %w", err)
	}
	if customerConn != nil {
		if err := customerv1.RegisterCustomerServiceHandlerClient(ctx, mux, customerv1.NewCustomerServiceClient(customerConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register customer routes: %w", err)
		}
	}
	if routingConn != nil {
		if err := routingv1.RegisterRoutingServiceHandlerClient(ctx, mux, routingv1.NewRoutingServiceClient(routingConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register routing routes: %w", err)
		}
	}
	// The SLA routes include /v1/tickets/{ticket_id}/sla and .../sla:reapply beside intake's
	// /v1/tickets/{ticket_id}: a path variable matches one segment, so the two never overlap.
	if slatimerConn != nil {
		if err := slav1.RegisterSlaServiceHandlerClient(ctx, mux, slav1.NewSlaServiceClient(slatimerConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register sla routes: %w", err)
		}
	}
	if analyticsConn != nil {
		if err := analyticsv1.RegisterAnalyticsServiceHandlerClient(ctx, mux, analyticsv1.NewAnalyticsServiceClient(analyticsConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register analytics routes: %w", err)
		}
	}
	// /v1/tickets/{ticket_id}/messages sits beside intake's ticket routes as the SLA's do.
	if notifyConn != nil {
		if err := notifyv1.RegisterNotifyServiceHandlerClient(ctx, mux, notifyv1.NewNotifyServiceClient(notifyConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register notify routes: %w", err)
		}
	}
	if kbConn != nil {
		if err := kbv1.RegisterKbServiceHandlerClient(ctx, mux, kbv1.NewKbServiceClient(kbConn)); err != nil {
			_ = closeConn()
			return nil, nil, fmt.Errorf("register kb routes: %w", err)
		}
	}
	if err := registerPlainRoutes(mux, healthpb.NewHealthClient(conn)); err != nil {
		_ = closeConn()
		return nil, nil, err
	}

	var h http.Handler = mux
	h = guardRequest(cfg.MaxBodyBytes, h)
	h = observe(logger, h)
	h = otelhttp.NewHandler(h, "gateway",
		// The server span starts as "{method}" and is renamed "{method} {route}" once the mux matched a
		// route (see noteRoute): the raw path would put ids into span names.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r) }),
	)
	return h, closeConn, nil
}

// newServeMux builds the grpc-gateway mux with kefu's marshaler, error handlers and header policy.
func newServeMux() *runtime.ServeMux {
	return runtime.NewServeMux(
		// Every content type decodes and encodes with the strict protojson marshaler (see newMarshaler),
		// except a response that is a google.api.HttpBody (a CSV export): its bytes go out as they are,
		// with its own content type.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: newMarshaler()}),
		runtime.WithErrorHandler(handleError),
		runtime.WithRoutingErrorHandler(handleRoutingError),
		// No HTTP header becomes gRPC metadata: Grpc-Metadata-* would let a client set internal metadata
		// (principals, request ids) that backends trust. Only what grpc-gateway itself derives is sent:
		// Authorization, X-Forwarded-For/-Host; W3C trace context travels through otelhttp → otelgrpc.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		// Nor does backend metadata leak out as Grpc-Metadata-* / Grpc-Trailer-* response headers.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingTrailerMatcher(func(string) (string, bool) { return "", false }),
		// A POST with a form content type must not turn into a GET, nor X-HTTP-Method-Override change the
		// verb: each route answers exactly the method its annotation names.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithForwardResponseOption(func(ctx context.Context, _ http.ResponseWriter, _ proto.Message) error {
			noteRoute(ctx)
			return nil
		}),
	)
}
