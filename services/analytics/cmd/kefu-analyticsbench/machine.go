package main

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"kefu.dev/services/analytics"
)

func perEvent(d time.Duration, n int) float64 { return d.Seconds() * 1e6 / float64(n) }

// cpuReference is how fast one core sorts (million 64-bit integers a second): the best of three sorts of
// 4,194,304 pseudo-random integers, a workload of branches and cache misses like the service's own.
func cpuReference() float64 {
	const n = 1 << 22
	xs := make([]uint64, n)
	best := 0.0
	for pass := range 3 {
		r := rand.New(rand.NewPCG(1, uint64(pass)))
		for i := range xs {
			xs[i] = r.Uint64()
		}
		began := time.Now()
		slices.Sort(xs)
		best = max(best, n/1e6/time.Since(began).Seconds())
	}
	return best
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type cpuTimes struct{ total, idle uint64 }

// machineCPU reads the machine's CPU ticks from /proc/stat (idle includes iowait).
func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	first, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(first)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		t.total += v
		if i == 3 || i == 4 {
			t.idle += v
		}
	}
	return t
}

// postgresCPU is the CPU time of the cluster's postmaster and every process it started (live ones, and
// the exited ones it has waited for), from /proc, at 100 ticks a second.
func postgresCPU(ctx context.Context, admin *pgx.Conn) (time.Duration, error) {
	var dir string
	if err := admin.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dir); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, err
	}
	total := procCPU(pm, true)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == pm {
			continue
		}
		if f := procStat(pid); len(f) > 1 && f[1] == strconv.Itoa(pm) {
			total += procCPU(pid, false)
		}
	}
	return total, nil
}

// procStat returns the fields of /proc/pid/stat after the command (f[0] state, f[1] ppid, f[11] utime,
// f[12] stime, f[13] cutime, f[14] cstime), or nil.
func procStat(pid int) []string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	_, rest, ok := strings.Cut(string(st), ") ")
	if !ok {
		return nil
	}
	if f := strings.Fields(rest); len(f) >= 15 {
		return f
	}
	return nil
}

// procCPU is pid's CPU time (with children the children it has waited for), at 100 ticks a second.
func procCPU(pid int, children bool) time.Duration {
	f := procStat(pid)
	if f == nil {
		return 0
	}
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	var ticks uint64
	for _, i := range idx {
		v, _ := strconv.ParseUint(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func rss(pid int) string { return procStatus(pid, "VmRSS:") }

// gcSetting is the GC percent this process runs with (analytics.TuneGC).
func gcSetting() string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v + " (GOGC)"
	}
	return strconv.Itoa(analytics.GCPercent)
}

// procStatus returns the value of one line of a process's /proc status ("VmHWM:" is its peak RSS).
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

type count struct {
	k string
	n int
}

func sortedCounts(m map[string]int) []count {
	var out []count
	for k, n := range m {
		out = append(out, count{k, n})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.k, b.k)) })
	return out
}
