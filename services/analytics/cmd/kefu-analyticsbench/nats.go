package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"kefu.dev/pkg/natsembed"
)

// natsChildEnv, set to a store folder, makes this binary run only the embedded NATS server. The bench runs
// NATS in a child process, as it is deployed: in the service's process its index of the stream and its
// dedupe window (one entry per event for 2 h) would be garbage the service's GC scans.
const natsChildEnv = "KEFU_ANALYTICSBENCH_NATS_STORE"

// serveNATS runs the server on dir, prints its client URL, and stops when stdin closes or on a signal.
func serveNATS(dir string) error {
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir})
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	defer ns.Shutdown()
	fmt.Println(ns.ClientURL())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}

type natsChild struct {
	cmd  *exec.Cmd
	in   io.Closer
	url  string
	once sync.Once
}

// startNATS starts this binary as the NATS server on dir.
func startNATS(dir string) (*natsChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), natsChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	c := &natsChild{cmd: cmd, in: in}
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("start nats: %w", err)
	}
	c.url = strings.TrimSpace(url)
	return c, nil
}

// stop closes the server's stdin, which shuts it down, and waits for it.
func (c *natsChild) stop() {
	c.once.Do(func() {
		_ = c.in.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
}

// cpu is the server's CPU time so far.
func (c *natsChild) cpu() time.Duration {
	return procCPU(c.cmd.Process.Pid, false)
}
