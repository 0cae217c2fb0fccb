// Command intake runs the intake service alone (docker compose, Kubernetes). Every flag also reads a KEFU_
// variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	intake [flags]                              serve
//	intake [flags] migrate                      apply migrations and exit
//	intake [flags] republish --since RFC3339    re-send the outbox's events created since then, and exit
//	intake [flags] issue-service-key --id routing
//	                                            print a new API key for another kefu service (routing's
//	                                            KEFU_INTAKE_API_KEY)
//	intake [flags] dead-letters list|replay   the events its consumers parked; replay some (docs/operations.md)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/platform"
	"kefu.dev/pkg/service"
	"kefu.dev/services/intake"
)

func main() {
	service.Main("intake", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := intake.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.StringVar(&cfg.BusinessZone, "business-zone", cfg.BusinessZone, "IANA time zone of ticket number dates")
		fs.DurationVar(&cfg.MaxSkew, "max-skew", cfg.MaxSkew, "how far in the future a submit's received_time may be")
		fs.DurationVar(&cfg.AutoCloseAfter, "auto-close-after", cfg.AutoCloseAfter, "time after resolution when a ticket closes by itself")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often to auto-close due tickets and purge old idempotency keys")
		fs.DurationVar(&cfg.PolicyTTL, "policy-ttl", cfg.PolicyTTL, "how long cached taxonomy and rules may lag another replica's change")
		fs.DurationVar(&cfg.OutboxReplayWindow, "outbox-replay-window", cfg.OutboxReplayWindow, "how long published events stay in the outbox")
		fs.DurationVar(&cfg.StreamMaxAge, "stream-max-age", cfg.StreamMaxAge, "how long the KEFU stream keeps events")
		fs.DurationVar(&cfg.StreamDuplicates, "stream-duplicates", cfg.StreamDuplicates, "the KEFU stream's dedupe window")
		fs.IntVar(&cfg.StreamReplicas, "stream-replicas", cfg.StreamReplicas, "the KEFU stream's replicas in a NATS cluster (1 on one server)")
		fs.StringVar(&cfg.CustomerAddr, "customer-addr", cfg.CustomerAddr, "customer service gRPC address (empty: submits do not resolve customers or verify identities)")
		fs.StringVar(&cfg.CustomerAPIKey, "customer-api-key", cfg.CustomerAPIKey, "intake's API key at the customer service (secret; required with --customer-addr)")
		fs.StringVar(&cfg.RoutingAddr, "routing-addr", cfg.RoutingAddr, "routing service gRPC address: staff members' groups come from routing (empty: from the staff token's groups claim)")
		fs.StringVar(&cfg.RoutingAPIKey, "routing-api-key", cfg.RoutingAPIKey, "intake's API key at the routing service (secret; required with --routing-addr; issue one with `routing issue-service-key --id intake`)")
		auth.BindFlags(fs, &cfg.Auth)
		fs.BoolVar(&cfg.Reflection, "reflection", cfg.Reflection, "serve gRPC reflection without credentials (dev only)")
		fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "graceful stop: the time in-flight requests get, then (after them) event handlers in hand and the last outbox publish")
		return func(ctx context.Context, log *slog.Logger) error {
			switch args := fs.Args(); {
			case len(args) == 0:
				return intake.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := intake.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "republish":
				return republish(ctx, cfg, log, args[1:])
			case args[0] == "issue-service-key":
				return platform.IssueServiceKeyCommand(ctx, args[1:], os.Stdout, func(ctx context.Context, id string) (string, error) {
					return intake.IssueServiceKey(ctx, cfg, id)
				})
			case args[0] == "dead-letters":
				return intake.DeadLetters(ctx, cfg, args[1:], os.Stdout)
			default:
				return fmt.Errorf("unknown command %q: want migrate, republish, issue-service-key or dead-letters", args[0])
			}
		}
	})
}

func republish(ctx context.Context, cfg intake.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("republish", flag.ContinueOnError)
	sinceText := fs.String("since", "", "re-send events created at or after this RFC 3339 time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sinceText == "" {
		return errors.New("republish: --since is required")
	}
	since, err := time.Parse(time.RFC3339, *sinceText)
	if err != nil {
		return fmt.Errorf("republish: --since: %w", err)
	}
	n, err := intake.Republish(ctx, cfg, since)
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "outbox events marked for republishing", "count", n, "since", since.Format(time.RFC3339))
	return nil
}
