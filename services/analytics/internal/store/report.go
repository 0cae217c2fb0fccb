package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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

// Aggregate sums measures of table over q, grouped by period, the breakdown and extra columns, ordered by
// them. Every column name comes from this package's callers, never from a request.
func (s *Store) Aggregate(ctx context.Context, table string, q Query, extra []string, measures ...string) ([]Row, error) {
	if q.GroupBy != "" && !slices.Contains(groupable, q.GroupBy) {
		return nil, fmt.Errorf("cannot break down by %q", q.GroupBy)
	}
	args := []any{q.Start.UTC().Truncate(time.Hour), q.End}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	period := "$1::timestamptz"
	if q.Granularity != All {
		g, z := arg(q.Granularity), arg(q.Zone)
		period = "(date_trunc(" + g + ", hour AT TIME ZONE " + z + ") AT TIME ZONE " + z + ")"
	}
	where := []string{"hour >= $1", "hour < $2"}
	for _, f := range []struct {
		col  string
		vals []string
	}{
		{"channel", q.Filter.Channels}, {"group_id", q.Filter.Groups}, {"type", q.Filter.Types},
		{"subcategory", q.Filter.Subcategories}, {"urgency", q.Filter.Urgencies}, {"level", q.Filter.Levels},
	} {
		if len(f.vals) > 0 {
			where = append(where, f.col+" = ANY("+arg(f.vals)+"::text[])")
		}
	}
	key := "''"
	if q.GroupBy != "" {
		key = q.GroupBy
	}
	sel := []string{period + " AS period", key + " AS key"}
	group := []string{"1", "2"}
	for i, e := range extra {
		sel = append(sel, e+"::text")
		group = append(group, fmt.Sprint(i+3))
	}
	for _, m := range measures {
		sel = append(sel, "sum("+m+")::bigint")
	}
	sql := "SELECT " + strings.Join(sel, ", ") + " FROM " + pgx.Identifier{table}.Sanitize() + " WHERE " +
		strings.Join(where, " AND ") + " GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(group, ", ")
	rows, err := s.pool.Query(ctx, sql, args...)
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
