// Package slatimer is the SLA-timer service: it keeps SLA policies and business calendars, follows ticket
// events and transfers, keeps each ticket's clocks durable in its own Postgres schema, and publishes
// kefu.sla.applied, warning, breached, met, paused and resumed through the outbox, each warning and breach
// once per target, threshold and ticket, whichever replica fires it. Run (or Serve, with a listener of the
// caller's) is the composition root.
package slatimer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/slatimer/internal/app"
	"kefu.dev/services/slatimer/internal/consume"
	"kefu.dev/services/slatimer/internal/grpcapi"
	"kefu.dev/services/slatimer/internal/store"
)

// Config configures the service. cmd/slatimer binds every field but Clock to a flag and a KEFU_ variable
// (DATABASE_URL and NATS_URL keep their standard names).
type Config struct {
	// GRPCAddr is where Run listens (--grpc-addr).
	GRPCAddr string
	// DatabaseURL connects as the runtime role (--database-url, DATABASE_URL). Required.
	DatabaseURL string
	// MigrateDatabaseURL connects as the schema's owner role to run migrations (--migrate-database-url);
	// empty means DatabaseURL.
	MigrateDatabaseURL string
	// Migrate applies migrations at start (--migrate).
	Migrate bool
	// DBMaxConns caps the pool (--db-max-conns).
	DBMaxConns int
	// NATSURL is the NATS server (--nats-url, NATS_URL). Required.
	NATSURL string
	// ConsumerWorkers is how many transactions apply ticket events at once: each batch the consumer takes
	// is split by ticket into up to this many, one ticket's events always in order (--consumer-workers).
	ConsumerWorkers int
	// FireInterval is the longest the timer loop sleeps between looks for due timers (--fire-interval); it
	// also wakes at the next due instant it knows of and when this replica starts an earlier clock.
	FireInterval time.Duration
	// FireBatch is how many due clocks one transaction claims (--fire-batch).
	FireBatch int
	// LateAfter marks a warning or breach late when it fires more than this past its instant
	// (--late-after): the service was down or behind then.
	LateAfter time.Duration
	// SweepInterval is how often old idempotency keys are purged (--sweep-interval).
	SweepInterval time.Duration
	// OutboxReplayWindow is how long published events stay in the outbox (--outbox-replay-window).
	OutboxReplayWindow time.Duration
	// StreamMaxAge and StreamDuplicates configure the KEFU stream, as intake's do (--stream-max-age,
	// --stream-duplicates); every publisher ensures the stream, so set them alike.
	StreamMaxAge, StreamDuplicates time.Duration
	// StreamReplicas is the KEFU stream's replication factor in a NATS cluster (--stream-replicas; 1 on a
	// single server, 3 on a three-node cluster); every publisher ensures the stream, so set it alike.
	StreamReplicas int
	// Auth is how callers are authenticated.
	Auth auth.Config
	// Reflection serves gRPC server reflection without credentials (--reflection). Dev only.
	Reflection bool
	// ShutdownTimeout bounds the graceful stop of the gRPC server (--shutdown-timeout).
	ShutdownTimeout time.Duration
	// Clock tells the app the time; nil is the real clock. Tests set a fake one.
	Clock clock.Clock
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		GRPCAddr: "127.0.0.1:7004", Migrate: true, DBMaxConns: 16, ConsumerWorkers: 8,
		FireInterval: 250 * time.Millisecond, FireBatch: 500, LateAfter: 2 * time.Second, SweepInterval: time.Minute,
		OutboxReplayWindow: outbox.DefaultReplayWindow, StreamMaxAge: events.DefaultMaxAge,
		StreamDuplicates: events.DefaultDuplicates, StreamReplicas: 1, Auth: auth.DefaultConfig(), ShutdownTimeout: 10 * time.Second,
	}
}

// Validate checks cfg and names the flag of each bad value.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", flag, config.EnvName(flag), fmt.Sprintf(format, args...)))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("database-url (DATABASE_URL) is required"))
	}
	if c.NATSURL == "" {
		errs = append(errs, errors.New("nats-url (NATS_URL) is required"))
	}
	if c.ConsumerWorkers < 1 || c.ConsumerWorkers > 256 {
		bad("consumer-workers", "must be between 1 and 256")
	}
	if c.FireBatch < 1 || c.FireBatch > 10000 {
		bad("fire-batch", "must be between 1 and 10000")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"fire-interval", c.FireInterval}, {"late-after", c.LateAfter}, {"sweep-interval", c.SweepInterval},
		{"outbox-replay-window", c.OutboxReplayWindow}, {"stream-max-age", c.StreamMaxAge},
		{"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	// The relay keeps two connections, the timer loop one, and every consumer worker may hold one.
	if need := 4 + c.ConsumerWorkers/2; c.DBMaxConns < need {
		bad("db-max-conns", "must be at least %d with %d consumer workers", need, c.ConsumerWorkers)
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		bad("stream-replicas", "must be between 1 and 5")
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Migrations returns the service's migration sets in the order they are applied.
func Migrations() []pgxutil.MigrationSet { return store.Migrations() }

// Migrate applies the migrations as the owner role, and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return platform.Migrate(ctx, cfg.platformOptions())
}

// IssueServiceKey issues an API key at the SLA timer for another kefu service (principal service:<id>, role
// service): the bootstrap of a fresh install (see platform.IssueServiceKey), e.g. notify's key here.
func IssueServiceKey(ctx context.Context, cfg Config, id string) (string, error) {
	return platform.IssueServiceKey(ctx, cfg.platformOptions(), id)
}

// DeadLetters runs the `dead-letters` subcommand (platform.DeadLettersCommand): it lists the events the
// service's consumers parked, or marks some for the running service to replay.
func DeadLetters(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	return platform.DeadLettersCommand(ctx, args, cfg.platformOptions(), out)
}

func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "slatimer", Schema: store.Schema, Migrations: store.Migrations(),
		DatabaseURL: c.DatabaseURL, MigrateDatabaseURL: c.MigrateDatabaseURL, Migrate: c.Migrate, DBMaxConns: c.DBMaxConns,
		NATSURL: c.NATSURL, Stream: events.StreamConfig{MaxAge: c.StreamMaxAge, Duplicates: c.StreamDuplicates, Replicas: c.StreamReplicas},
		OutboxReplayWindow: c.OutboxReplayWindow, Auth: c.Auth, Reflection: c.Reflection,
		ShutdownTimeout: c.ShutdownTimeout, Clock: c.Clock}
}

// Run listens on cfg.GRPCAddr and serves until ctx ends (see Serve).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.GRPCAddr, err)
	}
	return Serve(ctx, cfg, log, lis)
}

// Serve runs the service on lis until ctx ends: the gRPC API, the ticket event consumer, the timer loop,
// the outbox relay and the sweeper. It seeds the default calendars and policies on a database's first
// start. It returns nil after a shutdown caused by ctx, or the error that stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.InfoContext(ctx, "slatimer starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "migrate", cfg.Migrate)
	p, err := platform.Open(ctx, cfg.platformOptions(), log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	a := app.New(store.New(p.Pool), p.Clock, p.Relay, app.Config{LateAfter: cfg.LateAfter, FireBatch: cfg.FireBatch}, log)
	if err := a.Seed(ctx); err != nil {
		return err
	}
	grpcapi.New(a).Register(p.Server)
	tickets := consume.NewTickets(a, log)
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error { return tickets.Run(ctx, p.JS, p.Pool, cfg.ConsumerWorkers) },
		func(ctx context.Context) error { return a.RunTimers(ctx, cfg.FireInterval) },
		func(ctx context.Context) error {
			return idempotency.Sweep(ctx, p.Pool, p.Clock.Now, cfg.SweepInterval, idempotency.DefaultTTL, log)
		},
	)
	log.InfoContext(ctx, "slatimer stopped")
	return err
}
