package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"kefu.dev/services/devstack/chaos"
)

// profileLater takes a CPU profile of every service at once, for up to 30 s in the middle of the
// measured load, into c.profile; the channel carries the outcome (nil at once when not asked).
func profileLater(ctx context.Context, st *chaos.Stack, c config, measureFrom time.Time) <-chan error {
	out := make(chan error, 1)
	if c.profile == "" {
		out <- nil
		return out
	}
	secs := int(min(30*time.Second, c.duration/2) / time.Second)
	at := measureFrom.Add(c.duration/2 - time.Duration(secs)*time.Second/2)
	go func() {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			out <- err
			return
		}
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			out <- ctx.Err()
			return
		}
		var wg sync.WaitGroup
		pids := st.Pids()
		errs := make(chan error, len(pids))
		for name := range pids {
			url := st.PprofURL(name)
			if url == "" {
				continue
			}
			wg.Go(func() {
				errs <- fetch(ctx, url+"profile?seconds="+strconv.Itoa(secs), filepath.Join(c.profile, name+".cpu.pprof"))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				out <- err
				return
			}
		}
		out <- nil
	}()
	return out
}

func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuTimes is the CPU time (user + system) used so far by each service process, by every Postgres
// process together, by NATS and by this load generator, read from /proc (Linux; empty elsewhere).
func cpuTimes(pids map[string]int) map[string]time.Duration {
	names := map[int]string{os.Getpid(): "the load generator"}
	for name, pid := range pids {
		names[pid] = name
	}
	out := map[string]time.Duration{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: the fields after the command's closing parenthesis.
		stat := string(b)
		i := strings.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		comm := stat[strings.IndexByte(stat, '(')+1 : i]
		name, ok := names[pid]
		switch {
		case ok:
		case comm == "postgres":
			name = "postgres (every process)"
		case comm == "nats-server":
			name = "nats-server"
		default:
			continue
		}
		f := strings.Fields(stat[i+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] += time.Duration(utime+stime) * time.Second / clockTicks
	}
	return out
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times (100 on every architecture Go
// supports there).
const clockTicks = 100
