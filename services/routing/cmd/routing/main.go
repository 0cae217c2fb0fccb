// Command routing runs the routing service alone (docker compose, Kubernetes). Every flag also reads a
// KEFU_ variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	routing [flags]                             serve
//	routing [flags] migrate                     apply migrations and exit
//	routing [flags] issue-service-key --id intake
//	                                            print a new API key for another kefu service (intake's
//	                                            KEFU_ROUTING_API_KEY)
//	routing [flags] dead-letters list|replay   the events its consumers parked; replay some (docs/operations.md)
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
	"kefu.dev/services/routing"
)

func main() {
	service.Main("routing", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := routing.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", cfg.IntakeAddr, "intake service gRPC address, where tickets are assigned")
		fs.StringVar(&cfg.IntakeAPIKey, "intake-api-key", cfg.IntakeAPIKey, "routing's API key at the intake service (secret; issue one with `intake issue-service-key --id routing`)")
		fs.IntVar(&cfg.ConsumerWorkers, "consumer-workers", cfg.ConsumerWorkers, "transactions applying ticket events at once (one ticket's always in order, in one)")
		fs.IntVar(&cfg.DispatchWorkers, "dispatch-workers", cfg.DispatchWorkers, "AssignTicket calls to intake run at once")
		fs.DurationVar(&cfg.TimerInterval, "timer-interval", cfg.TimerInterval, "how often surges are re-evaluated and kept counts folded; the longest a due transfer waits to expire")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often to drain every queue as a safety net and purge old idempotency keys")
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
				return routing.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := routing.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "issue-service-key":
				return platform.IssueServiceKeyCommand(ctx, args[1:], os.Stdout, func(ctx context.Context, id string) (string, error) {
					return routing.IssueServiceKey(ctx, cfg, id)
				})
			case args[0] == "dead-letters":
				return routing.DeadLetters(ctx, cfg, args[1:], os.Stdout)
			default:
				return fmt.Errorf("unknown command %q: want migrate, issue-service-key or dead-letters", args[0])
			}
		}
	})
}
