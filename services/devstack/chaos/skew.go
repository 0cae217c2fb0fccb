package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/services/slatimer"
)

// skewedClock is the real clock moved by an offset the scenario changes while it runs.
type skewedClock struct{ offset atomic.Int64 }

func (c *skewedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())).UTC() }

func (c *skewedClock) set(d time.Duration) { c.offset.Store(int64(d)) }

// startSkewedSLA runs one more SLA service replica in this process, through slatimer.Serve (what the
// binary runs) with the binary's compose configuration, on a clock of its own: a process's clock cannot
// be moved from outside, and the services read the real one. It stops when the returned stop is called.
func (st *Stack) startSkewedSLA(ctx context.Context, clk *skewedClock) (stop func() error, err error) {
	env, err := st.ps.Environ("slatimer", 0, 0)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg := slatimer.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate, cfg.Clock = vars["DATABASE_URL"], vars["NATS_URL"], false, clk
	for k, dst := range map[string]*time.Duration{"KEFU_STREAM_MAX_AGE": &cfg.StreamMaxAge, "KEFU_STREAM_DUPLICATES": &cfg.StreamDuplicates,
		"KEFU_OUTBOX_REPLAY_WINDOW": &cfg.OutboxReplayWindow} {
		if v, ok := vars[k]; ok {
			if *dst, err = time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	cfg.Auth = auth.DefaultConfig()
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCJWKSURL = vars["KEFU_API_KEY_PEPPER"], vars["KEFU_OIDC_ISSUER"], vars["KEFU_OIDC_JWKS_URL"]
	if a, ok := vars["KEFU_OIDC_AUDIENCE"]; ok {
		cfg.Auth.OIDCAudience = a
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- slatimer.Serve(sctx, cfg, st.log.With("replica", "skewed-slatimer"), lis) }()
	select {
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("the skewed SLA replica stopped at once: %w", err)
	case <-time.After(2 * time.Second):
	}
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			return errors.New("the skewed SLA replica did not stop within a minute")
		}
	}, nil
}
