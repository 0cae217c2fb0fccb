package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"kefu.dev/services/analytics/internal/domain/facts"
)

// Filter keeps rollup rows whose dimension is in each non-empty list.
type Filter struct {
	Channels, Groups, Types, Subcategories, Urgencies, Levels []string
}

// Query is what a report reads: tickets received in [Start, End) (at hour resolution: the rollups' unit),
// cut into periods of Granularity ("hour", "day", "week", "month" in Zone, or All: one period, starting
// at Start), filtered, and broken down by the column GroupBy ("" for none).
type Query struct {
	Start, End  time.Time
	Granularity string
	Zone        string
	Filter      Filter
	GroupBy     string
}

// All is the granularity of one period spanning the whole range.
const All = "all"

// Columns a report may break down by, per rollup table (agent only in agent_rollup).
var groupable = []string{"channel", "group_id", "type", "subcategory", "urgency", "level", "agent"}

// Row is one aggregated line: its period, its breakdown key, the extra key columns asked for, and the
// sums of the measures asked for, in order.
type Row struct {
	Period time.Time
	Key    string
	Extra  []string
	Sums   []int64
}

// dimColumns are the rollup columns a grain may keep.
var dimColumns = []string{"channel", "group_id", "type", "subcategory", "urgency", "level"}

// families names each rollup table's family (the day grains it keeps).
var families = map[string]facts.Family{"ticket_rollup": facts.FamilyTickets, "duration_hist": facts.FamilyHist,
	"sla_rollup": facts.FamilySLA, "agent_rollup": facts.FamilyAgents, "topic_rollup": facts.FamilyTopics,
	"group_time_rollup": facts.FamilyStays}

// span is a time range read at one grain.
type span struct {
	grain      facts.Grain
	start, end time.Time
}

// spans splits q's range into what is read at which grain: whole business days at the day grain covering
// every dimension of dims (facts.Family.Covering), when table keeps one and q's periods are days or longer
// in the business zone; the hours before the first and after the last business midnight (and every range
// by hour or in another zone) at the hour grain covering dims if table keeps one, else at the hourly rows
// with every dimension.
func (s *Store) spans(table string, q Query, dims []string) []span {
	start, end := q.Start.UTC().Truncate(time.Hour), q.End
	f := families[table]
	need := facts.SlotFor(dims)
	hour := facts.GrainHour
	if slot, ok := f.Covering(need, true); ok {
		hour = facts.HourOf(slot)
	}
	hourly := []span{{hour, start, end}}
	day, ok := f.Covering(need, false)
	if !ok || q.Granularity == "hour" || q.Zone != s.zone.String() {
		return hourly
	}
	midnight := func(t time.Time) time.Time {
		y, m, d := t.In(s.zone).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, s.zone)
	}
	first := midnight(start)
	if first.Before(start) {
		first = first.AddDate(0, 0, 1)
	}
	last := midnight(end)
	if !first.Before(last) {
		return hourly
	}
	out := []span{{hour, start, first}, {facts.DayOf(day), first, last}, {hour, last, end}}
	return slices.DeleteFunc(out, func(sp span) bool { return !sp.start.Before(sp.end) })
}

// source is a report's rows: a FROM clause over the spans of a table, the WHERE of its filter, the period
// and breakdown expressions, and their arguments.
type source struct {
	from, where, period, key string
	args                     []any
}

func (src *source) arg(v any) string {
	src.args = append(src.args, v)
	return fmt.Sprintf("$%d", len(src.args))
}

// source builds what reading table for q takes; extra names the columns read besides the measures.
func (s *Store) source(table string, q Query, extra []string) (*source, error) {
	if q.GroupBy != "" && !slices.Contains(groupable, q.GroupBy) {
		return nil, fmt.Errorf("cannot break down by %q", q.GroupBy)
	}
	src := &source{where: "TRUE", key: "''"}
	var where, dims []string
	for _, f := range []struct {
		col  string
		vals []string
	}{
		{"channel", q.Filter.Channels}, {"group_id", q.Filter.Groups}, {"type", q.Filter.Types},
		{"subcategory", q.Filter.Subcategories}, {"urgency", q.Filter.Urgencies}, {"level", q.Filter.Levels},
	} {
		if len(f.vals) > 0 {
			where = append(where, f.col+" = ANY("+src.arg(f.vals)+"::text[])")
			dims = append(dims, f.col)
		}
	}
	if len(where) > 0 {
		src.where = strings.Join(where, " AND ")
	}
	for _, c := range append([]string{q.GroupBy}, extra...) {
		if slices.Contains(dimColumns, c) {
			dims = append(dims, c)
		}
	}
	var parts []string
	for _, sp := range s.spans(table, q, dims) {
		parts = append(parts, "SELECT * FROM "+pgx.Identifier{table}.Sanitize()+" WHERE grain = "+src.arg(int16(sp.grain))+
			" AND hour >= "+src.arg(sp.start)+" AND hour < "+src.arg(sp.end))
	}
	src.from = "(" + strings.Join(parts, " UNION ALL ") + ") AS r"
	if q.Granularity == All {
		src.period = src.arg(q.Start.UTC().Truncate(time.Hour)) + "::timestamptz"
	} else {
		g, z := src.arg(q.Granularity), src.arg(q.Zone)
		src.period = "(date_trunc(" + g + ", hour AT TIME ZONE " + z + ") AT TIME ZONE " + z + ")"
	}
	if q.GroupBy != "" {
		src.key = q.GroupBy
	}
	return src, nil
}

// Aggregate sums measures of table over q, grouped by period, the breakdown and extra columns, ordered by
// them. It reads the coarsest grain that answers q (see spans). Every column name comes from this
// package's callers, never from a request.
func (s *Store) Aggregate(ctx context.Context, table string, q Query, extra []string, measures ...string) ([]Row, error) {
	src, err := s.source(table, q, extra)
	if err != nil {
		return nil, err
	}
	sel := []string{src.period + " AS period", src.key + " AS key"}
	group := []string{"1", "2"}
	for i, e := range extra {
		sel = append(sel, e+"::text")
		group = append(group, fmt.Sprint(i+3))
	}
	for _, m := range measures {
		sel = append(sel, "sum("+m+")::bigint")
	}
	sql := "SELECT " + strings.Join(sel, ", ") + " FROM " + src.from + " WHERE " + src.where +
		" GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(group, ", ")
	rows, err := s.pool.Query(ctx, sql, src.args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", table, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r := Row{Extra: make([]string, len(extra)), Sums: make([]int64, len(measures))}
		dest := []any{&r.Period, &r.Key}
		for i := range r.Extra {
			dest = append(dest, &r.Extra[i])
		}
		for i := range r.Sums {
			dest = append(dest, &r.Sums[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", table, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// HistKey is where a summed histogram stands: a report line's period and key, and the metric.
type HistKey struct {
	Period time.Time
	Key    string
	Metric string
}

// Histograms sums the duration histograms over q per period, key and metric. The rows are added up here:
// a packed histogram has no SQL sum.
func (s *Store) Histograms(ctx context.Context, q Query) (map[HistKey]facts.Histogram, error) {
	src, err := s.source("duration_hist", q, nil)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT "+src.period+", "+src.key+", metric, counts FROM "+src.from+" WHERE "+src.where, src.args...)
	if err != nil {
		return nil, fmt.Errorf("read histograms: %w", err)
	}
	defer rows.Close()
	out := map[HistKey]facts.Histogram{}
	for rows.Next() {
		var k HistKey
		var counts []byte
		if err := rows.Scan(&k.Period, &k.Key, &k.Metric, &counts); err != nil {
			return nil, fmt.Errorf("read histograms: %w", err)
		}
		if out[k] == nil {
			out[k] = facts.Histogram{}
		}
		if err := out[k].Decode(counts); err != nil {
			return nil, fmt.Errorf("read histograms: %w", err)
		}
	}
	return out, rows.Err()
}
