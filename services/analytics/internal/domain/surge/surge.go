// Package surge is the analytics service's volume-surge rule in plain Go (issue 8): the tickets received
// per channel and per subcategory in the current UTC hour, against a baseline of the same hour of the week
// over the previous weeks. A value whose hour goes over its threshold starts a surge; the surge follows the
// hours after it (its peak, its last hour over the threshold) and clears once a complete hour has fallen
// back and the current one is not over. The store reads the counts and keeps the surges; the decisions are
// made here.
package surge

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Dimension is what a surge counts tickets by; its value is the rollup column's name.
type Dimension string

// The dimensions surges are detected on.
const (
	Channel     Dimension = "channel"
	Subcategory Dimension = "subcategory"
)

// Dimensions lists every dimension, in the order an evaluation goes through them.
var Dimensions = []Dimension{Channel, Subcategory}

// week is how far back each baseline hour lies: a fixed 168 hours, not a calendar week, so the same UTC
// hour of the week is compared whatever the business zone's daylight saving does.
const week = 7 * 24 * time.Hour

// Config is the rule's tuning.
type Config struct {
	// Factor: an hour is over its threshold when its tickets exceed Factor × its baseline ...
	Factor float64
	// MinTickets ... and MinTickets, so a quiet value's few tickets (or a value with no history) are no surge.
	MinTickets int64
	// BaselineWeeks is how many previous weeks the baseline averages.
	BaselineWeeks int
}

// Threshold is the most tickets an hour with this baseline may have without being over:
// max(Factor × baseline, MinTickets).
func (c Config) Threshold(baseline float64) float64 {
	return max(c.Factor*baseline, float64(c.MinTickets))
}

// Hour is one value's volume in one UTC hour.
type Hour struct {
	// Start is the hour's start (UTC).
	Start time.Time
	// Tickets received in the hour (so far, for the current hour).
	Tickets int64
	// Baseline is the mean of Tickets in the same hour of the BaselineWeeks previous weeks; weeks without
	// tickets count as 0.
	Baseline float64
}

// Over reports whether h's tickets exceed its threshold.
func (c Config) Over(h Hour) bool { return float64(h.Tickets) > c.Threshold(h.Baseline) }

// BaselineHours returns the hours hour's baseline averages: the same hour 1 to BaselineWeeks weeks before.
func (c Config) BaselineHours(hour time.Time) []time.Time {
	out := make([]time.Time, c.BaselineWeeks)
	for k := range c.BaselineWeeks {
		out[k] = hour.Add(-time.Duration(k+1) * week)
	}
	return out
}

// Volume returns value's volume in the hour starting at start, with its baseline, from counts.
func (c Config) Volume(counts *Counts, value string, start time.Time) Hour {
	h := Hour{Start: start, Tickets: counts.Get(value, start)}
	if c.BaselineWeeks > 0 {
		var sum int64
		for _, b := range c.BaselineHours(start) {
			sum += counts.Get(value, b)
		}
		h.Baseline = float64(sum) / float64(c.BaselineWeeks)
	}
	return h
}

// Counts holds tickets received per value and UTC hour, as the store read them.
type Counts struct {
	m map[countKey]int64
}

type countKey struct {
	value string
	hour  int64 // Unix seconds of the hour's start: a time.Time's location would split equal keys
}

// NewCounts returns empty counts.
func NewCounts() *Counts { return &Counts{m: map[countKey]int64{}} }

// Add adds n tickets to value's hour.
func (c *Counts) Add(value string, hour time.Time, n int64) {
	c.m[countKey{value, hour.Unix()}] += n
}

// Get returns value's tickets in hour (0 when none were read).
func (c *Counts) Get(value string, hour time.Time) int64 { return c.m[countKey{value, hour.Unix()}] }

// Values returns, sorted, the non-empty values with tickets in hour.
func (c *Counts) Values(hour time.Time) []string {
	var out []string
	for k, n := range c.m {
		if k.hour == hour.Unix() && k.value != "" && n > 0 {
			out = append(out, k.value)
		}
	}
	slices.Sort(out)
	return out
}

// Surge is a run of hours in which one value's volume went over its threshold.
type Surge struct {
	// ID is the surge's UUIDv7, the aggregate id of its events; the caller assigns it when one fires.
	ID        uuid.UUID
	Dimension Dimension
	Value     string
	// Since is the start of the hour the surge began in.
	Since time.Time
	// Until is the end of its last hour over the threshold; zero while active.
	Until time.Time
	// Active is true until the surge clears.
	Active bool
	// Tickets and Baseline are the hour's when the surge was detected; Factor the configured factor then.
	Tickets  int64
	Baseline float64
	Factor   float64
	// Peak is the most tickets received in one hour from Since to LastOver.
	Peak int64
	// LastOver is the start of the latest hour seen over its threshold.
	LastOver time.Time
	// DetectedAt and ClearedAt are when the evaluations that fired and cleared it ran.
	DetectedAt, ClearedAt time.Time
}

// Ratio is Tickets / Baseline, 0 when the baseline is 0.
func (s Surge) Ratio() float64 {
	if s.Baseline == 0 {
		return 0
	}
	return float64(s.Tickets) / s.Baseline
}

// Kind is what an evaluation did to a surge.
type Kind int

// The kinds of change.
const (
	// Fired: a new surge (kefu.analytics.volume_surge).
	Fired Kind = iota + 1
	// Updated: an active surge's peak or last hour over the threshold moved.
	Updated
	// Cleared: the surge is over (kefu.analytics.volume_surge_cleared).
	Cleared
)

// Change is a surge as an evaluation left it.
type Change struct {
	Kind  Kind
	Surge Surge
}

// currentHour is the UTC hour now falls in.
func currentHour(now time.Time) time.Time { return now.UTC().Truncate(time.Hour) }

// window is the hours an evaluation in current reads for an active surge, oldest first: from its last hour
// over the threshold (or the previous hour, if earlier; never before Since) to current. Hours before the
// last one over are settled; the ones after it decide whether the surge clears and, if they go over again,
// move its end. After an outage the window spans every hour the service missed.
func window(s Surge, current time.Time) []time.Time {
	from := s.LastOver
	if prev := current.Add(-time.Hour); prev.Before(from) {
		from = prev
	}
	if from.Before(s.Since) {
		from = s.Since
	}
	var out []time.Time
	for h := from; !h.After(current); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}

// Reads returns, sorted, the hours an evaluation of dim at now needs counts for (every value of the
// dimension): the current hour, the previous one, the windows of dim's surges in active, and the baseline
// hours of each.
func (c Config) Reads(dim Dimension, now time.Time, active []Surge) []time.Time {
	current := currentHour(now)
	hours := []time.Time{current, current.Add(-time.Hour)}
	for _, s := range active {
		if s.Dimension == dim && s.Active {
			hours = append(hours, window(s, current)...)
		}
	}
	out := slices.Clone(hours)
	for _, h := range hours {
		out = append(out, c.BaselineHours(h)...)
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// Evaluate decides what one evaluation at now does on dimension dim, given the dimension's active surges
// and the counts of the hours Reads named. Each active surge is followed (peak, last hour over, clearing);
// each other value whose current hour is over its threshold fires a new surge. Values are handled in
// order, so the changes come out in a stable order.
func (c Config) Evaluate(dim Dimension, now time.Time, active []Surge, counts *Counts) []Change {
	current := currentHour(now)
	var out []Change
	following := map[string]bool{}
	active = slices.Clone(active)
	slices.SortFunc(active, func(a, b Surge) int { return cmp.Compare(a.Value, b.Value) })
	for _, s := range active {
		if s.Dimension != dim || !s.Active {
			continue
		}
		following[s.Value] = true
		if ch, ok := c.follow(s, counts, now, current); ok {
			out = append(out, ch)
		}
	}
	for _, v := range counts.Values(current) {
		if following[v] {
			continue
		}
		h := c.Volume(counts, v, current)
		if !c.Over(h) {
			continue
		}
		out = append(out, Change{Kind: Fired, Surge: Surge{Dimension: dim, Value: v, Since: current, Active: true,
			Tickets: h.Tickets, Baseline: h.Baseline, Factor: c.Factor, Peak: h.Tickets, LastOver: current, DetectedAt: now}})
	}
	return out
}

// follow updates an active surge from its window. It clears the surge when the previous hour, which must
// be the surge's own (not before Since), is at or below its threshold and the current hour is not over;
// Until is then the end of the last hour over.
func (c Config) follow(s Surge, counts *Counts, now, current time.Time) (Change, bool) {
	next := s
	hours := window(s, current)
	for _, h := range hours {
		if h.After(next.LastOver) && c.Over(c.Volume(counts, s.Value, h)) {
			next.LastOver = h
		}
	}
	// The peak covers the surge's hours up to its last one over: an hour after it, quieter against its own
	// baseline, is not part of the surge.
	for _, h := range hours {
		if !h.After(next.LastOver) {
			next.Peak = max(next.Peak, counts.Get(s.Value, h))
		}
	}
	prev := current.Add(-time.Hour)
	if !prev.Before(s.Since) && !c.Over(c.Volume(counts, s.Value, prev)) && !c.Over(c.Volume(counts, s.Value, current)) {
		next.Active, next.Until, next.ClearedAt = false, next.LastOver.Add(time.Hour), now
		return Change{Kind: Cleared, Surge: next}, true
	}
	if next.Peak != s.Peak || !next.LastOver.Equal(s.LastOver) {
		return Change{Kind: Updated, Surge: next}, true
	}
	return Change{}, false
}
