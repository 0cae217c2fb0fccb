package events

import (
	"context"
	"time"
)

type drainKey struct{}

// WithDrainTimeout returns ctx carrying d, the drain timeout of consumers run under it whose configuration
// names none: a service's graceful stop sets it once for all of its consumers.
func WithDrainTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, drainKey{}, d)
}

// drainTimeout is configured if set, else ctx's drain timeout, else DefaultDrainTimeout.
func drainTimeout(ctx context.Context, configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	if d, ok := ctx.Value(drainKey{}).(time.Duration); ok && d > 0 {
		return d
	}
	return DefaultDrainTimeout
}

// drainContext returns a context that keeps ctx's values and ends d after ctx does (or when stop is
// called): handlers started before a stop get d to finish.
func drainContext(ctx context.Context, d time.Duration) (hctx context.Context, stop func()) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unwatch := context.AfterFunc(ctx, func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-hctx.Done():
		}
	})
	return hctx, func() {
		unwatch()
		cancel()
	}
}

// nakAll hands messages back to the server for redelivery now.
func nakAll[M interface{ Nak() error }](msgs []M) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}
