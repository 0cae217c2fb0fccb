package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	"kefu.dev/services/analytics/internal/app"
)

// ListVolumeSurges implements AnalyticsService.ListVolumeSurges.
func (s *Server) ListVolumeSurges(ctx context.Context, req *analyticsv1.ListVolumeSurgesRequest) (*analyticsv1.ListVolumeSurgesResponse, error) {
	surges, err := s.app.ListSurges(ctx, req.GetActiveOnly(), int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListVolumeSurgesResponse{Surges: make([]*analyticsv1.VolumeSurgeInfo, 0, len(surges))}
	for _, v := range surges {
		info := &analyticsv1.VolumeSurgeInfo{SurgeId: v.ID.String(), Dimension: app.SurgeDimensionProto(v.Dimension),
			Value: v.Value, Since: timestamppb.New(v.Since), Active: v.Active, Tickets: v.Tickets, PeakTickets: v.Peak,
			Baseline: v.Baseline, Factor: v.Factor}
		if !v.Active {
			info.Until = timestamppb.New(v.Until)
		}
		resp.Surges = append(resp.Surges, info)
	}
	return resp, nil
}
