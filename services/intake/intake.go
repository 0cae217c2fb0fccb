// Package intake is the intake service: it owns tickets, their lifecycle, their timeline and the
// kefu.ticket.* events. Run (or Serve, with a listener of the caller's) is the composition root: it migrates
// the schema, opens the pool, seeds the default taxonomy and rules, connects to NATS and (when configured)
// to the customer service, and runs the gRPC server, the outbox relay, the auto-close sweeper and the
// consumer of customer events (erasures and merges) until the context ends.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
	_ "time/tzdata" // the business zone must load on hosts without a zoneinfo database (containers)

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/membership"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/intake/internal/app"
	"kefu.dev/services/intake/internal/consume"
	"kefu.dev/services/intake/internal/customerclient"
	"kefu.dev/services/intake/internal/grpcapi"
	"kefu.dev/services/intake/internal/store"
)

// Config configures the service. cmd/intake binds every field but Clock to a flag and a KEFU_ variable
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
	// NATSURL is the NATS server (--nats-url, NATS_URL). Required. Tickets are accepted while it is down.
	NATSURL string
	// BusinessZone is the IANA zone of ticket numbers' dates (--business-zone).
	BusinessZone string
	// MaxSkew is how far in the future a submit's received_time may lie (--max-skew).
	MaxSkew time.Duration
	// AutoCloseAfter is how long a resolved ticket waits before it closes by itself (--auto-close-after).
	AutoCloseAfter time.Duration
	// SweepInterval is how often resolved tickets are checked for auto-close and old idempotency keys
	// purged (--sweep-interval).
	SweepInterval time.Duration
	// PolicyTTL bounds how long another replica's taxonomy or rule change takes to apply here (--policy-ttl).
	PolicyTTL time.Duration
	// OutboxReplayWindow is how long published events stay in the outbox for gap repair and republish
	// (--outbox-replay-window).
	OutboxReplayWindow time.Duration
	// StreamMaxAge is how long the KEFU stream keeps events (--stream-max-age).
	StreamMaxAge time.Duration
	// StreamDuplicates is the stream's dedupe window on event ids (--stream-duplicates).
	StreamDuplicates time.Duration
	// StreamReplicas is the KEFU stream's replication factor in a NATS cluster (--stream-replicas; 1 on a
	// single server, 3 on a three-node cluster); every publisher ensures the stream, so set it alike.
	StreamReplicas int
	// CustomerAddr is the customer service's gRPC address (--customer-addr). Empty runs intake without it:
	// submits keep the adapter's customer_id and check no identity facts. Erasures and merges arrive as
	// events either way.
	CustomerAddr string
	// CustomerAPIKey is intake's API key at the customer service (--customer-api-key). A secret; required
	// with CustomerAddr.
	CustomerAPIKey string
	// RoutingAddr is the routing service's gRPC address (--routing-addr). With it, staff members' groups
	// (which tickets they see) come from routing's records, cached and refreshed on routing's change events
	// (pkg/membership); empty takes them from the staff token's groups claim.
	RoutingAddr string
	// RoutingAPIKey is intake's API key at the routing service (--routing-api-key). A secret; required
	// with RoutingAddr.
	RoutingAPIKey string
	// Auth is how callers are authenticated: the API keys' pepper and the staff tokens' OIDC provider.
	Auth auth.Config
	// Reflection serves gRPC server reflection without credentials (--reflection). Dev only.
	Reflection bool
	// Anonymous turns authentication, audit and rate limits off and runs every call as this principal:
	// `make bench`'s baseline for the cost of the security layer, nothing else. Not a flag.
	Anonymous *auth.Principal
	// ShutdownTimeout bounds the graceful stop of the gRPC server (--shutdown-timeout).
	ShutdownTimeout time.Duration
	// Clock tells the app the time; nil is the real clock. Tests set a fake one.
	Clock clock.Clock
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:           "127.0.0.1:7001",
		Migrate:            true,
		DBMaxConns:         24,
		BusinessZone:       "Asia/Shanghai",
		MaxSkew:            5 * time.Minute,
		AutoCloseAfter:     72 * time.Hour,
		SweepInterval:      time.Minute,
		PolicyTTL:          2 * time.Second,
		OutboxReplayWindow: outbox.DefaultReplayWindow,
		StreamMaxAge:       events.DefaultMaxAge,
		StreamDuplicates:   events.DefaultDuplicates,
		StreamReplicas:     1,
		Auth:               auth.DefaultConfig(),
		ShutdownTimeout:    10 * time.Second,
	}
}

// Validate checks cfg and names the flag of the first bad value.
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
	if _, err := time.LoadLocation(c.BusinessZone); err != nil || c.BusinessZone == "" {
		bad("business-zone", "unknown time zone %q", c.BusinessZone)
	}
	if c.MaxSkew < 0 {
		bad("max-skew", "must not be negative")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"auto-close-after", c.AutoCloseAfter}, {"sweep-interval", c.SweepInterval},
		{"outbox-replay-window", c.OutboxReplayWindow}, {"stream-max-age", c.StreamMaxAge},
		{"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	if c.PolicyTTL < 0 {
		bad("policy-ttl", "must not be negative")
	}
	if c.StreamDuplicates > c.StreamMaxAge {
		bad("stream-duplicates", "must not exceed stream-max-age")
	}
	if c.DBMaxConns < 4 {
		bad("db-max-conns", "must be at least 4 (the outbox relay keeps two)")
	}
	if c.CustomerAddr != "" && c.CustomerAPIKey == "" {
		bad("customer-api-key", "is required with customer-addr (issue one with `customer issue-service-key --id intake`)")
	}
	if c.RoutingAddr != "" && c.RoutingAPIKey == "" {
		bad("routing-api-key", "is required with routing-addr (issue one with `routing issue-service-key --id intake`)")
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		bad("stream-replicas", "must be between 1 and 5")
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Migrate applies intake's migrations (the shared idempotency and outbox sets, then its own) as the owner
// role, and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return platform.Migrate(ctx, cfg.platformOptions())
}

// platformOptions is the part of cfg the shared platform takes.
// DeadLetters runs the `dead-letters` subcommand (platform.DeadLettersCommand): it lists the events the
// service's consumers parked, or marks some for the running service to replay.
func DeadLetters(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	return platform.DeadLettersCommand(ctx, args, cfg.platformOptions(), out)
}

func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "intake", Schema: store.Schema, Migrations: store.Migrations(),
		DatabaseURL: c.DatabaseURL, MigrateDatabaseURL: c.MigrateDatabaseURL, Migrate: c.Migrate, DBMaxConns: c.DBMaxConns,
		NATSURL: c.NATSURL, Stream: events.StreamConfig{MaxAge: c.StreamMaxAge, Duplicates: c.StreamDuplicates, Replicas: c.StreamReplicas},
		OutboxReplayWindow: c.OutboxReplayWindow, Auth: c.Auth, Reflection: c.Reflection, Anonymous: c.Anonymous,
		ShutdownTimeout: c.ShutdownTimeout, Clock: c.Clock}
}

// Republish marks the outbox's events created at or after since as unpublished, so the running relays send
// them again (consumers skip what they already applied). It returns how many it reset.
func Republish(ctx context.Context, cfg Config, since time.Time) (int64, error) {
	pool, err := pgxutil.Open(ctx, cfg.DatabaseURL, pgxutil.Options{Schema: store.Schema, AppName: "intake-republish", MaxConns: 2})
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	return outbox.Republish(ctx, pool, since)
}

// IssueServiceKey issues an API key at this service for another kefu service (principal service:<id>,
// role service) and returns its text, which is shown nowhere else: the bootstrap of routing's
// KEFU_INTAKE_API_KEY in a fresh install, before any admin could call KeyService. Run it again to rotate
// (see platform.IssueServiceKey).
func IssueServiceKey(ctx context.Context, cfg Config, id string) (string, error) {
	return platform.IssueServiceKey(ctx, cfg.platformOptions(), id)
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

// Serve runs intake on lis until ctx ends, then stops in order: the gRPC server (NOT_SERVING, graceful
// within ShutdownTimeout, then hard), the relay, the sweeper and the customer events consumer, the
// customer service's connection, NATS (drained), and the pool last. It
// returns nil after a shutdown caused by ctx, or the error that stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	zone, _ := time.LoadLocation(cfg.BusinessZone) // checked by Validate
	log.InfoContext(ctx, "intake starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "business_zone", cfg.BusinessZone, "migrate", cfg.Migrate,
		"auto_close_after", cfg.AutoCloseAfter.String(), "max_skew", cfg.MaxSkew.String(),
		"customer_addr", cfg.CustomerAddr, "customer_api_key", redactSecret(cfg.CustomerAPIKey),
		"routing_addr", cfg.RoutingAddr, "routing_api_key", redactSecret(cfg.RoutingAPIKey))

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

	var customers app.CustomerDirectory
	if cfg.CustomerAddr != "" {
		cc, err := customerclient.Dial(cfg.CustomerAddr, cfg.CustomerAPIKey)
		if err != nil {
			return err
		}
		defer func() { _ = cc.Close() }()
		customers = cc
	}

	a := app.New(store.New(p.Pool), p.Clock, p.Relay, nil, customers, app.Config{
		MaxSkew: cfg.MaxSkew, AutoCloseAfter: cfg.AutoCloseAfter, BusinessZone: zone, PolicyTTL: cfg.PolicyTTL,
	}, log)
	if seeded, err := a.SeedDefaults(ctx); err != nil {
		return fmt.Errorf("seed default taxonomy and rules: %w", err)
	} else if seeded {
		log.InfoContext(ctx, "seeded the default taxonomy and classification rules")
	}
	grpcapi.New(a).Register(p.Server)
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error { return a.RunSweeper(ctx, cfg.SweepInterval) },
		func(ctx context.Context) error {
			// After the stream exists: Consume would retry until it did, but noisily.
			select {
			case <-p.StreamReady():
			case <-ctx.Done():
				return nil
			}
			if err := consume.NewCustomer(a, log).Run(ctx, p.JS, p.Pool); err != nil {
				return fmt.Errorf("customer events consumer: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error {
			select {
			case <-p.StreamReady():
			case <-ctx.Done():
				return nil
			}
			if err := consume.RunIncidents(ctx, p.JS, p.Pool, a, log); err != nil {
				return fmt.Errorf("incident signals consumer: %w", err)
			}
			return nil
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
		})
	log.InfoContext(ctx, "intake stopped")
	return err
}

// redactSecret stands in for a secret in the start-up log: whether it is set, never its value.
func redactSecret(s string) string {
	if s == "" {
		return ""
	}
	return "xxxxx"
}
