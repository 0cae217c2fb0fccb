// Command kefu-dev brings up the whole kefu suite in one process (see package devstack). `make run` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/service"
	"kefu.dev/services/devstack"
)

func main() {
	service.Main("kefu-dev", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := devstack.DefaultConfig()
		fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "folder for the private Postgres cluster and the JetStream store")
		fs.StringVar(&cfg.DatabaseURL, "database-url", "", "admin URL of an existing Postgres (env DATABASE_URL); empty starts a private cluster")
		fs.IntVar(&cfg.PostgresPort, "postgres-port", cfg.PostgresPort, "port of the private cluster (0 = any free port)")
		fs.IntVar(&cfg.NATSPort, "nats-port", cfg.NATSPort, "embedded NATS client port (-1 = any free port)")
		fs.BoolVar(&cfg.NATSSync, "nats-sync-always", cfg.NATSSync, "fsync every JetStream write")
		fs.DurationVar(&cfg.NATSSyncEvery, "nats-sync-interval", cfg.NATSSyncEvery, "JetStream fsync interval without --nats-sync-always (0 = server default, 2m)")
		fs.StringVar(&cfg.Host, "host", cfg.Host, "interface to listen on")
		fs.IntVar(&cfg.HTTPPort, "http-port", cfg.HTTPPort, "REST gateway port")
		fs.IntVar(&cfg.IntakePort, "intake-port", cfg.IntakePort, "intake gRPC port")
		fs.IntVar(&cfg.CustomerPort, "customer-port", cfg.CustomerPort, "customer gRPC port")
		fs.IntVar(&cfg.RoutingPort, "routing-port", cfg.RoutingPort, "routing gRPC port")
		fs.IntVar(&cfg.SlatimerPort, "slatimer-port", cfg.SlatimerPort, "slatimer gRPC port")
		fs.IntVar(&cfg.AnalyticsPort, "analytics-port", cfg.AnalyticsPort, "analytics gRPC port")
		return func(ctx context.Context, log *slog.Logger) error {
			// Each service logs under its own name, at the level --log-level gave the runner.
			level := slog.LevelError
			for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
				if log.Enabled(ctx, l) {
					level = l
					break
				}
			}
			cfg.ServiceLogger = func(name string) *slog.Logger { return logging.New(os.Stdout, level, name) }
			return devstack.Run(ctx, cfg, log, func(a devstack.Addresses) {
				fmt.Fprint(os.Stderr, a.Banner())
			})
		}
	})
}
