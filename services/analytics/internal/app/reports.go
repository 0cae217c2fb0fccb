package app

import (
	"context"
	"time"

	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

// RowKey is where a report line stands.
type RowKey struct {
	Period time.Time
	Key    string
}

// VolumeRow is a line of the volume report.
type VolumeRow struct {
	RowKey
	Tickets int64
}

// Volume counts tickets received per period and key.
func (a *App) Volume(ctx context.Context, q ReportQuery) ([]VolumeRow, int64, error) {
	sq, err := a.prepare(q, false)
	if err != nil {
		return nil, 0, err
	}
	rows, err := a.store.Aggregate(ctx, "ticket_rollup", sq, nil, "tickets")
	if err != nil {
		return nil, 0, err
	}
	var out []VolumeRow
	var total int64
	for _, r := range rows {
		if r.Sums[0] == 0 {
			continue
		}
		out = append(out, VolumeRow{RowKey{r.Period, r.Key}, r.Sums[0]})
		total += r.Sums[0]
	}
	return out, total, nil
}

// DurationStats summarises durations.
type DurationStats struct {
	Count         int64
	Mean          time.Duration
	P50, P90, P99 time.Duration
}

// TimelinessRow is a line of the timeliness report: wall-clock and business-time durations.
type TimelinessRow struct {
	RowKey
	FirstResponse, Resolution                 DurationStats
	FirstResponseBusiness, ResolutionBusiness DurationStats
}

// Timeliness gives first-response and resolution times per period and key: exact counts and means from
// the rollups' sums, percentiles from their histograms.
func (a *App) Timeliness(ctx context.Context, q ReportQuery) ([]TimelinessRow, error) {
	sq, err := a.prepare(q, false)
	if err != nil {
		return nil, err
	}
	sums, err := a.store.Aggregate(ctx, "ticket_rollup", sq, nil, "first_responses", "first_response_ms", "resolutions",
		"resolution_ms", "first_responses_business", "first_response_business_ms", "resolutions_business", "resolution_business_ms")
	if err != nil {
		return nil, err
	}
	hist, err := a.store.Histograms(ctx, sq)
	if err != nil {
		return nil, err
	}
	stats := func(k RowKey, metric string, n, ms int64) DurationStats {
		if n <= 0 {
			return DurationStats{}
		}
		h := hist[store.HistKey{Period: k.Period, Key: k.Key, Metric: metric}]
		return DurationStats{Count: n, Mean: time.Duration(ms/n) * time.Millisecond, P50: facts.Percentile(h, 0.5),
			P90: facts.Percentile(h, 0.9), P99: facts.Percentile(h, 0.99)}
	}
	var out []TimelinessRow
	for _, r := range sums {
		if r.Sums[0] == 0 && r.Sums[2] == 0 && r.Sums[4] == 0 && r.Sums[6] == 0 {
			continue
		}
		k := RowKey{r.Period, r.Key}
		out = append(out, TimelinessRow{RowKey: k, FirstResponse: stats(k, facts.MetricFirstResponse, r.Sums[0], r.Sums[1]),
			Resolution:            stats(k, facts.MetricResolution, r.Sums[2], r.Sums[3]),
			FirstResponseBusiness: stats(k, facts.MetricFirstResponseBusiness, r.Sums[4], r.Sums[5]),
			ResolutionBusiness:    stats(k, facts.MetricResolutionBusiness, r.Sums[6], r.Sums[7])})
	}
	return out, nil
}

// SLARow is a line of the SLA report.
type SLARow struct {
	RowKey
	Target                                             string
	Tickets, Breached, WarnedRecovered, WarnedBreached int64
}

// SLA gives per period, key and target the tickets with the target and how they fared.
func (a *App) SLA(ctx context.Context, q ReportQuery) ([]SLARow, error) {
	sq, err := a.prepare(q, false)
	if err != nil {
		return nil, err
	}
	rows, err := a.store.Aggregate(ctx, "sla_rollup", sq, []string{"target"}, "tickets", "breached", "warned_recovered", "warned_breached")
	if err != nil {
		return nil, err
	}
	var out []SLARow
	for _, r := range rows {
		if r.Sums[0] == 0 {
			continue
		}
		out = append(out, SLARow{RowKey: RowKey{r.Period, r.Key}, Target: r.Extra[0], Tickets: r.Sums[0], Breached: r.Sums[1],
			WarnedRecovered: r.Sums[2], WarnedBreached: r.Sums[3]})
	}
	return out, nil
}

// SatisfactionRow is a line of the satisfaction report.
type SatisfactionRow struct {
	RowKey
	Satisfied, Neutral, Unsatisfied int64
}

// Satisfaction counts ratings per period and key.
func (a *App) Satisfaction(ctx context.Context, q ReportQuery) ([]SatisfactionRow, error) {
	sq, err := a.prepare(q, false)
	if err != nil {
		return nil, err
	}
	rows, err := a.store.Aggregate(ctx, "ticket_rollup", sq, nil, "satisfied", "neutral", "unsatisfied")
	if err != nil {
		return nil, err
	}
	var out []SatisfactionRow
	for _, r := range rows {
		if r.Sums[0]+r.Sums[1]+r.Sums[2] == 0 {
			continue
		}
		out = append(out, SatisfactionRow{RowKey{r.Period, r.Key}, r.Sums[0], r.Sums[1], r.Sums[2]})
	}
	return out, nil
}

// WorkloadRow is a line of the workload report.
type WorkloadRow struct {
	RowKey
	Assigned, Resolved, Open int64
	AverageHandling          time.Duration
}

// Workload gives per period and agent (by default) the tickets assigned, resolved and open, and the
// average handling time.
func (a *App) Workload(ctx context.Context, q ReportQuery) ([]WorkloadRow, error) {
	if q.Dimension == "" {
		q.Dimension = "agent"
	}
	sq, err := a.prepare(q, true)
	if err != nil {
		return nil, err
	}
	rows, err := a.store.Aggregate(ctx, "agent_rollup", sq, nil, "assigned", "resolved", "open", "handled", "handle_ms")
	if err != nil {
		return nil, err
	}
	var out []WorkloadRow
	for _, r := range rows {
		if r.Sums[0] == 0 {
			continue
		}
		w := WorkloadRow{RowKey: RowKey{r.Period, r.Key}, Assigned: r.Sums[0], Resolved: r.Sums[1], Open: r.Sums[2]}
		if r.Sums[3] > 0 {
			w.AverageHandling = time.Duration(r.Sums[4]/r.Sums[3]) * time.Millisecond
		}
		out = append(out, w)
	}
	return out, nil
}
