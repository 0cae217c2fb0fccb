// Package grpcapi implements kefu.analytics.v1.AnalyticsService: it turns requests into app calls and
// results into responses, nothing more. Shape rules were checked by protovalidate before a handler runs.
// Errors are returned as they come; pkg/grpcx maps them to statuses.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/analytics/internal/app"
	"kefu.dev/services/analytics/internal/store"
)

// Server implements analyticsv1.AnalyticsServiceServer on an app.
type Server struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { analyticsv1.RegisterAnalyticsServiceServer(r, s) }

// reportRequest is what every report's request has.
type reportRequest interface {
	GetStartTime() *timestamppb.Timestamp
	GetEndTime() *timestamppb.Timestamp
	GetGranularity() analyticsv1.Granularity
	GetTimeZone() string
	GetFilter() *analyticsv1.ReportFilter
	GetGroupBy() analyticsv1.Dimension
}

// query reads a report request.
func query(r reportRequest) (app.ReportQuery, error) {
	var q app.ReportQuery
	if !r.GetStartTime().IsValid() {
		return q, apierr.InvalidField("start_time", "is not a valid time")
	}
	if !r.GetEndTime().IsValid() {
		return q, apierr.InvalidField("end_time", "is not a valid time")
	}
	q.Query = store.Query{Start: r.GetStartTime().AsTime(), End: r.GetEndTime().AsTime(),
		Granularity: protocode.Code(r.GetGranularity(), "GRANULARITY_"), Zone: r.GetTimeZone(), Filter: filter(r.GetFilter())}
	q.Dimension = protocode.Code(r.GetGroupBy(), "DIMENSION_")
	return q, nil
}

// filter reads a report filter.
func filter(f *analyticsv1.ReportFilter) store.Filter {
	return store.Filter{Channels: protocode.Codes(f.GetChannels(), "CHANNEL_"), Groups: f.GetGroupIds(),
		Types: protocode.Codes(f.GetTypes(), "TICKET_TYPE_"), Subcategories: f.GetSubcategories(),
		Urgencies: protocode.Codes(f.GetUrgencies(), "URGENCY_"), Levels: protocode.Codes(f.GetLevels(), "COMPLAINT_LEVEL_")}
}

func rowKey(k app.RowKey) *analyticsv1.RowKey {
	return &analyticsv1.RowKey{PeriodStart: timestamppb.New(k.Period), Key: k.Key}
}

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// GetVolumeReport implements AnalyticsService.GetVolumeReport.
func (s *Server) GetVolumeReport(ctx context.Context, req *analyticsv1.GetVolumeReportRequest) (*analyticsv1.GetVolumeReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, total, err := s.app.Volume(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetVolumeReportResponse{Total: total, Rows: convert(rows, volumeRow)}, nil
}

// convert maps f over rows.
func convert[T, P any](rows []T, f func(T) P) []P {
	out := make([]P, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func volumeRow(r app.VolumeRow) *analyticsv1.VolumeRow {
	return &analyticsv1.VolumeRow{Row: rowKey(r.RowKey), Tickets: r.Tickets}
}

func timelinessRow(r app.TimelinessRow) *analyticsv1.TimelinessRow {
	return &analyticsv1.TimelinessRow{Row: rowKey(r.RowKey), FirstResponse: durationStats(r.FirstResponse),
		Resolution: durationStats(r.Resolution), FirstResponseBusiness: durationStats(r.FirstResponseBusiness),
		ResolutionBusiness: durationStats(r.ResolutionBusiness)}
}

func slaRow(r app.SLARow) *analyticsv1.SlaRow {
	return &analyticsv1.SlaRow{Row: rowKey(r.RowKey), Target: protocode.Enum[eventsv1.SlaTarget]("SLA_TARGET_", r.Target),
		Tickets: r.Tickets, Breached: r.Breached, BreachRate: share(r.Breached, r.Tickets),
		WarnedRecovered: r.WarnedRecovered, WarnedBreached: r.WarnedBreached}
}

func satisfactionRow(r app.SatisfactionRow) *analyticsv1.SatisfactionRow {
	rated := r.Satisfied + r.Neutral + r.Unsatisfied
	return &analyticsv1.SatisfactionRow{Row: rowKey(r.RowKey), Satisfied: r.Satisfied, Neutral: r.Neutral,
		Unsatisfied: r.Unsatisfied, SatisfiedShare: share(r.Satisfied, rated), NeutralShare: share(r.Neutral, rated),
		UnsatisfiedShare: share(r.Unsatisfied, rated)}
}

func workloadRow(r app.WorkloadRow) *analyticsv1.WorkloadRow {
	return &analyticsv1.WorkloadRow{Row: rowKey(r.RowKey), Assigned: r.Assigned, Resolved: r.Resolved, Open: r.Open,
		AverageHandlingTime: durationpb.New(r.AverageHandling)}
}

func durationStats(d app.DurationStats) *analyticsv1.DurationStats {
	return &analyticsv1.DurationStats{Count: d.Count, Mean: durationpb.New(d.Mean), P50: durationpb.New(d.P50),
		P90: durationpb.New(d.P90), P99: durationpb.New(d.P99)}
}

// GetTimelinessReport implements AnalyticsService.GetTimelinessReport.
func (s *Server) GetTimelinessReport(ctx context.Context, req *analyticsv1.GetTimelinessReportRequest) (*analyticsv1.GetTimelinessReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, err := s.app.Timeliness(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetTimelinessReportResponse{Rows: convert(rows, timelinessRow)}, nil
}

// GetSlaReport implements AnalyticsService.GetSlaReport.
func (s *Server) GetSlaReport(ctx context.Context, req *analyticsv1.GetSlaReportRequest) (*analyticsv1.GetSlaReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, err := s.app.SLA(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetSlaReportResponse{Rows: convert(rows, slaRow)}, nil
}

// GetSatisfactionReport implements AnalyticsService.GetSatisfactionReport.
func (s *Server) GetSatisfactionReport(ctx context.Context, req *analyticsv1.GetSatisfactionReportRequest) (*analyticsv1.GetSatisfactionReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, err := s.app.Satisfaction(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetSatisfactionReportResponse{Rows: convert(rows, satisfactionRow)}, nil
}

// GetWorkloadReport implements AnalyticsService.GetWorkloadReport.
func (s *Server) GetWorkloadReport(ctx context.Context, req *analyticsv1.GetWorkloadReportRequest) (*analyticsv1.GetWorkloadReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, err := s.app.Workload(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetWorkloadReportResponse{Rows: convert(rows, workloadRow)}, nil
}

// GetIngestionStatus implements AnalyticsService.GetIngestionStatus.
func (s *Server) GetIngestionStatus(ctx context.Context, _ *analyticsv1.GetIngestionStatusRequest) (*analyticsv1.GetIngestionStatusResponse, error) {
	st, err := s.app.IngestionStatus(ctx)
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.GetIngestionStatusResponse{EventsBehind: st.Behind, OldestUnprocessedAge: durationpb.New(st.OldestBehind),
		EventsIngested: st.Events, Tickets: st.Tickets}
	if !st.LastAt.IsZero() {
		resp.LastIngestTime = timestamppb.New(st.LastAt)
	}
	return resp, nil
}
