// Package routing is the routing service: it owns groups, agents and their memberships, and ordered routing
// rules, and decides who handles each ticket. It consumes kefu.ticket.* events, routes each new or reopened
// ticket to a group by the first matching rule and to an agent by the group's strategy, keeps the queues of
// tickets nobody can take yet, and tells intake each decision through AssignTicket. Run (or Serve, with a
// listener of the caller's) is the composition root.
package routing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/consume"
	domain "kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/grpcapi"
	"kefu.dev/services/routing/internal/intakeclient"
	"kefu.dev/services/routing/internal/store"
)

// Config configures the service. cmd/routing binds every field but Clock to a flag and a KEFU_ variable
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
	// IntakeAddr is the intake service's gRPC address (--intake-addr). Required: routing assigns there.
	IntakeAddr string
	// IntakeAPIKey is routing's API key at intake (--intake-api-key; issue one with
	// `intake issue-service-key --id routing`). Required.
	IntakeAPIKey string
	// ConsumerWorkers is how many transactions apply ticket events at once: each batch the consumer takes
	// is split by ticket into up to this many, one ticket's events always in order (--consumer-workers).
	// Default 1: a batch that may place a ticket locks every group, so its shards would only queue behind
	// each other, each paying its own commit; one transaction decides the whole batch set-wise instead.
	ConsumerWorkers int
	// DispatchWorkers is how many AssignTicket calls run at once (--dispatch-workers); default 32, since each
	// call mostly waits for intake's commit.
	DispatchWorkers int
	// TimerInterval is how often surges are re-evaluated and the kept counts folded, and at the longest how
	// long a due transfer waits to expire (--timer-interval); the timer also wakes at the next transfer
	// deadline.
	TimerInterval time.Duration
	// SweepInterval is how often queues are drained as a safety net behind the event-driven drains, and old
	// idempotency keys purged (--sweep-interval).
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
		GRPCAddr: "127.0.0.1:7003", Migrate: true, DBMaxConns: 16, ConsumerWorkers: 1, DispatchWorkers: 32,
		TimerInterval: time.Second, SweepInterval: 30 * time.Second, OutboxReplayWindow: outbox.DefaultReplayWindow,
		StreamMaxAge: events.DefaultMaxAge, StreamDuplicates: events.DefaultDuplicates, StreamReplicas: 1, Auth: auth.DefaultConfig(),
		ShutdownTimeout: 10 * time.Second,
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
	if c.IntakeAddr == "" {
		bad("intake-addr", "is required: routing assigns tickets through intake")
	}
	if c.IntakeAPIKey == "" {
		bad("intake-api-key", "is required (issue one with `intake issue-service-key --id routing`)")
	}
	if c.ConsumerWorkers < 1 || c.ConsumerWorkers > 256 {
		bad("consumer-workers", "must be between 1 and 256")
	}
	if c.DispatchWorkers < 1 || c.DispatchWorkers > 256 {
		bad("dispatch-workers", "must be between 1 and 256")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"timer-interval", c.TimerInterval}, {"sweep-interval", c.SweepInterval}, {"outbox-replay-window", c.OutboxReplayWindow},
		{"stream-max-age", c.StreamMaxAge}, {"stream-duplicates", c.StreamDuplicates},
		{"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	// The relay keeps two connections, the dispatch listener one, and every consumer worker and dispatch
	// call may hold one.
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

// BuiltinGroupID is the id of the default group with code (general, logistics, after_sales, tech_support,
// senior_complaints) in every installation.
func BuiltinGroupID(code string) uuid.UUID { return domain.BuiltinGroupID(code) }

// Migrations returns the service's migration sets in the order they are applied.
func Migrations() []pgxutil.MigrationSet { return store.Migrations() }

// Migrate applies the migrations as the owner role, and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return platform.Migrate(ctx, cfg.platformOptions())
}

// IssueServiceKey issues an API key at routing for another kefu service (principal service:<id>, role
// service) and returns its text, shown nowhere else: the bootstrap of intake's KEFU_ROUTING_API_KEY in a
// fresh install (see platform.IssueServiceKey).
func IssueServiceKey(ctx context.Context, cfg Config, id string) (string, error) {
	return platform.IssueServiceKey(ctx, cfg.platformOptions(), id)
}

// DeadLetters runs the `dead-letters` subcommand (platform.DeadLettersCommand): it lists the events the
// service's consumers parked, or marks some for the running service to replay.
func DeadLetters(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	return platform.DeadLettersCommand(ctx, args, cfg.platformOptions(), out)
}

func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "routing", Schema: store.Schema, Migrations: store.Migrations(),
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

// Serve runs the service on lis until ctx ends: the gRPC API, the ticket event consumer, the dispatcher
// of assignments to intake, the timers (transfer deadlines, surges), the outbox relay and the sweeper. It seeds the default groups and rules on a
// database's first start. It returns nil after a shutdown caused by ctx, or the error that stopped it. It
// closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.InfoContext(ctx, "routing starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "intake_addr", cfg.IntakeAddr, "migrate", cfg.Migrate)
	p, err := platform.Open(ctx, cfg.platformOptions(), log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	intake, err := intakeclient.Dial(cfg.IntakeAddr, cfg.IntakeAPIKey)
	if err != nil {
		return err
	}
	defer intake.Close()
	st := store.New(p.Pool)
	a := app.New(st, p.Clock, p.Relay, intake, app.Config{}, log)
	if err := a.Seed(ctx); err != nil {
		return err
	}
	grpcapi.New(a).Register(p.Server)
	tickets := consume.NewTickets(a, log)
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error { return tickets.Run(ctx, p.JS, p.Pool, cfg.ConsumerWorkers) },
		func(ctx context.Context) error {
			return a.RunDispatcher(ctx, p.Pool, app.DispatchOptions{Workers: cfg.DispatchWorkers})
		},
		func(ctx context.Context) error { return a.RunTimers(ctx, cfg.TimerInterval) },
		func(ctx context.Context) error { return a.RunCountFold(ctx, cfg.TimerInterval) },
		func(ctx context.Context) error { return sweep(ctx, a, p.Pool, p.Clock, cfg.SweepInterval, log) },
	)
	log.InfoContext(ctx, "routing stopped")
	return err
}

// idempotencyKeyTTL is how long request keys are kept.
const idempotencyKeyTTL = 48 * time.Hour

// sweep drains every queue and purges old idempotency keys every interval until ctx ends. The drains are
// a safety net: capacity that frees is drained at once by the event or call that freed it; this catches a
// replica that died between the two.
func sweep(ctx context.Context, a *app.App, pool *pgxpool.Pool, clk clock.Clock, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := a.DrainAll(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "sweep: drain queues", "error", err.Error())
		} else if n > 0 {
			log.InfoContext(ctx, "sweep: assigned queued tickets no event had drained", "tickets", n)
		}
		if _, err := idempotency.Purge(ctx, pool, clk.Now().Add(-idempotencyKeyTTL), 1000); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "purge idempotency keys", "error", err.Error())
		}
	}
}
