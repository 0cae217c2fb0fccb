package grpcx_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/stats"

	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
)

// connCounter counts the connections a server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (c *connCounter) HandleRPC(context.Context, stats.RPCStats)                         {}
func (c *connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c *connCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnBegin); ok {
		c.n.Add(1)
	}
}

// serveHealth runs a kefu server whose health service reports status for the service "which", and
// returns its address and connection counter.
func serveHealth(t *testing.T, o grpcx.ServerOptions, status healthpb.HealthCheckResponse_ServingStatus) (string, *connCounter) {
	t.Helper()
	o.Logger = logging.Discard()
	cc := &connCounter{}
	s, err := grpcx.NewServer(o, grpc.StatsHandler(cc))
	require.NoError(t, err)
	s.Health.SetServingStatus("which", status)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Server.Stop)
	return lis.Addr().String(), cc
}

// TestDialSpreadsCallsOverEveryAddress: a target resolving to two servers (as a headless Service's name
// does) gets calls on both, where pick_first would stick to one.
func TestDialSpreadsCallsOverEveryAddress(t *testing.T) {
	t.Parallel()
	a, _ := serveHealth(t, grpcx.ServerOptions{}, healthpb.HealthCheckResponse_SERVING)
	b, _ := serveHealth(t, grpcx.ServerOptions{}, healthpb.HealthCheckResponse_NOT_SERVING)
	r := manual.NewBuilderWithScheme("two")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a}, {Addr: b}}})
	conn, err := grpcx.Dial(r.Scheme()+":///service", grpc.WithResolvers(r))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	seen := map[healthpb.HealthCheckResponse_ServingStatus]int{}
	for range 40 {
		resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "which"})
		require.NoError(t, err)
		seen[resp.GetStatus()]++
	}
	require.Len(t, seen, 2, "calls reached both servers: %v", seen)
}

// TestServerEndsOldConnections: with a short MaxConnectionAge the client's connection is closed and
// reopened while it keeps calling (so it resolves the name again and finds new replicas); calls go on
// succeeding. With MaxConnectionAge negative the one connection stays.
func TestServerEndsOldConnections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		age  time.Duration
		more bool
	}{{300 * time.Millisecond, true}, {-1, false}} {
		addr, conns := serveHealth(t, grpcx.ServerOptions{MaxConnectionAge: tc.age}, healthpb.HealthCheckResponse_SERVING)
		conn, err := grpcx.Dial(addr)
		require.NoError(t, err)
		for range 30 {
			_, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "which"})
			require.NoError(t, err)
			time.Sleep(50 * time.Millisecond)
		}
		_ = conn.Close()
		if tc.more {
			require.Greater(t, conns.n.Load(), int64(1), "connections opened over 1.5 s with a 300 ms age")
		} else {
			require.Equal(t, int64(1), conns.n.Load(), "one connection without an age")
		}
	}
}
