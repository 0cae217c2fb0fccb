// Command analytics runs the analytics service alone (docker compose, Kubernetes).
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"

	"kefu.dev/pkg/service"
	"kefu.dev/services/analytics"
)

func main() {
	service.Main("analytics", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := analytics.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		return func(ctx context.Context, log *slog.Logger) error {
			lis, err := net.Listen("tcp", cfg.GRPCAddr)
			if err != nil {
				return err
			}
			log.InfoContext(ctx, "serving", "grpc_addr", lis.Addr().String())
			return analytics.Serve(ctx, cfg, log, lis)
		}
	})
}
