// Command routing runs the routing service alone (docker compose, Kubernetes).
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"

	"kefu.dev/pkg/service"
	"kefu.dev/services/routing"
)

func main() {
	service.Main("routing", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := routing.DefaultConfig()
		fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		return func(ctx context.Context, log *slog.Logger) error {
			lis, err := net.Listen("tcp", cfg.GRPCAddr)
			if err != nil {
				return err
			}
			log.InfoContext(ctx, "serving", "grpc_addr", lis.Addr().String())
			return routing.Serve(ctx, cfg, log, lis)
		}
	})
}
