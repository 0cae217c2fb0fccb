// Command gateway serves kefu's REST API (grpc-gateway in front of the intake, customer, routing, slatimer
// and analytics services) on its own, for docker compose and Kubernetes. Every flag also reads a KEFU_ variable
// (--http-addr ↔ KEFU_HTTP_ADDR); a flag given on the command line wins. OpenTelemetry is configured by the
// standard OTEL_* variables.
package main

import (
	"context"
	"flag"
	"log/slog"

	"kefu.dev/pkg/service"
	"kefu.dev/services/gateway"
)

func main() {
	service.Main("gateway", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := gateway.DefaultConfig()
		cfg.IntakeAddr, cfg.CustomerAddr, cfg.RoutingAddr = "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"
		cfg.SlatimerAddr, cfg.AnalyticsAddr, cfg.NotifyAddr, cfg.KBAddr = "127.0.0.1:7004", "127.0.0.1:7005", "127.0.0.1:7006", "127.0.0.1:7007"
		fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (host:port)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", cfg.IntakeAddr, "gRPC address of the intake service")
		fs.StringVar(&cfg.CustomerAddr, "customer-addr", cfg.CustomerAddr, "gRPC address of the customer service (empty: no /v1/customers or /v1/tiers routes)")
		fs.StringVar(&cfg.RoutingAddr, "routing-addr", cfg.RoutingAddr, "gRPC address of the routing service (empty: no /v1/groups, /v1/agents or /v1/routingRules routes)")
		fs.StringVar(&cfg.SlatimerAddr, "slatimer-addr", cfg.SlatimerAddr, "gRPC address of the slatimer service (empty: no /v1/slaPolicies, /v1/calendars, /v1/tickets/{id}/sla or /v1/sla/atRisk routes)")
		fs.StringVar(&cfg.AnalyticsAddr, "analytics-addr", cfg.AnalyticsAddr, "gRPC address of the analytics service (empty: no /v1/reports routes)")
		fs.StringVar(&cfg.NotifyAddr, "notify-addr", cfg.NotifyAddr, "gRPC address of the notify service (empty: no /v1/webhooks or message routes)")
		fs.StringVar(&cfg.KBAddr, "kb-addr", cfg.KBAddr, "gRPC address of the knowledge base (empty: no /v1/articles routes)")
		fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted; larger ones get 413")
		fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", cfg.ReadHeaderTimeout, "time allowed to read request headers")
		fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "time allowed to read a whole request")
		fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "time in-flight requests get on shutdown")
		return func(ctx context.Context, log *slog.Logger) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return gateway.Run(ctx, cfg, log)
		}
	})
}
