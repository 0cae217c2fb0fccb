package grpcapi

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/apiparse"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// Enum prefixes: the domain stores an enum value as its name without these, lower case.
const (
	strategyPrefix   = "STRATEGY_"
	seniorityPrefix  = "SENIORITY_"
	presencePrefix   = "PRESENCE_"
	escalationPrefix = "ESCALATION_POLICY_"
	typePrefix       = "TICKET_TYPE_"
	levelPrefix      = "COMPLAINT_LEVEL_"
	urgencyPrefix    = "URGENCY_"
	channelPrefix    = "CHANNEL_"
)

// code renders an enum value as the domain stores it (protocode.Code).
var code = protocode.Code

// codes renders a repeated enum field (protocode.Codes).
func codes[E protoreflect.Enum](es []E, prefix string) []string { return protocode.Codes(es, prefix) }

// enums is codes' inverse.
func enums[E interface {
	~int32
	protoreflect.Enum
}](prefix string, cs []string) []E {
	return protocode.Enums[E](prefix, cs)
}

func parseID(field, s string) (uuid.UUID, error) { return apiparse.ID(field, s) }

func optionalID(field, s string) (uuid.UUID, error) { return apiparse.OptionalID(field, s) }

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// duration converts a proto duration; nil is 0, so the domain's default applies.
func duration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func durationProto(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func updatePaths(mask, outputOnly, updatable []string) ([]string, error) {
	return apiparse.UpdatePaths(mask, outputOnly, updatable)
}

// groupFromProto turns a request's group into the domain's (output-only fields ignored).
func groupFromProto(p *routingv1.Group) (routing.Group, error) {
	head, err := optionalID("group.head_agent_id", p.GetHeadAgentId())
	if err != nil {
		return routing.Group{}, err
	}
	overflow, err := optionalID("group.overflow_group_id", p.GetOverflowGroupId())
	if err != nil {
		return routing.Group{}, err
	}
	return routing.Group{
		Code: p.GetCode(), DisplayName: p.GetDisplayName(), HeadAgentID: head,
		Strategy:         routing.Strategy(code(p.GetStrategy(), strategyPrefix)),
		TransferDeadline: duration(p.GetTransferAcceptDeadline()),
		Surge: routing.Surge{OverflowGroupID: overflow, QueueDepth: int(p.GetSurgeQueueDepth()),
			OldestWait: duration(p.GetSurgeOldestWait()), CalmDepth: int(p.GetCalmQueueDepth()),
			CalmWait: duration(p.GetCalmOldestWait()), CalmPeriod: duration(p.GetCalmPeriod())},
		Escalation: routing.EscalationPolicy(code(p.GetEscalationPolicy(), escalationPrefix)),
	}, nil
}

func groupProto(g routing.Group) *routingv1.Group {
	return &routingv1.Group{
		GroupId: idString(g.ID), Code: g.Code, DisplayName: g.DisplayName, HeadAgentId: idString(g.HeadAgentID),
		Strategy:               protocode.Enum[routingv1.Strategy](strategyPrefix, string(g.Strategy)),
		TransferAcceptDeadline: durationProto(g.TransferDeadline),
		Builtin:                g.Builtin, Etag: app.Etag(g.Version),
		CreateTime: ts(g.CreatedAt), UpdateTime: ts(g.UpdatedAt),
		OverflowGroupId: idString(g.Surge.OverflowGroupID), SurgeQueueDepth: int32(g.Surge.QueueDepth),
		SurgeOldestWait: durationProto(g.Surge.OldestWait), CalmQueueDepth: int32(g.Surge.CalmDepth),
		CalmOldestWait: durationProto(g.Surge.CalmWait), CalmPeriod: durationProto(g.Surge.CalmPeriod),
		InSurge: g.SurgeState.InSurge, SurgeStartTime: ts(g.SurgeState.StartedAt),
		EscalationPolicy: protocode.Enum[routingv1.EscalationPolicy](escalationPrefix, string(g.Escalation)),
	}
}

func transferProto(t store.TransferRow) *routingv1.Transfer {
	return &routingv1.Transfer{TransferId: idString(t.ID), TicketId: idString(t.TicketID), FromGroupId: idString(t.FromGroupID),
		ToGroupId: idString(t.ToGroupID), Reason: t.Reason, RequestedBy: t.RequestedBy,
		State:      protocode.Enum[routingv1.TransferState]("TRANSFER_STATE_", t.State),
		CreateTime: ts(t.CreatedAt), AcceptDeadline: ts(t.DeadlineAt), FinishTime: ts(t.FinishedAt), AcceptedBy: t.AcceptedBy,
		AssigneeId: idString(t.AssigneeID)}
}

func routedTicketProto(t store.TicketRow) *routingv1.RoutedTicket {
	return &routingv1.RoutedTicket{TicketId: idString(t.ID), GroupId: idString(t.GroupID), AssigneeId: idString(t.AssigneeID),
		State:    protocode.Enum[routingv1.RoutedTicketState]("ROUTED_TICKET_STATE_", t.State),
		Priority: priorityProto(t.Priority), AssignTime: ts(t.AssignedAt), EnqueueTime: ts(t.EnqueuedAt)}
}

// agentFromProto turns a request's agent into the domain's; an empty agent_id stays uuid.Nil (the caller
// decides whether it is required). Presence is output only here.
func agentFromProto(p *routingv1.Agent) (routing.Agent, error) {
	id, err := optionalID("agent.agent_id", p.GetAgentId())
	if err != nil {
		return routing.Agent{}, err
	}
	a := routing.Agent{
		ID: id, DisplayName: p.GetDisplayName(), Skills: p.GetSkills(),
		Seniority: routing.Seniority(code(p.GetSeniority(), seniorityPrefix)),
		Capacity:  int(p.GetCapacity()),
	}
	for i, s := range p.GetGroupIds() {
		g, err := parseID(fmt.Sprintf("agent.group_ids[%d]", i), s)
		if err != nil {
			return routing.Agent{}, err
		}
		a.GroupIDs = append(a.GroupIDs, g)
	}
	return a, nil
}

func agentProto(v store.AgentView) *routingv1.Agent {
	p := &routingv1.Agent{
		AgentId: idString(v.ID), DisplayName: v.DisplayName, Skills: v.Skills,
		Seniority:   protocode.Enum[routingv1.Seniority](seniorityPrefix, string(v.Seniority)),
		Capacity:    int32(v.Capacity),
		Presence:    protocode.Enum[routingv1.Presence](presencePrefix, string(v.Presence)),
		OpenTickets: int32(v.Open),
		Etag:        app.Etag(v.Version),
		CreateTime:  ts(v.CreatedAt), UpdateTime: ts(v.UpdatedAt),
	}
	for _, g := range v.GroupIDs {
		p.GroupIds = append(p.GroupIds, g.String())
	}
	return p
}

func conditionFromProto(c *routingv1.RuleCondition) routing.Condition {
	return routing.Condition{
		Types:         codes(c.GetTypes(), typePrefix),
		Subcategories: c.GetSubcategories(),
		Levels:        codes(c.GetLevels(), levelPrefix),
		Urgencies:     codes(c.GetUrgencies(), urgencyPrefix),
		Channels:      codes(c.GetChannels(), channelPrefix),
		Tiers:         c.GetTiers(),
		Keywords:      c.GetKeywords(),
	}
}

func conditionProto(c routing.Condition) *routingv1.RuleCondition {
	return &routingv1.RuleCondition{
		Types:         enums[intakev1.TicketType](typePrefix, c.Types),
		Subcategories: c.Subcategories,
		Levels:        enums[intakev1.ComplaintLevel](levelPrefix, c.Levels),
		Urgencies:     enums[intakev1.Urgency](urgencyPrefix, c.Urgencies),
		Channels:      enums[intakev1.Channel](channelPrefix, c.Channels),
		Tiers:         c.Tiers,
		Keywords:      c.Keywords,
	}
}

// ruleFromProto turns a request's rule into the domain's (output-only fields ignored).
func ruleFromProto(p *routingv1.RoutingRule) (routing.Rule, error) {
	target, err := optionalID("rule.target_group_id", p.GetTargetGroupId())
	if err != nil {
		return routing.Rule{}, err
	}
	return routing.Rule{
		Position: int(p.GetPosition()), DisplayName: p.GetDisplayName(),
		Condition: conditionFromProto(p.GetCondition()), TargetGroupID: target,
		RequiredSkills: p.GetRequiredSkills(), Enabled: p.GetEnabled(),
	}, nil
}

func ruleProto(r routing.Rule) *routingv1.RoutingRule {
	return &routingv1.RoutingRule{
		RuleId: idString(r.ID), Position: int32(r.Position),
		DisplayName: r.DisplayName, Condition: conditionProto(r.Condition),
		TargetGroupId: idString(r.TargetGroupID), RequiredSkills: r.RequiredSkills,
		Enabled: r.Enabled, Builtin: r.Builtin, Etag: app.Etag(r.Version), CreateTime: ts(r.CreatedAt),
	}
}

// facts turns a TestRouting request into what a ticket offers routing.
func facts(req *routingv1.TestRoutingRequest) routing.Facts {
	return routing.Facts{
		Type:        code(req.GetType(), typePrefix),
		Subcategory: req.GetSubcategory(),
		Level:       code(req.GetLevel(), levelPrefix),
		Urgency:     code(req.GetUrgency(), urgencyPrefix),
		Channel:     code(req.GetChannel(), channelPrefix),
		Tier:        req.GetTier(),
		Text:        req.GetText(),
	}
}

// priorityProto maps the stored priority (1 = P1 ... 4 = P4, numbered as intake's enum).
func priorityProto(p int) intakev1.Priority {
	if p < int(intakev1.Priority_PRIORITY_P1) || p > int(intakev1.Priority_PRIORITY_P4) {
		return intakev1.Priority_PRIORITY_UNSPECIFIED
	}
	return intakev1.Priority(p)
}

func queuedTicketProto(t store.TicketRow) *routingv1.QueuedTicket {
	return &routingv1.QueuedTicket{TicketId: idString(t.ID), Priority: priorityProto(t.Priority),
		SlaDueTime: ts(t.SLADue), EnqueueTime: ts(t.EnqueuedAt)}
}

func agentLoadProto(v store.AgentView) *routingv1.AgentLoad {
	return &routingv1.AgentLoad{
		AgentId: idString(v.ID), DisplayName: v.DisplayName,
		Presence:    protocode.Enum[routingv1.Presence](presencePrefix, string(v.Presence)),
		OpenTickets: int32(v.Open),
		Capacity:    int32(v.Capacity),
		Seniority:   protocode.Enum[routingv1.Seniority](seniorityPrefix, string(v.Seniority)),
		Eligible: routing.Eligible(routing.Candidate{AgentID: v.ID, Presence: v.Presence, Open: v.Open,
			Capacity: v.Capacity, Skills: v.Skills, Seniority: v.Seniority}),
	}
}

func queueProto(v app.QueueView) *routingv1.GetQueueResponse {
	resp := &routingv1.GetQueueResponse{
		Group: groupProto(v.Group), Depth: int32(v.Depth),
		OldestWait: durationpb.New(v.Oldest),
	}
	for _, t := range v.Tickets {
		resp.Tickets = append(resp.Tickets, queuedTicketProto(t))
	}
	for _, a := range v.Agents {
		resp.Agents = append(resp.Agents, agentLoadProto(a))
	}
	return resp
}
