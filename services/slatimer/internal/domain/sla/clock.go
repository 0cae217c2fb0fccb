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
//
// A Progress clock counts the same way but has no due time: its timers are reminders, reminder n (from 1)
// when its business time reaches Length + (n-1)·Every; Warned counts the reminders fired.
type Clock struct {
	Target   Target
	PolicyID uuid.UUID
	Calendar string
	Length   time.Duration
	Warnings []Warning
	Breach   BreachAction
	// Every is a Progress clock's interval between reminders (0: one reminder only); NotifyCustomer its
	// rule's flag, carried on each reminder.
	Every          time.Duration
	NotifyCustomer bool
	// Cycle counts restarts (a reopen restarts resolution): each cycle's warnings and breach fire once.
	Cycle int
	Start time.Time
	// Pauses while the ticket waited on the customer; the last one is open while paused.
	Pauses []Span
	State  ClockState
	// Warned is how many of Warnings (in the order of their instants) have fired in this cycle; for a
	// Progress clock, how many reminders.
	Warned      int
	MetAt       time.Time
	BreachedAt  time.Time
	CancelledAt time.Time
}

// NewClock starts a clock for deadline d at start.
func NewClock(d Deadline, start time.Time) Clock {
	return Clock{Target: d.Target, PolicyID: d.PolicyID, Calendar: d.Calendar, Length: d.Length, Warnings: d.Warnings,
		Breach: d.Breach, Every: d.Every, NotifyCustomer: d.NotifyCustomer, Start: start, State: StateRunning}
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

// Remaining returns the business time left at at (negative once overdue). For a Progress clock it is the
// time left until the next reminder, 0 when none will come.
func (c Clock) Remaining(cal calendar.Calendar, at time.Time) time.Duration {
	if c.Target == Progress {
		if !c.Open() || !c.moreReminders() {
			return 0
		}
		return c.reminderPoint(c.Warned+1) - c.Spent(cal, at)
	}
	return c.Length - c.Spent(cal, at)
}

// reminderPoint is the business time spent at which a Progress clock's reminder n (from 1) fires.
func (c Clock) reminderPoint(n int) time.Duration { return c.Length + time.Duration(n-1)*c.Every }

// moreReminders reports whether a Progress clock has a reminder still to fire: always with an interval,
// else until the only one fired.
func (c Clock) moreReminders() bool { return c.Every > 0 || c.Warned == 0 }

// warningPoint is the business time spent at which w fires.
func (c Clock) warningPoint(w Warning) time.Duration {
	if w.Percent > 0 {
		return c.Length * time.Duration(w.Percent) / 100
	}
	return c.Length - w.Before
}

// Timer is the clock's next firing: warning number Index (0-based, in the order of the warnings'
// instants) or the breach (Index -1), at At. A Progress clock's timers are its reminders: Index is the
// reminder's number less one.
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
	if c.Target == Progress {
		return c.reminder(cal, c.Warned+1)
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

// reminder returns a Progress clock's reminder n as a timer; ok is false past the last one (no interval).
func (c Clock) reminder(cal calendar.Calendar, n int) (Timer, bool, error) {
	if n > 1 && c.Every <= 0 {
		return Timer{}, false, nil
	}
	at, ok, err := c.instantAt(cal, c.reminderPoint(n))
	if err != nil || !ok {
		return Timer{}, false, err
	}
	return Timer{Index: n - 1, At: at}, true, nil
}

// dueReminder returns the last reminder of a running Progress clock due at now; ok is false when none
// is. After downtime (or a re-apply that shortened the rule) it may lie past Next: reminders missed meanwhile
// coalesce into it.
func (c Clock) dueReminder(cal calendar.Calendar, now time.Time) (Timer, bool, error) {
	next, ok, err := c.Next(cal)
	if err != nil || !ok || next.At.After(now) {
		return Timer{}, false, err
	}
	if c.Every <= 0 {
		return next, true, nil
	}
	// Jump by whole intervals to the last point the time spent by now has reached (arithmetic in business
	// time), then take that reminder's instant from the calendar.
	k := (c.Spent(cal, now) - c.reminderPoint(next.Index+1)) / c.Every
	if k <= 0 {
		return next, true, nil
	}
	last, ok, err := c.reminder(cal, next.Index+1+int(k))
	if err != nil {
		return Timer{}, false, err
	}
	if !ok || last.At.After(now) {
		return next, true, nil // cannot happen when the calendar counts as Spent does; the next one is due anyway
	}
	return last, true, nil
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

// Restart begins a new cycle at at: the clock runs again from zero (a reopened ticket's resolution and
// progress reminders).
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
	c.Every, c.NotifyCustomer = d.Every, d.NotifyCustomer
	return nil
}
