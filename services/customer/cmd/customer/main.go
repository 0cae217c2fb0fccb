// Command customer runs the customer service alone (docker compose, Kubernetes). Every flag also reads a
// KEFU_ variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	customer [flags]            serve
//	customer [flags] migrate    apply migrations and exit
//	customer [flags] rekey      rewrap every data key under the primary encryption key, and exit
//	customer [flags] issue-service-key --id intake
//	                            print a new API key for another kefu service (intake's KEFU_CUSTOMER_API_KEY)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/platform"
	"kefu.dev/pkg/service"
	"kefu.dev/services/customer"
)

func main() {
	service.Main("customer", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := customer.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.StringVar(&cfg.EncryptionKeys, "encryption-keys", cfg.EncryptionKeys, "master keys wrapping customers' data keys: id:base64(32 bytes),... (last is primary); secret")
		fs.StringVar(&cfg.EncryptionKeysFile, "encryption-keys-file", cfg.EncryptionKeysFile, "file holding --encryption-keys")
		fs.StringVar(&cfg.BlindIndexKey, "blind-index-key", cfg.BlindIndexKey, "base64 key (at least 32 bytes) of the lookups' blind indexes; secret")
		fs.StringVar(&cfg.BlindIndexKeyFile, "blind-index-key-file", cfg.BlindIndexKeyFile, "file holding --blind-index-key")
		fs.IntVar(&cfg.VerifyMaxAttempts, "verify-max-attempts", cfg.VerifyMaxAttempts, "identity verification attempts allowed per customer per window")
		fs.DurationVar(&cfg.VerifyWindow, "verify-window", cfg.VerifyWindow, "window of --verify-max-attempts")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often to purge old idempotency keys")
		fs.DurationVar(&cfg.OutboxReplayWindow, "outbox-replay-window", cfg.OutboxReplayWindow, "how long published events stay in the outbox")
		fs.DurationVar(&cfg.StreamMaxAge, "stream-max-age", cfg.StreamMaxAge, "how long the KEFU stream keeps events")
		fs.DurationVar(&cfg.StreamDuplicates, "stream-duplicates", cfg.StreamDuplicates, "the KEFU stream's dedupe window")
		fs.IntVar(&cfg.StreamReplicas, "stream-replicas", cfg.StreamReplicas, "the KEFU stream's replicas in a NATS cluster (1 on one server)")
		auth.BindFlags(fs, &cfg.Auth)
		fs.BoolVar(&cfg.Reflection, "reflection", cfg.Reflection, "serve gRPC reflection without credentials (dev only)")
		fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "graceful stop: the time in-flight requests get, then (after them) event handlers in hand and the last outbox publish")
		return func(ctx context.Context, log *slog.Logger) error {
			switch args := fs.Args(); {
			case len(args) == 0:
				return customer.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := customer.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "rekey" && len(args) == 1:
				n, err := customer.Rekey(ctx, cfg, log)
				if err != nil {
					return err
				}
				log.InfoContext(ctx, "data keys rewrapped under the primary encryption key", "count", n)
				return nil
			case args[0] == "issue-service-key":
				return platform.IssueServiceKeyCommand(ctx, args[1:], os.Stdout, func(ctx context.Context, id string) (string, error) {
					return customer.IssueServiceKey(ctx, cfg, id)
				})
			default:
				return fmt.Errorf("unknown command %q: want migrate, rekey or issue-service-key", args[0])
			}
		}
	})
}
