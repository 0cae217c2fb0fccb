// Package analytics is the analytics service: it consumes every event (kefu.>) in batches, keeps a
// projection of each ticket and hourly rollups in its own Postgres schema, and serves reports (volume,
// timeliness, SLA, satisfaction, workload) and its ingestion lag over gRPC. Run (or Serve, with a listener
// of the caller's) is the composition root; Rebuild drops the projections so the next start replays the
// stream.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/analytics/internal/app"
	"kefu.dev/services/analytics/internal/consume"
	"kefu.dev/services/analytics/internal/grpcapi"
	"kefu.dev/services/analytics/internal/store"
)

// Config configures the service. cmd/analytics binds every field but Clock to a flag and a KEFU_ variable
// (DATABASE_URL and NATS_URL keep their standard names).
type Config struct {
	// GRPCAddr is where Run listens (--grpc-addr).
	GRPCAddr string
	// DatabaseURL connects as the runtime role (--database-url, DATABASE_URL). Required.
	DatabaseURL string
	// MigrateDatabaseURL connects as the schema's owner role to run migrations and rebuilds
	// (--migrate-database-url); empty means DatabaseURL.
	MigrateDatabaseURL string
	// Migrate applies migrations at start (--migrate).
	Migrate bool
	// DBMaxConns caps the pool (--db-max-conns).
	DBMaxConns int
	// NATSURL is the NATS server (--nats-url, NATS_URL). Required.
	NATSURL string
	// BatchSize is how many events one ingesting transaction takes at most (--batch-size).
	BatchSize int
	// IngestConcurrency is how many batches are ingested at once (--ingest-concurrency): with 2, one batch's
	// projection is computed while the previous one is written and committed (events.BatchConfig).
	IngestConcurrency int
	// SweepInterval is how often old idempotency keys are purged (--sweep-interval).
	SweepInterval time.Duration
	// OutboxReplayWindow is how long published events stay in the outbox (--outbox-replay-window).
	OutboxReplayWindow time.Duration
	// StreamMaxAge and StreamDuplicates configure the KEFU stream, as intake's do (--stream-max-age,
	// --stream-duplicates); every service ensures the stream, so set them alike.
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
	// BusinessZone is the IANA zone of the business (--business-zone): reports cut periods in it when a
	// request names no zone, and the day rollups (facts.Grain) keep its days. Changing it needs a rebuild.
	BusinessZone string
	// SurgeInterval is how often volume surges are evaluated (--surge-interval).
	SurgeInterval time.Duration
	// SurgeFactor and SurgeMinTickets: a channel's or subcategory's hour is over its threshold when its
	// tickets exceed both SurgeFactor times its baseline and SurgeMinTickets (--surge-factor,
	// --surge-min-tickets).
	SurgeFactor     float64
	SurgeMinTickets int
	// SurgeBaselineWeeks is how many previous weeks the baseline (the same hour of the week) averages
	// (--surge-baseline-weeks).
	SurgeBaselineWeeks int
	// Clock tells the app the time; nil is the real clock. Tests set a fake one.
	Clock clock.Clock
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// Batches of 5,000 ingest a backlog about 18% faster than 1,000 (docs/benchmarks.md); live traffic
		// makes small batches anyway: a fetch takes what arrived within 50 ms.
		GRPCAddr: "127.0.0.1:7005", Migrate: true, DBMaxConns: 8, BatchSize: 5000, IngestConcurrency: 2,
		SweepInterval: time.Minute, OutboxReplayWindow: outbox.DefaultReplayWindow, StreamMaxAge: events.DefaultMaxAge,
		StreamDuplicates: events.DefaultDuplicates, StreamReplicas: 1, Auth: auth.DefaultConfig(), ShutdownTimeout: 10 * time.Second,
		BusinessZone: "Asia/Shanghai", SurgeInterval: time.Minute, SurgeFactor: 3, SurgeMinTickets: 20, SurgeBaselineWeeks: 4,
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
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		bad("batch-size", "must be between 1 and 10000")
	}
	if c.IngestConcurrency < 1 || c.IngestConcurrency > 4 {
		bad("ingest-concurrency", "must be between 1 and 4")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"sweep-interval", c.SweepInterval}, {"outbox-replay-window", c.OutboxReplayWindow},
		{"stream-max-age", c.StreamMaxAge}, {"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	if _, err := time.LoadLocation(c.BusinessZone); err != nil || c.BusinessZone == "" {
		bad("business-zone", "must be an IANA time zone such as Asia/Shanghai")
	}
	if c.SurgeInterval <= 0 {
		bad("surge-interval", "must be positive")
	}
	if !(c.SurgeFactor > 1) || math.IsInf(c.SurgeFactor, 0) {
		bad("surge-factor", "must be a number greater than 1")
	}
	if c.SurgeMinTickets < 1 {
		bad("surge-min-tickets", "must be at least 1")
	}
	if c.SurgeBaselineWeeks < 1 || c.SurgeBaselineWeeks > 52 {
		bad("surge-baseline-weeks", "must be between 1 and 52")
	}
	// The relay keeps two connections and the ingesting transaction one.
	if c.DBMaxConns < 4 {
		bad("db-max-conns", "must be at least 4")
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

// DeadLetters runs the `dead-letters` subcommand (platform.DeadLettersCommand): it lists the events the
// service's consumers parked, or marks some for the running service to replay.
func DeadLetters(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	return platform.DeadLettersCommand(ctx, args, cfg.platformOptions(), out)
}

func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "analytics", Schema: store.Schema, Migrations: store.Migrations(),
		DatabaseURL: c.DatabaseURL, MigrateDatabaseURL: c.MigrateDatabaseURL, Migrate: c.Migrate, DBMaxConns: c.DBMaxConns,
		NATSURL: c.NATSURL, Stream: events.StreamConfig{MaxAge: c.StreamMaxAge, Duplicates: c.StreamDuplicates, Replicas: c.StreamReplicas},
		OutboxReplayWindow: c.OutboxReplayWindow, Auth: c.Auth, Reflection: c.Reflection,
		ShutdownTimeout: c.ShutdownTimeout, Clock: c.Clock}
}

// Rebuild drops the projections and forgets the consumer's place in the stream, so the next start of the
// service replays every event the stream still holds and rebuilds the same numbers. Run it with every
// analytics replica stopped.
func Rebuild(ctx context.Context, cfg Config, log *slog.Logger) error {
	owner := cfg.MigrateDatabaseURL
	if owner == "" {
		owner = cfg.DatabaseURL
	}
	if owner == "" || cfg.NATSURL == "" {
		return errors.New("rebuild needs database-url (or migrate-database-url) and nats-url")
	}
	nc, err := events.Connect(cfg.NATSURL, "analytics-rebuild", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if err := js.DeleteConsumer(ctx, events.StreamName, consume.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", consume.Consumer, err)
	}
	return store.Reset(ctx, owner, consume.Consumer, cfg.BusinessZone, false)
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

// Serve runs the service on lis until ctx ends: the gRPC API, the batch consumer of every event, the
// volume-surge detector, the outbox relay and the sweeper. It returns nil after a shutdown caused by ctx,
// or the error that stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.InfoContext(ctx, "analytics starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "migrate", cfg.Migrate)
	p, err := platform.Open(ctx, cfg.platformOptions(), log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	zone, err := time.LoadLocation(cfg.BusinessZone)
	if err != nil {
		return fmt.Errorf("business-zone: %w", err)
	}
	st := store.New(p.Pool, zone)
	if err := upgradeProjections(ctx, cfg, st, p.JS, log); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop, the upgrade runs again at the next start
		}
		return err
	}
	a := app.New(st, p.Clock, p.JS, consume.Consumer, log)
	grpcapi.New(a).Register(p.Server)
	evs := consume.NewEvents(a, log)
	surges := a.Surges(app.SurgeConfig{Factor: cfg.SurgeFactor, MinTickets: int64(cfg.SurgeMinTickets),
		BaselineWeeks: cfg.SurgeBaselineWeeks}, p.Relay)
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error {
			return evs.Run(ctx, p.JS, p.Pool, cfg.BatchSize, cfg.IngestConcurrency)
		},
		func(ctx context.Context) error { return surges.Run(ctx, cfg.SurgeInterval) },
		func(ctx context.Context) error {
			return idempotency.Sweep(ctx, p.Pool, p.Clock.Now, cfg.SweepInterval, idempotency.DefaultTTL, log)
		},
	)
	log.InfoContext(ctx, "analytics stopped")
	return err
}
