package gateway_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     gateway.Config
		wantErr string
	}{
		{name: "the defaults with an intake address are valid", cfg: withIntake(gateway.DefaultConfig())},
		{name: "zero values mean defaults", cfg: gateway.Config{IntakeAddr: "intake:9090"}},
		{name: "a missing intake address is refused", cfg: gateway.DefaultConfig(), wantErr: "intake-addr is required"},
		{name: "an address without a port is refused", cfg: gateway.Config{HTTPAddr: "localhost", IntakeAddr: "intake:9090"}, wantErr: "http-addr"},
		{name: "a negative body limit is refused", cfg: gateway.Config{IntakeAddr: "intake:9090", MaxBodyBytes: -1}, wantErr: "max-body-bytes"},
		{name: "a negative shutdown timeout is refused", cfg: gateway.Config{IntakeAddr: "intake:9090", ShutdownTimeout: -time.Second}, wantErr: "shutdown-timeout"},
		{name: "a negative header timeout is refused", cfg: gateway.Config{IntakeAddr: "intake:9090", ReadHeaderTimeout: -time.Second}, wantErr: "read-header-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func withIntake(c gateway.Config) gateway.Config {
	c.IntakeAddr = "127.0.0.1:9090"
	return c
}

// blockingIntake holds GetTicket until release is closed, so a request is in flight during shutdown.
type blockingIntake struct {
	fakeIntake
	started chan struct{}
	release chan struct{}
}

func (b *blockingIntake) GetTicket(ctx context.Context, req *intakev1.GetTicketRequest) (*intakev1.GetTicketResponse, error) {
	close(b.started)
	<-b.release
	return b.fakeIntake.GetTicket(ctx, req)
}

// TestServeFinishesInFlightRequestsOnShutdown proves graceful shutdown: once ctx is cancelled the
// gateway stops accepting connections, but a request already in flight still gets its answer, and Serve
// returns nil.
func TestServeFinishesInFlightRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	fake := &blockingIntake{started: make(chan struct{}), release: make(chan struct{})}
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	be := startBackendFor(t, fake)
	addr := lis.Addr().String()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- gateway.Serve(ctx, lis, gateway.Config{IntakeAddr: be.addr}, logging.Discard())
	}()

	inFlight := make(chan response, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, "http://"+addr+"/v1/tickets/"+ticketID, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- response{}
			return
		}
		_ = resp.Body.Close()
		inFlight <- response{status: resp.StatusCode}
	}()
	<-fake.started

	cancel()
	testkit.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, 10*time.Second, "the listener is still open after shutdown began")
	close(fake.release)

	require.Equal(t, http.StatusOK, (<-inFlight).status)
	require.NoError(t, <-served)
}

func TestRunRefusesAnInvalidConfig(t *testing.T) {
	t.Parallel()
	err := gateway.Run(t.Context(), gateway.Config{}, logging.Discard())
	require.ErrorContains(t, err, "intake-addr is required")
}
