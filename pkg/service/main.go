// Package service holds the start-up steps every kefu binary shares: flags bound to environment variables,
// the JSON logger, OpenTelemetry, and a context cancelled by SIGINT/SIGTERM. Each cmd/<svc>/main.go is a
// few lines around Main.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kefu.dev/pkg/config"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/telemetry"
)

// EnvOverrides binds the standard connection variables to their flags.
var EnvOverrides = map[string]string{"database-url": "DATABASE_URL", "nats-url": "NATS_URL"}

// Main parses flags (registered by define, which returns the function to run), sets up logging and
// telemetry, runs until SIGINT/SIGTERM, and exits 1 with one line on error. It never returns.
func Main(name string, define func(fs *flag.FlagSet) func(ctx context.Context, log *slog.Logger) error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://<addr>/metrics (empty: off)")
	pprofAddr := fs.String("pprof-addr", "", "serve Go runtime profiles at http://<addr>/debug/pprof/ (empty: off; keep it on a private address)")
	flushTimeout := fs.Duration("telemetry-flush-timeout", 5*time.Second, "time the last spans get to be exported on shutdown")
	run := define(fs)
	if err := config.Parse(fs, os.Args[1:], os.Getenv, EnvOverrides); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	exitIfHealthcheck(name, fs)
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", name, config.EnvName("log-level"), err)
		os.Exit(2)
	}
	log := logging.New(os.Stdout, lv, name)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	shutdown, err := telemetry.Setup(ctx, name, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	stopMetrics, err := serveMetrics(ctx, name, *metricsAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", name, config.EnvName("metrics-addr"), err)
		os.Exit(1)
	}
	stopPprof, err := servePprof(*pprofAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", name, config.EnvName("pprof-addr"), err)
		os.Exit(1)
	}
	err = run(ctx, log)
	stopPprof()
	stopMetrics() // os.Exit below skips deferred calls
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *flushTimeout)
	_ = shutdown(sctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}
