package main

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// query is one of the realistic report queries.
type query struct {
	name    string
	start   time.Time
	end     time.Time
	gran    analyticsv1.Granularity
	groupBy analyticsv1.Dimension
	filter  *analyticsv1.ReportFilter
}

func queries(now time.Time) []query {
	day := 24 * time.Hour
	return []query{
		{"last 7 days by day", now.Add(-7 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0, nil},
		{"last 30 days by day and channel", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, analyticsv1.Dimension_DIMENSION_CHANNEL, nil},
		{"last 90 days by week", now.Add(-90 * day), now, analyticsv1.Granularity_GRANULARITY_WEEK, 0, nil},
		{"7 days by hour, one channel", now.Add(-7 * day), now, analyticsv1.Granularity_GRANULARITY_HOUR, 0,
			&analyticsv1.ReportFilter{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}}},
		{"30 days by day, one subcategory", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0,
			&analyticsv1.ReportFilter{Subcategories: []string{"logistics"}}},
		{"30 days by day, urgent", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0,
			&analyticsv1.ReportFilter{Urgencies: []intakev1.Urgency{intakev1.Urgency_URGENCY_URGENT}}},
	}
}

const mixText = "last 7 days by day; last 30 days by day × channel; last 90 days by ISO week; last 7 days by hour, web_chat only; " +
	"last 30 days by day, subcategory logistics; last 30 days by day, urgent"

// reportSpec is one RPC under measure: call runs variant i and returns the rows it got.
type reportSpec struct {
	name  string
	about string
	n     int      // variants
	names []string // the variants' names; none: the report queries
	call  func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error)
}

func reportSpecs(now time.Time) []reportSpec {
	qs := queries(now)
	ts := timestamppb.New
	mix := "the report queries"
	same := func(name string, call func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error)) reportSpec {
		return reportSpec{name: name, about: mix, n: len(qs), call: func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
			return call(ctx, c, qs[i%len(qs)])
		}}
	}
	summary := func(p analyticsv1.SummaryPeriod, times []*timestamppb.Timestamp) func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
		return func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
			r, err := c.GetSummary(ctx, &analyticsv1.GetSummaryRequest{Period: p, PeriodTime: times[i%len(times)]})
			return len(r.GetVolumeByChannel()) + len(r.GetSlaByTarget()) + len(r.GetWorkloadByGroup()), err
		}
	}
	export := func(report string) reportSpec {
		return same("ExportReport "+report, func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.ExportReport(ctx, &analyticsv1.ExportReportRequest{Report: report, StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return strings.Count(string(r.GetData()), "\n"), err
		})
	}
	weeks := []*timestamppb.Timestamp{nil, ts(now.AddDate(0, 0, -14)), ts(now.AddDate(0, 0, -21)), ts(now.AddDate(0, 0, -35))}
	months := []*timestamppb.Timestamp{nil, ts(now.AddDate(0, -2, 0))}
	return []reportSpec{
		same("GetVolumeReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetTimelinessReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetTimelinessReport(ctx, &analyticsv1.GetTimelinessReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetSlaReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetSlaReport(ctx, &analyticsv1.GetSlaReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetSatisfactionReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetSatisfactionReport(ctx, &analyticsv1.GetSatisfactionReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetWorkloadReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			// Per agent (the default) unless the query breaks down by something else.
			r, err := c.GetWorkloadReport(ctx, &analyticsv1.GetWorkloadReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetTopIssuesReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetTopIssuesReport(ctx, &analyticsv1.GetTopIssuesReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Filter: q.filter, Limit: 10})
			return len(r.GetByVolume()) + len(r.GetByBreaches()) + len(r.GetTopics()), err
		}),
		same("GetCollaborationReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetCollaborationReport(ctx, &analyticsv1.GetCollaborationReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()) + len(r.GetGroupTimes()), err
		}),
		{name: "GetSummary WEEK", about: "the last complete week and weeks 2, 3 and 5 back", n: len(weeks),
			names: []string{"last week", "2 weeks back", "3 weeks back", "5 weeks back"},
			call:  summary(analyticsv1.SummaryPeriod_SUMMARY_PERIOD_WEEK, weeks)},
		{name: "GetSummary MONTH", about: "the last complete month and the one two months back", n: len(months),
			names: []string{"last month", "2 months back"},
			call:  summary(analyticsv1.SummaryPeriod_SUMMARY_PERIOD_MONTH, months)},
		export("volume"),
		export("timeliness"),
	}
}

// variant names variant i of r.
func (r reportSpec) variant(now time.Time, i int) string {
	if len(r.names) > 0 {
		return r.names[i]
	}
	return queries(now)[i].name
}

type measured struct {
	took          []time.Duration
	byVariant     [][]time.Duration
	rows          int
	failed        int
	firstErr      error
	unimplemented bool
}

// measure warms r up with one call of each variant, then makes calls calls with callers concurrent callers.
func measure(ctx context.Context, c analyticsv1.AnalyticsServiceClient, r reportSpec, calls, callers int) (measured, error) {
	var m measured
	for i := range r.n {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := r.call(cctx, c, i)
		cancel()
		if err != nil {
			if status.Code(err) == codes.Unimplemented {
				m.unimplemented = true
				return m, nil
			}
			if ctx.Err() != nil {
				return m, ctx.Err()
			}
		}
	}
	m.byVariant = make([][]time.Duration, r.n)
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls || ctx.Err() != nil {
					return
				}
				began := time.Now()
				cctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // slow reports are measured, not cut off
				rows, err := r.call(cctx, c, i)
				took := time.Since(began)
				cancel()
				mu.Lock()
				if err != nil {
					m.failed++
					if m.firstErr == nil {
						m.firstErr = err
					}
				} else {
					m.took, m.rows = append(m.took, took), m.rows+rows
					m.byVariant[i%r.n] = append(m.byVariant[i%r.n], took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(m.took)
	for _, v := range m.byVariant {
		slices.Sort(v)
	}
	return m, ctx.Err()
}

// pct is the p-quantile of sorted ds in ms (nearest rank).
func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	i := max(0, min(len(ds)-1, int(math.Ceil(p*float64(len(ds))))-1))
	return float64(ds[i].Microseconds()) / 1000
}
