package routing_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
)

// publishBreach publishes kefu.sla.breached for ticket as the SLA service would (through its outbox relay:
// the same headers), with its own per-ticket sequence seq.
func (s *stack) publishBreach(t *testing.T, ticket string, seq int64) {
	t.Helper()
	s.publishBreachWith(t, ticket, seq, eventsv1.SlaBreachAction_SLA_BREACH_ACTION_ESCALATE)
}

// publishBreachWith is publishBreach with the policy's breach action.
func (s *stack) publishBreachWith(t *testing.T, ticket string, seq int64, action eventsv1.SlaBreachAction) {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	m, err := outbox.NewEvent("kefu.sla.breached", &eventsv1.SlaBreached{TicketId: ticket,
		Target: eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, DueTime: timestamppb.New(time.Now().Add(-time.Minute)),
		Action: action},
		&eventsv1.EventMeta{EventId: id.String(), Source: "slatimer", AggregateId: ticket, AggregateSeq: seq,
			OccurredAt: timestamppb.Now(), Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "slatimer"}})
	require.NoError(t, err)
	nc, err := nats.Connect(s.nats.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	h := nats.Header{}
	h.Set(events.HeaderMsgID, m.EventID)
	h.Set(events.HeaderType, m.Type)
	h.Set(events.HeaderAggregateID, m.AggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(m.AggregateSeq, 10))
	_, err = js.PublishMsg(t.Context(), &nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload})
	require.NoError(t, err)
}

// TestSLABreachNotifiesTheHeadAndMovesTheTicketToASenior: in a group whose policy is reassign_to_senior, a
// breach of a junior agent's ticket notifies the head and gives the ticket to the online senior agent
// (over capacity: an escalation does not wait), and the junior's freed slot takes the next queued ticket.
// In a group with the default policy the same breach only notifies.
func TestSLABreachNotifiesTheHeadAndMovesTheTicketToASenior(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_breach", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	head := s.newAgent(t, "head", agentSpec{capacity: 1, seniority: routingv1.Seniority_SENIORITY_LEAD, offline: true})
	s.updateGroup(t, g.GetGroupId(), &routingv1.Group{HeadAgentId: head}, "head_agent_id")
	junior := s.newAgent(t, "junior", agentSpec{groups: []*routingv1.Group{g}, capacity: 1})
	senior := s.newAgent(t, "senior", agentSpec{groups: []*routingv1.Group{g}, capacity: 1,
		seniority: routingv1.Seniority_SENIORITY_SENIOR, offline: true})

	first := s.submit(t, orderStatus)
	require.Equal(t, junior, s.awaitAssigned(t, first).GetAssigneeId())
	waiting := s.submit(t, orderStatus)
	s.awaitQueued(t, waiting, g.GetGroupId())

	// Default policy: the breach only notifies the head; the junior keeps the ticket.
	s.publishBreach(t, first, 1)
	notes := s.awaitEvents(t, "kefu.notification.requested", 1)
	var n eventsv1.NotificationRequested
	require.NoError(t, proto.Unmarshal(notes[0], &n))
	require.Equal(t, eventsv1.NotificationReason_NOTIFICATION_REASON_SLA_BREACHED, n.GetReason())
	require.Equal(t, head, n.GetRecipientId())
	require.Equal(t, first, n.GetTicketId())
	s.settle(t)
	require.Equal(t, junior, s.get(t, first).GetAssigneeId())

	// reassign_to_senior, while the only senior agent is offline.
	s.updateGroup(t, g.GetGroupId(), &routingv1.Group{EscalationPolicy: routingv1.EscalationPolicy_ESCALATION_POLICY_REASSIGN_TO_SENIOR},
		"escalation_policy")
	s.publishBreach(t, first, 2)
	s.awaitEvents(t, "kefu.notification.requested", 2)
	// The senior was offline: nobody to move it to; the ticket stays.
	s.settle(t)
	require.Equal(t, junior, s.get(t, first).GetAssigneeId())

	s.presence(t, senior, routingv1.Presence_PRESENCE_ONLINE)
	// Coming online, the senior takes the waiting ticket (their one slot).
	require.Equal(t, senior, s.awaitAssigned(t, waiting).GetAssigneeId())
	third := s.submit(t, orderStatus)
	s.awaitQueued(t, third, g.GetGroupId())
	s.publishBreach(t, first, 3)
	s.awaitEvents(t, "kefu.notification.requested", 3)
	s.settle(t)
	awaitAssignee(t, s, first, senior)
	// The junior's freed slot took the third ticket; the senior holds two, over their capacity of one.
	require.Equal(t, junior, s.awaitAssigned(t, third).GetAssigneeId())
	require.Equal(t, map[string]int{junior: 1, senior: 2}, s.loads(t))

	// A breach of a ticket a senior has already changes nothing but the notice.
	s.publishBreach(t, first, 4)
	s.awaitEvents(t, "kefu.notification.requested", 4)
	s.settle(t)
	require.Equal(t, senior, s.get(t, first).GetAssigneeId())

	// A breach whose SLA policy only notifies leaves the junior's ticket with them, whatever the group's
	// escalation policy.
	s.publishBreachWith(t, third, 1, eventsv1.SlaBreachAction_SLA_BREACH_ACTION_NOTIFY)
	s.awaitEvents(t, "kefu.notification.requested", 5)
	s.settle(t)
	require.Equal(t, junior, s.get(t, third).GetAssigneeId())
}

// awaitAssignee waits until intake shows ticket with agent.
func awaitAssignee(t *testing.T, s *stack, ticket, agent string) {
	t.Helper()
	require.Eventually(t, func() bool { return s.get(t, ticket).GetAssigneeId() == agent }, wait, 20*time.Millisecond,
		"ticket %s never went to %s", ticket, agent)
}

// TestAgentAndGroupChangesArePublished: registering and changing an agent and a group's head publish
// kefu.routing.agent_changed and group_changed (what intake's membership cache listens to), in each
// aggregate's order, with ids and codes only.
func TestAgentAndGroupChangesArePublished(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_changes", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	agent := s.newAgent(t, "张三", agentSpec{groups: []*routingv1.Group{g}, capacity: 3, offline: true})
	s.presence(t, agent, routingv1.Presence_PRESENCE_ONLINE)
	s.updateGroup(t, g.GetGroupId(), &routingv1.Group{HeadAgentId: agent}, "head_agent_id")

	agentEvents := s.awaitEvents(t, "kefu.routing.agent_changed", 2)
	var created, online eventsv1.RoutingAgentChanged
	require.NoError(t, proto.Unmarshal(agentEvents[0], &created))
	require.NoError(t, proto.Unmarshal(agentEvents[1], &online))
	require.Equal(t, agent, created.GetAgentId())
	require.True(t, created.GetCreated())
	require.Equal(t, []string{g.GetGroupId()}, created.GetGroupIds())
	require.Equal(t, routingv1.Presence_PRESENCE_OFFLINE, created.GetPresence())
	require.EqualValues(t, 3, created.GetCapacity())
	require.EqualValues(t, 1, created.GetMeta().GetAggregateSeq())
	require.Equal(t, routingv1.Presence_PRESENCE_ONLINE, online.GetPresence())
	require.False(t, online.GetCreated())
	require.EqualValues(t, 2, online.GetMeta().GetAggregateSeq())
	require.Equal(t, intakev1.ActorKind_ACTOR_KIND_STAFF, online.GetMeta().GetActor().GetKind())
	require.NotContains(t, string(agentEvents[0]), "张三", "the agent's name stays out of events")

	groupEvents := s.awaitEvents(t, "kefu.routing.group_changed", 2)
	var made, headed eventsv1.RoutingGroupChanged
	require.NoError(t, proto.Unmarshal(groupEvents[0], &made))
	require.NoError(t, proto.Unmarshal(groupEvents[1], &headed))
	require.True(t, made.GetCreated())
	require.Empty(t, made.GetHeadAgentId())
	require.Equal(t, agent, headed.GetHeadAgentId())
	require.Empty(t, headed.GetPreviousHeadAgentId())
	require.Equal(t, made.GetMeta().GetAggregateSeq()+1, headed.GetMeta().GetAggregateSeq())

	m, err := s.routing.GetMemberships(as(t.Context(), "staff:"+agent, "agent"), &routingv1.GetMembershipsRequest{StaffId: agent})
	require.NoError(t, err)
	require.Equal(t, []string{g.GetGroupId()}, m.GetMemberGroupIds())
	require.Equal(t, []string{g.GetGroupId()}, m.GetHeadedGroupIds())
	nobody := uuid.NewString()
	m, err = s.routing.GetMemberships(as(t.Context(), adminP), &routingv1.GetMembershipsRequest{StaffId: nobody})
	require.NoError(t, err)
	require.Empty(t, m.GetMemberGroupIds())
	require.Empty(t, m.GetHeadedGroupIds())
	_, err = s.routing.GetMemberships(as(t.Context(), adminP), &routingv1.GetMembershipsRequest{StaffId: "nope"})
	requireCode(t, err, codes.InvalidArgument)
}
