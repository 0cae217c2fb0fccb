package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// measure is one line of the report: what, how many callers, the value and its unit.
type measure struct {
	What    string
	Callers int
	Value   float64
	Unit    string
	Note    string
}

type report struct {
	Machine  string
	Date     string
	Duration time.Duration
	Lines    []measure
}

func (r *report) add(what string, callers int, value float64, unit, note string) {
	r.Lines = append(r.Lines, measure{what, callers, value, unit, note})
	fmt.Printf("  %-58s %3d callers  %10.2f %s %s\n", what, callers, value, unit, note)
}

// Markdown renders the run as a section of docs/benchmarks.md.
func (r *report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s, %s (each phase %s)\n\n", r.Date, r.Machine, r.Duration)
	b.WriteString("| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n")
	for _, m := range r.Lines {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", m.What, m.Callers, format(m.Value), m.Unit, m.Note)
	}
	return b.String()
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// percentile returns the p-th percentile (0..100) of ds in milliseconds; ds is sorted in place.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p / 100)
	return float64(ds[i].Microseconds()) / 1000
}
