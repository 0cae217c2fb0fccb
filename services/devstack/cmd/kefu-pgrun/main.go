// Command kefu-pgrun runs a command with DATABASE_URL pointing at a Postgres cluster. When DATABASE_URL is
// already set it simply execs the command; otherwise it starts a private cluster from the installed
// binaries (data in --dir, reused between runs), exports the superuser URL of its `postgres` database,
// runs the command and stops the cluster afterwards. `make test` wraps `go test` with it.
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

	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: *dir, Logger: logger})
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
