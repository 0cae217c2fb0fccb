package grpcx

import (
	"context"
	"errors"
	"net"
	"time"

	"google.golang.org/grpc"
)

// ServeUntil serves s on lis until ctx is done, then stops it (NOT_SERVING, graceful within stopTimeout,
// then hard). It returns nil after a shutdown caused by ctx.
func ServeUntil(ctx context.Context, s *Server, lis net.Listener, stopTimeout time.Duration) error {
	if err := s.CheckPolicy(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		s.Stop(stopTimeout)
		if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	}
}
