package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/analytics/internal/app"
)

// rangeRequest is a request with a range and a filter but no periods or breakdown (top issues).
type rangeRequest interface {
	GetStartTime() *timestamppb.Timestamp
	GetEndTime() *timestamppb.Timestamp
	GetFilter() *analyticsv1.ReportFilter
}

// wholeRange reads r as a report request without granularity or breakdown.
type wholeRange struct{ rangeRequest }

func (wholeRange) GetGranularity() analyticsv1.Granularity {
	return analyticsv1.Granularity_GRANULARITY_UNSPECIFIED
}
func (wholeRange) GetTimeZone() string { return "" }
func (wholeRange) GetGroupBy() analyticsv1.Dimension {
	return analyticsv1.Dimension_DIMENSION_UNSPECIFIED
}

// GetTopIssuesReport implements AnalyticsService.GetTopIssuesReport.
func (s *Server) GetTopIssuesReport(ctx context.Context, req *analyticsv1.GetTopIssuesReportRequest) (*analyticsv1.GetTopIssuesReportResponse, error) {
	q, err := query(wholeRange{req})
	if err != nil {
		return nil, err
	}
	top, err := s.app.TopIssues(ctx, q, int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	return topIssues(top), nil
}

func topIssues(t app.TopIssues) *analyticsv1.GetTopIssuesReportResponse {
	issue := func(c app.IssueCount) *analyticsv1.IssueCount {
		return &analyticsv1.IssueCount{Type: protocode.Enum[intakev1.TicketType]("TICKET_TYPE_", c.Type),
			Subcategory: c.Subcategory, Tickets: c.Tickets, Breached: c.Breached, BreachRate: share(c.Breached, c.Tickets)}
	}
	topic := func(c app.TopicCount) *analyticsv1.TopicCount {
		return &analyticsv1.TopicCount{Topic: c.Topic, LabelZh: c.Zh, LabelEn: c.En, Tickets: c.Tickets,
			Share: share(c.Tickets, t.Tickets)}
	}
	return &analyticsv1.GetTopIssuesReportResponse{Tickets: t.Tickets, ByVolume: convert(t.ByVolume, issue),
		ByBreaches: convert(t.ByBreaches, issue), Topics: convert(t.Topics, topic)}
}

// GetCollaborationReport implements AnalyticsService.GetCollaborationReport.
func (s *Server) GetCollaborationReport(ctx context.Context, req *analyticsv1.GetCollaborationReportRequest) (*analyticsv1.GetCollaborationReportResponse, error) {
	q, err := query(req)
	if err != nil {
		return nil, err
	}
	rows, groups, err := s.app.Collaboration(ctx, q)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetCollaborationReportResponse{Rows: convert(rows, collaborationRow),
		GroupTimes: convert(groups, groupTimeRow)}, nil
}

func collaborationRow(r app.CollaborationRow) *analyticsv1.CollaborationRow {
	return &analyticsv1.CollaborationRow{Row: rowKey(r.RowKey), Tickets: r.Tickets, Transfers: r.Transfers,
		TransferredTickets: r.Transferred, TransfersAccepted: r.TransfersAccepted,
		AverageAcceptanceWait: durationpb.New(r.AverageAcceptanceWait), Escalations: r.Escalations,
		EscalatedTickets: r.Escalated, Reopens: r.Reopens}
}

func groupTimeRow(r app.GroupTimeRow) *analyticsv1.GroupTimeRow {
	return &analyticsv1.GroupTimeRow{Row: rowKey(r.RowKey), Stays: r.Stays, AverageTime: durationpb.New(r.Average),
		TotalTime: durationpb.New(r.Total)}
}

// summaryRequest is what GetSummary and a summary export share.
type summaryRequest interface {
	GetPeriod() analyticsv1.SummaryPeriod
	GetPeriodTime() *timestamppb.Timestamp
	GetTimeZone() string
	GetFilter() *analyticsv1.ReportFilter
}

func (s *Server) summary(ctx context.Context, req summaryRequest) (app.Summary, error) {
	var at time.Time
	if req.GetPeriodTime() != nil {
		if !req.GetPeriodTime().IsValid() {
			return app.Summary{}, apierr.InvalidField("period_time", "is not a valid time")
		}
		at = req.GetPeriodTime().AsTime()
	}
	return s.app.Summary(ctx, protocode.Code(req.GetPeriod(), "SUMMARY_PERIOD_"), at, req.GetTimeZone(), filter(req.GetFilter()))
}

// GetSummary implements AnalyticsService.GetSummary.
func (s *Server) GetSummary(ctx context.Context, req *analyticsv1.GetSummaryRequest) (*analyticsv1.GetSummaryResponse, error) {
	sum, err := s.summary(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.GetSummaryResponse{Period: req.GetPeriod(), Current: figures(sum.Current),
		Previous: figures(sum.Previous), VolumeByChannel: convert(sum.VolumeByChannel, volumeRow),
		SlaByTarget: convert(sum.SLAByTarget, slaRow), TopIssues: topIssues(sum.TopIssues),
		WorkloadByGroup: convert(sum.WorkloadByGroup, workloadRow)}
	if p := sum.Previous.Tickets; p > 0 {
		resp.VolumeChange = float64(sum.Current.Tickets-p) / float64(p)
	}
	return resp, nil
}

func figures(f app.Figures) *analyticsv1.PeriodFigures {
	rated := f.Satisfied + f.Neutral + f.Unsatisfied
	return &analyticsv1.PeriodFigures{StartTime: timestamppb.New(f.Start), EndTime: timestamppb.New(f.End), Tickets: f.Tickets,
		FirstResponse: durationStats(f.FirstResponse), Resolution: durationStats(f.Resolution),
		FirstResponseBusiness: durationStats(f.FirstResponseBusiness), ResolutionBusiness: durationStats(f.ResolutionBusiness),
		SlaTickets: f.SLATickets, BreachedTickets: f.Breached, BreachRate: share(f.Breached, f.SLATickets),
		Satisfied: f.Satisfied, Neutral: f.Neutral, Unsatisfied: f.Unsatisfied, SatisfiedShare: share(f.Satisfied, rated),
		Transfers: f.Transfers, Escalations: f.Escalations, Reopens: f.Reopens}
}
