package grpcapi

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/slatimer/internal/app"
	"kefu.dev/services/slatimer/internal/domain/calendar"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// Enum prefixes: the domain stores an enum value as its name without these, lower case.
const (
	typePrefix    = "TICKET_TYPE_"
	levelPrefix   = "COMPLAINT_LEVEL_"
	urgencyPrefix = "URGENCY_"
	channelPrefix = "CHANNEL_"
	targetPrefix  = "SLA_TARGET_"
	breachPrefix  = "SLA_BREACH_ACTION_"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// policyFromProto turns a request's policy into the domain's (output-only fields ignored). A repeated
// target is refused; progress is set by policy.progress, never as a target.
func policyFromProto(p *slav1.Policy) (sla.Policy, error) {
	m := p.GetMatch()
	out := sla.Policy{Code: p.GetCode(), Name: p.GetDisplayName(), Enabled: p.GetEnabled(), Calendar: p.GetCalendar(),
		Breach: sla.BreachAction(protocode.Code(p.GetBreachAction(), breachPrefix)),
		Match: sla.Match{Types: protocode.Codes(m.GetTypes(), typePrefix), Levels: protocode.Codes(m.GetLevels(), levelPrefix),
			Urgencies: protocode.Codes(m.GetUrgencies(), urgencyPrefix), Channels: protocode.Codes(m.GetChannels(), channelPrefix),
			Tiers: slices.Clone(m.GetTiers())},
		Targets: map[sla.Target]time.Duration{}}
	for i, t := range p.GetTargets() {
		target := sla.Target(protocode.Code(t.GetTarget(), targetPrefix))
		if target == sla.Progress {
			return out, apierr.InvalidField(fmt.Sprintf("policy.targets[%d].target", i), "progress is not a target: set policy.progress")
		}
		if _, dup := out.Targets[target]; dup {
			return out, apierr.InvalidField(fmt.Sprintf("policy.targets[%d].target", i), "is set twice")
		}
		if !t.GetLength().IsValid() {
			return out, apierr.InvalidField(fmt.Sprintf("policy.targets[%d].length", i), "is not a valid duration")
		}
		out.Targets[target] = t.GetLength().AsDuration()
	}
	if r := p.GetProgress(); r != nil {
		if !r.GetAfter().IsValid() {
			return out, apierr.InvalidField("policy.progress.after", "is not a valid duration")
		}
		if r.GetEvery() != nil && !r.GetEvery().IsValid() {
			return out, apierr.InvalidField("policy.progress.every", "is not a valid duration")
		}
		out.Progress = &sla.ProgressRule{After: r.GetAfter().AsDuration(), Every: r.GetEvery().AsDuration(),
			NotifyCustomer: r.GetNotifyCustomer()}
	}
	if len(p.GetWarnings()) > 0 {
		out.Warnings = []sla.Warning{}
	}
	for i, w := range p.GetWarnings() {
		switch v := w.GetPoint().(type) {
		case *slav1.Warning_Percent:
			out.Warnings = append(out.Warnings, sla.Warning{Percent: int(v.Percent)})
		case *slav1.Warning_Before:
			if !v.Before.IsValid() || v.Before.AsDuration() <= 0 {
				return out, apierr.InvalidField(fmt.Sprintf("policy.warnings[%d].before", i), "must be a positive duration")
			}
			out.Warnings = append(out.Warnings, sla.Warning{Before: v.Before.AsDuration()})
		}
	}
	return out, nil
}

func policyProto(p sla.Policy) *slav1.Policy {
	out := &slav1.Policy{PolicyId: p.ID.String(), Code: p.Code, DisplayName: p.Name, Enabled: p.Enabled,
		Match: &slav1.PolicyMatch{
			Types:     protocode.Enums[intakev1.TicketType](typePrefix, p.Match.Types),
			Levels:    protocode.Enums[intakev1.ComplaintLevel](levelPrefix, p.Match.Levels),
			Urgencies: protocode.Enums[intakev1.Urgency](urgencyPrefix, p.Match.Urgencies),
			Channels:  protocode.Enums[intakev1.Channel](channelPrefix, p.Match.Channels),
			Tiers:     p.Match.Tiers},
		Calendar: p.Calendar, BreachAction: app.BreachProto(p.Breach), Builtin: p.Builtin, Etag: app.Etag(p.Version),
		CreateTime: ts(p.CreatedAt), UpdateTime: ts(p.UpdatedAt)}
	for _, t := range sla.Targets {
		if l, ok := p.Targets[t]; ok {
			out.Targets = append(out.Targets, &slav1.PolicyTarget{Target: app.TargetProto(t), Length: durationpb.New(l)})
		}
	}
	if r := p.Progress; r != nil {
		out.Progress = &slav1.PolicyProgress{After: durationpb.New(r.After), Every: durationpb.New(r.Every),
			NotifyCustomer: r.NotifyCustomer}
	}
	for _, w := range p.Warnings {
		if w.Percent > 0 {
			out.Warnings = append(out.Warnings, &slav1.Warning{Point: &slav1.Warning_Percent{Percent: int32(w.Percent)}})
		} else {
			out.Warnings = append(out.Warnings, &slav1.Warning{Point: &slav1.Warning_Before{Before: durationpb.New(w.Before)}})
		}
	}
	return out
}

// parseClock reads "HH:MM" ("24:00" allowed) as an offset from midnight.
func parseClock(field, s string) (time.Duration, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, apierr.InvalidField(field, "want HH:MM")
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, apierr.InvalidField(field, "want HH:MM")
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func intervals(field string, rs []*slav1.TimeRange) ([]calendar.Interval, error) {
	var out []calendar.Interval
	for i, r := range rs {
		start, err := parseClock(fmt.Sprintf("%s[%d].start", field, i), r.GetStart())
		if err != nil {
			return nil, err
		}
		end, err := parseClock(fmt.Sprintf("%s[%d].end", field, i), r.GetEnd())
		if err != nil {
			return nil, err
		}
		out = append(out, calendar.Interval{Start: start, End: end})
	}
	return out, nil
}

func timeRanges(ivs []calendar.Interval) []*slav1.TimeRange {
	out := make([]*slav1.TimeRange, len(ivs))
	hm := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	for i, iv := range ivs {
		out[i] = &slav1.TimeRange{Start: hm(iv.Start), End: hm(iv.End)}
	}
	return out
}

// weekday maps ISO numbering (Monday 1 … Sunday 7) to time.Weekday.
func weekday(d slav1.Weekday) time.Weekday { return time.Weekday(int(d) % 7) }

// calendarFromProto turns a request's calendar into the domain's. A make-up day without hours works
// Monday's (set by the app once it knows the calendar's week).
func calendarFromProto(p *slav1.Calendar) (sla.NamedCalendar, error) {
	out := sla.NamedCalendar{Code: p.GetCode(), Name: p.GetDisplayName()}
	if z := p.GetTimeZone(); z != "" {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return out, apierr.InvalidField("calendar.time_zone", fmt.Sprintf("unknown time zone %q", z))
		}
		out.Calendar.Zone = loc
	}
	seen := map[time.Weekday]bool{}
	for i, d := range p.GetWeek() {
		wd := weekday(d.GetDay())
		if seen[wd] {
			return out, apierr.InvalidField(fmt.Sprintf("calendar.week[%d].day", i), "is listed twice")
		}
		seen[wd] = true
		ivs, err := intervals(fmt.Sprintf("calendar.week[%d].hours", i), d.GetHours())
		if err != nil {
			return out, err
		}
		out.Calendar.Week[wd] = ivs
	}
	out.Calendar.Holidays = map[calendar.Date]bool{}
	for i, h := range p.GetHolidays() {
		d, err := calendar.ParseDate(h)
		if err != nil {
			return out, apierr.InvalidField(fmt.Sprintf("calendar.holidays[%d]", i), err.Error())
		}
		out.Calendar.Holidays[d] = true
	}
	out.Calendar.Workdays = map[calendar.Date][]calendar.Interval{}
	for i, w := range p.GetWorkdays() {
		d, err := calendar.ParseDate(w.GetDate())
		if err != nil {
			return out, apierr.InvalidField(fmt.Sprintf("calendar.workdays[%d].date", i), err.Error())
		}
		ivs, err := intervals(fmt.Sprintf("calendar.workdays[%d].hours", i), w.GetHours())
		if err != nil {
			return out, err
		}
		out.Calendar.Workdays[d] = ivs
	}
	return out, nil
}

func calendarProto(c sla.NamedCalendar) *slav1.Calendar {
	out := &slav1.Calendar{Code: c.Code, DisplayName: c.Name, AlwaysOpen: c.Calendar.AlwaysOpen, Builtin: c.Builtin,
		Etag: app.Etag(c.Version), CreateTime: ts(c.CreatedAt), UpdateTime: ts(c.UpdatedAt)}
	if c.Calendar.Zone != nil {
		out.TimeZone = c.Calendar.Zone.String()
	}
	for iso := slav1.Weekday_WEEKDAY_MONDAY; iso <= slav1.Weekday_WEEKDAY_SUNDAY; iso++ {
		if ivs := c.Calendar.Week[weekday(iso)]; len(ivs) > 0 {
			out.Week = append(out.Week, &slav1.WorkingDay{Day: iso, Hours: timeRanges(ivs)})
		}
	}
	for d := range c.Calendar.Holidays {
		out.Holidays = append(out.Holidays, d.String())
	}
	slices.Sort(out.Holidays)
	for d, ivs := range c.Calendar.Workdays {
		out.Workdays = append(out.Workdays, &slav1.MakeUpDay{Date: d.String(), Hours: timeRanges(ivs)})
	}
	slices.SortFunc(out.Workdays, func(a, b *slav1.MakeUpDay) int { return cmp.Compare(a.GetDate(), b.GetDate()) })
	return out
}

// stateProto is where a clock stands as the API shows it: a running clock that has warned is WARNING; a
// breached one met late is MET (with its breached_time). Progress reminders are no warnings.
func stateProto(c sla.Clock) slav1.SlaState {
	switch c.State {
	case sla.StateRunning:
		if c.Warned > 0 && c.Target != sla.Progress {
			return slav1.SlaState_SLA_STATE_WARNING
		}
		return slav1.SlaState_SLA_STATE_RUNNING
	case sla.StatePaused:
		return slav1.SlaState_SLA_STATE_PAUSED
	case sla.StateMet:
		return slav1.SlaState_SLA_STATE_MET
	case sla.StateBreached:
		if !c.MetAt.IsZero() {
			return slav1.SlaState_SLA_STATE_MET
		}
		return slav1.SlaState_SLA_STATE_BREACHED
	case sla.StateCancelled:
		return slav1.SlaState_SLA_STATE_CANCELLED
	}
	return slav1.SlaState_SLA_STATE_UNSPECIFIED
}

func targetStatus(c store.ClockRow, remaining time.Duration) *slav1.TargetStatus {
	due := c.Due
	if c.Length <= 0 {
		due = time.Time{} // met at once: never due
	}
	out := &slav1.TargetStatus{Target: app.TargetProto(c.Target), State: stateProto(c.Clock), DueTime: ts(due),
		Remaining: durationpb.New(remaining), Length: durationpb.New(c.Length), Calendar: c.Calendar,
		Cycle: int32(c.Cycle), StartTime: ts(c.Start), MetTime: ts(c.MetAt), BreachedTime: ts(c.BreachedAt),
		WarningsFired: int32(c.Warned)}
	if c.Target == sla.Progress {
		out.WarningsFired, out.RemindersFired = 0, int32(c.Warned)
		out.ReminderInterval, out.NotifyCustomer = durationpb.New(c.Every), c.NotifyCustomer
	}
	if c.PolicyID != uuid.Nil {
		out.PolicyId = c.PolicyID.String()
	}
	return out
}

func ticketSLAProto(v app.TicketView) *slav1.TicketSla {
	out := &slav1.TicketSla{TicketId: v.Ticket.ID.String()}
	for _, id := range v.Ticket.PolicyIDs {
		out.PolicyIds = append(out.PolicyIds, id.String())
	}
	out.GroupId, out.AssigneeId = optionalString(v.Ticket.GroupID), optionalString(v.Ticket.AssigneeID)
	for _, t := range v.Targets {
		if t.Target == sla.Progress {
			out.Progress = targetStatus(t.ClockRow, t.Remaining) // reminders, not a promise: kept out of targets
			continue
		}
		out.Targets = append(out.Targets, targetStatus(t.ClockRow, t.Remaining))
	}
	return out
}
