package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// HealthcheckCommand is the subcommand every kefu binary answers by asking the process it would be, as
// configured by the same flags and variables, whether it serves: exit 0 if so, else 1 with one line. It is
// the image's health check (the runtime image has no shell or curl): `/service healthcheck`.
const HealthcheckCommand = "healthcheck"

// healthcheckTimeout bounds the whole check, well inside compose's and Kubernetes' probe timeouts.
const healthcheckTimeout = 3 * time.Second

// exitIfHealthcheck runs the health check and exits when the first argument after the flags is
// HealthcheckCommand; otherwise it returns and the binary starts as usual.
func exitIfHealthcheck(name string, fs *flag.FlagSet) {
	if fs.NArg() == 0 || fs.Arg(0) != HealthcheckCommand {
		return
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(os.Stderr, "%s: %s takes no arguments\n", name, HealthcheckCommand)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	err := healthcheck(ctx, fs)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", name, HealthcheckCommand, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// healthcheck asks the server configured in fs whether it serves. A gRPC service (a grpc-addr flag) must
// answer grpc.health.v1 Check for the whole server (empty service name) with SERVING; the gateway (an
// http-addr flag) must answer GET /healthz with 200. A wildcard listen address is checked on loopback.
func healthcheck(ctx context.Context, fs *flag.FlagSet) error {
	if f := fs.Lookup("grpc-addr"); f != nil {
		return checkGRPC(ctx, dialAddr(f.Value.String()))
	}
	if f := fs.Lookup("http-addr"); f != nil {
		return checkHTTP(ctx, "http://"+dialAddr(f.Value.String())+"/healthz")
	}
	return errors.New("nothing to check: no grpc-addr or http-addr flag")
}

// dialAddr turns a listen address into one to dial from the same host: an empty or unspecified host
// (":7001", "0.0.0.0:7001", "[::]:7001") becomes 127.0.0.1.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func checkGRPC(ctx context.Context, addr string) error {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("grpc health check at %s: %w", addr, err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health at %s: %s", addr, s)
	}
	return nil
}

func checkHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
