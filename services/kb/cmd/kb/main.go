// Command kb runs the knowledge-base service alone (docker compose, Kubernetes). Every flag also reads a
// KEFU_ variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	kb [flags]                          serve
//	kb [flags] migrate                  apply migrations and exit
//	kb [flags] issue-service-key --id X issue an API key at kb for service X, print it, exit
//	kb [flags] dead-letters list|replay   the events its consumers parked; replay some (docs/operations.md)
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
	"kefu.dev/services/kb"
)

func main() {
	service.Main("kb", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := kb.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", cfg.IntakeAddr, "intake service gRPC address (tickets)")
		fs.StringVar(&cfg.IntakeAPIKey, "intake-api-key", cfg.IntakeAPIKey, "kb's API key at intake (secret; `intake issue-service-key --id kb`)")
		fs.StringVar(&cfg.RoutingAddr, "routing-addr", cfg.RoutingAddr, "routing service gRPC address (staff members' groups); empty: the token's groups claim")
		fs.StringVar(&cfg.RoutingAPIKey, "routing-api-key", cfg.RoutingAPIKey, "kb's API key at routing (secret; `routing issue-service-key --id kb`)")
		fs.IntVar(&cfg.ConsumerWorkers, "consumer-workers", cfg.ConsumerWorkers, "transactions applying ticket events at once (one ticket's always in order, in one)")
		fs.IntVar(&cfg.SearchBudget, "search-budget", cfg.SearchBudget, "articles a query's rare terms may pick as candidates (sum of their document frequencies)")
		fs.IntVar(&cfg.HeadCap, "search-head-cap", cfg.HeadCap, "title and tag matches read for one query at most")
		fs.IntVar(&cfg.HeadKeep, "search-head-keep", cfg.HeadKeep, "best title and tag matches kept as candidates")
		fs.IntVar(&cfg.DocumentCap, "search-document-cap", cfg.DocumentCap, "candidates taken from whole documents at most")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often old idempotency keys are purged")
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
				return kb.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := kb.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "issue-service-key":
				return platform.IssueServiceKeyCommand(ctx, args[1:], os.Stdout, func(ctx context.Context, id string) (string, error) {
					return kb.IssueServiceKey(ctx, cfg, id)
				})
			case args[0] == "dead-letters":
				return kb.DeadLetters(ctx, cfg, args[1:], os.Stdout)
			default:
				return fmt.Errorf("unknown command %q: want migrate, issue-service-key or dead-letters", args[0])
			}
		}
	})
}
