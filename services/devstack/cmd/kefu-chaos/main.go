// Command kefu-chaos runs the fault-injection suite (`make chaos`): the services as separate processes,
// NATS as its own process, Postgres as a private cluster, faults injected one scenario at a time under
// steady ticket intake. It prints one table (docs/resilience.md records it) and exits 1 if any scenario
// lost, duplicated or reordered anything.
//
//	kefu-chaos [--short] [--scenario NAME]... [--work DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"kefu.dev/services/devstack/chaos"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-chaos:", err)
		os.Exit(1)
	}
}

type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(s string) error { *n = append(*n, s); return nil }

func run() error {
	short := flag.Bool("short", false, "the CI version: shorter faults and phases")
	work := flag.String("work", "", "working folder for binaries, data and logs (default: a new temporary folder, removed after a pass)")
	root := flag.String("root", ".", "the repository root")
	submitters := flag.Int("submitters", 32, "concurrent submitters")
	interval := flag.Duration("interval", 400*time.Millisecond, "each submitter's time between tickets")
	var only names
	flag.Var(&only, "scenario", "run only this scenario (repeatable); one of: "+scenarioNames())
	flag.Parse()
	for _, n := range only {
		if !strings.Contains(","+scenarioNames()+",", ","+n+",") {
			return fmt.Errorf("--scenario %q: want one of %s", n, scenarioNames())
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := *work
	keep := dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "kefu-chaos-"); err != nil {
			return err
		}
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	started := time.Now()
	fmt.Fprintf(os.Stderr, "kefu-chaos: starting the suite in %s\n", dir)
	st, err := chaos.Start(ctx, absRoot, dir, log, chaos.StartOptions{})
	if err != nil {
		return fmt.Errorf("start: %w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	results, err := chaos.Run(ctx, st, chaos.Options{Short: *short, Only: only,
		Load: chaos.Load{Submitters: *submitters, Interval: *interval, CallTimeout: 5 * time.Second}},
		func(s string) { fmt.Fprintln(os.Stderr, s) })
	st.Close()
	host, _ := os.Hostname()
	fmt.Printf("\nkefu-chaos %s on %s (%s/%s, %d CPUs), %s, %d submitters every %s:\n\n%s", map[bool]string{true: "short", false: "full"}[*short],
		host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), started.UTC().Format("2006-01-02"), *submitters, *interval, chaos.Table(results))
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	if bad := chaos.Failed(results); len(bad) > 0 {
		return fmt.Errorf("promise broken (logs in %s):\n%s", filepath.Join(dir, "logs"), strings.Join(bad, "\n"))
	}
	if !keep {
		return errors.Join(nil, os.RemoveAll(dir))
	}
	return nil
}

func scenarioNames() string {
	var n []string
	for _, s := range chaos.Scenarios() {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}
