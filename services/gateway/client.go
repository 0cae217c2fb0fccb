package gateway

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hideTransportErrors replaces the message of every Unavailable error from a backend call with
// "<service> service unavailable (ref …)", keeping any details. grpc-go writes its own Unavailable errors
// when a call never reaches a server (connection refused, name resolution), and their text names internal
// hosts and ports. Those cannot be told apart reliably from a server's own Unavailable (the call's peer is
// sometimes set from an earlier attempt on a closing connection), so all are rewritten; the original
// message, with a backend's own ref, goes to the request log line under the new ref.
func hideTransportErrors(service string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if status.Code(err) != codes.Unavailable {
			return err
		}
		ref := newRef()
		p := status.Convert(err).Proto()
		noteCause(ctx, p.GetMessage(), ref)
		p.Message = fmt.Sprintf("%s service unavailable (ref %s)", service, ref)
		return status.FromProto(p).Err()
	}
}
