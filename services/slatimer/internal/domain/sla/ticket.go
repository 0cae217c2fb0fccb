package sla

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/services/slatimer/internal/domain/calendar"
)

// Ticket is what the SLA service knows of one ticket: the facts its policies match on, when it was
// received (every clock's original start), whether it waits on the customer or is closed, and its clocks,
// one per target. Its methods apply a ticket event and return what changed, which the caller publishes.
type Ticket struct {
	ID    uuid.UUID
	Facts Facts
	// Start is when the ticket was received: first response and resolution count from it.
	Start time.Time
	// Pending: the ticket waits on the customer, so its clocks are paused.
	Pending bool
	// Resolved: resolved and not reopened since; a reclassification starts no progress reminders for it.
	Resolved bool
	// Closed: resolved then closed (or archived); nothing fires for it any more.
	Closed    bool
	Clocks    []Clock
	PolicyIDs []uuid.UUID
}

// ChangeKind is what happened to a clock.
type ChangeKind string

// Change kinds, one per kefu.sla.* event.
const (
	ChangeApplied  ChangeKind = "applied"
	ChangeWarning  ChangeKind = "warning"
	ChangeBreached ChangeKind = "breached"
	ChangeMet      ChangeKind = "met"
	ChangePaused   ChangeKind = "paused"
	ChangeResumed  ChangeKind = "resumed"
	// ChangeProgressDue is a progress reminder (issue #9).
	ChangeProgressDue ChangeKind = "progress_due"
)

// Change is one event to publish. Applied, paused and resumed name every clock concerned (Clocks);
// warning, breached, met and progress_due name one (Clocks[0]). A Progress clock is named in applied,
// paused, resumed and met changes like the others; the caller decides what to publish of it.
type Change struct {
	Kind   ChangeKind
	Clocks []Clock
	// Recomputed marks an applied change made by a reclassification or a re-apply.
	Recomputed bool
	// Threshold is the warning's number, 1 for the earliest; a progress reminder's number, from 1.
	Threshold int
	// Late marks a warning, breach or reminder fired past its instant (the service was down then).
	Late bool
	// Remaining is the business time left when a warning fired.
	Remaining time.Duration
	// At is when a warning, breach or progress reminder was due (its lateness is the firing time minus At),
	// and Elapsed the business time a progress clock had counted when it fired.
	At      time.Time
	Elapsed time.Duration
}

// Env is what applying an event needs besides the ticket: the policies as they stand and the calendars.
type Env struct {
	Policies  []Policy
	Calendars Calendars
}

// calendarOf resolves a clock's calendar.
func (e Env) calendarOf(code string) (calendar.Calendar, error) {
	cal, ok := e.Calendars(code)
	if !ok {
		return calendar.Calendar{}, fmt.Errorf("unknown calendar %q", code)
	}
	return cal, nil
}

// ticketTargets are the targets a ticket's policies set when it arrives (transfer acceptance starts with a
// transfer), and its progress reminders.
var ticketTargets = []Target{FirstResponse, NextResponse, Resolution, Progress}

// Clock returns the ticket's clock of target.
func (t *Ticket) Clock(target Target) (*Clock, bool) {
	for i := range t.Clocks {
		if t.Clocks[i].Target == target {
			return &t.Clocks[i], true
		}
	}
	return nil, false
}

// Open starts the clocks of a new ticket from its policies: each target set by a matching policy, from
// the ticket's start. A zero-length target (a phone call) is met at once.
func (t *Ticket) Open(env Env) ([]Change, error) {
	ds, applied, err := Apply(env.Policies, t.Facts, t.Start, env.Calendars, ticketTargets...)
	if err != nil {
		return nil, err
	}
	t.PolicyIDs = applied
	var started []Clock
	var met []Change
	for _, d := range ds {
		c := NewClock(d, t.Start)
		if c.Length <= 0 {
			c.Meet(t.Start)
			met = append(met, Change{Kind: ChangeMet, Clocks: []Clock{c}})
		}
		t.Clocks = append(t.Clocks, c)
		started = append(started, c)
	}
	if len(started) == 0 {
		return nil, nil
	}
	return append([]Change{{Kind: ChangeApplied, Clocks: started}}, met...), nil
}

// meet meets the open clocks of targets at at.
func (t *Ticket) meet(at time.Time, targets ...Target) []Change {
	var out []Change
	for _, target := range targets {
		c, ok := t.Clock(target)
		// A breached target is still met (late) once; a met or cancelled one is done.
		if !ok || !c.Open() && (c.State != StateBreached || !c.MetAt.IsZero()) {
			continue
		}
		c.Meet(at)
		out = append(out, Change{Kind: ChangeMet, Clocks: []Clock{*c}})
	}
	return out
}

// Reply applies an agent's reply: it is the first response, and the response the ticket waited for.
func (t *Ticket) Reply(at time.Time) []Change { return t.meet(at, FirstResponse, NextResponse) }

// CustomerMessage applies a message from the customer: when the next-response target's clock had been met,
// the ticket waits on the team again, so it starts its next cycle.
func (t *Ticket) CustomerMessage(at time.Time) []Change {
	c, ok := t.Clock(NextResponse)
	if t.Closed || !ok || c.State != StateMet && c.State != StateBreached {
		return nil
	}
	c.Restart(at)
	return []Change{{Kind: ChangeApplied, Clocks: []Clock{*c}}}
}

// SetPending pauses the running clocks when the ticket starts waiting on the customer, and resumes the
// paused ones when it stops.
func (t *Ticket) SetPending(pending bool, at time.Time) []Change {
	if pending == t.Pending || t.Closed {
		return nil
	}
	t.Pending = pending
	var changed []Clock
	for i := range t.Clocks {
		c := &t.Clocks[i]
		switch {
		case pending && c.State == StateRunning:
			c.Pause(at)
		case !pending && c.State == StatePaused:
			c.Resume(at)
		default:
			continue
		}
		changed = append(changed, *c)
	}
	if len(changed) == 0 {
		return nil
	}
	kind := ChangeResumed
	if pending {
		kind = ChangePaused
	}
	return []Change{{Kind: kind, Clocks: changed}}
}

// Resolve meets resolution; resolving also answers the customer (first and next response), ends the
// progress reminders, and a transfer still waiting no longer matters.
func (t *Ticket) Resolve(at time.Time) []Change {
	t.Pending, t.Resolved = false, true
	out := t.meet(at, FirstResponse, NextResponse, Resolution, Progress)
	if c, ok := t.Clock(TransferAcceptance); ok {
		c.Cancel(at)
	}
	return out
}

// Reopen restarts resolution and the progress reminders in their next cycle from at (the reminders count
// from 1 again).
func (t *Ticket) Reopen(at time.Time) []Change {
	t.Closed, t.Pending, t.Resolved = false, false, false
	var restarted []Clock
	for _, target := range []Target{Resolution, Progress} {
		if c, ok := t.Clock(target); ok {
			c.Restart(at)
			restarted = append(restarted, *c)
		}
	}
	if len(restarted) == 0 {
		return nil
	}
	return []Change{{Kind: ChangeApplied, Clocks: restarted}}
}

// Close cancels every open clock at at: nothing fires for a closed ticket.
func (t *Ticket) Close(at time.Time) {
	t.Closed = true
	for i := range t.Clocks {
		t.Clocks[i].Cancel(at)
	}
}

// Reclassify recomputes the ticket's targets from its original start with facts and the policies as they
// stand (a change of urgency, type or level, or an admin's re-apply). Open clocks take their new length; a
// target newly set starts from the original start (and may be due, or breached, at once: its timers come
// next); an open clock whose target is no longer set is cancelled. Met and breached clocks keep what
// happened. A resolved ticket gets no new progress reminders.
func (t *Ticket) Reclassify(facts Facts, at time.Time, env Env) ([]Change, error) {
	ds, applied, err := Apply(env.Policies, facts, t.Start, env.Calendars, ticketTargets...)
	if err != nil {
		return nil, err
	}
	t.Facts, t.PolicyIDs = facts, applied
	var out []Clock
	var met []Change
	for _, target := range ticketTargets {
		i := slices.IndexFunc(ds, func(d Deadline) bool { return d.Target == target })
		c, exists := t.Clock(target)
		switch {
		case i < 0 && exists:
			c.Cancel(at)
		case i >= 0 && exists:
			if !c.Open() {
				continue
			}
			if err := c.Reapply(ds[i]); err != nil {
				return nil, err
			}
			out = append(out, *c)
		case i >= 0 && !t.Closed && !(target == Progress && t.Resolved):
			n := NewClock(ds[i], t.Start)
			if t.Pending {
				n.Pause(t.Start)
			}
			if n.Length <= 0 {
				n.Meet(t.Start)
				met = append(met, Change{Kind: ChangeMet, Clocks: []Clock{n}})
			}
			t.Clocks = append(t.Clocks, n)
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, nil // nothing open changed (a closed ticket, or every target already met)
	}
	return append([]Change{{Kind: ChangeApplied, Clocks: out, Recomputed: true}}, met...), nil
}

// TransferRequested starts the transfer-acceptance clock (its next cycle after an earlier transfer) at at:
// the receiving group's deadline from routing when it gives one (counted around the clock, as routing
// counts it), else the transfer-acceptance policy's target.
func (t *Ticket) TransferRequested(at, deadline time.Time, env Env) ([]Change, error) {
	if t.Closed {
		return nil, nil
	}
	ds, _, err := Apply(env.Policies, t.Facts, at, env.Calendars, TransferAcceptance)
	if err != nil {
		return nil, err
	}
	d := Deadline{Target: TransferAcceptance, Calendar: CalendarAlways, Warnings: DefaultWarnings(), Breach: BreachNotify}
	if len(ds) > 0 {
		d = ds[0]
	}
	if !deadline.IsZero() {
		d.Length, d.Calendar = max(deadline.Sub(at), 0), CalendarAlways
	}
	if len(ds) == 0 && deadline.IsZero() {
		return nil, nil // no policy sets it and routing gave no deadline
	}
	c, ok := t.Clock(TransferAcceptance)
	if ok {
		c.Restart(at)
		if err := c.Reapply(d); err != nil {
			return nil, err
		}
	} else {
		t.Clocks = append(t.Clocks, NewClock(d, at))
		c = &t.Clocks[len(t.Clocks)-1]
	}
	if t.Pending {
		c.Pause(at)
	}
	return []Change{{Kind: ChangeApplied, Clocks: []Clock{*c}}}, nil
}

// TransferAccepted meets the transfer-acceptance clock.
func (t *Ticket) TransferAccepted(at time.Time) []Change { return t.meet(at, TransferAcceptance) }

// FireDue fires every timer of the clock of target that is due at now, in order (after downtime a warning
// and the breach may both be due), each once. A timer is late when it fires more than lateAfter past its
// instant. A Progress clock fires its latest due reminder only: reminders missed while the service was
// down coalesce, so the agent and the customer get one, not a burst.
func (t *Ticket) FireDue(target Target, now time.Time, lateAfter time.Duration, env Env) ([]Change, error) {
	c, ok := t.Clock(target)
	if !ok {
		return nil, nil
	}
	cal, err := env.calendarOf(c.Calendar)
	if err != nil {
		return nil, err
	}
	if target == Progress {
		r, ok, err := c.dueReminder(cal, now)
		if err != nil || !ok {
			return nil, err
		}
		c.Fire(r, now)
		return []Change{{Kind: ChangeProgressDue, Clocks: []Clock{*c}, Threshold: r.Index + 1,
			Late: now.Sub(r.At) > lateAfter, At: r.At, Elapsed: c.Spent(cal, now)}}, nil
	}
	var out []Change
	for range len(c.Warnings) + 1 {
		next, ok, err := c.Next(cal)
		if err != nil || !ok || next.At.After(now) {
			return out, err
		}
		c.Fire(next, now)
		ch := Change{Clocks: []Clock{*c}, Late: now.Sub(next.At) > lateAfter, At: next.At}
		if next.IsBreach() {
			ch.Kind = ChangeBreached
		} else {
			ch.Kind, ch.Threshold, ch.Remaining = ChangeWarning, next.Index+1, c.Remaining(cal, now)
		}
		out = append(out, ch)
	}
	return out, nil
}

// Elapsed returns the business time the clock ran from its start until it was met, less its pauses: what
// the SLA counted (zero for a clock not met).
func (c Clock) Elapsed(env Env) (time.Duration, error) {
	if c.MetAt.IsZero() {
		return 0, nil
	}
	cal, err := env.calendarOf(c.Calendar)
	if err != nil {
		return 0, err
	}
	return c.Spent(cal, c.MetAt), nil
}

// Schedule returns the clock's due time and next timer instant under env (zero when there is none). A
// Progress clock's due time is its next reminder's.
func (c Clock) Schedule(env Env) (due, next time.Time, err error) {
	cal, err := env.calendarOf(c.Calendar)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if c.Target == Progress {
		tm, ok, err := c.Next(cal)
		if err != nil || !ok {
			return time.Time{}, time.Time{}, err
		}
		return tm.At, tm.At, nil
	}
	if c.Open() {
		if d, ok, err := c.Due(cal); err != nil {
			return time.Time{}, time.Time{}, err
		} else if ok {
			due = d
		}
	} else if c.State == StateBreached || c.State == StateMet {
		// A stopped clock's due time is where it stood (its pauses closed).
		if d, ok, err := c.Due(cal); err == nil && ok {
			due = d
		}
	}
	tm, ok, err := c.Next(cal)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if ok {
		next = tm.At
	}
	return due, next, nil
}
