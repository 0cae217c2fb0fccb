package sla

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/services/slatimer/internal/domain/calendar"
)

// ClockState is where one target of one ticket stands.
type ClockState string

// Clock states. A warning does not change the state: Clock.Warned counts the warnings fired.
const (
	StateRunning  ClockState = "running"
	StatePaused   ClockState = "paused"
	StateMet      ClockState = "met"
	StateBreached ClockState = "breached"
	// StateCancelled: the ticket closed (or the target no longer applies) before the target was met or
	// breached. No event fires for it any more.
	StateCancelled ClockState = "cancelled"
)

// Span is a stretch of wall-clock time; an open span has a zero To.
type Span struct {
	From, To time.Time
}

// Clock is one target's countdown for one ticket. Its due time is derived, never stored as the truth: the
// target's business length counted in its calendar from Start, leaving out the pauses. So a
// reclassification (new length, perhaps another calendar) recomputes it from the original start.
type Clock struct {
	Target   Target
	PolicyID uuid.UUID
	Calendar string
	Length   time.Duration
	Warnings []Warning
	Breach   BreachAction
	// Cycle counts restarts (a reopen restarts resolution): each cycle's warnings and breach fire once.
	Cycle int
	Start time.Time
	// Pauses while the ticket waited on the customer; the last one is open while paused.
	Pauses []Span
	State  ClockState
	// Warned is how many of Warnings (in the order of their instants) have fired in this cycle.
	Warned      int
	MetAt       time.Time
	BreachedAt  time.Time
	CancelledAt time.Time
}

// NewClock starts a clock for deadline d at start.
func NewClock(d Deadline, start time.Time) Clock {
	return Clock{Target: d.Target, PolicyID: d.PolicyID, Calendar: d.Calendar, Length: d.Length, Warnings: d.Warnings,
		Breach: d.Breach, Start: start, State: StateRunning}
}

// Open reports whether the clock can still fire (running or paused).
func (c Clock) Open() bool { return c.State == StateRunning || c.State == StatePaused }

// Spent returns the business time the clock has run by at.
func (c Clock) Spent(cal calendar.Calendar, at time.Time) time.Duration {
	spent := cal.Elapsed(c.Start, at)
	for _, p := range c.Pauses {
		to := p.To
		if to.IsZero() || to.After(at) {
			to = at
		}
		spent -= cal.Elapsed(p.From, to)
	}
	return max(spent, 0)
}

// resumedAt is when the clock last started running: its start or the end of its last pause.
func (c Clock) resumedAt() time.Time {
	if n := len(c.Pauses); n > 0 && !c.Pauses[n-1].To.IsZero() {
		return c.Pauses[n-1].To
	}
	return c.Start
}

// instantAt returns when the clock's spent business time reaches point (the due time for point =
// Length): counted from the last resume. ok is false while paused (no instant is known).
func (c Clock) instantAt(cal calendar.Calendar, point time.Duration) (time.Time, bool, error) {
	if c.State == StatePaused {
		return time.Time{}, false, nil
	}
	from := c.resumedAt()
	left := point - c.Spent(cal, from)
	if left <= 0 {
		return from, true, nil
	}
	t, err := cal.Add(from, left)
	return t, err == nil, err
}

// Due returns the due time; ok is false while paused.
func (c Clock) Due(cal calendar.Calendar) (time.Time, bool, error) { return c.instantAt(cal, c.Length) }

// Remaining returns the business time left at at (negative once overdue).
func (c Clock) Remaining(cal calendar.Calendar, at time.Time) time.Duration {
	return c.Length - c.Spent(cal, at)
}

// warningPoint is the business time spent at which w fires.
func (c Clock) warningPoint(w Warning) time.Duration {
	if w.Percent > 0 {
		return c.Length * time.Duration(w.Percent) / 100
	}
	return c.Length - w.Before
}

// Timer is the clock's next firing: warning number Index (0-based, in the order of the warnings'
// instants) or the breach (Index -1), at At.
type Timer struct {
	Index int
	At    time.Time
}

// IsBreach reports whether the timer is the breach.
func (t Timer) IsBreach() bool { return t.Index < 0 }

// Next returns the clock's next timer: the next warning not yet fired, else the breach. ok is false when
// nothing will fire (met, breached, cancelled, paused, or a zero-length target, which is met at once).
// Warnings whose point lies at or past the due time are skipped: the breach says more.
func (c Clock) Next(cal calendar.Calendar) (Timer, bool, error) {
	if c.State != StateRunning || c.Length <= 0 {
		return Timer{}, false, nil
	}
	points := c.warningPoints()
	for i := c.Warned; i < len(points); i++ {
		if points[i] <= 0 || points[i] >= c.Length {
			continue
		}
		at, ok, err := c.instantAt(cal, points[i])
		if err != nil || !ok {
			return Timer{}, false, err
		}
		return Timer{Index: i, At: at}, true, nil
	}
	at, ok, err := c.Due(cal)
	if err != nil || !ok {
		return Timer{}, false, err
	}
	return Timer{Index: -1, At: at}, true, nil
}

// warningPoints returns the warnings' points in ascending order (the order they fire and are counted).
func (c Clock) warningPoints() []time.Duration {
	ps := make([]time.Duration, len(c.Warnings))
	for i, w := range c.Warnings {
		ps[i] = c.warningPoint(w)
	}
	slices.Sort(ps)
	return ps
}

// Fire records that timer t fired: a warning moves Next on to the following one, the breach ends the
// clock. Timers that came due while the service was down fire one after another, each once.
func (c *Clock) Fire(t Timer, at time.Time) {
	if t.IsBreach() {
		c.State, c.BreachedAt, c.Warned = StateBreached, at, len(c.Warnings)
		return
	}
	c.Warned = t.Index + 1
}

// Pause stops the clock at at (the ticket waits on the customer). Pausing a paused or closed clock does
// nothing.
func (c *Clock) Pause(at time.Time) {
	if c.State != StateRunning {
		return
	}
	c.Pauses = append(c.Pauses, Span{From: at})
	c.State = StatePaused
}

// Resume starts a paused clock again at at; the time left is what it was when paused.
func (c *Clock) Resume(at time.Time) {
	if c.State != StatePaused {
		return
	}
	c.Pauses[len(c.Pauses)-1].To = at
	c.State = StateRunning
}

// Meet stops the clock: the target was met at at. A breached clock keeps its breach (it was met late) but
// records when.
func (c *Clock) Meet(at time.Time) {
	switch c.State {
	case StateRunning, StatePaused:
		c.closePause(at)
		c.State, c.MetAt = StateMet, at
	case StateBreached:
		if c.MetAt.IsZero() {
			c.MetAt = at
		}
	}
}

// Cancel stops an open clock at at without meeting it (the ticket closed).
func (c *Clock) Cancel(at time.Time) {
	if c.Open() {
		c.closePause(at)
		c.State, c.CancelledAt = StateCancelled, at
	}
}

// closePause ends an open pause at at, so a stopped clock's due time and time left stay where they stood.
func (c *Clock) closePause(at time.Time) {
	if c.State == StatePaused {
		c.Pauses[len(c.Pauses)-1].To = at
	}
}

// Restart begins a new cycle at at: the clock runs again from zero (a reopened ticket's resolution).
func (c *Clock) Restart(at time.Time) {
	c.Cycle++
	c.Start, c.Pauses, c.State, c.Warned = at, nil, StateRunning, 0
	c.MetAt, c.BreachedAt, c.CancelledAt = time.Time{}, time.Time{}, time.Time{}
}

// Reapply replaces the clock's target from d (a reclassification), keeping its start, pauses and cycle:
// the due time is recomputed from the original start. A warning or breach already fired stays fired; if
// the new target is already past, the breach is simply next.
func (c *Clock) Reapply(d Deadline) error {
	if d.Target != c.Target {
		return fmt.Errorf("reapply %s to a %s clock", d.Target, c.Target)
	}
	c.PolicyID, c.Calendar, c.Length, c.Warnings, c.Breach = d.PolicyID, d.Calendar, d.Length, d.Warnings, d.Breach
	return nil
}
