package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// measure is one line of the report: what, how many callers (or, for an open-loop load, its rate in
// Load), the value and its unit.
type measure struct {
	What    string
	Callers int
	Load    string
	Value   float64
	Unit    string
	Note    string
}

// load is the callers column: the caller count, or the open-loop rate.
func (m measure) load() string {
	if m.Load != "" {
		return m.Load
	}
	return fmt.Sprint(m.Callers)
}

type report struct {
	Machine  string
	Date     string
	Duration time.Duration
	Rounds   int
	Lines    []measure
}

func (r *report) add(what string, callers int, value float64, unit, note string) {
	r.addMeasure(measure{What: what, Callers: callers, Value: value, Unit: unit, Note: note})
}

func (r *report) addMeasure(m measure) {
	r.Lines = append(r.Lines, m)
	fmt.Printf("  %-58s %3s callers  %10.2f %s %s\n", m.What, m.load(), m.Value, m.Unit, m.Note)
}

// Markdown renders the run as a section of docs/benchmarks.md.
func (r *report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s, %s (each phase %s; median of %d rounds)\n\n", r.Date, r.Machine, r.Duration, r.Rounds)
	b.WriteString("| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n")
	for _, m := range r.Lines {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.What, m.load(), format(m.Value), m.Unit, m.Note)
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

// sample is one measure taken once per round; the report gives the median of its rounds. This machine's
// speed drifts by tens of percent within minutes, so one figure per measure is mostly noise: the median
// of rounds, with each phase's comparison made against the phase just before it, is not.
type sample struct {
	what    string
	callers int
	load    string // an open-loop load's rate, shown instead of callers
	unit    string
	values  []float64
	// ratios are this measure as a percentage of another taken in the same round (ratioOf names it).
	ratios  []float64
	ratioOf string
	// factors are this measure as a multiple of another taken in the same round (factorOf names it):
	// latencies against their floor.
	factors  []float64
	factorOf string
	// listed: the note lists every round's value (a target's figure, where the spread matters).
	listed bool
	// events and missing are summed over the rounds (delivery measures).
	events, missing int
	counted         bool
}

// samples collects the rounds' measures in the order they were first taken.
type samples struct {
	order []*sample
	byKey map[string]*sample
}

func (s *samples) get(what string, callers int, load, unit string) *sample {
	if s.byKey == nil {
		s.byKey = map[string]*sample{}
	}
	key := fmt.Sprintf("%s|%d|%s", what, callers, load)
	m, ok := s.byKey[key]
	if !ok {
		m = &sample{what: what, callers: callers, load: load, unit: unit}
		s.byKey[key] = m
		s.order = append(s.order, m)
	}
	return m
}

// add records one round's value and returns the sample, for a ratio or counts.
func (s *samples) add(what string, callers int, value float64, unit string) *sample {
	return s.addAt(what, callers, "", value, unit)
}

// addOpen records one round's value of a measure taken under an open-loop load of the given rate.
func (s *samples) addOpen(what, load string, value float64, unit string) *sample {
	return s.addAt(what, 0, load, value, unit)
}

func (s *samples) addAt(what string, callers int, load string, value float64, unit string) *sample {
	m := s.get(what, callers, load, unit)
	m.values = append(m.values, value)
	shown := fmt.Sprint(callers)
	if load != "" {
		shown = load
	}
	fmt.Printf("    round %d: %-58s %3s callers  %10.2f %s\n", len(m.values), what, shown, value, unit)
	return m
}

func (m *sample) ratio(pct float64, of string) {
	m.ratios, m.ratioOf = append(m.ratios, pct), of
}

func (m *sample) factor(f float64, of string) *sample {
	m.factors, m.factorOf = append(m.factors, f), of
	return m
}

// list makes the note give every round's value.
func (m *sample) list() *sample {
	m.listed = true
	return m
}

func (m *sample) count(events, missing int) {
	m.events, m.missing, m.counted = m.events+events, m.missing+missing, true
}

// report adds every sample's median to r, in the order the samples were first taken.
func (s *samples) report(r *report) {
	for _, m := range s.order {
		var notes []string
		if len(m.ratios) > 0 {
			note := fmt.Sprintf("%.0f%% %s", median(m.ratios), m.ratioOf)
			if len(m.ratios) > 1 {
				parts := make([]string, len(m.ratios))
				for i, p := range m.ratios {
					parts[i] = fmt.Sprintf("%.0f%%", p)
				}
				note += " (rounds: " + strings.Join(parts, ", ") + ")"
			}
			notes = append(notes, note)
		} else if (m.listed || strings.HasSuffix(m.unit, "/s")) && len(m.values) > 1 {
			parts := make([]string, len(m.values))
			for i, v := range m.values {
				parts[i] = format(v)
			}
			notes = append(notes, "rounds: "+strings.Join(parts, ", "))
		}
		if len(m.factors) > 0 {
			note := fmt.Sprintf("%.1f× %s", median(m.factors), m.factorOf)
			if len(m.factors) > 1 && !m.listed {
				parts := make([]string, len(m.factors))
				for i, f := range m.factors {
					parts[i] = fmt.Sprintf("%.1f×", f)
				}
				note += " (rounds: " + strings.Join(parts, ", ") + ")"
			}
			notes = append(notes, note)
		}
		if m.counted {
			notes = append(notes, fmt.Sprintf("%d events, %d missing", m.events, m.missing))
		}
		r.addMeasure(measure{What: m.what, Callers: m.callers, Load: m.load, Value: median(m.values), Unit: m.unit,
			Note: strings.Join(notes, "; ")})
	}
}

// median returns the middle value of vs (the mean of the two middle ones for an even count).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
