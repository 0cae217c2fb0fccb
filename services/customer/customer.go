// Package customer is the customer service: it owns who the customer is — individual and enterprise
// records, contacts and consents, business keys and tiers — and keeps personal data encrypted, masked,
// audited when revealed, and erasable (China's PIPL). Run (or Serve, with a listener of the caller's) is the
// composition root: it migrates the schema, opens the pool, connects to NATS, and runs the gRPC server and
// the outbox relay of kefu.customer.* events until the context ends.
package customer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/platform"
	"kefu.dev/services/customer/internal/app"
	"kefu.dev/services/customer/internal/grpcapi"
	"kefu.dev/services/customer/internal/seal"
	"kefu.dev/services/customer/internal/store"
)

// Config configures the service. cmd/customer binds every field but Clock to a flag and a KEFU_ variable
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
	// NATSURL is the NATS server (--nats-url, NATS_URL). Required. Changes are accepted while it is down.
	NATSURL string
	// EncryptionKeys are the master keys that wrap customers' data keys, "id:base64(32 bytes)" separated by
	// commas, the last one primary (--encryption-keys). Or EncryptionKeysFile names a file holding them
	// (--encryption-keys-file). Exactly one is required; keep them out of the database.
	EncryptionKeys, EncryptionKeysFile string
	// BlindIndexKey keys the HMAC blind indexes of exact-match lookups: base64 of at least 32 bytes
	// (--blind-index-key), or BlindIndexKeyFile (--blind-index-key-file). Exactly one is required; changing
	// it makes every existing index unfindable.
	BlindIndexKey, BlindIndexKeyFile string
	// VerifyMaxAttempts and VerifyWindow bound VerifyIdentity per customer (--verify-max-attempts,
	// --verify-window).
	VerifyMaxAttempts int
	VerifyWindow      time.Duration
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
		GRPCAddr: "127.0.0.1:7002", Migrate: true, DBMaxConns: 16,
		VerifyMaxAttempts: 5, VerifyWindow: 15 * time.Minute, SweepInterval: time.Minute,
		OutboxReplayWindow: outbox.DefaultReplayWindow, StreamMaxAge: events.DefaultMaxAge,
		StreamDuplicates: events.DefaultDuplicates, StreamReplicas: 1, Auth: auth.DefaultConfig(), ShutdownTimeout: 10 * time.Second,
	}
}

// secret returns the value given inline or read from file, naming the flags when neither or both are set.
func secret(inline, file, flag string) (string, error) {
	switch {
	case inline != "" && file != "":
		return "", fmt.Errorf("%s (%s) and %s-file (%s): set one, not both", flag, config.EnvName(flag), flag, config.EnvName(flag+"-file"))
	case inline != "":
		return inline, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s-file (%s): %w", flag, config.EnvName(flag+"-file"), err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("%s (%s) or %s-file (%s) is required", flag, config.EnvName(flag), flag, config.EnvName(flag+"-file"))
}

// keys parses the master keys and the blind-index key.
func (c Config) keys() (*seal.Keyring, *seal.Indexer, error) {
	spec, err := secret(c.EncryptionKeys, c.EncryptionKeysFile, "encryption-keys")
	if err != nil {
		return nil, nil, err
	}
	kr, err := seal.ParseKeyring(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("encryption-keys (%s): %w", config.EnvName("encryption-keys"), err)
	}
	ispec, err := secret(c.BlindIndexKey, c.BlindIndexKeyFile, "blind-index-key")
	if err != nil {
		return nil, nil, err
	}
	ix, err := seal.ParseIndexKey(ispec)
	if err != nil {
		return nil, nil, fmt.Errorf("blind-index-key (%s): %w", config.EnvName("blind-index-key"), err)
	}
	return kr, ix, nil
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
	if _, _, err := c.keys(); err != nil {
		errs = append(errs, err)
	}
	if c.VerifyMaxAttempts < 1 {
		bad("verify-max-attempts", "must be at least 1")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"verify-window", c.VerifyWindow}, {"sweep-interval", c.SweepInterval},
		{"outbox-replay-window", c.OutboxReplayWindow}, {"stream-max-age", c.StreamMaxAge},
		{"stream-duplicates", c.StreamDuplicates}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, "must be positive")
		}
	}
	if c.DBMaxConns < 4 {
		bad("db-max-conns", "must be at least 4 (the outbox relay keeps two)")
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		bad("stream-replicas", "must be between 1 and 5")
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Migrations returns the service's migration sets in the order they are applied, for tools and tests that
// prepare a database the way the service does.
func Migrations() []pgxutil.MigrationSet { return store.Migrations() }

// Migrate applies the migrations as the owner role, and returns.
func Migrate(ctx context.Context, cfg Config) error {
	return platform.Migrate(ctx, cfg.platformOptions())
}

// Rekey rewraps every customer data key that is not under the primary master key (the last of
// EncryptionKeys) and returns how many it moved. Run it after adding a new key; once it reports 0, the old
// key can be removed from the configuration.
func Rekey(ctx context.Context, cfg Config, log *slog.Logger) (int, error) {
	kr, ix, err := cfg.keys()
	if err != nil {
		return 0, err
	}
	pool, err := pgxutil.Open(ctx, cfg.DatabaseURL, pgxutil.Options{Schema: store.Schema, AppName: "customer-rekey", MaxConns: 2})
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	a := app.New(store.New(pool), clock.Real{}, nopNotifier{}, kr, ix, app.Config{}, log)
	return a.Rekey(ctx, 500)
}

// IssueServiceKey issues an API key at this service for another kefu service (principal service:<id>,
// role service) and returns its text, which is shown nowhere else: the bootstrap of intake's
// KEFU_CUSTOMER_API_KEY in a fresh install, before any admin could call KeyService. Run it again to rotate
// (see platform.IssueServiceKey).
func IssueServiceKey(ctx context.Context, cfg Config, id string) (string, error) {
	return platform.IssueServiceKey(ctx, cfg.platformOptions(), id)
}

type nopNotifier struct{}

func (nopNotifier) Notify() {}

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

// platformOptions is the part of cfg the shared platform takes.
func (c Config) platformOptions() platform.Options {
	return platform.Options{Name: "customer", Schema: store.Schema, Migrations: store.Migrations(),
		DatabaseURL: c.DatabaseURL, MigrateDatabaseURL: c.MigrateDatabaseURL, Migrate: c.Migrate, DBMaxConns: c.DBMaxConns,
		NATSURL: c.NATSURL, Stream: events.StreamConfig{MaxAge: c.StreamMaxAge, Duplicates: c.StreamDuplicates, Replicas: c.StreamReplicas},
		OutboxReplayWindow: c.OutboxReplayWindow, Auth: c.Auth, Reflection: c.Reflection,
		ShutdownTimeout: c.ShutdownTimeout, Clock: c.Clock}
}

// Serve runs the service on lis until ctx ends, then stops in order: the gRPC server, the relay and the
// sweeper, NATS (drained), and the pool last. It returns nil after a shutdown caused by ctx, or the error
// that stopped it. It closes lis.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	defer lis.Close()
	if err := cfg.Validate(); err != nil {
		return err
	}
	kr, ix, _ := cfg.keys() // checked by Validate
	log.InfoContext(ctx, "customer starting", "grpc_addr", lis.Addr().String(), "database_url", config.Redact(cfg.DatabaseURL),
		"nats_url", config.Redact(cfg.NATSURL), "migrate", cfg.Migrate, "encryption_key_ids", strings.Join(kr.IDs(), ","),
		"primary_encryption_key", kr.Primary())
	p, err := platform.Open(ctx, cfg.platformOptions(), log)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	a := app.New(store.New(p.Pool), p.Clock, p.Relay, kr, ix, app.Config{
		VerifyMaxAttempts: cfg.VerifyMaxAttempts, VerifyWindow: cfg.VerifyWindow}, log)
	grpcapi.New(a).Register(p.Server)
	err = p.Serve(ctx, lis, func(ctx context.Context) error {
		return idempotency.Sweep(ctx, p.Pool, p.Clock.Now, cfg.SweepInterval, idempotency.DefaultTTL, log)
	})
	log.InfoContext(ctx, "customer stopped")
	return err
}
