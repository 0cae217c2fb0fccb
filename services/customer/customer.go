// Package customer will own individual and enterprise customer records with encrypted, masked, consented and erasable sensitive fields (PIPL) (issue #5). Until that issue lands it serves only
// grpc.health.v1 and reflection, so the suite's topology, ports and health checks are already in place.
package customer

import (
	"context"
	"log/slog"
	"net"

	"kefu.dev/pkg/grpcx"
)

// Config configures the service.
type Config struct {
	GRPCAddr string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{GRPCAddr: "127.0.0.1:7002"} }

// Serve runs the service on lis until ctx is done.
func Serve(ctx context.Context, cfg Config, log *slog.Logger, lis net.Listener) error {
	return grpcx.ServeHealthOnly(ctx, grpcx.ServerOptions{Logger: log}, lis)
}
