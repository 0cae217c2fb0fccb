package service

import (
	"context"
	"net"

	"kefu.dev/pkg/telemetry"
)

// serveMetrics starts the process's Prometheus endpoint on addr (nothing when addr is empty) before the
// service makes any instrument, and returns the function that stops it (after the service stopped, so the
// last scrape sees the final counts).
func serveMetrics(ctx context.Context, name, addr string) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	m, err := telemetry.SetupMetrics(name)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Serve(mctx, lis)
	}()
	return func() { cancel(); <-done }, nil
}
