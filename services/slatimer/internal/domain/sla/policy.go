// Package sla holds the SLA-timer service's domain rules in plain Go (issue #7): policies that match a
// ticket and set its targets and progress reminders (issue #9), the defaults seeded on first start, and how
// the targets of every matching policy combine into the ticket's deadlines (each target takes the earliest
// due time). It does no I/O.
//
// Ticket attributes are lower snake codes matching intake's names (type "complaint", level "l1", urgency
// "critical", channel "web_chat"), i.e. the proto enum names without their prefix.
package sla

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/slatimer/internal/domain/calendar"
)

// Target is a promise made to the customer.
type Target string

// Targets, named as kefu.events.v1.SlaTarget without its prefix.
const (
	FirstResponse      Target = "first_response"
	NextResponse       Target = "next_response"
	Resolution         Target = "resolution"
	TransferAcceptance Target = "transfer_acceptance"
)

// Targets lists every target in a fixed order: the promises a policy's Targets may set.
var Targets = []Target{FirstResponse, NextResponse, Resolution, TransferAcceptance}

// Progress is the clock of a policy's progress rule (issue #9): not a promise but reminders on a long-open
// ticket. It never warns nor breaches; its timers are the reminders (Clock.Next), and it is set by
// Policy.Progress, never by Policy.Targets.
const Progress Target = "progress"

// CalendarAlways names the 24×7 calendar in a policy; any other name is a business calendar's.
const CalendarAlways = "24x7"

// BreachAction is what a breach does beyond its event.
type BreachAction string

// Breach actions.
const (
	// BreachNotify publishes kefu.sla.breached only (routing notifies the group's head).
	BreachNotify BreachAction = "notify"
	// BreachEscalate also escalates the ticket at intake.
	BreachEscalate BreachAction = "escalate"
)

// Match says which tickets a policy applies to: each list, when not empty, must contain the ticket's
// value; an empty match applies to every ticket.
type Match struct {
	Types     []string
	Levels    []string
	Urgencies []string
	Channels  []string
	Tiers     []string
}

// Facts are what a policy matches on.
type Facts struct {
	Type, Level, Urgency, Channel, Tier string
}

// Matches reports whether m applies to f.
func (m Match) Matches(f Facts) bool {
	in := func(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }
	return in(m.Types, f.Type) && in(m.Levels, f.Level) && in(m.Urgencies, f.Urgency) && in(m.Channels, f.Channel) &&
		in(m.Tiers, f.Tier)
}

// Warning is a point before a due time at which kefu.sla.warning fires: at Percent of the target's
// business time, or Before the due time (one of the two).
type Warning struct {
	Percent int
	Before  time.Duration
}

// ProgressRule sends progress reminders on a long-open ticket: the first once it has been open After, then
// every Every (0: only one), both business time in the policy's calendar less the time the ticket waits on
// the customer, until it is resolved. NotifyCustomer also sends the customer an automatic status message
// at each reminder.
type ProgressRule struct {
	After, Every   time.Duration
	NotifyCustomer bool
}

// Policy sets targets for the tickets it matches.
type Policy struct {
	ID      uuid.UUID
	Code    string // lower snake, unique
	Name    string
	Enabled bool
	Match   Match
	// Targets maps a target to its length in the policy's calendar; a target not in the map is not set.
	// A zero length means met at once (a phone call is answered on the call).
	Targets map[Target]time.Duration
	// Progress is the policy's progress rule; nil for none.
	Progress *ProgressRule
	Warnings []Warning
	// Calendar is CalendarAlways or the code of a business calendar.
	Calendar string
	Breach   BreachAction
	Builtin  bool
	Version  int64
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// BuiltinPolicyID is the id the default policy with code gets in every installation (a name-based UUID).
func BuiltinPolicyID(code string) uuid.UUID {
	return uuid.NewSHA1(builtinNamespace, []byte("policy:"+code))
}

// builtinNamespace names the seeded records' ids.
var builtinNamespace = uuid.MustParse("5b1d8a50-2f4c-4a36-9a63-7a1f0c2e9d41")

// Limits on a policy.
const (
	MaxTargetLength = 366 * 24 * time.Hour
	MaxWarnings     = 5
	// MinProgressEvery keeps a customer from getting status messages more often than hourly.
	MinProgressEvery = time.Hour
)

// Validate checks p's meaning (shapes were checked at the edge) and names the field under prefix.
func (p Policy) Validate(prefix string, calendarExists func(code string) bool) error {
	switch {
	case p.Code == "":
		return apierr.InvalidField(prefix+".code", "is required")
	case p.Name == "":
		return apierr.InvalidField(prefix+".display_name", "is required")
	case len(p.Targets) == 0 && p.Progress == nil:
		return apierr.InvalidField(prefix+".targets", "set at least one target (or a progress rule)")
	case p.Breach != BreachNotify && p.Breach != BreachEscalate:
		return apierr.InvalidField(prefix+".breach_action", "must be NOTIFY or ESCALATE")
	case !calendarExists(p.Calendar):
		return apierr.InvalidField(prefix+".calendar", fmt.Sprintf("no calendar %q", p.Calendar))
	case len(p.Warnings) > MaxWarnings:
		return apierr.InvalidField(prefix+".warnings", fmt.Sprintf("at most %d", MaxWarnings))
	}
	for t, l := range p.Targets {
		if !slices.Contains(Targets, t) {
			return apierr.InvalidField(prefix+".targets", fmt.Sprintf("unknown target %q", t))
		}
		if l < 0 || l > MaxTargetLength {
			return apierr.InvalidField(prefix+".targets", fmt.Sprintf("%s: length must be between 0 and 366 days", t))
		}
	}
	for i, w := range p.Warnings {
		if (w.Percent > 0) == (w.Before > 0) || w.Percent > 99 || w.Before < 0 {
			return apierr.InvalidField(fmt.Sprintf("%s.warnings[%d]", prefix, i), "set a percent (1–99) or a positive time before")
		}
	}
	if r := p.Progress; r != nil {
		if r.After <= 0 || r.After > MaxTargetLength {
			return apierr.InvalidField(prefix+".progress.after", "must be more than 0 and at most 366 days")
		}
		if r.Every != 0 && (r.Every < MinProgressEvery || r.Every > MaxTargetLength) {
			return apierr.InvalidField(prefix+".progress.every", "must be 0 (one reminder) or from 1 hour to 366 days")
		}
	}
	return nil
}

// length returns the length p sets for target: a target's, or for Progress its first reminder's After.
func (p Policy) length(target Target) (time.Duration, bool) {
	if target == Progress {
		if p.Progress == nil {
			return 0, false
		}
		return p.Progress.After, true
	}
	l, ok := p.Targets[target]
	return l, ok
}

// NamedCalendar is a calendar as admins keep it.
type NamedCalendar struct {
	Code, Name string
	Calendar   calendar.Calendar
	Builtin    bool
	Version    int64
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// DefaultCalendars are seeded on first start: 24x7 (fixed) and the mainland China default, without
// holidays until an admin fills in the year's official dates.
func DefaultCalendars() ([]NamedCalendar, error) {
	china, err := calendar.ChinaDefault()
	if err != nil {
		return nil, err
	}
	return []NamedCalendar{
		{Code: CalendarAlways, Name: "全天候 24×7", Calendar: calendar.Always(), Builtin: true},
		{Code: DefaultCalendar, Name: "中国大陆工作日 09:00–18:00", Calendar: china, Builtin: true},
	}, nil
}

// DefaultCalendar is the code of the seeded business calendar (calendar.ChinaDefault).
const DefaultCalendar = "china_default"

// DefaultWarnings warn at 50% and 80% of every target.
func DefaultWarnings() []Warning { return []Warning{{Percent: 50}, {Percent: 80}} }

// DefaultPolicies are seeded on first start, from our customers' service rules. Critical and L1 targets
// count around the clock; the others in the default business calendar. Each has its BuiltinPolicyID; an L1
// complaint's breach escalates, the others notify.
func DefaultPolicies() []Policy {
	p := func(code, name string, m Match, cal string, targets map[Target]time.Duration) Policy {
		return Policy{Code: code, Name: name, Enabled: true, Match: m, Targets: targets, Warnings: DefaultWarnings(),
			Calendar: cal, Breach: BreachNotify, Builtin: true}
	}
	h := time.Hour
	ps := []Policy{
		p("urgency_normal", "普通：24 小时内响应", Match{Urgencies: []string{"normal"}}, DefaultCalendar,
			map[Target]time.Duration{FirstResponse: 24 * h}),
		p("urgency_urgent", "紧急：2 小时内响应", Match{Urgencies: []string{"urgent"}}, DefaultCalendar,
			map[Target]time.Duration{FirstResponse: 2 * h}),
		p("urgency_critical", "特急：30 分钟内响应（全天候）", Match{Urgencies: []string{"critical"}}, CalendarAlways,
			map[Target]time.Duration{FirstResponse: 30 * time.Minute}),
		p("complaint_l1", "一级投诉：15 分钟响应，2 小时解决（全天候）", Match{Types: []string{"complaint"}, Levels: []string{"l1"}},
			CalendarAlways, map[Target]time.Duration{FirstResponse: 15 * time.Minute, Resolution: 2 * h}),
		p("complaint_l2", "二级投诉：30 分钟响应，24 小时解决", Match{Types: []string{"complaint"}, Levels: []string{"l2"}},
			DefaultCalendar, map[Target]time.Duration{FirstResponse: 30 * time.Minute, Resolution: 24 * h}),
		p("complaint_l3", "三级投诉：1 小时响应，48 小时解决", Match{Types: []string{"complaint"}, Levels: []string{"l3"}},
			DefaultCalendar, map[Target]time.Duration{FirstResponse: h, Resolution: 48 * h}),
		p("chat_first_response", "在线客服与 App：5 分钟内响应", Match{Channels: []string{"web_chat", "app"}}, DefaultCalendar,
			map[Target]time.Duration{FirstResponse: 5 * time.Minute}),
		// Email: acknowledged within an hour (the first response), answered within 48 hours at most (the
		// next response while the ticket waits on the team).
		p("email", "邮件：1 小时内确认，48 小时内答复", Match{Channels: []string{"email"}}, DefaultCalendar,
			map[Target]time.Duration{FirstResponse: h, NextResponse: 48 * h}),
		// A phone call is answered on the call: the first response is met at submission.
		p("phone", "电话：通话即响应", Match{Channels: []string{"phone"}}, CalendarAlways,
			map[Target]time.Duration{FirstResponse: 0}),
		// The receiving group's own deadline from routing replaces this default when routing gives one.
		p("transfer_acceptance", "转派：2 小时内接收", Match{}, DefaultCalendar,
			map[Target]time.Duration{TransferAcceptance: 2 * h}),
		// A complaint still open after 24 business hours (about three working days) reminds its agent and
		// tells the customer it is being worked on, then again every 24 business hours (issue #9). A policy
		// of its own rather than a rule on complaint_l1..l3, so that an installation seeded before it gets it
		// too (seeding adds missing codes only) and admins switch it off in one place.
		p("long_case_progress", "投诉长期未结：24 小时起每 24 小时提醒进展并告知客户", Match{Types: []string{"complaint"}},
			DefaultCalendar, map[Target]time.Duration{}),
	}
	for i := range ps {
		ps[i].ID = BuiltinPolicyID(ps[i].Code)
		switch ps[i].Code {
		case "complaint_l1":
			ps[i].Breach = BreachEscalate // an L1 complaint breaching its targets is escalated, not only reported
		case "long_case_progress":
			ps[i].Progress = &ProgressRule{After: 24 * h, Every: 24 * h, NotifyCustomer: true}
		}
	}
	return ps
}

// Calendars resolves a policy's calendar code.
type Calendars func(code string) (calendar.Calendar, bool)

// Deadline is one target's due time for a ticket and the policy that set it. For Progress, Length and Due
// are the first reminder's; Every and NotifyCustomer come from the progress rule.
type Deadline struct {
	Target         Target
	Length         time.Duration // in Calendar
	Due            time.Time
	PolicyID       uuid.UUID
	Calendar       string
	Warnings       []Warning
	Breach         BreachAction
	Every          time.Duration
	NotifyCustomer bool
}

// Apply returns the ticket's deadlines for targets that start at start: for each target, among the
// enabled policies matching f that set it, the one whose due time comes first (the strictest; lengths in
// different calendars compare by when they fall due), ties to the shorter length, then the lower policy
// code. It also returns the ids of the policies that applied (matched and set one of targets), in code
// order, which the ticket records. Progress, when asked, combines the same way: the rule whose first
// reminder comes first wins, with its interval and notify flag.
func Apply(policies []Policy, f Facts, start time.Time, cals Calendars, targets ...Target) ([]Deadline, []uuid.UUID, error) {
	ps := slices.Clone(policies)
	slices.SortFunc(ps, func(a, b Policy) int { return cmp.Compare(a.Code, b.Code) })
	var applied []uuid.UUID
	best := map[Target]Deadline{}
	for _, p := range ps {
		if !p.Enabled || !p.Match.Matches(f) || !slices.ContainsFunc(targets, func(t Target) bool { _, ok := p.length(t); return ok }) {
			continue
		}
		applied = append(applied, p.ID)
		cal, ok := cals(p.Calendar)
		if !ok {
			return nil, nil, fmt.Errorf("policy %s: unknown calendar %q", p.Code, p.Calendar)
		}
		for _, t := range targets {
			length, ok := p.length(t)
			if !ok {
				continue
			}
			due, err := cal.Add(start, length)
			if errors.Is(err, calendar.ErrNeverOpen) {
				// The calendar cannot count this target (admins are refused such a policy, but a calendar
				// may lose working time later): the other policies still set the ticket's deadlines.
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("policy %s, %s: %w", p.Code, t, err)
			}
			d := Deadline{Target: t, Length: length, Due: due, PolicyID: p.ID, Calendar: p.Calendar,
				Warnings: slices.Clone(p.Warnings), Breach: p.Breach}
			if t == Progress {
				// Reminders neither warn nor breach.
				d.Warnings, d.Breach = nil, ""
				d.Every, d.NotifyCustomer = p.Progress.Every, p.Progress.NotifyCustomer
			}
			if cur, ok := best[t]; !ok || due.Before(cur.Due) || (due.Equal(cur.Due) && length < cur.Length) {
				best[t] = d
			}
		}
	}
	var out []Deadline
	for _, t := range targets {
		if d, ok := best[t]; ok {
			out = append(out, d)
		}
	}
	return out, applied, nil
}
