// Package platform opens what every kefu service stands on, the same way in each: the schema's migrations,
// the Postgres pool, NATS and JetStream with the KEFU stream kept in place, the outbox relay, the gRPC server
// with authentication, audit log and rate limits (and the service's own KeyService and AuditService), and
// the order in which it all stops. A service's Serve opens a Platform, builds its app on it, registers its
// API on Server and calls Serve with its background work.
package platform

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
)

// Options are the parts of a service's configuration the platform uses. Services validate them (with
// their own flag names) before Open.
type Options struct {
	// Name names the service in logs, NATS and Postgres (application_name).
	Name string
	// Schema and Migrations are the service's Postgres schema and its migration sets, in order.
	Schema     string
	Migrations []pgxutil.MigrationSet
	// DatabaseURL connects as the runtime role; MigrateDatabaseURL (empty: DatabaseURL) as the owner.
	DatabaseURL, MigrateDatabaseURL string
	// Migrate applies the migrations in Open.
	Migrate bool
	// DBMaxConns caps the pool.
	DBMaxConns int
	// NATSURL is the NATS server; Stream is the KEFU stream every publisher keeps in place.
	NATSURL string
	Stream  events.StreamConfig
	// OutboxReplayWindow is how long published events stay in the outbox.
	OutboxReplayWindow time.Duration
	// Auth authenticates callers; Reflection serves gRPC reflection without credentials (dev only).
	Auth       auth.Config
	Reflection bool
	// Anonymous turns authentication, audit and rate limits off and runs every call as this principal:
	// benchmark baselines only.
	Anonymous *auth.Principal
	// ShutdownTimeout bounds each step of a graceful stop: the gRPC server's in-flight requests, then
	// (together) the event handlers in hand and the outbox relay's last publish pass.
	ShutdownTimeout time.Duration
	// Clock is the time; nil is the real clock.
	Clock clock.Clock
}

// Platform is a service's open infrastructure.
type Platform struct {
	// Pool is the runtime role's pool, search_path the service's schema.
	Pool *pgxpool.Pool
	// JS is JetStream on the service's NATS connection.
	JS jetstream.JetStream
	// Relay publishes the outbox; call Relay.Notify after a commit that added events.
	Relay *outbox.Relay
	// Server is the gRPC server, KeyService and AuditService registered; the service registers its own.
	Server *grpcx.Server
	// Clock is the service's clock.
	Clock clock.Clock

	o           Options
	log         *slog.Logger
	nc          *nats.Conn
	audit       *audit.Writer
	streamReady chan struct{}
}

// Migrate applies o's migrations as the owner role.
func Migrate(ctx context.Context, o Options) error {
	url := o.MigrateDatabaseURL
	if url == "" {
		url = o.DatabaseURL
	}
	if url == "" {
		return errors.New("database-url (DATABASE_URL) is required")
	}
	if err := pgxutil.Migrate(ctx, url, o.Schema, o.Migrations...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Open migrates (when o.Migrate), opens the pool and NATS, and builds the relay and the gRPC server.
// Close releases what it opened; Serve runs it.
func Open(ctx context.Context, o Options, log *slog.Logger) (p *Platform, err error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	opened := &Platform{o: o, log: log, Clock: o.Clock, streamReady: make(chan struct{})}
	p = opened
	defer func() {
		if err != nil {
			// Every failure returns nil, so close what was opened through its own name.
			opened.Close(ctx)
			p = nil
		}
	}()
	if o.Migrate {
		if err := Migrate(ctx, o); err != nil {
			return nil, err
		}
	}
	p.Pool, err = pgxutil.Open(ctx, o.DatabaseURL, pgxutil.Options{
		Schema: o.Schema, MaxConns: int32(o.DBMaxConns), AppName: o.Name,
		Tracer: otelpgx.NewTracer(otelpgx.WithTrimSQLInSpanName()),
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if p.nc, err = events.Connect(o.NATSURL, o.Name, log); err != nil {
		return nil, err
	}
	if p.JS, err = jetstream.New(p.nc); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p.Relay = outbox.NewRelay(p.Pool, p.JS, outbox.RelayOptions{Logger: log, ReplayWindow: o.OutboxReplayWindow,
		FlushTimeout: o.ShutdownTimeout})

	pepper, err := o.Auth.Pepper()
	if err != nil {
		return nil, fmt.Errorf("api-key-pepper: %w", err)
	}
	keys := apikeys.New(p.Pool, pepper, o.Clock, rand.Reader)
	authn, err := o.Auth.Authenticator(keys, o.Clock.Now)
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	p.audit = audit.NewWriter(p.Pool, audit.WriterOptions{Logger: log, Clock: o.Clock})
	opts := grpcx.ServerOptions{Logger: log, Auth: authn, Reflection: o.Reflection, Audit: p.audit,
		Limiter: ratelimit.New(p.Pool, ratelimit.Options{Now: o.Clock.Now}), Limits: o.Auth.Limits(), Clock: o.Clock}
	if o.Anonymous != nil {
		// The baseline has none of the security layer: no credentials, no audit, no rate limit.
		opts.Auth, opts.Anonymous, opts.Audit, opts.Limiter = nil, o.Anonymous, nil, nil
		log.WarnContext(ctx, "authentication, audit and rate limits are off: every call runs as one principal (benchmark baseline only)")
	}
	if p.Server, err = grpcx.NewServer(opts); err != nil {
		return nil, fmt.Errorf("grpc server: %w", err)
	}
	if err := p.registerMetrics(ctx); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	apikeys.NewServer(keys, authn.Forget).Register(p.Server)
	audit.NewServer(audit.New(p.Pool)).Register(p.Server)
	return p, nil
}

// StreamReady is closed once the KEFU stream exists (Serve keeps it in place): consumers start after it,
// rather than retrying noisily while a fresh NATS has no stream yet.
func (p *Platform) StreamReady() <-chan struct{} { return p.streamReady }

// Serve runs the gRPC server on lis, the outbox relay, the audit writer, the stream upkeep and the
// service's background work until ctx ends or one of them fails. Background work outlives a stopping
// server's in-flight requests: it is cancelled only once the server has stopped, so the last commits
// still wake the relay. Then event handlers in hand finish (the consumers' drain timeout is
// ShutdownTimeout) while the relay publishes what is left. It returns nil after a shutdown caused by ctx,
// or the first error.
func (p *Platform) Serve(ctx context.Context, lis net.Listener, work ...func(ctx context.Context) error) error {
	wctx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	if p.o.ShutdownTimeout > 0 {
		wctx = events.WithDrainTimeout(wctx, p.o.ShutdownTimeout)
	}
	defer stopWork()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer stopWork()
		return grpcx.ServeUntil(gctx, p.Server, lis, p.o.ShutdownTimeout)
	})
	g.Go(func() error {
		if err := p.Relay.Run(wctx); err != nil {
			return fmt.Errorf("outbox relay: %w", err)
		}
		return nil
	})
	g.Go(func() error { return p.audit.Run(wctx) })
	g.Go(func() error {
		events.KeepStream(wctx, p.JS, p.o.Stream, p.log)
		if wctx.Err() == nil {
			close(p.streamReady)
		}
		return nil
	})
	for _, w := range work {
		g.Go(func() error { return w(wctx) })
	}
	return g.Wait()
}

// Close drains NATS and closes the pool, last. A drain that fails is logged: by then nothing is left to
// lose (unpublished events wait in the outbox).
func (p *Platform) Close(ctx context.Context) {
	if p.nc != nil {
		if err := events.Drain(p.nc); err != nil {
			p.log.WarnContext(ctx, "drain nats", "error", err.Error())
		}
	}
	if p.Pool != nil {
		p.Pool.Close()
	}
}
