// Package notify is the notify service: it keeps customers informed. It turns ticket events into outbound
// messages (the acknowledgement with the ticket number, after hours with when a person will reply; each
// agent reply), chooses each message's channel by the customer's preference and consent, publishes
// messages to channel adapters on the OUTBOUND stream (outbound.<channel>, outside kefu.>) and through
// signed webhooks, records adapters' delivery reports, and delivers ticket events (kefu.>) to webhook
// subscribers with retries, dead letters and history. Run (or Serve, with a listener of the caller's) is
// the composition root.
package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/notify/internal/app"
	"kefu.dev/services/notify/internal/consume"
	"kefu.dev/services/notify/internal/grpcapi"
	"kefu.dev/services/notify/internal/peers"
	"kefu.dev/services/notify/internal/store"
)

// Config configures the service. cmd/notify binds every field but Clock and HTTPClient to a flag and a
// KEFU_ variable (DATABASE_URL and NATS_URL keep their standard names).
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
	// IntakeAddr, CustomerAddr and SlatimerAddr are the peers' gRPC addresses (--intake-addr,
	// --customer-addr, --slatimer-addr), and IntakeAPIKey, CustomerAPIKey, SlatimerAPIKey notify's API keys
	// there (issue each with `<svc> issue-service-key --id notify`). All required.
	IntakeAddr, CustomerAddr, SlatimerAddr       string
	IntakeAPIKey, CustomerAPIKey, SlatimerAPIKey string
	// RoutingAddr and RoutingAPIKey (--routing-addr, --routing-api-key) let templates name the agent
	// ({{agent_name}}, from routing's agent records). Optional: without them the name renders empty.
	RoutingAddr, RoutingAPIKey string
	// Calendar is the slatimer calendar whose working hours decide whether an acknowledgement is after
	// hours (--calendar).
	Calendar string
	// DefaultLanguage is a message's language when the customer's words show none (--default-language:
	// zh-CN or en).
	DefaultLanguage string
	// ConsumerWorkers is how many transactions apply ticket events at once: each batch the consumer takes
	// is split by ticket into up to this many, one ticket's events always in order (--consumer-workers).
	ConsumerWorkers int
	// OutboundMaxAge is how long the OUTBOUND stream keeps messages for adapters (--outbound-max-age).
	OutboundMaxAge time.Duration
	// PublishInterval is the longest the publisher waits between looks for unpublished messages
	// (--publish-interval).
	PublishInterval time.Duration
	// WebhookTimeout bounds each webhook attempt (--webhook-timeout).
	WebhookTimeout time.Duration
	// WebhookWorkers is how many webhook posts run at once (--webhook-workers).
	WebhookWorkers int
	// WebhookPoll is the longest the webhook sender sleeps between looks for due deliveries
	// (--webhook-poll).
	WebhookPoll time.Duration
	// DeliveryRetention is how long a delivered webhook delivery's history is kept (--delivery-retention);
	// dead ones are kept until redelivered or their webhook is deleted.
	DeliveryRetention time.Duration
	// SweepInterval is how often old idempotency keys and delivered deliveries are purged
	// (--sweep-interval).
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
	// HTTPClient posts webhooks; nil is a client with WebhookTimeout. Tests may set their own.
	HTTPClient *http.Client
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		GRPCAddr: "127.0.0.1:7006", Migrate: true, DBMaxConns: 16, Calendar: "china_default", DefaultLanguage: "zh-CN",
		ConsumerWorkers: 8, OutboundMaxAge: 7 * 24 * time.Hour, PublishInterval: time.Second,
		WebhookTimeout: 10 * time.Second, WebhookWorkers: 64, WebhookPoll: time.Second,
		DeliveryRetention: 30 * 24 * time.Hour, SweepInterval: time.Minute,
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
	for _, r := range []struct{ flag, v string }{
		{"intake-addr", c.IntakeAddr}, {"customer-addr", c.CustomerAddr}, {"slatimer-addr", c.SlatimerAddr},
		{"intake-api-key", c.IntakeAPIKey}, {"customer-api-key", c.CustomerAPIKey}, {"slatimer-api-key", c.SlatimerAPIKey},
		{"calendar", c.Calendar},
	} {
		if r.v == "" {
			bad(r.flag, "is required")
		}
	}
	if c.RoutingAddr != "" && c.RoutingAPIKey == "" {
		bad("routing-api-key", "is required with routing-addr")
	}
	if c.DefaultLanguage != "zh-CN" && c.DefaultLanguage != "en" {
		bad("default-language", "must be zh-CN or en")
	}
	if c.ConsumerWorkers < 1 || c.ConsumerWorkers > 256 {
		bad("consumer-workers", "must be between 1 and 256")
	}
	if c.WebhookWorkers < 1 || c.WebhookWorkers > 1024 {
		bad("webhook-workers", "must be between 1 and 1024")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"outbound-max-age", c.OutboundMaxAge}, {"publish-interval", c.PublishInterval},
		{"webhook-timeout", c.WebhookTimeout}, {"webhook-poll", c.WebhookPoll},
		{"delivery-retention", c.DeliveryRetention}, {"sweep-interval", c.SweepInterval},
		{"outbox-replay-window", c.OutboxReplayWindow}, {"stream-max-age", c.StreamMaxAge},
		{"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	// The relay keeps two connections, the publisher, sender and sweeper one each, and every consumer
	// worker may hold one.
	if need := 6 + c.ConsumerWorkers/2; c.DBMaxConns < need {
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

// IssueServiceKey issues an API key at notify for another kefu service (principal service:<id>, role
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
	return platform.Options{Name: "notify", Schema: store.Schema, Migrations: store.Migrations(),
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

// Serve runs the service on lis until ctx ends: the gRPC API, the four consumers, the OUTBOUND publisher,
// the webhook sender and the sweeper. It returns nil after a shutdown caused by ctx, or the error that
// stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log.InfoContext(ctx, "notify starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "intake_addr", cfg.IntakeAddr, "customer_addr", cfg.CustomerAddr,
		"slatimer_addr", cfg.SlatimerAddr, "calendar", cfg.Calendar, "migrate", cfg.Migrate)
	p, err := platform.Open(ctx, cfg.platformOptions(), log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	pr, err := peers.Dial(peers.Addr{Target: cfg.IntakeAddr, APIKey: cfg.IntakeAPIKey},
		peers.Addr{Target: cfg.CustomerAddr, APIKey: cfg.CustomerAPIKey},
		peers.Addr{Target: cfg.SlatimerAddr, APIKey: cfg.SlatimerAPIKey},
		peers.Addr{Target: cfg.RoutingAddr, APIKey: cfg.RoutingAPIKey})
	if err != nil {
		return err
	}
	defer pr.Close()
	publisherWake, senderWake := make(chan struct{}, 1), make(chan struct{}, 1)
	a := app.New(store.New(p.Pool), p.Clock, pr, app.Config{Calendar: cfg.Calendar, DefaultLanguage: cfg.DefaultLanguage},
		log, wake(publisherWake), wake(senderWake))
	grpcapi.New(a).Register(p.Server)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cfg.WebhookTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: cfg.WebhookWorkers, IdleConnTimeout: 90 * time.Second,
		}}
	}
	err = p.Serve(ctx, lis,
		func(ctx context.Context) error {
			<-p.StreamReady()
			return consume.Messages(ctx, p.JS, p.Pool, a, cfg.ConsumerWorkers, log)
		},
		func(ctx context.Context) error {
			<-p.StreamReady()
			return consume.Customers(ctx, p.JS, p.Pool, a, log)
		},
		func(ctx context.Context) error {
			<-p.StreamReady()
			return consume.Incidents(ctx, p.JS, p.Pool, a, log)
		},
		func(ctx context.Context) error {
			<-p.StreamReady()
			return consume.Webhooks(ctx, p.JS, p.Pool, a, log)
		},
		func(ctx context.Context) error {
			return a.RunPublisher(ctx, p.JS, app.PublisherOptions{Stream: app.OutboundStreamConfig(cfg.OutboundMaxAge, cfg.StreamReplicas),
				Poll: cfg.PublishInterval, Batch: 200}, publisherWake)
		},
		func(ctx context.Context) error {
			return a.RunSender(ctx, app.SenderOptions{Client: client, Workers: cfg.WebhookWorkers, Batch: 4 * cfg.WebhookWorkers,
				Poll: cfg.WebhookPoll}, senderWake)
		},
		func(ctx context.Context) error { return sweep(ctx, a, cfg, p, log) },
	)
	log.InfoContext(ctx, "notify stopped")
	return err
}

// wake returns a function that signals ch without blocking (one pending signal is enough).
func wake(ch chan struct{}) func() {
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// sweep purges old idempotency keys and delivered deliveries' history every interval until ctx ends.
func sweep(ctx context.Context, a *app.App, cfg Config, p *platform.Platform, log *slog.Logger) error {
	t := time.NewTicker(cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := p.Clock.Now()
		if _, err := idempotency.Purge(ctx, p.Pool, now.Add(-idempotency.DefaultTTL), 1000); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "purge idempotency keys", "error", err.Error())
		}
		if _, err := a.PurgeDelivered(ctx, now.Add(-cfg.DeliveryRetention)); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "purge delivered webhook deliveries", "error", err.Error())
		}
	}
}
