package app

import (
	"context"
	"fmt"
	"time"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/analytics/internal/store"
)

// Summary periods.
const (
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// Figures are one period's headline figures.
type Figures struct {
	Start, End                                time.Time
	Tickets                                   int64
	FirstResponse, Resolution                 DurationStats
	FirstResponseBusiness, ResolutionBusiness DurationStats
	SLATickets, Breached                      int64
	Satisfied, Neutral, Unsatisfied           int64
	Transfers, Escalations, Reopens           int64
}

// Summary is a week's or a month's report in one.
type Summary struct {
	Period            string
	Current, Previous Figures
	VolumeByChannel   []VolumeRow
	SLAByTarget       []SLARow
	TopIssues         TopIssues
	WorkloadByGroup   []WorkloadRow
}

// PeriodBounds returns the week (ISO, from Monday) or month in loc that holds at, or, when at is zero,
// the last one that ended by now.
func PeriodBounds(period string, at, now time.Time, loc *time.Location) (start, end time.Time, err error) {
	ref := at
	if ref.IsZero() {
		ref = now
	}
	y, m, d := ref.In(loc).Date()
	switch period {
	case PeriodWeek:
		day := time.Date(y, m, d, 0, 0, 0, 0, loc)
		start = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		if at.IsZero() {
			start = start.AddDate(0, 0, -7)
		}
		return start, start.AddDate(0, 0, 7), nil
	case PeriodMonth:
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		if at.IsZero() {
			start = start.AddDate(0, -1, 0)
		}
		return start, start.AddDate(0, 1, 0), nil
	default:
		return time.Time{}, time.Time{}, apierr.InvalidField("period", "must be WEEK or MONTH")
	}
}

// Summary gives the figures of the week or month holding at (or the last complete one) and of the one
// before, with the period's volume by channel, SLA by target, top issues and workload by group.
func (a *App) Summary(ctx context.Context, period string, at time.Time, zone string, filter store.Filter) (Summary, error) {
	if zone == "" {
		zone = a.Zone()
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Summary{}, apierr.InvalidField("time_zone", fmt.Sprintf("unknown time zone %q", zone))
	}
	start, end, err := PeriodBounds(period, at, a.clock.Now(), loc)
	if err != nil {
		return Summary{}, err
	}
	prevStart, _, _ := PeriodBounds(period, start.Add(-time.Hour), a.clock.Now(), loc)
	out := Summary{Period: period}
	whole := func(s, e time.Time, dim string) ReportQuery {
		return ReportQuery{Query: store.Query{Start: s, End: e, Granularity: store.All, Zone: zone, Filter: filter}, Dimension: dim}
	}
	if out.Current, err = a.figures(ctx, whole(start, end, "")); err != nil {
		return Summary{}, err
	}
	if out.Previous, err = a.figures(ctx, whole(prevStart, start, "")); err != nil {
		return Summary{}, err
	}
	if out.VolumeByChannel, _, err = a.Volume(ctx, whole(start, end, "channel")); err != nil {
		return Summary{}, err
	}
	if out.SLAByTarget, err = a.SLA(ctx, whole(start, end, "")); err != nil {
		return Summary{}, err
	}
	if out.TopIssues, err = a.TopIssues(ctx, whole(start, end, ""), DefaultTopLimit); err != nil {
		return Summary{}, err
	}
	if out.WorkloadByGroup, err = a.Workload(ctx, whole(start, end, "group")); err != nil {
		return Summary{}, err
	}
	return out, nil
}

// figures sums one period (q has granularity All).
func (a *App) figures(ctx context.Context, q ReportQuery) (Figures, error) {
	f := Figures{Start: q.Start, End: q.End}
	sq, err := a.prepare(q, false)
	if err != nil {
		return f, err
	}
	rows, err := a.store.Aggregate(ctx, "ticket_rollup", sq, nil, "tickets", "sla_tickets", "breached", "satisfied",
		"neutral", "unsatisfied", "transfers", "escalations", "reopens")
	if err != nil {
		return f, err
	}
	for _, r := range rows {
		f.Tickets += r.Sums[0]
		f.SLATickets += r.Sums[1]
		f.Breached += r.Sums[2]
		f.Satisfied += r.Sums[3]
		f.Neutral += r.Sums[4]
		f.Unsatisfied += r.Sums[5]
		f.Transfers += r.Sums[6]
		f.Escalations += r.Sums[7]
		f.Reopens += r.Sums[8]
	}
	tl, err := a.Timeliness(ctx, q)
	if err != nil {
		return f, err
	}
	if len(tl) > 0 {
		f.FirstResponse, f.Resolution = tl[0].FirstResponse, tl[0].Resolution
		f.FirstResponseBusiness, f.ResolutionBusiness = tl[0].FirstResponseBusiness, tl[0].ResolutionBusiness
	}
	return f, nil
}
