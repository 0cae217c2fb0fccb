// Package grpcapi implements kefu.sla.v1.SlaService: it turns requests into app calls and results into
// responses, nothing more. Shape rules were checked by protovalidate before a handler runs; meaning rules
// are the domain's. Ids are still parsed defensively, so no input panics. Errors are returned as they come;
// pkg/grpcx maps them to statuses.
package grpcapi

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/apiparse"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/paging"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/slatimer/internal/app"
	"kefu.dev/services/slatimer/internal/store"
)

// Server implements slav1.SlaServiceServer on an app.
type Server struct {
	slav1.UnimplementedSlaServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { slav1.RegisterSlaServiceServer(r, s) }

// Mask paths of output-only fields, ignored (AIP-203) rather than refused.
var (
	policyOutputOnly   = []string{"policy_id", "code", "builtin", "etag", "create_time", "update_time"}
	calendarOutputOnly = []string{"code", "always_open", "builtin", "etag", "create_time", "update_time"}
)

// request is the idempotency identity of a create: its request_id and its fingerprint without it.
func request(req interface {
	proto.Message
	GetRequestId() string
}) (app.Request, error) {
	fp, err := idempotency.FingerprintWithout(req, "request_id")
	if err != nil {
		return app.Request{}, err
	}
	return app.Request{ID: req.GetRequestId(), Fingerprint: fp}, nil
}

// CreatePolicy implements SlaService.CreatePolicy.
func (s *Server) CreatePolicy(ctx context.Context, req *slav1.CreatePolicyRequest) (*slav1.CreatePolicyResponse, error) {
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	p, err := policyFromProto(req.GetPolicy())
	if err != nil {
		return nil, err
	}
	if p, err = s.app.CreatePolicy(ctx, r, p); err != nil {
		return nil, err
	}
	return &slav1.CreatePolicyResponse{Policy: policyProto(p)}, nil
}

// GetPolicy implements SlaService.GetPolicy.
func (s *Server) GetPolicy(ctx context.Context, req *slav1.GetPolicyRequest) (*slav1.GetPolicyResponse, error) {
	id, err := apiparse.ID("policy_id", req.GetPolicyId())
	if err != nil {
		return nil, err
	}
	p, err := s.app.Policy(ctx, id)
	if err != nil {
		return nil, err
	}
	return &slav1.GetPolicyResponse{Policy: policyProto(p)}, nil
}

// ListPolicies implements SlaService.ListPolicies.
func (s *Server) ListPolicies(ctx context.Context, _ *slav1.ListPoliciesRequest) (*slav1.ListPoliciesResponse, error) {
	ps, err := s.app.Policies(ctx)
	if err != nil {
		return nil, err
	}
	resp := &slav1.ListPoliciesResponse{}
	for _, p := range ps {
		resp.Policies = append(resp.Policies, policyProto(p))
	}
	return resp, nil
}

// UpdatePolicy implements SlaService.UpdatePolicy.
func (s *Server) UpdatePolicy(ctx context.Context, req *slav1.UpdatePolicyRequest) (*slav1.UpdatePolicyResponse, error) {
	p := req.GetPolicy()
	id, err := apiparse.ID("policy.policy_id", p.GetPolicyId())
	if err != nil {
		return nil, err
	}
	paths, err := apiparse.UpdatePaths(req.GetUpdateMask().GetPaths(), policyOutputOnly, app.PolicyPaths)
	if err != nil {
		return nil, err
	}
	value, err := policyFromProto(p)
	if err != nil {
		return nil, err
	}
	out, err := s.app.UpdatePolicy(ctx, id, p.GetEtag(), paths, value)
	if err != nil {
		return nil, err
	}
	return &slav1.UpdatePolicyResponse{Policy: policyProto(out)}, nil
}

// CreateCalendar implements SlaService.CreateCalendar.
func (s *Server) CreateCalendar(ctx context.Context, req *slav1.CreateCalendarRequest) (*slav1.CreateCalendarResponse, error) {
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	c, err := calendarFromProto(req.GetCalendar())
	if err != nil {
		return nil, err
	}
	if c, err = s.app.CreateCalendar(ctx, r, c); err != nil {
		return nil, err
	}
	return &slav1.CreateCalendarResponse{Calendar: calendarProto(c)}, nil
}

// GetCalendar implements SlaService.GetCalendar.
func (s *Server) GetCalendar(ctx context.Context, req *slav1.GetCalendarRequest) (*slav1.GetCalendarResponse, error) {
	c, err := s.app.Calendar(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &slav1.GetCalendarResponse{Calendar: calendarProto(c)}, nil
}

// ListCalendars implements SlaService.ListCalendars.
func (s *Server) ListCalendars(ctx context.Context, _ *slav1.ListCalendarsRequest) (*slav1.ListCalendarsResponse, error) {
	cs, err := s.app.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	resp := &slav1.ListCalendarsResponse{}
	for _, c := range cs {
		resp.Calendars = append(resp.Calendars, calendarProto(c))
	}
	return resp, nil
}

// UpdateCalendar implements SlaService.UpdateCalendar.
func (s *Server) UpdateCalendar(ctx context.Context, req *slav1.UpdateCalendarRequest) (*slav1.UpdateCalendarResponse, error) {
	p := req.GetCalendar()
	if p.GetCode() == "" {
		return nil, apierr.InvalidField("calendar.code", "is required")
	}
	paths, err := apiparse.UpdatePaths(req.GetUpdateMask().GetPaths(), calendarOutputOnly, app.CalendarPaths)
	if err != nil {
		return nil, err
	}
	value, err := calendarFromProto(p)
	if err != nil {
		return nil, err
	}
	out, err := s.app.UpdateCalendar(ctx, p.GetCode(), p.GetEtag(), paths, value)
	if err != nil {
		return nil, err
	}
	return &slav1.UpdateCalendarResponse{Calendar: calendarProto(out)}, nil
}

// AddBusinessTime implements SlaService.AddBusinessTime.
func (s *Server) AddBusinessTime(ctx context.Context, req *slav1.AddBusinessTimeRequest) (*slav1.AddBusinessTimeResponse, error) {
	if !req.GetStartTime().IsValid() {
		return nil, apierr.InvalidField("start_time", "is not a valid time")
	}
	if !req.GetDuration().IsValid() {
		return nil, apierr.InvalidField("duration", "is not a valid duration")
	}
	end, zone, err := s.app.AddBusinessTime(ctx, req.GetCode(), req.GetStartTime().AsTime(), req.GetDuration().AsDuration())
	if err != nil {
		return nil, err
	}
	if zone == nil {
		zone = time.UTC
	}
	return &slav1.AddBusinessTimeResponse{EndTime: ts(end), EndLocal: end.In(zone).Format(time.RFC3339)}, nil
}

// GetBusinessStatus implements SlaService.GetBusinessStatus.
func (s *Server) GetBusinessStatus(ctx context.Context, req *slav1.GetBusinessStatusRequest) (*slav1.GetBusinessStatusResponse, error) {
	if !req.GetAtTime().IsValid() {
		return nil, apierr.InvalidField("at_time", "is not a valid time")
	}
	st, err := s.app.BusinessStatus(ctx, req.GetCode(), req.GetAtTime().AsTime())
	if err != nil {
		return nil, err
	}
	zone := st.Zone
	if zone == nil {
		zone = time.UTC
	}
	return &slav1.GetBusinessStatusResponse{Open: st.Open, NextOpenTime: ts(st.NextOpen), TimeZone: zone.String()}, nil
}

// GetTicketSla implements SlaService.GetTicketSla.
func (s *Server) GetTicketSla(ctx context.Context, req *slav1.GetTicketSlaRequest) (*slav1.GetTicketSlaResponse, error) {
	id, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.TicketSLA(ctx, id)
	if err != nil {
		return nil, err
	}
	return &slav1.GetTicketSlaResponse{Sla: ticketSLAProto(v)}, nil
}

// ReapplySla implements SlaService.ReapplySla.
func (s *Server) ReapplySla(ctx context.Context, req *slav1.ReapplySlaRequest) (*slav1.ReapplySlaResponse, error) {
	id, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.Reapply(ctx, id)
	if err != nil {
		return nil, err
	}
	return &slav1.ReapplySlaResponse{Sla: ticketSLAProto(v)}, nil
}

// ListAtRisk implements SlaService.ListAtRisk.
func (s *Server) ListAtRisk(ctx context.Context, req *slav1.ListAtRiskRequest) (*slav1.ListAtRiskResponse, error) {
	group, err := apiparse.OptionalID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	f := store.BoardFilter{GroupID: group, Level: protocode.Code(req.GetLevel(), levelPrefix),
		State: protocode.Code(req.GetState(), "SLA_STATE_")}
	var within time.Duration
	if w := req.GetWithin(); w != nil {
		if !w.IsValid() || w.AsDuration() <= 0 {
			return nil, apierr.InvalidField("within", "must be a positive duration")
		}
		within = w.AsDuration()
	}
	scope := fmt.Sprintf("at_risk|%s|%s|%s|%v", f.GroupID, f.Level, f.State, within)
	var after *store.BoardCursor
	if tok := req.GetPageToken(); tok != "" {
		after = &store.BoardCursor{}
		if err := paging.Decode(tok, scope, after); err != nil {
			return nil, err
		}
	}
	size := paging.Size(int(req.GetPageSize()))
	lines, err := s.app.AtRisk(ctx, f, within, after, size+1)
	if err != nil {
		return nil, err
	}
	resp := &slav1.ListAtRiskResponse{}
	if len(lines) > size {
		lines = lines[:size]
		resp.NextPageToken = paging.Encode(lines[size-1].Cursor, scope)
	}
	for _, l := range lines {
		resp.Targets = append(resp.Targets, &slav1.AtRiskTarget{TicketId: l.TicketID.String(), GroupId: optionalString(l.GroupID),
			Level:   protocode.Enum[intakev1.ComplaintLevel](levelPrefix, l.Level),
			Urgency: protocode.Enum[intakev1.Urgency](urgencyPrefix, l.Urgency),
			Status:  targetStatus(l.Clock, l.Remaining)})
	}
	return resp, nil
}

func optionalString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
