package grpcapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/services/analytics/internal/app"
)

// csvContentType is what ExportReport answers with; the gateway passes it on as the HTTP Content-Type.
const csvContentType = "text/csv; charset=utf-8"

// bom starts the file so spreadsheet programs read it as UTF-8 (Chinese codes and labels).
const bom = "\ufeff"

// table is a CSV being written: a header, then rows.
type table struct {
	buf  bytes.Buffer
	w    *csv.Writer
	zone *time.Location
}

func newTable(zone *time.Location, header ...string) *table {
	t := &table{zone: zone}
	t.buf.WriteString(bom)
	t.w = csv.NewWriter(&t.buf)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { _ = t.w.Write(cells) } // writes to memory: never fails

func (t *table) body() (*httpbody.HttpBody, error) {
	t.w.Flush()
	if err := t.w.Error(); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return &httpbody.HttpBody{ContentType: csvContentType, Data: t.buf.Bytes()}, nil
}

// period renders a period's start in the report's zone, with its offset.
func (t *table) period(k app.RowKey) string { return k.Period.In(t.zone).Format(time.RFC3339) }

func num(n int64) string { return strconv.FormatInt(n, 10) }

func ratio(n, of int64) string { return strconv.FormatFloat(share(n, of), 'f', 4, 64) }

// seconds renders a duration in seconds with millisecond precision.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

func statsCells(d app.DurationStats) []string {
	return []string{num(d.Count), seconds(d.Mean), seconds(d.P50), seconds(d.P90), seconds(d.P99)}
}

func statsHeader(prefix string) []string {
	return []string{prefix + "_count", prefix + "_mean_s", prefix + "_p50_s", prefix + "_p90_s", prefix + "_p99_s"}
}

// ExportReport implements AnalyticsService.ExportReport: the report named by req.report as CSV.
func (s *Server) ExportReport(ctx context.Context, req *analyticsv1.ExportReportRequest) (*httpbody.HttpBody, error) {
	zoneName := req.GetTimeZone()
	if zoneName == "" {
		zoneName = s.app.Zone()
	}
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		return nil, apierr.InvalidField("time_zone", fmt.Sprintf("unknown time zone %q", zoneName))
	}
	if req.GetReport() == "summary" {
		if req.GetPeriod() == analyticsv1.SummaryPeriod_SUMMARY_PERIOD_UNSPECIFIED {
			return nil, apierr.InvalidField("period", "is required for a summary")
		}
		sum, err := s.summary(ctx, req)
		if err != nil {
			return nil, err
		}
		return summaryCSV(sum, zone)
	}
	if req.GetStartTime() == nil {
		return nil, apierr.InvalidField("start_time", "is required")
	}
	if req.GetEndTime() == nil {
		return nil, apierr.InvalidField("end_time", "is required")
	}
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	switch req.GetReport() {
	case "volume":
		rows, _, err := s.app.Volume(ctx, q)
		if err != nil {
			return nil, err
		}
		t := newTable(zone, "period_start", "key", "tickets")
		for _, r := range rows {
			t.row(t.period(r.RowKey), r.Key, num(r.Tickets))
		}
		return t.body()
	case "timeliness":
		rows, err := s.app.Timeliness(ctx, q)
		if err != nil {
			return nil, err
		}
		header := []string{"period_start", "key"}
		for _, p := range []string{"first_response", "resolution", "first_response_business", "resolution_business"} {
			header = append(header, statsHeader(p)...)
		}
		t := newTable(zone, header...)
		for _, r := range rows {
			cells := []string{t.period(r.RowKey), r.Key}
			for _, d := range []app.DurationStats{r.FirstResponse, r.Resolution, r.FirstResponseBusiness, r.ResolutionBusiness} {
				cells = append(cells, statsCells(d)...)
			}
			t.row(cells...)
		}
		return t.body()
	case "sla":
		rows, err := s.app.SLA(ctx, q)
		if err != nil {
			return nil, err
		}
		t := newTable(zone, "period_start", "key", "target", "tickets", "breached", "breach_rate", "warned_recovered", "warned_breached")
		for _, r := range rows {
			t.row(t.period(r.RowKey), r.Key, r.Target, num(r.Tickets), num(r.Breached), ratio(r.Breached, r.Tickets),
				num(r.WarnedRecovered), num(r.WarnedBreached))
		}
		return t.body()
	case "satisfaction":
		rows, err := s.app.Satisfaction(ctx, q)
		if err != nil {
			return nil, err
		}
		t := newTable(zone, "period_start", "key", "satisfied", "neutral", "unsatisfied", "satisfied_share", "neutral_share", "unsatisfied_share")
		for _, r := range rows {
			rated := r.Satisfied + r.Neutral + r.Unsatisfied
			t.row(t.period(r.RowKey), r.Key, num(r.Satisfied), num(r.Neutral), num(r.Unsatisfied), ratio(r.Satisfied, rated),
				ratio(r.Neutral, rated), ratio(r.Unsatisfied, rated))
		}
		return t.body()
	case "workload":
		rows, err := s.app.Workload(ctx, q)
		if err != nil {
			return nil, err
		}
		t := newTable(zone, "period_start", "key", "assigned", "resolved", "open", "average_handling_s")
		for _, r := range rows {
			t.row(t.period(r.RowKey), r.Key, num(r.Assigned), num(r.Resolved), num(r.Open), seconds(r.AverageHandling))
		}
		return t.body()
	case "top_issues":
		top, err := s.app.TopIssues(ctx, q, int(req.GetLimit()))
		if err != nil {
			return nil, err
		}
		t := newTable(zone, "ranking", "rank", "type", "code", "label_zh", "label_en", "tickets", "breached", "rate")
		topIssuesCSV(t, top)
		return t.body()
	case "collaboration":
		rows, groups, err := s.app.Collaboration(ctx, q)
		if err != nil {
			return nil, err
		}
		// One table for both parts: group-time lines have the group as key and only their own columns.
		t := newTable(zone, "section", "period_start", "key", "tickets", "transfers", "transferred_tickets", "transfers_accepted",
			"average_acceptance_wait_s", "escalations", "escalated_tickets", "reopens", "stays", "average_time_s", "total_time_s")
		for _, r := range rows {
			t.row("tickets", t.period(r.RowKey), r.Key, num(r.Tickets), num(r.Transfers), num(r.Transferred), num(r.TransfersAccepted),
				seconds(r.AverageAcceptanceWait), num(r.Escalations), num(r.Escalated), num(r.Reopens), "", "", "")
		}
		for _, g := range groups {
			t.row("group_time", t.period(g.RowKey), g.Key, "", "", "", "", "", "", "", "", num(g.Stays), seconds(g.Average), seconds(g.Total))
		}
		return t.body()
	}
	// protovalidate checked report against the same list.
	return nil, apierr.InvalidField("report", fmt.Sprintf("unknown report %q", req.GetReport()))
}

func topIssuesCSV(t *table, top app.TopIssues) {
	for i, c := range top.ByVolume {
		t.row("by_volume", strconv.Itoa(i+1), c.Type, c.Subcategory, "", "", num(c.Tickets), num(c.Breached), ratio(c.Breached, c.Tickets))
	}
	for i, c := range top.ByBreaches {
		t.row("by_breaches", strconv.Itoa(i+1), c.Type, c.Subcategory, "", "", num(c.Tickets), num(c.Breached), ratio(c.Breached, c.Tickets))
	}
	for i, c := range top.Topics {
		t.row("topics", strconv.Itoa(i+1), "", c.Topic, c.Zh, c.En, num(c.Tickets), "", ratio(c.Tickets, top.Tickets))
	}
}

// summaryCSV writes a summary in long form: one measure a line, the current and the previous period
// side by side where both exist.
func summaryCSV(sum app.Summary, zone *time.Location) (*httpbody.HttpBody, error) {
	t := newTable(zone, "section", "key", "measure", "current", "previous")
	c, p := sum.Current, sum.Previous
	t.row("period", sum.Period, "start", c.Start.In(zone).Format(time.RFC3339), p.Start.In(zone).Format(time.RFC3339))
	t.row("period", sum.Period, "end", c.End.In(zone).Format(time.RFC3339), p.End.In(zone).Format(time.RFC3339))
	for _, m := range []struct {
		name string
		c, p int64
	}{
		{"tickets", c.Tickets, p.Tickets}, {"sla_tickets", c.SLATickets, p.SLATickets}, {"breached_tickets", c.Breached, p.Breached},
		{"satisfied", c.Satisfied, p.Satisfied}, {"neutral", c.Neutral, p.Neutral}, {"unsatisfied", c.Unsatisfied, p.Unsatisfied},
		{"transfers", c.Transfers, p.Transfers}, {"escalations", c.Escalations, p.Escalations}, {"reopens", c.Reopens, p.Reopens},
	} {
		t.row("figures", "", m.name, num(m.c), num(m.p))
	}
	t.row("figures", "", "breach_rate", ratio(c.Breached, c.SLATickets), ratio(p.Breached, p.SLATickets))
	for _, d := range []struct {
		name string
		c, p app.DurationStats
	}{
		{"first_response", c.FirstResponse, p.FirstResponse}, {"resolution", c.Resolution, p.Resolution},
		{"first_response_business", c.FirstResponseBusiness, p.FirstResponseBusiness},
		{"resolution_business", c.ResolutionBusiness, p.ResolutionBusiness},
	} {
		names := statsHeader(d.name)
		cc, pc := statsCells(d.c), statsCells(d.p)
		for i := range names {
			t.row("figures", "", names[i], cc[i], pc[i])
		}
	}
	for _, r := range sum.VolumeByChannel {
		t.row("volume_by_channel", r.Key, "tickets", num(r.Tickets), "")
	}
	for _, r := range sum.SLAByTarget {
		t.row("sla_by_target", r.Target, "tickets", num(r.Tickets), "")
		t.row("sla_by_target", r.Target, "breached", num(r.Breached), "")
		t.row("sla_by_target", r.Target, "breach_rate", ratio(r.Breached, r.Tickets), "")
	}
	for _, r := range sum.TopIssues.ByVolume {
		t.row("top_by_volume", r.Type+"/"+r.Subcategory, "tickets", num(r.Tickets), "")
	}
	for _, r := range sum.TopIssues.ByBreaches {
		t.row("top_by_breaches", r.Type+"/"+r.Subcategory, "breached", num(r.Breached), "")
	}
	for _, r := range sum.TopIssues.Topics {
		t.row("top_topics", r.Topic, "tickets", num(r.Tickets), "")
	}
	for _, r := range sum.WorkloadByGroup {
		t.row("workload_by_group", r.Key, "assigned", num(r.Assigned), "")
		t.row("workload_by_group", r.Key, "resolved", num(r.Resolved), "")
		t.row("workload_by_group", r.Key, "open", num(r.Open), "")
		t.row("workload_by_group", r.Key, "average_handling_s", seconds(r.AverageHandling), "")
	}
	return t.body()
}
