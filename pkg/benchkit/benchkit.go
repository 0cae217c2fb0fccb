// Package benchkit holds what the load commands (kefu-bench, kefu-slabench, kefu-analyticsbench) print
// alike in docs/benchmarks.md: the machine a figure was measured on, and counts with thousands separators.
package benchkit

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes this machine as docs/benchmarks.md heads its sections: cores, CPU model, memory, OS,
// architecture and Go version, e.g. "2 cores (Intel(R) Xeon(R) Processor), 24 GiB, linux/amd64, go1.26.8".
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m, ok := field(string(b), "model name"); ok {
			model = m
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, ok := field(string(b), "MemTotal"); ok {
			if kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 64); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// field returns the value of the first "name<spaces>: value" line of a /proc file.
func field(text, name string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// Thousands renders n with thousands separators: 1234567 → "1,234,567", -1000 → "-1,000".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
