package grpcapi

import (
	"context"
	"strconv"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/intake/internal/app"
	"kefu.dev/services/intake/internal/domain/incident"
	"kefu.dev/services/intake/internal/store"
)

// IncidentServer implements intakev1.IncidentServiceServer on the app.
type IncidentServer struct {
	intakev1.UnimplementedIncidentServiceServer
	app *app.App
}

// keyed is the retry identity of a create taking an idempotency key.
func keyed(m proto.Message, key string) (app.Request, error) {
	fp, err := idempotency.FingerprintWithout(m, "idempotency_key")
	if err != nil {
		return app.Request{}, err
	}
	return app.Request{ID: key, Fingerprint: fp}, nil
}

func incidentFromProto(in *intakev1.Incident) (incident.Incident, error) {
	i := incident.Incident{
		Kind:     incident.Kind(protocode.Code(in.GetKind(), "INCIDENT_KIND_")),
		Severity: incident.Severity(protocode.Code(in.GetSeverity(), "INCIDENT_SEVERITY_")),
		Title:    in.GetTitle(), CommanderID: in.GetCommanderId(), StandardAnswer: in.GetStandardAnswer(),
		PublicNotice: in.GetPublicNotice(),
	}
	var err error
	if in.GetTeamGroupId() != "" {
		if i.TeamGroupID, err = parseID("incident.team_group_id", in.GetTeamGroupId()); err != nil {
			return i, err
		}
	}
	if in.GetSuggestionId() != "" {
		if i.SuggestionID, err = parseID("incident.suggestion_id", in.GetSuggestionId()); err != nil {
			return i, err
		}
	}
	sc := in.GetScope()
	i.Scope = incident.Scope{Channels: protocode.Codes(sc.GetChannels(), "CHANNEL_"), Subcategories: sc.GetSubcategories(),
		Keywords: sc.GetKeywords()}
	if sc.GetStartTime() != nil {
		i.Scope.Start = sc.GetStartTime().AsTime()
	}
	if sc.GetEndTime() != nil {
		i.Scope.End = sc.GetEndTime().AsTime()
	}
	return i, nil
}

func incidentProto(v app.IncidentView) *intakev1.Incident {
	i := v.Incident
	out := &intakev1.Incident{
		IncidentId: i.ID.String(), Number: i.Number,
		Kind:     protocode.Enum[intakev1.IncidentKind]("INCIDENT_KIND_", string(i.Kind)),
		Severity: protocode.Enum[intakev1.IncidentSeverity]("INCIDENT_SEVERITY_", string(i.Severity)),
		Title:    i.Title, TeamGroupId: i.TeamGroupID.String(), CommanderId: i.CommanderID,
		StandardAnswer: i.StandardAnswer, PublicNotice: i.PublicNotice,
		Status:     protocode.Enum[intakev1.IncidentStatus]("INCIDENT_STATUS_", string(i.Status)),
		DeclaredBy: i.DeclaredBy, DeclareTime: timestamppb.New(i.DeclaredAt), LinkedTickets: v.Impact.Tickets,
		Customers: v.Impact.Customers, Breaches: v.Impact.Breaches, Cause: i.Cause, FollowUps: i.FollowUps,
		SuggestionId: idString(i.SuggestionID), Etag: strconv.FormatInt(i.Version, 10),
		Scope: &intakev1.IncidentScope{
			Channels:      protocode.Enums[intakev1.Channel]("CHANNEL_", i.Scope.Channels),
			Subcategories: i.Scope.Subcategories, Keywords: i.Scope.Keywords,
		},
	}
	if !i.ClosedAt.IsZero() {
		out.CloseTime = timestamppb.New(i.ClosedAt)
	}
	if !i.Scope.Start.IsZero() {
		out.Scope.StartTime = timestamppb.New(i.Scope.Start)
	}
	if !i.Scope.End.IsZero() {
		out.Scope.EndTime = timestamppb.New(i.Scope.End)
	}
	return out
}

func announcementProto(a store.Announcement) *intakev1.Announcement {
	return &intakev1.Announcement{AnnouncementId: a.ID.String(), IncidentId: a.IncidentID.String(), Text: a.Text, Closing: a.Closing,
		Tickets: a.Tickets, AnnouncedBy: a.AnnouncedBy, CreateTime: timestamppb.New(a.CreatedAt)}
}

func compensationProto(c incident.Compensation) *intakev1.Compensation {
	out := &intakev1.Compensation{CompensationId: c.ID.String(), IncidentId: c.IncidentID.String(), TicketId: c.TicketID.String(),
		Kind:   protocode.Enum[intakev1.CompensationKind]("COMPENSATION_KIND_", c.Kind),
		Amount: c.Amount, Currency: c.Currency, Note: c.Note, State: string(c.State), ProposedBy: c.ProposedBy,
		DecidedBy: c.DecidedBy, ProposeTime: timestamppb.New(c.ProposedAt)}
	if !c.DecidedAt.IsZero() {
		out.DecideTime = timestamppb.New(c.DecidedAt)
	}
	return out
}

func suggestionProto(s store.Suggestion) *intakev1.IncidentSuggestion {
	return &intakev1.IncidentSuggestion{SuggestionId: s.ID.String(), SurgeId: s.SurgeID,
		Channel: protocode.Enum[intakev1.Channel]("CHANNEL_", s.Channel), Subcategory: s.Subcategory, Tickets: s.Tickets,
		Baseline: s.Baseline, CreateTime: timestamppb.New(s.CreatedAt), State: s.State, IncidentId: idString(s.IncidentID)}
}

// DeclareIncident implements IncidentService.DeclareIncident.
func (s *IncidentServer) DeclareIncident(ctx context.Context, req *intakev1.DeclareIncidentRequest) (*intakev1.DeclareIncidentResponse, error) {
	r, err := keyed(req, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	in, err := incidentFromProto(req.GetIncident())
	if err != nil {
		return nil, err
	}
	v, n, err := s.app.DeclareIncident(ctx, r, in, req.GetLinkExisting())
	if err != nil {
		return nil, err
	}
	return &intakev1.DeclareIncidentResponse{Incident: incidentProto(v), Linked: n}, nil
}

// GetIncident implements IncidentService.GetIncident.
func (s *IncidentServer) GetIncident(ctx context.Context, req *intakev1.GetIncidentRequest) (*intakev1.GetIncidentResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetIncidentResponse{Incident: incidentProto(v)}, nil
}

// ListIncidents implements IncidentService.ListIncidents.
func (s *IncidentServer) ListIncidents(ctx context.Context, req *intakev1.ListIncidentsRequest) (*intakev1.ListIncidentsResponse, error) {
	vs, next, err := s.app.ListIncidents(ctx, incident.Status(protocode.Code(req.GetStatus(), "INCIDENT_STATUS_")),
		int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIncidentsResponse{NextPageToken: next}
	for _, v := range vs {
		out.Incidents = append(out.Incidents, incidentProto(v))
	}
	return out, nil
}

// incidentFields are the paths UpdateIncident accepts.
var incidentFields = map[string]bool{"title": true, "severity": true, "scope": true, "team_group_id": true, "commander_id": true,
	"standard_answer": true, "public_notice": true}

// UpdateIncident implements IncidentService.UpdateIncident.
func (s *IncidentServer) UpdateIncident(ctx context.Context, req *intakev1.UpdateIncidentRequest) (*intakev1.UpdateIncidentResponse, error) {
	id, err := parseID("incident.incident_id", req.GetIncident().GetIncidentId())
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one field")
	}
	for _, p := range paths {
		if !incidentFields[p] {
			return nil, apierr.InvalidField("update_mask", "path "+strconv.Quote(p)+" cannot be changed")
		}
	}
	if req.GetIncident().GetEtag() == "" {
		return nil, apierr.InvalidField("incident.etag", "is required")
	}
	in, err := incidentFromProto(req.GetIncident())
	if err != nil {
		return nil, err
	}
	v, err := s.app.UpdateIncident(ctx, id, req.GetIncident().GetEtag(), paths, in)
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateIncidentResponse{Incident: incidentProto(v)}, nil
}

// LinkTickets implements IncidentService.LinkTickets.
func (s *IncidentServer) LinkTickets(ctx context.Context, req *intakev1.LinkTicketsRequest) (*intakev1.LinkTicketsResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(req.GetTicketIds()))
	for i, t := range req.GetTicketIds() {
		tid, err := parseID("ticket_ids["+strconv.Itoa(i)+"]", t)
		if err != nil {
			return nil, err
		}
		ids = append(ids, tid)
	}
	linked, skipped, err := s.app.LinkTickets(ctx, id, ids, req.GetAllMatching())
	if err != nil {
		return nil, err
	}
	return &intakev1.LinkTicketsResponse{Linked: linked, Skipped: skipped}, nil
}

// ListIncidentTickets implements IncidentService.ListIncidentTickets.
func (s *IncidentServer) ListIncidentTickets(ctx context.Context, req *intakev1.ListIncidentTicketsRequest) (*intakev1.ListIncidentTicketsResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	ts, next, err := s.app.IncidentTickets(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIncidentTicketsResponse{NextPageToken: next}
	for _, t := range ts {
		out.Tickets = append(out.Tickets, ticketProto(t))
	}
	return out, nil
}

// AddIncidentNote implements IncidentService.AddIncidentNote.
func (s *IncidentServer) AddIncidentNote(ctx context.Context, req *intakev1.AddIncidentNoteRequest) (*intakev1.AddIncidentNoteResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	a, err := s.app.AddIncidentNote(ctx, id, req.GetText())
	if err != nil {
		return nil, err
	}
	return &intakev1.AddIncidentNoteResponse{Action: actionProto(a)}, nil
}

func actionProto(a incident.Action) *intakev1.IncidentAction {
	return &intakev1.IncidentAction{CreateTime: timestamppb.New(a.At), Actor: a.Actor, Kind: a.Kind, Text: a.Text}
}

// ListIncidentActions implements IncidentService.ListIncidentActions.
func (s *IncidentServer) ListIncidentActions(ctx context.Context, req *intakev1.ListIncidentActionsRequest) (*intakev1.ListIncidentActionsResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	as, err := s.app.IncidentActions(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIncidentActionsResponse{}
	for _, a := range as {
		out.Actions = append(out.Actions, actionProto(a))
	}
	return out, nil
}

// Announce implements IncidentService.Announce.
func (s *IncidentServer) Announce(ctx context.Context, req *intakev1.AnnounceRequest) (*intakev1.AnnounceResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	r, err := keyed(req, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	an, err := s.app.Announce(ctx, id, r, req.GetText())
	if err != nil {
		return nil, err
	}
	return &intakev1.AnnounceResponse{Announcement: announcementProto(an)}, nil
}

// GetAnnouncement implements IncidentService.GetAnnouncement.
func (s *IncidentServer) GetAnnouncement(ctx context.Context, req *intakev1.GetAnnouncementRequest) (*intakev1.GetAnnouncementResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	aid, err := parseID("announcement_id", req.GetAnnouncementId())
	if err != nil {
		return nil, err
	}
	an, err := s.app.GetAnnouncement(ctx, id, aid)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetAnnouncementResponse{Announcement: announcementProto(an)}, nil
}

// ListStatusNotices implements IncidentService.ListStatusNotices.
func (s *IncidentServer) ListStatusNotices(ctx context.Context, req *intakev1.ListStatusNoticesRequest) (*intakev1.ListStatusNoticesResponse, error) {
	ns, err := s.app.StatusNotices(ctx, protocode.Code(req.GetChannel(), "CHANNEL_"))
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListStatusNoticesResponse{}
	for _, n := range ns {
		out.Notices = append(out.Notices, &intakev1.StatusNotice{IncidentId: n.IncidentID.String(),
			Severity: protocode.Enum[intakev1.IncidentSeverity]("INCIDENT_SEVERITY_", string(n.Severity)), Text: n.Text})
	}
	return out, nil
}

// ProposeCompensation implements IncidentService.ProposeCompensation.
func (s *IncidentServer) ProposeCompensation(ctx context.Context, req *intakev1.ProposeCompensationRequest) (*intakev1.ProposeCompensationResponse, error) {
	r, err := keyed(req, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	in := req.GetCompensation()
	iid, err := parseID("compensation.incident_id", in.GetIncidentId())
	if err != nil {
		return nil, err
	}
	tid, err := parseID("compensation.ticket_id", in.GetTicketId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.ProposeCompensation(ctx, r, incident.Compensation{IncidentID: iid, TicketID: tid,
		Kind:   protocode.Code(in.GetKind(), "COMPENSATION_KIND_"),
		Amount: in.GetAmount(), Currency: in.GetCurrency(), Note: in.GetNote()})
	if err != nil {
		return nil, err
	}
	return &intakev1.ProposeCompensationResponse{Compensation: compensationProto(c)}, nil
}

// DecideCompensation implements IncidentService.DecideCompensation.
func (s *IncidentServer) DecideCompensation(ctx context.Context, req *intakev1.DecideCompensationRequest) (*intakev1.DecideCompensationResponse, error) {
	iid, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	id, err := parseID("compensation_id", req.GetCompensationId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.DecideCompensation(ctx, iid, id, req.GetApprove(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &intakev1.DecideCompensationResponse{Compensation: compensationProto(c)}, nil
}

// ListCompensations implements IncidentService.ListCompensations.
func (s *IncidentServer) ListCompensations(ctx context.Context, req *intakev1.ListCompensationsRequest) (*intakev1.ListCompensationsResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	cs, err := s.app.Compensations(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListCompensationsResponse{}
	for _, c := range cs {
		out.Compensations = append(out.Compensations, compensationProto(c))
	}
	return out, nil
}

// CloseIncident implements IncidentService.CloseIncident.
func (s *IncidentServer) CloseIncident(ctx context.Context, req *intakev1.CloseIncidentRequest) (*intakev1.CloseIncidentResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	res, err := s.app.CloseIncident(ctx, id, req.GetResolveLinked(), req.GetResolutionSummary(), req.GetClosingAnnouncement(),
		req.GetCause(), req.GetFollowUps())
	if err != nil {
		return nil, err
	}
	out := &intakev1.CloseIncidentResponse{Incident: incidentProto(res.Incident), Resolved: res.Resolved, KeptOpen: res.Open}
	if res.Announcement != nil {
		out.Announcement = announcementProto(*res.Announcement)
	}
	return out, nil
}

// GetPostmortem implements IncidentService.GetPostmortem.
func (s *IncidentServer) GetPostmortem(ctx context.Context, req *intakev1.GetPostmortemRequest) (*intakev1.GetPostmortemResponse, error) {
	id, err := parseID("incident_id", req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	md, err := s.app.Postmortem(ctx, id)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetPostmortemResponse{Markdown: md}, nil
}

// ListIncidentSuggestions implements IncidentService.ListIncidentSuggestions.
func (s *IncidentServer) ListIncidentSuggestions(ctx context.Context, req *intakev1.ListIncidentSuggestionsRequest) (*intakev1.ListIncidentSuggestionsResponse, error) {
	sgs, err := s.app.Suggestions(ctx, req.GetState())
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIncidentSuggestionsResponse{}
	for _, sg := range sgs {
		out.Suggestions = append(out.Suggestions, suggestionProto(sg))
	}
	return out, nil
}

// DismissIncidentSuggestion implements IncidentService.DismissIncidentSuggestion.
func (s *IncidentServer) DismissIncidentSuggestion(ctx context.Context, req *intakev1.DismissIncidentSuggestionRequest) (*intakev1.DismissIncidentSuggestionResponse, error) {
	id, err := parseID("suggestion_id", req.GetSuggestionId())
	if err != nil {
		return nil, err
	}
	sg, err := s.app.DismissSuggestion(ctx, id)
	if err != nil {
		return nil, err
	}
	return &intakev1.DismissIncidentSuggestionResponse{Suggestion: suggestionProto(sg)}, nil
}
