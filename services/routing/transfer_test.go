package routing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing"
)

// withClock runs routing on a fake clock (deadlines and surges move when the test says) with a fast timer.
func withClock(c *clock.Fake) func(*routing.Config) {
	return func(cfg *routing.Config) { cfg.Clock, cfg.TimerInterval = c, 20*time.Millisecond }
}

// routingEvents returns the payloads routing published on subject, oldest first.
func (s *stack) routingEvents(t *testing.T, subject string) [][]byte {
	t.Helper()
	rows, err := s.routingDB.Pool.Query(t.Context(), `SELECT payload FROM outbox WHERE subject = $1 ORDER BY id`, subject)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		require.NoError(t, rows.Scan(&b))
		out = append(out, b)
	}
	require.NoError(t, rows.Err())
	return out
}

// awaitEvents waits until routing published at least n events on subject and returns them.
func (s *stack) awaitEvents(t *testing.T, subject string, n int) [][]byte {
	t.Helper()
	var got [][]byte
	testkit.EventuallyNoError(t, func() error {
		if got = s.routingEvents(t, subject); len(got) < n {
			return fmt.Errorf("%d %s events, want %d", len(got), subject, n)
		}
		return nil
	}, wait)
	return got
}

// TestTransferAcceptedAssignsInTheReceivingGroup: an agent transfers their ticket with a reason; it leaves
// them at once (their queue drains), waits for the receiving group, and accepting assigns it to the
// accepting member.
func TestTransferAcceptedAssignsInTheReceivingGroup(t *testing.T) {
	t.Parallel()
	s := start(t)
	from := s.newGroup(t, "orders_from", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, from)
	to := s.group(t, "after_sales")
	sender := s.newAgent(t, "sender", agentSpec{groups: []*routingv1.Group{from}, capacity: 1})
	receiver := s.newAgent(t, "receiver", agentSpec{groups: []*routingv1.Group{to}, capacity: 1})
	colleague := s.newAgent(t, "colleague", agentSpec{groups: []*routingv1.Group{from}, capacity: 1, offline: true})
	first := s.submit(t, orderStatus)
	require.Equal(t, sender, s.awaitAssigned(t, first).GetAssigneeId())
	waiting := s.submit(t, orderStatus)
	s.awaitQueued(t, waiting, from.GetGroupId())

	// Someone else's ticket is not the colleague's to transfer.
	_, err := s.routing.TransferTicket(as(t.Context(), "staff:"+colleague, "agent"), &routingv1.TransferTicketRequest{
		TicketId: first, ToGroupId: to.GetGroupId(), Reason: "退款问题"})
	requireCode(t, err, codes.NotFound)
	_, err = s.routing.TransferTicket(as(t.Context(), "staff:"+sender, "agent"), &routingv1.TransferTicketRequest{
		TicketId: first, ToGroupId: from.GetGroupId(), Reason: "x"})
	requireCode(t, err, codes.InvalidArgument)

	tr, err := s.routing.TransferTicket(as(t.Context(), "staff:"+sender, "agent"), &routingv1.TransferTicketRequest{
		TicketId: first, ToGroupId: to.GetGroupId(), Reason: "客户要求退款，转售后", RequestId: "tr-1"})
	require.NoError(t, err)
	require.Equal(t, routingv1.TransferState_TRANSFER_STATE_PENDING, tr.GetTransfer().GetState())
	require.InDelta(t, 2*time.Hour, tr.GetTransfer().GetAcceptDeadline().AsTime().Sub(tr.GetTransfer().GetCreateTime().AsTime()), float64(time.Second))
	// The sender's capacity frees: the waiting ticket is theirs now.
	require.Equal(t, sender, s.awaitAssigned(t, waiting).GetAssigneeId())
	// At intake the transferred ticket sits in the receiving group with nobody.
	testkit.EventuallyNoError(t, func() error {
		tk := s.get(t, first)
		if tk.GetGroupId() != to.GetGroupId() || tk.GetAssigneeId() != "" {
			return fmt.Errorf("at intake: group %s assignee %q", tk.GetGroupId(), tk.GetAssigneeId())
		}
		return nil
	}, wait)
	list, err := s.routing.ListTransfers(as(t.Context(), adminP), &routingv1.ListTransfersRequest{GroupId: to.GetGroupId()})
	require.NoError(t, err)
	require.Len(t, list.GetTransfers(), 1)
	require.Equal(t, "客户要求退款，转售后", list.GetTransfers()[0].GetReason())

	// Only the receiving group accepts.
	_, err = s.routing.AcceptTransfer(as(t.Context(), "staff:"+colleague, "agent"), &routingv1.AcceptTransferRequest{
		TransferId: tr.GetTransfer().GetTransferId()})
	requireCode(t, err, codes.PermissionDenied)
	acc, err := s.routing.AcceptTransfer(as(t.Context(), "staff:"+receiver, "agent"), &routingv1.AcceptTransferRequest{
		TransferId: tr.GetTransfer().GetTransferId()})
	require.NoError(t, err)
	require.Equal(t, routingv1.TransferState_TRANSFER_STATE_ACCEPTED, acc.GetTransfer().GetState())
	require.Equal(t, receiver, s.awaitAssigned(t, first).GetAssigneeId())
	_, err = s.routing.AcceptTransfer(as(t.Context(), "staff:"+receiver, "agent"), &routingv1.AcceptTransferRequest{
		TransferId: tr.GetTransfer().GetTransferId()})
	requireCode(t, err, codes.FailedPrecondition)

	s.settle(t)
	ev := s.awaitEvents(t, "kefu.routing.transfer_accepted", 1)
	var accepted eventsv1.RoutingTransferAccepted
	require.NoError(t, proto.Unmarshal(ev[0], &accepted))
	require.Equal(t, receiver, accepted.GetAssigneeId())
	require.Len(t, s.routingEvents(t, "kefu.routing.transfer_requested"), 1)
	for _, b := range append(s.routingEvents(t, "kefu.routing.transfer_requested"), ev...) {
		require.NotContains(t, string(b), "退款", "the reason stays out of events")
	}
}

// TestTransferNotAcceptedInTimeGoesToTheHead: past the receiving group's deadline the ticket is assigned
// to its head (on their board, whatever their load), with kefu.routing.transfer_expired and a notification.
func TestTransferNotAcceptedInTimeGoesToTheHead(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now().UTC())
	s := start(t, withClock(clk))
	to := s.group(t, "tech_support")
	head := s.newAgent(t, "head", agentSpec{capacity: 1, seniority: routingv1.Seniority_SENIORITY_LEAD, offline: true})
	_, err := s.routing.UpdateGroup(as(t.Context(), adminP), &routingv1.UpdateGroupRequest{
		Group: &routingv1.Group{GroupId: to.GetGroupId(), HeadAgentId: head, TransferAcceptDeadline: durationpb.New(30 * time.Minute),
			Etag: to.GetEtag()}, UpdateMask: mask("head_agent_id", "transfer_accept_deadline")})
	require.NoError(t, err)
	id := s.submit(t, ticket{typ: inquiry, subcategory: "policy", text: "会员政策"})
	s.awaitQueued(t, id, s.group(t, "general").GetGroupId())
	tr, err := s.routing.TransferTicket(as(t.Context(), adminP), &routingv1.TransferTicketRequest{
		TicketId: id, ToGroupId: to.GetGroupId(), Reason: "需要技术判断"})
	require.NoError(t, err)

	clk.Advance(29 * time.Minute)
	s.settle(t)
	require.Empty(t, s.routingEvents(t, "kefu.routing.transfer_expired"), "not yet due")
	clk.Advance(2 * time.Minute)
	require.Equal(t, head, s.awaitAssigned(t, id).GetAssigneeId())
	ev := s.awaitEvents(t, "kefu.routing.transfer_expired", 1)
	var expired eventsv1.RoutingTransferExpired
	require.NoError(t, proto.Unmarshal(ev[0], &expired))
	require.Equal(t, tr.GetTransfer().GetTransferId(), expired.GetTransferId())
	require.Equal(t, head, expired.GetHeadAgentId())
	notes := s.awaitEvents(t, "kefu.notification.requested", 1)
	var n eventsv1.NotificationRequested
	require.NoError(t, proto.Unmarshal(notes[len(notes)-1], &n))
	require.Equal(t, eventsv1.NotificationReason_NOTIFICATION_REASON_TRANSFER_EXPIRED, n.GetReason())
	require.Equal(t, head, n.GetRecipientId())
	list, err := s.routing.ListTransfers(as(t.Context(), adminP), &routingv1.ListTransfersRequest{GroupId: to.GetGroupId(),
		IncludeFinished: true})
	require.NoError(t, err)
	require.Equal(t, routingv1.TransferState_TRANSFER_STATE_EXPIRED, list.GetTransfers()[0].GetState())
	board, err := s.routing.ListAgentTickets(as(t.Context(), "staff:"+head, "supervisor"), &routingv1.ListAgentTicketsRequest{AgentId: head})
	require.NoError(t, err)
	require.Len(t, board.GetTickets(), 1)
	require.Equal(t, id, board.GetTickets()[0].GetTicketId())
}

// TestHandBackGoesToAnotherAgent: an agent hands a ticket back; it goes to a colleague, never back to
// them; with nobody else it waits in the queue (and intake shows nobody), without holding up the tickets
// queued behind it.
func TestHandBackGoesToAnotherAgent(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_hb", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	a := s.newAgent(t, "a", agentSpec{groups: []*routingv1.Group{g}, capacity: 5})
	id := s.submit(t, orderStatus)
	require.Equal(t, a, s.awaitAssigned(t, id).GetAssigneeId())
	s.settle(t)

	// Nobody else: it waits, unassigned at intake, though a still has room.
	resp, err := s.routing.HandBackTicket(as(t.Context(), "staff:"+a, "agent"), &routingv1.HandBackTicketRequest{TicketId: id, Reason: "不熟悉"})
	require.NoError(t, err)
	require.Equal(t, routingv1.RoutedTicketState_ROUTED_TICKET_STATE_QUEUED, resp.GetTicket().GetState())
	testkit.EventuallyNoError(t, func() error {
		if tk := s.get(t, id); tk.GetAssigneeId() != "" || tk.GetStatus() != intakev1.TicketStatus_TICKET_STATUS_ASSIGNED {
			return fmt.Errorf("at intake: %s %q", tk.GetStatus(), tk.GetAssigneeId())
		}
		return nil
	}, wait)
	_, err = s.routing.HandBackTicket(as(t.Context(), "staff:"+a, "agent"), &routingv1.HandBackTicketRequest{TicketId: id})
	requireCode(t, err, codes.NotFound) // no longer theirs

	// The ticket a handed back does not hold up the queue behind it while a has room.
	next := s.submit(t, orderStatus)
	require.Equal(t, a, s.awaitAssigned(t, next).GetAssigneeId())

	b := s.newAgent(t, "b", agentSpec{groups: []*routingv1.Group{g}, capacity: 5})
	require.Equal(t, b, s.awaitAssigned(t, id).GetAssigneeId())
}

// TestManualReassignmentIsFollowed: a supervisor reassigns at intake by hand; routing moves the load and
// fills the freed capacity from the queue.
func TestManualReassignmentIsFollowed(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_manual", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	a := s.newAgent(t, "a", agentSpec{groups: []*routingv1.Group{g}, capacity: 1})
	other := s.newAgent(t, "other", agentSpec{capacity: 5, offline: true})
	first := s.submit(t, orderStatus)
	require.Equal(t, a, s.awaitAssigned(t, first).GetAssigneeId())
	second := s.submit(t, orderStatus)
	s.awaitQueued(t, second, g.GetGroupId())
	_, err := s.intake.AssignTicket(as(t.Context(), adminP), &intakev1.AssignTicketRequest{
		TicketId: first, AssigneeId: other})
	require.NoError(t, err)
	require.Equal(t, a, s.awaitAssigned(t, second).GetAssigneeId(), "a's freed capacity takes the queued ticket")
	s.settle(t)
	require.Equal(t, map[string]int{a: 1, other: 1}, s.loads(t))
	require.Equal(t, other, s.get(t, first).GetAssigneeId())
}

// TestSurgeSendsNewTicketsToTheOverflowGroup: past the queue threshold the group goes into surge
// (surge_started, the head notified) and new tickets go to the overflow group; once the queue is calm for
// the calm period it returns to normal (surge_ended) and tickets come back.
func TestSurgeSendsNewTicketsToTheOverflowGroup(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now().UTC())
	s := start(t, withClock(clk))
	g := s.newGroup(t, "orders_surge", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	outsourced := s.newGroup(t, "outsourced", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	_, err := s.routing.UpdateGroup(as(t.Context(), adminP), &routingv1.UpdateGroupRequest{Group: &routingv1.Group{
		GroupId: g.GetGroupId(), Etag: g.GetEtag(), OverflowGroupId: outsourced.GetGroupId(), SurgeQueueDepth: 2,
		CalmPeriod: durationpb.New(time.Minute)},
		UpdateMask: mask("overflow_group_id", "surge_queue_depth", "calm_period")})
	require.NoError(t, err)
	s.orderStatusTo(t, g)
	agent := s.newAgent(t, "in-house", agentSpec{groups: []*routingv1.Group{g}, capacity: 5, offline: true})

	q1, q2 := s.submit(t, orderStatus), s.submit(t, orderStatus)
	s.awaitQueued(t, q1, g.GetGroupId())
	s.awaitQueued(t, q2, g.GetGroupId())
	started := s.awaitEvents(t, "kefu.routing.surge_started", 1)
	var st eventsv1.RoutingSurgeStarted
	require.NoError(t, proto.Unmarshal(started[0], &st))
	require.Equal(t, outsourced.GetGroupId(), st.GetOverflowGroupId())
	require.EqualValues(t, 2, st.GetDepth())
	over := s.submit(t, orderStatus)
	s.awaitQueued(t, over, outsourced.GetGroupId())
	got, err := s.routing.GetGroup(as(t.Context(), adminP), &routingv1.GetGroupRequest{GroupId: g.GetGroupId()})
	require.NoError(t, err)
	require.True(t, got.GetGroup().GetInSurge())

	// The in-house agent clears the queue; calm for less than the period changes nothing.
	s.presence(t, agent, routingv1.Presence_PRESENCE_ONLINE)
	s.awaitAssigned(t, q1)
	s.awaitAssigned(t, q2)
	testkit.EventuallyNoError(t, func() error { // the timer sees the calm queue and starts the calm clock
		var calm bool
		if err := s.routingDB.Pool.QueryRow(t.Context(), `SELECT calm_since IS NOT NULL FROM groups WHERE id = $1`,
			g.GetGroupId()).Scan(&calm); err != nil || !calm {
			return fmt.Errorf("calm clock not started (%v)", err)
		}
		return nil
	}, wait)
	clk.Advance(59 * time.Second)
	time.Sleep(200 * time.Millisecond) // let the 20 ms timer run a few times: nothing must happen
	require.Empty(t, s.routingEvents(t, "kefu.routing.surge_ended"))
	clk.Advance(2 * time.Second)
	s.awaitEvents(t, "kefu.routing.surge_ended", 1)
	back := s.submit(t, orderStatus)
	require.Equal(t, agent, s.awaitAssigned(t, back).GetAssigneeId())
}

// TestEscalationNotifiesTheGroupHead: kefu.ticket.escalated asks for a notification of the head of the
// ticket's group.
func TestEscalationNotifiesTheGroupHead(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_esc", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	head := s.newAgent(t, "head", agentSpec{capacity: 1, seniority: routingv1.Seniority_SENIORITY_LEAD, offline: true})
	s.updateGroup(t, g.GetGroupId(), &routingv1.Group{HeadAgentId: head}, "head_agent_id")
	id := s.submit(t, orderStatus)
	s.awaitQueued(t, id, g.GetGroupId())
	_, err := s.intake.EscalateTicket(as(t.Context(), adminP), &intakev1.EscalateTicketRequest{TicketId: id, Reason: "客户第三次来电"})
	require.NoError(t, err)
	notes := s.awaitEvents(t, "kefu.notification.requested", 1)
	var n eventsv1.NotificationRequested
	require.NoError(t, proto.Unmarshal(notes[0], &n))
	require.Equal(t, eventsv1.NotificationReason_NOTIFICATION_REASON_TICKET_ESCALATED, n.GetReason())
	require.Equal(t, head, n.GetRecipientId())
	require.Equal(t, id, n.GetTicketId())
}

// TestHandAssignmentRightAfterSubmitWins: a supervisor assigns each new ticket by hand the moment it is
// submitted, racing routing's own decision. Whichever lands first, the hand assignment stands at intake
// (routing's call expects the agent it saw and is refused otherwise), and routing's loads agree.
func TestHandAssignmentRightAfterSubmitWins(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_race", routingv1.Strategy_STRATEGY_ROUND_ROBIN)
	s.orderStatusTo(t, g)
	for i := range 3 {
		s.newAgent(t, fmt.Sprintf("auto-%d", i), agentSpec{groups: []*routingv1.Group{g}, capacity: 100})
	}
	chosen := s.newAgent(t, "chosen", agentSpec{groups: []*routingv1.Group{g}, capacity: 100, offline: true})
	var ids []string
	for range 20 {
		id := s.submit(t, orderStatus)
		_, err := s.intake.AssignTicket(as(t.Context(), adminP), &intakev1.AssignTicketRequest{TicketId: id, AssigneeId: chosen})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	s.settle(t)
	require.Equal(t, map[string]int{chosen: 20}, s.intakeAssignees(t, ids))
	testkit.EventuallyNoError(t, func() error {
		if l := s.loads(t); l[chosen] != 20 || len(l) != 1 {
			return fmt.Errorf("routing's loads: %v", l)
		}
		return nil
	}, wait)
}
