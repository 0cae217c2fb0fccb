package service

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"kefu.dev/pkg/testkit"
)

// grpcHealth serves grpc.health.v1 on 127.0.0.1 and returns its port and status setter.
func grpcHealth(t *testing.T) (port string, h *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer()
	h = health.NewServer()
	healthpb.RegisterHealthServer(s, h)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	_, port, _ = net.SplitHostPort(lis.Addr().String())
	return port, h
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(testkit.RefusedAddr(t))
	require.NoError(t, err)
	return port
}

func flags(name, value string) *flag.FlagSet {
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	fs.String("log-level", "info", "")
	fs.String(name, value, "")
	return fs
}

func TestHealthcheckAsksTheGRPCServerOnLoopback(t *testing.T) {
	t.Parallel()
	port, h := grpcHealth(t)
	fs := flags("grpc-addr", "0.0.0.0:"+port)
	require.NoError(t, healthcheck(t.Context(), fs))

	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	err := healthcheck(t.Context(), fs)
	require.ErrorContains(t, err, "NOT_SERVING", "a stopping server is unhealthy")

	start := time.Now()
	err = healthcheck(t.Context(), flags("grpc-addr", ":"+closedPort(t)))
	require.Error(t, err, "nothing listening is unhealthy")
	require.Less(t, time.Since(start), healthcheckTimeout, "a refused connection fails fast")
}

func TestHealthcheckAsksTheGatewaysHealthz(t *testing.T) {
	t.Parallel()
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	fs := flags("http-addr", "0.0.0.0:"+port)
	require.NoError(t, healthcheck(t.Context(), fs))
	code = http.StatusServiceUnavailable
	require.ErrorContains(t, healthcheck(t.Context(), fs), "503")
	require.Error(t, healthcheck(t.Context(), flags("http-addr", "[::]:"+closedPort(t))))
}

func TestHealthcheckWithoutAnAddressFlagFails(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, healthcheck(t.Context(), flags("other", "x")), "no grpc-addr or http-addr")
}

func TestDialAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0.0.0.0:7001": "127.0.0.1:7001", ":7001": "127.0.0.1:7001", "[::]:8080": "127.0.0.1:8080",
		"10.0.0.5:7001": "10.0.0.5:7001", "localhost:7001": "localhost:7001", "[::1]:7001": "[::1]:7001",
	} {
		require.Equal(t, want, dialAddr(in), in)
	}
}

// TestMainAnswersHealthcheck runs Main in a child process (it exits) as `svc healthcheck`, configured by
// the environment as in a container, and checks the exit codes: 0 while SERVING, 1 otherwise, and the
// service's own function never runs.
func TestMainAnswersHealthcheck(t *testing.T) {
	t.Parallel()
	port, h := grpcHealth(t)
	run := func(addr string) (int, string) {
		cmd := exec.CommandContext(t.Context(), os.Args[0])
		cmd.Env = append(os.Environ(), "KEFU_TEST_HELPER_MAIN=1", "KEFU_GRPC_ADDR="+addr)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err)
		return 0, string(out)
	}
	code, out := run("0.0.0.0:" + port)
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "ran the service")
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	code, out = run("0.0.0.0:" + port)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "svc: healthcheck: ")
	require.NotContains(t, out, "ran the service")
}

// TestMain runs the test binary as TestMainAnswersHealthcheck's child when it asks for one (no test runs
// then), else the tests.
func TestMain(m *testing.M) {
	if os.Getenv("KEFU_TEST_HELPER_MAIN") == "1" {
		helperMain()
	}
	os.Exit(m.Run())
}

// helperMain is the child of TestMainAnswersHealthcheck: Main as `svc healthcheck` (it exits).
func helperMain() {
	os.Args = []string{"svc", HealthcheckCommand}
	Main("svc", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		fs.String("grpc-addr", "127.0.0.1:1", "")
		return func(context.Context, *slog.Logger) error {
			os.Stderr.WriteString("ran the service\n")
			return nil
		}
	})
}
