// Package grpcapi implements kefu.routing.v1.RoutingService: it turns requests into app calls and results
// into responses, nothing more. Shape rules were checked by protovalidate before a handler runs; meaning
// rules (codes, ranges, defaults) are the domain's. Ids are still parsed defensively, so no input panics.
// Errors are returned as they come; pkg/grpcx maps them to statuses.
package grpcapi

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/domain/routing"
)

// Server implements routingv1.RoutingServiceServer on an app.
type Server struct {
	routingv1.UnimplementedRoutingServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { routingv1.RegisterRoutingServiceServer(r, s) }

// Mask paths of output-only fields, ignored (AIP-203) rather than refused.
var (
	groupOutputOnly = []string{"group_id", "builtin", "etag", "create_time", "update_time", "in_surge", "surge_start_time"}
	agentOutputOnly = []string{"agent_id", "presence", "open_tickets", "etag", "create_time", "update_time"}
	ruleOutputOnly  = []string{"rule_id", "builtin", "etag", "create_time"}
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

// CreateGroup implements RoutingService.CreateGroup.
func (s *Server) CreateGroup(ctx context.Context, req *routingv1.CreateGroupRequest) (*routingv1.CreateGroupResponse, error) {
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	g, err := groupFromProto(req.GetGroup())
	if err != nil {
		return nil, err
	}
	g, err = s.app.CreateGroup(ctx, r, g)
	if err != nil {
		return nil, err
	}
	return &routingv1.CreateGroupResponse{Group: groupProto(g)}, nil
}

// GetGroup implements RoutingService.GetGroup.
func (s *Server) GetGroup(ctx context.Context, req *routingv1.GetGroupRequest) (*routingv1.GetGroupResponse, error) {
	id, err := parseID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	g, err := s.app.Group(ctx, id)
	if err != nil {
		return nil, err
	}
	return &routingv1.GetGroupResponse{Group: groupProto(g)}, nil
}

// ListGroups implements RoutingService.ListGroups.
func (s *Server) ListGroups(ctx context.Context, _ *routingv1.ListGroupsRequest) (*routingv1.ListGroupsResponse, error) {
	gs, err := s.app.Groups(ctx)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListGroupsResponse{}
	for _, g := range gs {
		resp.Groups = append(resp.Groups, groupProto(g))
	}
	return resp, nil
}

// UpdateGroup implements RoutingService.UpdateGroup.
func (s *Server) UpdateGroup(ctx context.Context, req *routingv1.UpdateGroupRequest) (*routingv1.UpdateGroupResponse, error) {
	p := req.GetGroup()
	id, err := parseID("group.group_id", p.GetGroupId())
	if err != nil {
		return nil, err
	}
	if p.GetEtag() == "" {
		return nil, apierr.InvalidField("group.etag", "is required: read the group and pass its etag")
	}
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), groupOutputOnly, app.GroupPaths)
	if err != nil {
		return nil, err
	}
	value, err := groupFromProto(p)
	if err != nil {
		return nil, err
	}
	g, err := s.app.UpdateGroup(ctx, id, p.GetEtag(), paths, value)
	if err != nil {
		return nil, err
	}
	return &routingv1.UpdateGroupResponse{Group: groupProto(g)}, nil
}

// CreateAgent implements RoutingService.CreateAgent.
func (s *Server) CreateAgent(ctx context.Context, req *routingv1.CreateAgentRequest) (*routingv1.CreateAgentResponse, error) {
	if req.GetAgent().GetAgentId() == "" {
		return nil, apierr.InvalidField("agent.agent_id", "is required")
	}
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	a, err := agentFromProto(req.GetAgent())
	if err != nil {
		return nil, err
	}
	v, err := s.app.CreateAgent(ctx, r, a)
	if err != nil {
		return nil, err
	}
	return &routingv1.CreateAgentResponse{Agent: agentProto(v)}, nil
}

// GetAgent implements RoutingService.GetAgent.
func (s *Server) GetAgent(ctx context.Context, req *routingv1.GetAgentRequest) (*routingv1.GetAgentResponse, error) {
	id, err := parseID("agent_id", req.GetAgentId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.Agent(ctx, id)
	if err != nil {
		return nil, err
	}
	return &routingv1.GetAgentResponse{Agent: agentProto(v)}, nil
}

// GetMemberships implements RoutingService.GetMemberships.
func (s *Server) GetMemberships(ctx context.Context, req *routingv1.GetMembershipsRequest) (*routingv1.GetMembershipsResponse, error) {
	id, err := parseID("staff_id", req.GetStaffId())
	if err != nil {
		return nil, err
	}
	member, headed, err := s.app.Memberships(ctx, id)
	if err != nil {
		return nil, err
	}
	return &routingv1.GetMembershipsResponse{MemberGroupIds: idStrings(member), HeadedGroupIds: idStrings(headed)}, nil
}

// ListAgents implements RoutingService.ListAgents.
func (s *Server) ListAgents(ctx context.Context, req *routingv1.ListAgentsRequest) (*routingv1.ListAgentsResponse, error) {
	group, err := optionalID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	vs, err := s.app.Agents(ctx, group)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListAgentsResponse{}
	for _, v := range vs {
		resp.Agents = append(resp.Agents, agentProto(v))
	}
	return resp, nil
}

// UpdateAgent implements RoutingService.UpdateAgent.
func (s *Server) UpdateAgent(ctx context.Context, req *routingv1.UpdateAgentRequest) (*routingv1.UpdateAgentResponse, error) {
	p := req.GetAgent()
	id, err := parseID("agent.agent_id", p.GetAgentId())
	if err != nil {
		return nil, err
	}
	if p.GetEtag() == "" {
		return nil, apierr.InvalidField("agent.etag", "is required: read the agent and pass its etag")
	}
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), agentOutputOnly, app.AgentPaths)
	if err != nil {
		return nil, err
	}
	value, err := agentFromProto(p)
	if err != nil {
		return nil, err
	}
	v, err := s.app.UpdateAgent(ctx, id, p.GetEtag(), paths, value)
	if err != nil {
		return nil, err
	}
	return &routingv1.UpdateAgentResponse{Agent: agentProto(v)}, nil
}

// SetPresence implements RoutingService.SetPresence.
func (s *Server) SetPresence(ctx context.Context, req *routingv1.SetPresenceRequest) (*routingv1.SetPresenceResponse, error) {
	id, err := parseID("agent_id", req.GetAgentId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.SetPresence(ctx, id, routing.Presence(code(req.GetPresence(), presencePrefix)))
	if err != nil {
		return nil, err
	}
	return &routingv1.SetPresenceResponse{Agent: agentProto(v)}, nil
}

// CreateRoutingRule implements RoutingService.CreateRoutingRule.
func (s *Server) CreateRoutingRule(ctx context.Context, req *routingv1.CreateRoutingRuleRequest) (*routingv1.CreateRoutingRuleResponse, error) {
	if req.GetRule().GetTargetGroupId() == "" {
		return nil, apierr.InvalidField("rule.target_group_id", "is required")
	}
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	rule, err := ruleFromProto(req.GetRule())
	if err != nil {
		return nil, err
	}
	rule, err = s.app.CreateRule(ctx, r, rule)
	if err != nil {
		return nil, err
	}
	return &routingv1.CreateRoutingRuleResponse{Rule: ruleProto(rule)}, nil
}

// ListRoutingRules implements RoutingService.ListRoutingRules.
func (s *Server) ListRoutingRules(ctx context.Context, _ *routingv1.ListRoutingRulesRequest) (*routingv1.ListRoutingRulesResponse, error) {
	rs, err := s.app.Rules(ctx)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListRoutingRulesResponse{}
	for _, r := range rs {
		resp.Rules = append(resp.Rules, ruleProto(r))
	}
	return resp, nil
}

// UpdateRoutingRule implements RoutingService.UpdateRoutingRule. The condition path replaces the whole
// condition; its sub-fields are not paths of their own.
func (s *Server) UpdateRoutingRule(ctx context.Context, req *routingv1.UpdateRoutingRuleRequest) (*routingv1.UpdateRoutingRuleResponse, error) {
	p := req.GetRule()
	id, err := parseID("rule.rule_id", p.GetRuleId())
	if err != nil {
		return nil, err
	}
	if p.GetEtag() == "" {
		return nil, apierr.InvalidField("rule.etag", "is required: read the rule and pass its etag")
	}
	paths, err := updatePaths(req.GetUpdateMask().GetPaths(), ruleOutputOnly, app.RulePaths)
	if err != nil {
		return nil, err
	}
	value, err := ruleFromProto(p)
	if err != nil {
		return nil, err
	}
	r, err := s.app.UpdateRule(ctx, id, p.GetEtag(), paths, value)
	if err != nil {
		return nil, err
	}
	return &routingv1.UpdateRoutingRuleResponse{Rule: ruleProto(r)}, nil
}

// DeleteRoutingRule implements RoutingService.DeleteRoutingRule.
func (s *Server) DeleteRoutingRule(ctx context.Context, req *routingv1.DeleteRoutingRuleRequest) (*routingv1.DeleteRoutingRuleResponse, error) {
	id, err := parseID("rule_id", req.GetRuleId())
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteRule(ctx, id); err != nil {
		return nil, err
	}
	return &routingv1.DeleteRoutingRuleResponse{}, nil
}

// TestRouting implements RoutingService.TestRouting.
func (s *Server) TestRouting(ctx context.Context, req *routingv1.TestRoutingRequest) (*routingv1.TestRoutingResponse, error) {
	r, g, err := s.app.TestRouting(ctx, facts(req))
	if err != nil {
		return nil, err
	}
	return &routingv1.TestRoutingResponse{Rule: ruleProto(r), Group: groupProto(g)}, nil
}

// GetQueue implements RoutingService.GetQueue.
func (s *Server) GetQueue(ctx context.Context, req *routingv1.GetQueueRequest) (*routingv1.GetQueueResponse, error) {
	id, err := parseID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.Queue(ctx, id)
	if err != nil {
		return nil, err
	}
	return queueProto(v), nil
}

// TransferTicket implements RoutingService.TransferTicket.
func (s *Server) TransferTicket(ctx context.Context, req *routingv1.TransferTicketRequest) (*routingv1.TransferTicketResponse, error) {
	ticket, err := parseID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	to, err := parseID("to_group_id", req.GetToGroupId())
	if err != nil {
		return nil, err
	}
	if msg := reasonProblem(req.GetReason(), true); msg != "" {
		return nil, apierr.InvalidField("reason", msg)
	}
	r, err := request(req)
	if err != nil {
		return nil, err
	}
	tr, err := s.app.Transfer(ctx, ticket, to, req.GetReason(), r)
	if err != nil {
		return nil, err
	}
	return &routingv1.TransferTicketResponse{Transfer: transferProto(tr)}, nil
}

// AcceptTransfer implements RoutingService.AcceptTransfer.
func (s *Server) AcceptTransfer(ctx context.Context, req *routingv1.AcceptTransferRequest) (*routingv1.AcceptTransferResponse, error) {
	id, err := parseID("transfer_id", req.GetTransferId())
	if err != nil {
		return nil, err
	}
	assignee, err := optionalID("assignee_id", req.GetAssigneeId())
	if err != nil {
		return nil, err
	}
	tr, err := s.app.AcceptTransfer(ctx, id, assignee)
	if err != nil {
		return nil, err
	}
	return &routingv1.AcceptTransferResponse{Transfer: transferProto(tr)}, nil
}

// ListTransfers implements RoutingService.ListTransfers.
func (s *Server) ListTransfers(ctx context.Context, req *routingv1.ListTransfersRequest) (*routingv1.ListTransfersResponse, error) {
	group, err := parseID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	trs, err := s.app.Transfers(ctx, group, req.GetIncludeFinished())
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListTransfersResponse{}
	for _, t := range trs {
		resp.Transfers = append(resp.Transfers, transferProto(t))
	}
	return resp, nil
}

// HandBackTicket implements RoutingService.HandBackTicket.
func (s *Server) HandBackTicket(ctx context.Context, req *routingv1.HandBackTicketRequest) (*routingv1.HandBackTicketResponse, error) {
	ticket, err := parseID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	if msg := reasonProblem(req.GetReason(), false); msg != "" {
		return nil, apierr.InvalidField("reason", msg)
	}
	row, err := s.app.HandBack(ctx, ticket)
	if err != nil {
		return nil, err
	}
	return &routingv1.HandBackTicketResponse{Ticket: routedTicketProto(row)}, nil
}

// ListAgentTickets implements RoutingService.ListAgentTickets.
func (s *Server) ListAgentTickets(ctx context.Context, req *routingv1.ListAgentTicketsRequest) (*routingv1.ListAgentTicketsResponse, error) {
	agent, err := parseID("agent_id", req.GetAgentId())
	if err != nil {
		return nil, err
	}
	rows, err := s.app.AgentTickets(ctx, agent)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListAgentTicketsResponse{}
	for _, r := range rows {
		resp.Tickets = append(resp.Tickets, routedTicketProto(r))
	}
	return resp, nil
}

// reasonProblem says what is wrong with a reason ("" when fine): valid UTF-8, at most 500 characters, no
// control characters but line breaks, and not blank when required.
func reasonProblem(s string, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case required && strings.TrimSpace(s) == "":
		return "is required"
	case utf8.RuneCountInString(s) > app.MaxReasonRunes:
		return "at most 500 characters"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return "must not contain control characters"
	}
	return ""
}
