package routing

import (
	"time"

	"github.com/google/uuid"
)

// Surge limits and defaults.
const (
	MaxSurgeDepth     = 100_000
	MaxSurgeWait      = 7 * 24 * time.Hour
	DefaultCalmPeriod = 5 * time.Minute
)

// Surge is a group's overflow policy: while its queue is too deep or its oldest ticket has waited too long
// (a volume surge after a sales campaign, say), new tickets for it go to OverflowGroupID. It returns to
// normal once the queue has stayed at or under the calm thresholds for CalmPeriod, so a queue hovering at
// the threshold does not flap. A zero threshold is off; without an overflow group or any start threshold
// the policy is off.
type Surge struct {
	OverflowGroupID uuid.UUID
	QueueDepth      int           // start at this many queued tickets
	OldestWait      time.Duration // start when the oldest queued ticket has waited this long
	CalmDepth       int           // end at or under this many
	CalmWait        time.Duration // end at or under this oldest wait
	CalmPeriod      time.Duration // for this long
}

// Enabled reports whether the policy can ever start a surge.
func (s Surge) Enabled() bool {
	return s.OverflowGroupID != uuid.Nil && (s.QueueDepth > 0 || s.OldestWait > 0)
}

// WithDefaults fills unset calm thresholds: half the start thresholds, and a 5 minute period.
func (s Surge) WithDefaults() Surge {
	if s.CalmDepth == 0 {
		s.CalmDepth = s.QueueDepth / 2
	}
	if s.CalmWait == 0 {
		s.CalmWait = s.OldestWait / 2
	}
	if s.CalmPeriod == 0 {
		s.CalmPeriod = DefaultCalmPeriod
	}
	return s
}

// validate reports bad surge fields of group id under prefix: thresholds in range, calm thresholds below
// the start ones, and no overflow into the group itself.
func (v *violations) validateSurge(prefix string, id uuid.UUID, s Surge) {
	if s.OverflowGroupID != uuid.Nil && s.OverflowGroupID == id {
		v.add(path(prefix, "overflow_group_id"), "must be another group")
	}
	for _, d := range []struct {
		field string
		n     int
	}{{"surge_queue_depth", s.QueueDepth}, {"calm_queue_depth", s.CalmDepth}} {
		if d.n < 0 || d.n > MaxSurgeDepth {
			v.add(path(prefix, d.field), "must be between 0 and %d", MaxSurgeDepth)
		}
	}
	for _, d := range []struct {
		field string
		w     time.Duration
	}{{"surge_oldest_wait", s.OldestWait}, {"calm_oldest_wait", s.CalmWait}, {"calm_period", s.CalmPeriod}} {
		if d.w < 0 || d.w > MaxSurgeWait || d.w%time.Second != 0 {
			v.add(path(prefix, d.field), "must be whole seconds between 0 and %s", MaxSurgeWait)
		}
	}
	if s.QueueDepth > 0 && s.CalmDepth >= s.QueueDepth {
		v.add(path(prefix, "calm_queue_depth"), "must be below surge_queue_depth")
	}
	if s.OldestWait > 0 && s.CalmWait >= s.OldestWait {
		v.add(path(prefix, "calm_oldest_wait"), "must be below surge_oldest_wait")
	}
}

// SurgeState is where a group stands.
type SurgeState struct {
	InSurge   bool
	StartedAt time.Time // when the current surge started
	CalmSince time.Time // when the queue last came under the calm thresholds during a surge; zero if not
}

// Step advances st given the queue now (depth tickets, the oldest having waited oldest) and reports
// whether a surge started or ended at this step.
func (s Surge) Step(st SurgeState, depth int, oldest time.Duration, now time.Time) (next SurgeState, started, ended bool) {
	s = s.WithDefaults()
	if !st.InSurge {
		if s.Enabled() && ((s.QueueDepth > 0 && depth >= s.QueueDepth) || (s.OldestWait > 0 && oldest >= s.OldestWait)) {
			return SurgeState{InSurge: true, StartedAt: now}, true, false
		}
		return SurgeState{}, false, false
	}
	calm := (s.QueueDepth == 0 || depth <= s.CalmDepth) && (s.OldestWait == 0 || oldest <= s.CalmWait)
	switch {
	case !s.Enabled():
		return SurgeState{}, false, true // the policy was switched off: end at once
	case !calm:
		st.CalmSince = time.Time{}
	case st.CalmSince.IsZero():
		st.CalmSince = now
	}
	if calm && now.Sub(st.CalmSince) >= s.CalmPeriod {
		return SurgeState{}, false, true
	}
	return st, false, false
}
