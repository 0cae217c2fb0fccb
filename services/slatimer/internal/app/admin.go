package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/etag"
	"kefu.dev/services/slatimer/internal/domain/calendar"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// Etag renders a version as an etag.
func Etag(version int64) string { return etag.Of(version) }

// Reasons of the app's own errors.
const (
	ReasonCalendarBuiltin   = "CALENDAR_BUILTIN"
	ReasonTicketClosed      = "TICKET_CLOSED"
	ReasonCalendarInUse     = "CALENDAR_IN_USE"
	ReasonCalendarNeverOpen = "CALENDAR_NEVER_OPEN"
)

// checkEtag is etag.Check.
func checkEtag(field, given string, version int64, what string) error {
	return etag.Check(field, given, version, what)
}

// Updatable mask paths of each resource.
var (
	PolicyPaths   = []string{"display_name", "enabled", "match", "targets", "warnings", "calendar", "breach_action", "progress"}
	CalendarPaths = []string{"display_name", "time_zone", "week", "holidays", "workdays"}
)

// calendarExists reports whether a calendar code is known (for a policy's validation).
func (a *App) calendarExists(ctx context.Context) (func(string) bool, error) {
	a.dropEnv()
	e, err := a.env(ctx)
	if err != nil {
		return nil, err
	}
	return func(code string) bool { _, ok := e.calendars[code]; return ok }, nil
}

// withPolicyDefaults fills what a new policy may leave out.
func withPolicyDefaults(p sla.Policy) sla.Policy {
	if p.Calendar == "" {
		p.Calendar = sla.DefaultCalendar
	}
	if p.Breach == "" {
		p.Breach = sla.BreachNotify
	}
	if p.Warnings == nil {
		p.Warnings = sla.DefaultWarnings()
	}
	return p
}

// CreatePolicy adds a policy (idempotent under req).
func (a *App) CreatePolicy(ctx context.Context, req Request, p sla.Policy) (sla.Policy, error) {
	p = withPolicyDefaults(p)
	exists, err := a.calendarExists(ctx)
	if err != nil {
		return p, err
	}
	if err := p.Validate("policy", exists); err != nil {
		return p, err
	}
	if err := a.schedulable(ctx, p); err != nil {
		return p, err
	}
	if p.ID, err = newID(); err != nil {
		return p, err
	}
	p.Builtin, p.Version = false, 1
	p.CreatedAt, p.UpdatedAt = a.now(), a.now()
	out, err := a.store.CreatePolicy(ctx, claim(ctx, req, "create_policy"), p)
	a.dropEnv()
	return out, err
}

// Policy returns a policy.
func (a *App) Policy(ctx context.Context, id uuid.UUID) (sla.Policy, error) {
	return a.store.Policy(ctx, id)
}

// Policies lists every policy.
func (a *App) Policies(ctx context.Context) ([]sla.Policy, error) { return a.store.Policies(ctx) }

// UpdatePolicy changes the paths (see PolicyPaths) of policy id to value's, given the current etag. The
// change applies to tickets created from now on.
func (a *App) UpdatePolicy(ctx context.Context, id uuid.UUID, etag string, paths []string, value sla.Policy) (sla.Policy, error) {
	exists, err := a.calendarExists(ctx)
	if err != nil {
		return sla.Policy{}, err
	}
	out, err := a.store.UpdatePolicy(ctx, id, a.now(), func(p *sla.Policy) error {
		if err := checkEtag("policy.etag", etag, p.Version, "policy"); err != nil {
			return err
		}
		for _, path := range paths {
			switch path {
			case "display_name":
				p.Name = value.Name
			case "enabled":
				p.Enabled = value.Enabled
			case "match":
				p.Match = value.Match
			case "targets":
				p.Targets = value.Targets
			case "warnings":
				p.Warnings = value.Warnings
			case "calendar":
				p.Calendar = value.Calendar
			case "breach_action":
				p.Breach = value.Breach
			case "progress":
				p.Progress = value.Progress // unset in the request: no progress rule
			}
		}
		*p = withPolicyDefaults(*p)
		if err := p.Validate("policy", exists); err != nil {
			return err
		}
		return a.schedulable(ctx, *p)
	})
	a.dropEnv()
	return out, err
}

// schedulable refuses a policy whose targets its calendar cannot count (a long target in a calendar with
// little working time): every ticket it matched would get no deadline from it.
func (a *App) schedulable(ctx context.Context, p sla.Policy) error {
	e, err := a.env(ctx)
	if err != nil {
		return err
	}
	cal, ok := e.Calendars(p.Calendar)
	if !ok {
		return apierr.InvalidField("policy.calendar", fmt.Sprintf("no calendar %q", p.Calendar))
	}
	return schedulableIn(p, cal, a.now())
}

// schedulableIn checks that cal can count each of p's targets, and its progress rule's lengths, from now.
func schedulableIn(p sla.Policy, cal calendar.Calendar, now time.Time) error {
	type length struct {
		field, what string
		l           time.Duration
	}
	var ls []length
	for _, t := range sla.Targets {
		if l, ok := p.Targets[t]; ok {
			ls = append(ls, length{"policy.targets", string(t) + ": ", l})
		}
	}
	if r := p.Progress; r != nil {
		ls = append(ls, length{"policy.progress.after", "", r.After}, length{"policy.progress.every", "", r.Every})
	}
	for _, l := range ls {
		if _, err := cal.Add(now, l.l); errors.Is(err, calendar.ErrNeverOpen) {
			return apierr.InvalidField(l.field, fmt.Sprintf("%scalendar %s has not %s of working time within %d days",
				l.what, p.Calendar, l.l, calendar.MaxSearch))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateCalendar adds a business calendar (idempotent under req).
func (a *App) CreateCalendar(ctx context.Context, req Request, c sla.NamedCalendar) (sla.NamedCalendar, error) {
	fillWorkdays(&c)
	if err := validCalendar(c); err != nil {
		return c, err
	}
	c.Builtin, c.Calendar.AlwaysOpen = false, false
	c.CreatedAt, c.UpdatedAt = a.now(), a.now()
	out, err := a.store.CreateCalendar(ctx, claim(ctx, req, "create_calendar"), c)
	a.dropEnv()
	return out, err
}

// fillWorkdays gives a make-up day listed without hours Monday's hours (a make-up day works like a normal
// working day).
func fillWorkdays(c *sla.NamedCalendar) {
	for d, ivs := range c.Calendar.Workdays {
		if len(ivs) == 0 {
			c.Calendar.Workdays[d] = slices.Clone(c.Calendar.Week[time.Monday])
		}
	}
}

func validCalendar(c sla.NamedCalendar) error {
	if c.Code == "" {
		return apierr.InvalidField("calendar.code", "is required")
	}
	if c.Code == sla.CalendarAlways {
		return apierr.InvalidField("calendar.code", "24x7 is built in")
	}
	if c.Calendar.Zone == nil {
		return apierr.InvalidField("calendar.time_zone", "is required (an IANA zone such as Asia/Shanghai)")
	}
	if err := c.Calendar.Validate(); err != nil {
		return apierr.InvalidField("calendar", err.Error())
	}
	if !slices.ContainsFunc(c.Calendar.Week[:], func(ivs []calendar.Interval) bool { return len(ivs) > 0 }) {
		return apierr.InvalidField("calendar.week", "works no day of the week: targets could never fall due")
	}
	return nil
}

// Calendar returns a calendar.
func (a *App) Calendar(ctx context.Context, code string) (sla.NamedCalendar, error) {
	return a.store.Calendar(ctx, code)
}

// Calendars lists every calendar.
func (a *App) Calendars(ctx context.Context) ([]sla.NamedCalendar, error) {
	return a.store.Calendars(ctx)
}

// recomputeBatch is how many tickets one step of a calendar change re-schedules.
const recomputeBatch = 500

// UpdateCalendar changes the paths (see CalendarPaths) of calendar code to value's, given the current etag.
// In the same transaction the running clocks counting in it take their new due times (a holiday added
// moves them later).
func (a *App) UpdateCalendar(ctx context.Context, code, etag string, paths []string, value sla.NamedCalendar) (sla.NamedCalendar, error) {
	now := a.now()
	out, err := a.store.UpdateCalendar(ctx, code, now, func(c *sla.NamedCalendar) error {
		if err := checkEtag("calendar.etag", etag, c.Version, "calendar"); err != nil {
			return err
		}
		if c.Calendar.AlwaysOpen {
			return apierr.FailedPrecondition(ReasonCalendarBuiltin, "calendar 24x7 counts every second and cannot be changed")
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				c.Name = value.Name
			case "time_zone":
				c.Calendar.Zone = value.Calendar.Zone
			case "week":
				c.Calendar.Week = value.Calendar.Week
			case "holidays":
				c.Calendar.Holidays = value.Calendar.Holidays
			case "workdays":
				c.Calendar.Workdays = value.Calendar.Workdays
			}
		}
		fillWorkdays(c)
		return validCalendar(*c)
	}, func(ctx context.Context, tx *store.Tx, c sla.NamedCalendar) error {
		e, err := a.env(ctx)
		if err != nil {
			return err
		}
		env := e.Env
		cals := env.Calendars
		env.Calendars = func(k string) (calendar.Calendar, bool) {
			if k == c.Code {
				return c.Calendar, true
			}
			return cals(k)
		}
		for _, p := range env.Policies {
			if p.Calendar == c.Code && p.Enabled {
				if err := schedulableIn(p, c.Calendar, now); err != nil {
					return apierr.FailedPrecondition(ReasonCalendarInUse, fmt.Sprintf(
						"policy %s counts in this calendar and could not as changed: %s", p.Code, err.Error()))
				}
			}
		}
		for after := uuid.Nil; ; {
			rows, err := tx.OpenTicketsIn(ctx, c.Code, after, recomputeBatch)
			if err != nil || len(rows) == 0 {
				return err
			}
			for i := range rows {
				err := a.save(ctx, tx, &rows[i], nil, env, now)
				if errors.Is(err, calendar.ErrNeverOpen) {
					return apierr.FailedPrecondition(ReasonCalendarInUse,
						"running targets count in this calendar and could never fall due in it as changed")
				}
				if err != nil {
					return err
				}
			}
			after = rows[len(rows)-1].ID
		}
	})
	a.dropEnv()
	return out, err
}

// AddBusinessTime returns when d of calendar code's business time, counted from start, ends.
func (a *App) AddBusinessTime(ctx context.Context, code string, start time.Time, d time.Duration) (time.Time, *time.Location, error) {
	if d < 0 || d > sla.MaxTargetLength {
		return time.Time{}, nil, apierr.InvalidField("duration", "must be between 0 and 366 days")
	}
	c, err := a.store.Calendar(ctx, code)
	if err != nil {
		return time.Time{}, nil, err
	}
	end, err := c.Calendar.Add(start, d)
	if errors.Is(err, calendar.ErrNeverOpen) {
		return time.Time{}, nil, apierr.FailedPrecondition(ReasonCalendarNeverOpen,
			fmt.Sprintf("calendar %s has no working time within %d days of the start", code, calendar.MaxSearch))
	}
	return end, c.Calendar.Zone, err
}

// BusinessStatus is whether an instant is working time in a calendar.
type BusinessStatus struct {
	Open bool
	// NextOpen is the first working instant at or after the one asked about: that instant itself when Open.
	NextOpen time.Time
	// Zone is the calendar's time zone.
	Zone *time.Location
}

// BusinessStatus says whether at is working time in calendar code and when working time next begins
// (holidays skipped, make-up days counted).
func (a *App) BusinessStatus(ctx context.Context, code string, at time.Time) (BusinessStatus, error) {
	c, err := a.store.Calendar(ctx, code)
	if err != nil {
		return BusinessStatus{}, err
	}
	next, err := c.Calendar.NextOpen(at)
	if errors.Is(err, calendar.ErrNeverOpen) {
		return BusinessStatus{}, apierr.FailedPrecondition(ReasonCalendarNeverOpen,
			fmt.Sprintf("calendar %s has no working time within %d days of at_time", code, calendar.MaxSearch))
	}
	if err != nil {
		return BusinessStatus{}, err
	}
	return BusinessStatus{Open: c.Calendar.IsOpen(at), NextOpen: next, Zone: c.Calendar.Zone}, nil
}

// TargetView is one target of a ticket as the queries show it.
type TargetView struct {
	store.ClockRow
	Remaining time.Duration
}

// TicketView is a ticket's SLA.
type TicketView struct {
	Ticket  store.TicketRow
	Targets []TargetView
}

// view computes the remaining business time of each clock now.
func (a *App) view(ctx context.Context, row store.TicketRow, clocks []store.ClockRow) (TicketView, error) {
	e, err := a.env(ctx)
	if err != nil {
		return TicketView{}, err
	}
	v := TicketView{Ticket: row}
	now := a.now()
	for _, c := range clocks {
		v.Targets = append(v.Targets, TargetView{ClockRow: c, Remaining: remaining(c.Clock, e, now)})
	}
	return v, nil
}

// remaining is the business time left at now; a stopped clock shows what was left when it stopped.
func remaining(c sla.Clock, e *environment, now time.Time) time.Duration {
	cal, ok := e.Calendars(c.Calendar)
	if !ok {
		return 0
	}
	at := now
	switch {
	case !c.MetAt.IsZero():
		at = c.MetAt
	case !c.CancelledAt.IsZero():
		at = c.CancelledAt
	}
	return c.Remaining(cal, at)
}

// TicketSLA returns ticket id's targets.
func (a *App) TicketSLA(ctx context.Context, id uuid.UUID) (TicketView, error) {
	row, clocks, err := a.store.Ticket(ctx, id)
	if err != nil {
		return TicketView{}, err
	}
	return a.view(ctx, row, clocks)
}

// Reapply recomputes ticket id's targets from the policies as they stand, from its original start.
func (a *App) Reapply(ctx context.Context, id uuid.UUID) (TicketView, error) {
	now := a.now()
	err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		row, found, err := tx.LockTicket(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return apierr.NotFound("kefu.sla.v1.TicketSla", id.String()).WithCause(store.ErrNotFound)
		}
		if row.Closed {
			return apierr.FailedPrecondition(ReasonTicketClosed, "the ticket is closed: its targets no longer run")
		}
		a.dropEnv()
		e, err := a.env(ctx)
		if err != nil {
			return err
		}
		changes, err := row.Reclassify(row.Facts, now, e.Env)
		if err != nil {
			return err
		}
		return a.save(ctx, tx, &row, changes, e.Env, now)
	})
	a.wakeRelay(err)
	if err != nil {
		return TicketView{}, err
	}
	return a.TicketSLA(ctx, id)
}

// AtRiskLine is one line of the countdown board.
type AtRiskLine struct {
	store.BoardLine
	Remaining time.Duration
}

// AtRisk lists the countdown board after cursor, at most limit lines; within > 0 keeps the targets due
// within it from now (and every breached one).
func (a *App) AtRisk(ctx context.Context, f store.BoardFilter, within time.Duration, after *store.BoardCursor, limit int) ([]AtRiskLine, error) {
	if within > 0 {
		f.DueBefore = a.now().Add(within)
	}
	lines, err := a.store.Board(ctx, f, after, limit)
	if err != nil {
		return nil, err
	}
	e, err := a.env(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]AtRiskLine, len(lines))
	for i, l := range lines {
		out[i] = AtRiskLine{BoardLine: l, Remaining: remaining(l.Clock.Clock, e, now)}
	}
	return out, nil
}
