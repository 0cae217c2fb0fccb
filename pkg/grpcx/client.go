package grpcx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"kefu.dev/pkg/auth"
)

// DefaultCallTimeout bounds an outgoing call whose context has no deadline, so a stuck peer cannot hold a
// caller forever.
const DefaultCallTimeout = 10 * time.Second

// roundRobin spreads calls over every address the target resolves to. Targets resolve through DNS (the
// default of grpc.NewClient), so a Kubernetes headless Service name yields one address per ready pod;
// servers end connections after MaxConnectionAge, and the reconnect resolves the name again.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// Dial returns a client connection to a kefu service with OpenTelemetry propagation, a default deadline
// on every call and round-robin over the target's addresses. The connection is lazy: it connects on
// first use and reconnects by itself.
// Transport security is plaintext: run it on a private network or behind a TLS-terminating mesh (see
// docs/security.md).
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithChainUnaryInterceptor(defaultDeadline(DefaultCallTimeout)),
		grpc.WithDefaultServiceConfig(roundRobin),
	}
	cc, err := grpc.NewClient(target, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return cc, nil
}

func defaultDeadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// Bearer sends credential (an API key or a token) as "authorization: Bearer <credential>" on every call.
func Bearer(credential string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearer{md: map[string]string{"authorization": "Bearer " + credential}})
}

type bearer struct{ md map[string]string }

// GetRequestMetadata returns the same map every call: grpc-go only reads it.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return b.md, nil
}

// RequireTransportSecurity is false so plaintext connections on a private network can carry it.
func (bearer) RequireTransportSecurity() bool { return false }

// ForwardCaller is the client interceptor of a service calling another for the staff member whose request
// it is serving: it forwards that request's staff token (never an API key, which only its issuer can
// verify) as auth.ForwardedAuthorizationKey, so the callee attributes the work to them. The service
// authenticates as itself with Bearer.
func ForwardCaller() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if vs := metadata.ValueFromIncomingContext(ctx, auth.AuthorizationKey); len(vs) == 1 && !isAPIKey(vs[0]) {
			ctx = metadata.AppendToOutgoingContext(ctx, auth.ForwardedAuthorizationKey, vs[0])
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func isAPIKey(authorization string) bool {
	_, cred, _ := strings.Cut(authorization, " ")
	return strings.HasPrefix(cred, "kefu_")
}
