// Command kefu-pgrun runs a command with DATABASE_URL pointing at a Postgres cluster. When DATABASE_URL is
// already set it simply execs the command; otherwise it starts a private cluster from the installed
// binaries (data in --dir, reused between runs; a scratch sibling folder when another run holds it),
// exports the superuser URL of its `postgres` database, runs the command and stops the cluster afterwards.
// `make test` wraps `go test` with it.
//
// Usage:
//
//	kefu-pgrun [--dir D] -- cmd args...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"kefu.dev/pkg/pgcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("kefu-pgrun", flag.ContinueOnError)
	dir := fs.String("dir", ".kefu/pgtest", "data directory of the private cluster (created when missing)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kefu-pgrun [--dir D] -- cmd args...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	args := fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if os.Getenv("DATABASE_URL") != "" {
		path, err := exec.LookPath(args[0])
		if err != nil {
			fmt.Fprintf(os.Stderr, "kefu-pgrun: %v\n", err)
			return 127
		}
		err = syscall.Exec(path, args, os.Environ())
		fmt.Fprintf(os.Stderr, "kefu-pgrun: exec %s: %v\n", args[0], err)
		return 126
	}

	// Signals are caught before the cluster starts so a Ctrl-C during start-up still stops it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	cluster, scratch, err := startCluster(ctx, *dir, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kefu-pgrun: %v\n", err)
		return 1
	}
	defer func() {
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer stopCancel()
		if err := cluster.Stop(stopCtx); err != nil {
			fmt.Fprintf(os.Stderr, "kefu-pgrun: %v\n", err)
		}
		if scratch != "" {
			_ = os.RemoveAll(scratch)
		}
	}()
	if ctx.Err() != nil {
		return 130
	}
	cancel() // from here on signals are forwarded to the command instead

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "DATABASE_URL="+cluster.AdminURL("postgres"))
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-pgrun: start %s: %v\n", args[0], err)
		return 127
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			// The command shares our process group, so a terminal Ctrl-C reached it already; a SIGTERM
			// sent to us alone did not. Forwarding is harmless in both cases.
			_ = cmd.Process.Signal(sig)
		case err := <-waited:
			return exitCode(err)
		}
	}
}

// startCluster starts the cluster in dir. When another run is using dir (two `make test` at once in one
// checkout), it starts a throw-away cluster in a sibling folder instead and returns that folder to be
// removed afterwards, so concurrent runs never share, or stop, each other's server.
func startCluster(ctx context.Context, dir string, logger *slog.Logger) (*pgcluster.Cluster, string, error) {
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Logger: logger})
	if !errors.Is(err, pgcluster.ErrInUse) {
		return c, "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	scratch, err := os.MkdirTemp(filepath.Dir(abs), filepath.Base(abs)+"-")
	if err != nil {
		return nil, "", fmt.Errorf("create scratch data dir: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kefu-pgrun: %s is in use by another run; using a scratch cluster in %s\n", dir, scratch)
	c, err = pgcluster.Start(ctx, pgcluster.Options{Dir: scratch, Logger: logger})
	if err != nil {
		_ = os.RemoveAll(scratch)
		return nil, "", err
	}
	return c, scratch, nil
}

// exitCode turns the command's wait result into our exit status, using the shell's 128+signal convention.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "kefu-pgrun: %v\n", err)
	return 1
}
