// Command analytics runs the analytics service alone (docker compose, Kubernetes). Every flag also reads a
// KEFU_ variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	analytics [flags]            serve
//	analytics [flags] migrate    apply migrations and exit
//	analytics [flags] rebuild    drop the projections; the next start replays the stream (stop every
//	                             analytics replica first)
//	analytics [flags] dead-letters list|replay   the events its consumers parked; replay some (docs/operations.md)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/service"
	"kefu.dev/services/analytics"
)

func main() {
	analytics.TuneGC()
	service.Main("analytics", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := analytics.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations and rebuilds (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "events one ingesting transaction takes at most")
		fs.IntVar(&cfg.IngestConcurrency, "ingest-concurrency", cfg.IngestConcurrency, "batches ingested at once (1 to 4)")
		fs.StringVar(&cfg.BusinessZone, "business-zone", cfg.BusinessZone, "IANA time zone of the business: default report zone and the day rollups' days (changing it needs a rebuild)")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often to purge old idempotency keys")
		fs.DurationVar(&cfg.OutboxReplayWindow, "outbox-replay-window", cfg.OutboxReplayWindow, "how long published events stay in the outbox")
		fs.DurationVar(&cfg.StreamMaxAge, "stream-max-age", cfg.StreamMaxAge, "how long the KEFU stream keeps events")
		fs.DurationVar(&cfg.StreamDuplicates, "stream-duplicates", cfg.StreamDuplicates, "the KEFU stream's dedupe window")
		fs.IntVar(&cfg.StreamReplicas, "stream-replicas", cfg.StreamReplicas, "the KEFU stream's replicas in a NATS cluster (1 on one server)")
		auth.BindFlags(fs, &cfg.Auth)
		fs.BoolVar(&cfg.Reflection, "reflection", cfg.Reflection, "serve gRPC reflection without credentials (dev only)")
		fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "graceful stop: the time in-flight requests get, then (after them) event handlers in hand and the last outbox publish")
		fs.DurationVar(&cfg.SurgeInterval, "surge-interval", cfg.SurgeInterval, "how often volume surges are evaluated")
		fs.Float64Var(&cfg.SurgeFactor, "surge-factor", cfg.SurgeFactor, "an hour is a surge above this many times its baseline (and the minimum)")
		fs.IntVar(&cfg.SurgeMinTickets, "surge-min-tickets", cfg.SurgeMinTickets, "an hour is a surge only above this many tickets")
		fs.IntVar(&cfg.SurgeBaselineWeeks, "surge-baseline-weeks", cfg.SurgeBaselineWeeks, "previous weeks the baseline (same hour of the week) averages")
		return func(ctx context.Context, log *slog.Logger) error {
			switch args := fs.Args(); {
			case len(args) == 0:
				return analytics.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := analytics.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "rebuild" && len(args) == 1:
				if err := analytics.Rebuild(ctx, cfg, log); err != nil {
					return err
				}
				log.InfoContext(ctx, "projections dropped; the next start replays the stream")
				return nil
			case args[0] == "dead-letters":
				return analytics.DeadLetters(ctx, cfg, args[1:], os.Stdout)
			default:
				return fmt.Errorf("unknown command %q: want migrate, rebuild or dead-letters", args[0])
			}
		}
	})
}
