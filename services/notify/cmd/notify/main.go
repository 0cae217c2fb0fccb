// Command notify runs the notify service alone (docker compose, Kubernetes). Every flag also reads a
// KEFU_ variable (--grpc-addr ↔ KEFU_GRPC_ADDR); DATABASE_URL and NATS_URL keep their standard names.
//
//	notify [flags]                          serve
//	notify [flags] migrate                  apply migrations and exit
//	notify [flags] issue-service-key --id X issue an API key at notify for service X, print it, exit
//	notify [flags] dead-letters list|replay   the events its consumers parked; replay some (docs/operations.md)
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
	"kefu.dev/services/notify"
)

func main() {
	service.Main("notify", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := notify.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL of the runtime role (env DATABASE_URL)")
		fs.StringVar(&cfg.MigrateDatabaseURL, "migrate-database-url", cfg.MigrateDatabaseURL, "Postgres URL of the schema owner role for migrations (default: database-url)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations at start")
		fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "maximum Postgres connections")
		fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "NATS URL (env NATS_URL)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", cfg.IntakeAddr, "intake service gRPC address (tickets and replies)")
		fs.StringVar(&cfg.IntakeAPIKey, "intake-api-key", cfg.IntakeAPIKey, "notify's API key at intake (secret; `intake issue-service-key --id notify`)")
		fs.StringVar(&cfg.CustomerAddr, "customer-addr", cfg.CustomerAddr, "customer service gRPC address (contacts and consent)")
		fs.StringVar(&cfg.CustomerAPIKey, "customer-api-key", cfg.CustomerAPIKey, "notify's API key at customer (secret; `customer issue-service-key --id notify`)")
		fs.StringVar(&cfg.SlatimerAddr, "slatimer-addr", cfg.SlatimerAddr, "slatimer gRPC address (business calendars)")
		fs.StringVar(&cfg.SlatimerAPIKey, "slatimer-api-key", cfg.SlatimerAPIKey, "notify's API key at slatimer (secret; `slatimer issue-service-key --id notify`)")
		fs.StringVar(&cfg.RoutingAddr, "routing-addr", cfg.RoutingAddr, "routing gRPC address (agents' names for templates; optional)")
		fs.StringVar(&cfg.RoutingAPIKey, "routing-api-key", cfg.RoutingAPIKey, "notify's API key at routing (secret; `routing issue-service-key --id notify`)")
		fs.StringVar(&cfg.Calendar, "calendar", cfg.Calendar, "slatimer calendar whose working hours make an acknowledgement after-hours")
		fs.StringVar(&cfg.DefaultLanguage, "default-language", cfg.DefaultLanguage, "message language when the customer's words show none (zh-CN or en)")
		fs.IntVar(&cfg.ConsumerWorkers, "consumer-workers", cfg.ConsumerWorkers, "transactions turning ticket events into messages at once (one ticket's always in order, in one)")
		fs.DurationVar(&cfg.OutboundMaxAge, "outbound-max-age", cfg.OutboundMaxAge, "how long the OUTBOUND stream keeps messages for adapters")
		fs.DurationVar(&cfg.PublishInterval, "publish-interval", cfg.PublishInterval, "longest wait between looks for unpublished messages")
		fs.DurationVar(&cfg.WebhookTimeout, "webhook-timeout", cfg.WebhookTimeout, "time limit of one webhook attempt")
		fs.IntVar(&cfg.WebhookWorkers, "webhook-workers", cfg.WebhookWorkers, "webhook posts at once")
		fs.DurationVar(&cfg.WebhookPoll, "webhook-poll", cfg.WebhookPoll, "longest wait between looks for due webhook deliveries")
		fs.DurationVar(&cfg.DeliveryRetention, "delivery-retention", cfg.DeliveryRetention, "how long delivered webhook deliveries' history is kept")
		fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often old idempotency keys and delivery history are purged")
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
				return notify.Run(ctx, cfg, log)
			case args[0] == "migrate" && len(args) == 1:
				if err := notify.Migrate(ctx, cfg); err != nil {
					return err
				}
				log.InfoContext(ctx, "migrations applied")
				return nil
			case args[0] == "issue-service-key":
				return platform.IssueServiceKeyCommand(ctx, args[1:], os.Stdout, func(ctx context.Context, id string) (string, error) {
					return notify.IssueServiceKey(ctx, cfg, id)
				})
			case args[0] == "dead-letters":
				return notify.DeadLetters(ctx, cfg, args[1:], os.Stdout)
			default:
				return fmt.Errorf("unknown command %q: want migrate, issue-service-key or dead-letters", args[0])
			}
		}
	})
}
