// Package kb is the knowledge-base service: articles (Markdown, tags, linked subcategories, zh-CN or en,
// draft → published → archived, every content change a version), search that ranks Chinese and English
// with highlighted snippets, suggestions for a ticket, records of articles used in replies and whether
// they helped, the report of the most used and most helpful articles and of subcategories without one
// (ticket counts from kefu.ticket.* events), and canned responses per routing group. Run (or Serve, with a
// listener of the caller's) is the composition root.
package kb

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
	"kefu.dev/pkg/membership"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/kb/internal/app"
	"kefu.dev/services/kb/internal/consume"
	"kefu.dev/services/kb/internal/grpcapi"
	"kefu.dev/services/kb/internal/peers"
	"kefu.dev/services/kb/internal/store"
)

// Config configures the service. cmd/kb binds every field but Clock to a flag and a KEFU_ variable
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
	// IntakeAddr is intake's gRPC address (--intake-addr) and IntakeAPIKey kb's API key there
	// (--intake-api-key; `intake issue-service-key --id kb`). Both required: suggestions, uses and canned
	// responses read tickets there.
	IntakeAddr, IntakeAPIKey string
	// RoutingAddr is routing's gRPC address (--routing-addr). With it, staff members' groups (which tickets
	// they see) come from routing's records (pkg/membership), as at intake; empty takes them from the staff
	// token's groups claim. RoutingAPIKey is kb's key there (--routing-api-key), required with it.
	RoutingAddr, RoutingAPIKey string
	// ConsumerWorkers is how many transactions apply ticket events at once: each batch the consumer takes
	// is split by ticket into up to this many, one ticket's events always in order (--consumer-workers).
	ConsumerWorkers int
	// SearchBudget, HeadCap, HeadKeep and DocumentCap bound the candidates of one search (--search-budget,
	// --search-head-cap, --search-head-keep, --search-document-cap; see app.Config).
	SearchBudget, HeadCap, HeadKeep, DocumentCap int
	// SweepInterval is how often old idempotency keys are purged (--sweep-interval).
	SweepInterval time.Duration
	// OutboxReplayWindow, StreamMaxAge and StreamDuplicates are the platform's (the KEFU stream, as the
	// other services set them).
	OutboxReplayWindow, StreamMaxAge, StreamDuplicates time.Duration
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
	s := app.DefaultConfig()
	return Config{
		GRPCAddr: "127.0.0.1:7007", Migrate: true, DBMaxConns: 16, ConsumerWorkers: 4,
		SearchBudget: s.SearchBudget, HeadCap: s.HeadCap, HeadKeep: s.HeadKeep, DocumentCap: s.DocumentCap,
		SweepInterval: time.Minute, OutboxReplayWindow: outbox.DefaultReplayWindow, StreamMaxAge: events.DefaultMaxAge,
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
	for _, r := range []struct{ flag, v string }{{"intake-addr", c.IntakeAddr}, {"intake-api-key", c.IntakeAPIKey}} {
		if r.v == "" {
			bad(r.flag, "is required")
		}
	}
	if c.RoutingAddr != "" && c.RoutingAPIKey == "" {
		bad("routing-api-key", "is required with --routing-addr")
	}
	if c.ConsumerWorkers < 1 || c.ConsumerWorkers > 256 {
		bad("consumer-workers", "must be between 1 and 256")
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"search-budget", c.SearchBudget}, {"search-head-cap", c.HeadCap}, {"search-head-keep", c.HeadKeep}, {"search-document-cap", c.DocumentCap}} {
		if n.v < 1 || n.v > 100_000 {
			bad(n.flag, "must be between 1 and 100000")
		}
	}
	if c.HeadKeep > c.HeadCap {
		bad("search-head-keep", "must not exceed --search-head-cap")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"sweep-interval", c.SweepInterval}, {"outbox-replay-window", c.OutboxReplayWindow}, {"stream-max-age", c.StreamMaxAge},
		{"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	// The relay keeps two connections and the sweeper one; every consumer worker may hold one.
	if need := 4 + c.ConsumerWorkers; c.DBMaxConns < need {
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

// IssueServiceKey issues an API key at kb for another kefu service (principal service:<id>, role
// service), for the bootstrap of a fresh install (see platform.IssueServiceKey).
func IssueServiceKey(ctx context.Context, cfg Config, id string) (string, error) {
	return platform.IssueServiceKey(ctx, cfg.platformOptions(), id)
}

// DeadLetters runs the `dead-letters` subcommand (platform.DeadLettersCommand): it lists the events the
// service's consumers parked, or marks some for the running service to replay.
func DeadLetters(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	return platform.DeadLettersCommand(ctx, args, cfg.platformOptions(), out)
}

func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "kb", Schema: store.Schema, Migrations: store.Migrations(),
		DatabaseURL: c.DatabaseURL, MigrateDatabaseURL: c.MigrateDatabaseURL, Migrate: c.Migrate, DBMaxConns: c.DBMaxConns,
		NATSURL: c.NATSURL, Stream: events.StreamConfig{MaxAge: c.StreamMaxAge, Duplicates: c.StreamDuplicates, Replicas: c.StreamReplicas},
		OutboxReplayWindow: c.OutboxReplayWindow, Auth: c.Auth, Reflection: c.Reflection,
		ShutdownTimeout: c.ShutdownTimeout, Clock: c.Clock}
}

func (c Config) appConfig() app.Config {
	a := app.DefaultConfig()
	a.SearchBudget, a.HeadCap, a.HeadKeep, a.DocumentCap = c.SearchBudget, c.HeadCap, c.HeadKeep, c.DocumentCap
	return a
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

// Serve runs the service on lis until ctx ends: the gRPC API, the kb-tickets consumer, the membership
// follower (with RoutingAddr) and the sweeper. It returns nil after a shutdown caused by ctx, or the error
// that stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.InfoContext(ctx, "kb starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "intake_addr", cfg.IntakeAddr, "routing_addr", cfg.RoutingAddr,
		"migrate", cfg.Migrate)
	opts := cfg.platformOptions()
	var members *membership.Source
	if cfg.RoutingAddr != "" {
		rc, err := membership.Dial(cfg.RoutingAddr, cfg.RoutingAPIKey)
		if err != nil {
			return err
		}
		defer func() { _ = rc.Close() }()
		members = membership.New(rc, membership.Options{Logger: log})
		opts.Auth.Memberships = members
	}
	p, err := platform.Open(ctx, opts, log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	intake, err := peers.Dial(cfg.IntakeAddr, cfg.IntakeAPIKey)
	if err != nil {
		return err
	}
	defer func() { _ = intake.Close() }()
	a := app.New(store.New(p.Pool), p.Clock, intake, cfg.appConfig(), log)
	grpcapi.New(a).Register(p.Server)
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error {
			select {
			case <-p.StreamReady():
			case <-ctx.Done():
				return nil
			}
			return consume.Tickets(ctx, p.JS, p.Pool, a, cfg.ConsumerWorkers, log)
		},
		func(ctx context.Context) error {
			if members == nil {
				return nil
			}
			select {
			case <-p.StreamReady():
			case <-ctx.Done():
				return nil
			}
			return members.Follow(ctx, p.JS)
		},
		func(ctx context.Context) error {
			return idempotency.Sweep(ctx, p.Pool, p.Clock.Now, cfg.SweepInterval, idempotency.DefaultTTL, log)
		},
	)
	log.InfoContext(ctx, "kb stopped")
	return err
}
