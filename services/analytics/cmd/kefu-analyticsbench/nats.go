package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
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

// natsProfileEnv, set to a file, makes the NATS child write a CPU profile there between SIGUSR1 and
// SIGUSR2 (natsChild.profile: the bench's --cpuprofile, during ingestion).
const natsProfileEnv = "KEFU_ANALYTICSBENCH_NATS_PROFILE"

// serveNATS runs the server on dir, prints its client URL, and stops when stdin closes or on a signal.
func serveNATS(dir string) error {
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir})
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	defer ns.Shutdown()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv(natsProfileEnv); path != "" {
		stopProfile := profileOnSignal(path)
		defer stopProfile()
	}
	fmt.Println(ns.ClientURL()) // after the signal handlers: the bench may signal once it reads this
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

// profileOnSignal writes a CPU profile of this process to path from SIGUSR1 to SIGUSR2; the function it
// returns stops listening (and the profile, if one runs).
func profileOnSignal(path string) func() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var f *os.File
		finish := func() {
			if f != nil {
				pprof.StopCPUProfile()
				_ = f.Close()
				f = nil
			}
		}
		defer finish()
		for {
			select {
			case <-done:
				return
			case s := <-sig:
				if s == syscall.SIGUSR2 {
					finish()
					continue
				}
				if f != nil {
					continue
				}
				var err error
				if f, err = os.Create(path); err != nil {
					fmt.Fprintln(os.Stderr, "nats profile:", err)
					continue
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					fmt.Fprintln(os.Stderr, "nats profile:", err)
					_ = f.Close()
					f = nil
				}
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		wg.Wait()
	}
}

type natsChild struct {
	cmd  *exec.Cmd
	in   io.Closer
	url  string
	once sync.Once
}

// startNATS starts this binary as the NATS server on dir; with profile set, natsChild.profile writes the
// server's CPU profile there.
func startNATS(dir, profile string) (*natsChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), natsChildEnv+"="+dir)
	if profile != "" {
		cmd.Env = append(cmd.Env, natsProfileEnv+"="+profile)
	}
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

// profile starts (on) or stops the server's CPU profile, when startNATS was given a file.
func (c *natsChild) profile(on bool) {
	sig := syscall.SIGUSR2
	if on {
		sig = syscall.SIGUSR1
	}
	_ = c.cmd.Process.Signal(sig)
}

// cpu is the server's CPU time so far.
func (c *natsChild) cpu() time.Duration {
	return procCPU(c.cmd.Process.Pid, false)
}
