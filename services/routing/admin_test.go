package routing_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/services/routing"
)

// TestDefaultsAreSeededOnce: the five default groups and six rules exist on first start, in precedence
// order, and a second replica does not seed them again.
func TestDefaultsAreSeededOnce(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.replica(t)
	ctx := as(t.Context(), adminP)
	groups, err := s.routing.ListGroups(ctx, &routingv1.ListGroupsRequest{})
	require.NoError(t, err)
	var codes []string
	for _, g := range groups.GetGroups() {
		codes = append(codes, g.GetCode())
		require.True(t, g.GetBuiltin())
		require.Equal(t, routing.BuiltinGroupID(g.GetCode()).String(), g.GetGroupId(), "seeded groups have well-known ids")
		require.Equal(t, routingv1.Strategy_STRATEGY_LEAST_LOADED, g.GetStrategy())
		require.Equal(t, int64(7200), g.GetTransferAcceptDeadline().GetSeconds())
	}
	require.Equal(t, []string{"after_sales", "general", "logistics", "senior_complaints", "tech_support"}, codes)
	rules, err := s.routing.ListRoutingRules(ctx, &routingv1.ListRoutingRulesRequest{})
	require.NoError(t, err)
	require.Len(t, rules.GetRules(), 6)
	require.Equal(t, s.group(t, "senior_complaints").GetGroupId(), rules.GetRules()[0].GetTargetGroupId())
	require.Equal(t, s.group(t, "general").GetGroupId(), rules.GetRules()[5].GetTargetGroupId())
	require.Empty(t, rules.GetRules()[5].GetCondition().GetTypes(), "the last rule catches everything")
}

// TestAdminCallsValidateAndConflict covers the admin API's refusals: every bad field is named, stale etags
// abort, taken codes and ids already exist, and creates are idempotent by request id.
func TestAdminCallsValidateAndConflict(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), adminP)

	_, err := s.routing.CreateGroup(ctx, &routingv1.CreateGroupRequest{Group: &routingv1.Group{Code: "Bad Code", DisplayName: " "}})
	requireCode(t, err, codes.InvalidArgument)
	_, err = s.routing.CreateGroup(ctx, &routingv1.CreateGroupRequest{Group: &routingv1.Group{Code: "ok_code", DisplayName: " x",
		TransferAcceptDeadline: durationpb.New(1)}})
	requireCode(t, err, codes.InvalidArgument)
	require.ElementsMatch(t, []string{"group.display_name", "group.transfer_accept_deadline"}, badFields(err))

	_, err = s.routing.CreateGroup(ctx, &routingv1.CreateGroupRequest{Group: &routingv1.Group{Code: "logistics", DisplayName: "again"}})
	requireCode(t, err, codes.AlreadyExists)

	req := &routingv1.CreateGroupRequest{RequestId: "grp-1", Group: &routingv1.Group{Code: "vip_desk", DisplayName: "VIP 专席"}}
	first, err := s.routing.CreateGroup(ctx, req)
	require.NoError(t, err)
	again, err := s.routing.CreateGroup(ctx, req)
	require.NoError(t, err, "a retry with the same request id returns the group")
	require.Equal(t, first.GetGroup().GetGroupId(), again.GetGroup().GetGroupId())
	req.Group.DisplayName = "other"
	_, err = s.routing.CreateGroup(ctx, req)
	requireCode(t, err, codes.AlreadyExists)

	g := first.GetGroup()
	_, err = s.routing.UpdateGroup(ctx, &routingv1.UpdateGroupRequest{Group: &routingv1.Group{GroupId: g.GetGroupId(),
		DisplayName: "VIP", Etag: "99"}, UpdateMask: mask("display_name")})
	requireCode(t, err, codes.Aborted)
	_, err = s.routing.UpdateGroup(ctx, &routingv1.UpdateGroupRequest{Group: &routingv1.Group{GroupId: g.GetGroupId(),
		HeadAgentId: uuid.NewString(), Etag: g.GetEtag()}, UpdateMask: mask("head_agent_id")})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"group.head_agent_id"}, badFields(err), "the head must be an agent")
	upd, err := s.routing.UpdateGroup(ctx, &routingv1.UpdateGroupRequest{Group: &routingv1.Group{GroupId: g.GetGroupId(),
		Strategy: routingv1.Strategy_STRATEGY_ROUND_ROBIN, Etag: g.GetEtag()}, UpdateMask: mask("strategy", "etag")})
	require.NoError(t, err)
	require.Equal(t, routingv1.Strategy_STRATEGY_ROUND_ROBIN, upd.GetGroup().GetStrategy())
	require.NotEqual(t, g.GetEtag(), upd.GetGroup().GetEtag())

	// Agents.
	_, err = s.routing.CreateAgent(ctx, &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{DisplayName: "nobody"}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"agent.agent_id"}, badFields(err))
	_, err = s.routing.CreateAgent(ctx, &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{AgentId: uuid.NewString(),
		DisplayName: "x", GroupIds: []string{uuid.NewString()}}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"agent.group_ids"}, badFields(err))
	id := s.newAgent(t, "王芳", agentSpec{groups: []*routingv1.Group{g}, offline: true})
	_, err = s.routing.CreateAgent(ctx, &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{AgentId: id, DisplayName: "dup"}})
	requireCode(t, err, codes.AlreadyExists)
	got, err := s.routing.GetAgent(ctx, &routingv1.GetAgentRequest{AgentId: id})
	require.NoError(t, err)
	a := got.GetAgent()
	require.EqualValues(t, 5, a.GetCapacity(), "default capacity")
	require.Equal(t, routingv1.Seniority_SENIORITY_JUNIOR, a.GetSeniority())
	require.Equal(t, routingv1.Presence_PRESENCE_OFFLINE, a.GetPresence())
	require.Equal(t, []string{g.GetGroupId()}, a.GetGroupIds())
	_, err = s.routing.UpdateAgent(ctx, &routingv1.UpdateAgentRequest{Agent: &routingv1.Agent{AgentId: id, Capacity: 500,
		Etag: a.GetEtag()}, UpdateMask: mask("capacity")})
	requireCode(t, err, codes.InvalidArgument)
	_, err = s.routing.UpdateAgent(ctx, &routingv1.UpdateAgentRequest{Agent: &routingv1.Agent{AgentId: id, Etag: a.GetEtag()},
		UpdateMask: mask("presence")})
	requireCode(t, err, codes.InvalidArgument) // presence is output only here, and nothing else is named
	_, err = s.routing.GetAgent(ctx, &routingv1.GetAgentRequest{AgentId: uuid.NewString()})
	requireCode(t, err, codes.NotFound)

	// Presence: an agent sets their own, not a colleague's.
	other := s.newAgent(t, "李雷", agentSpec{groups: []*routingv1.Group{g}, offline: true})
	_, err = s.routing.SetPresence(as(t.Context(), "staff:"+id, "agent"), &routingv1.SetPresenceRequest{AgentId: id,
		Presence: routingv1.Presence_PRESENCE_ONLINE})
	require.NoError(t, err)
	_, err = s.routing.SetPresence(as(t.Context(), "staff:"+id, "agent"), &routingv1.SetPresenceRequest{AgentId: other,
		Presence: routingv1.Presence_PRESENCE_ONLINE})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.routing.SetPresence(as(t.Context(), "adapter:phone-ivr"), &routingv1.SetPresenceRequest{AgentId: other,
		Presence: routingv1.Presence_PRESENCE_AWAY})
	require.NoError(t, err, "adapters (a phone system) set anyone's presence")

	// Rules.
	_, err = s.routing.CreateRoutingRule(ctx, &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
		TargetGroupId: uuid.NewString(), Enabled: true}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"rule.target_group_id"}, badFields(err))
	_, err = s.routing.CreateRoutingRule(ctx, &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
		TargetGroupId: g.GetGroupId(), Condition: &routingv1.RuleCondition{Keywords: []string{" padded "}}}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"rule.condition.keywords[0]"}, badFields(err))
	rule, err := s.routing.CreateRoutingRule(ctx, &routingv1.CreateRoutingRuleRequest{RequestId: "vip-rule", Rule: &routingv1.RoutingRule{
		Position: 15, DisplayName: "VIP 客户 → VIP 专席", TargetGroupId: g.GetGroupId(), Enabled: true,
		Condition: &routingv1.RuleCondition{Tiers: []string{"vip"}}}})
	require.NoError(t, err)
	test, err := s.routing.TestRouting(ctx, &routingv1.TestRoutingRequest{Tier: "vip", Type: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	require.NoError(t, err)
	require.Equal(t, rule.GetRule().GetRuleId(), test.GetRule().GetRuleId())
	require.Equal(t, "vip_desk", test.GetGroup().GetCode())
	test, err = s.routing.TestRouting(ctx, &routingv1.TestRoutingRequest{Tier: "vip", Type: intakev1.TicketType_TICKET_TYPE_COMPLAINT,
		Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1})
	require.NoError(t, err)
	require.Equal(t, "senior_complaints", test.GetGroup().GetCode(), "the L1 rule comes first")
	dis, err := s.routing.UpdateRoutingRule(ctx, &routingv1.UpdateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
		RuleId: rule.GetRule().GetRuleId(), Etag: rule.GetRule().GetEtag()}, UpdateMask: mask("enabled")})
	require.NoError(t, err)
	require.False(t, dis.GetRule().GetEnabled())
	test, err = s.routing.TestRouting(ctx, &routingv1.TestRoutingRequest{Tier: "vip", Type: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	require.NoError(t, err)
	require.Equal(t, "general", test.GetGroup().GetCode(), "a disabled rule is skipped")
	_, err = s.routing.DeleteRoutingRule(ctx, &routingv1.DeleteRoutingRuleRequest{RuleId: rule.GetRule().GetRuleId()})
	require.NoError(t, err)
	_, err = s.routing.DeleteRoutingRule(ctx, &routingv1.DeleteRoutingRuleRequest{RuleId: rule.GetRule().GetRuleId()})
	requireCode(t, err, codes.NotFound)

	// Callers without the admin permission cannot configure.
	_, err = s.routing.CreateGroup(as(t.Context(), "staff:"+id, "agent"), &routingv1.CreateGroupRequest{
		Group: &routingv1.Group{Code: "rogue", DisplayName: "rogue"}})
	requireCode(t, err, codes.PermissionDenied)
}
