package routing_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"google.golang.org/protobuf/proto"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing"
)

// Classifications used below, as intake's hints.
var (
	inquiry   = intakev1.TicketType_TICKET_TYPE_INQUIRY
	complaint = intakev1.TicketType_TICKET_TYPE_COMPLAINT
	request   = intakev1.TicketType_TICKET_TYPE_REQUEST
	levelL1   = intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1
	levelL3   = intakev1.ComplaintLevel_COMPLAINT_LEVEL_L3
)

// TestDefaultRulesRouteEachTicketToItsGroup submits one ticket per default rule with nobody online, so
// each waits in the queue of the group its rule names.
func TestDefaultRulesRouteEachTicketToItsGroup(t *testing.T) {
	t.Parallel()
	s := start(t)
	cases := []struct {
		name  string
		tk    ticket
		group string
	}{
		{"L1 complaint to senior complaints, before its topic", ticket{typ: complaint, subcategory: "product_quality", level: levelL1}, "senior_complaints"},
		{"logistics status inquiry to logistics", ticket{typ: inquiry, subcategory: "logistics_status"}, "logistics"},
		{"logistics complaint to logistics", ticket{typ: complaint, subcategory: "logistics", level: levelL3}, "logistics"},
		{"return or exchange to after-sales", ticket{typ: request, subcategory: "return_exchange"}, "after_sales"},
		{"refund to after-sales", ticket{typ: request, subcategory: "refund"}, "after_sales"},
		{"product quality to tech support", ticket{typ: complaint, subcategory: "product_quality", level: levelL3}, "tech_support"},
		{"a technical fault by keyword to tech support", ticket{typ: inquiry, subcategory: "product", text: "手机一打开就闪退，怎么办"}, "tech_support"},
		{"anything else to general", ticket{typ: inquiry, subcategory: "policy", text: "你们的会员政策是什么"}, "general"},
	}
	for _, tc := range cases {
		id := s.submit(t, tc.tk)
		s.awaitQueued(t, id, s.group(t, tc.group).GetGroupId())
	}
}

// orderStatusTo sends inquiry.order_status tickets to group with a rule tried before the defaults.
func (s *stack) orderStatusTo(t *testing.T, g *routingv1.Group, skills ...string) {
	t.Helper()
	_, err := s.routing.CreateRoutingRule(as(t.Context(), adminP), &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
		Position: 1, DisplayName: "order status → " + g.GetCode(), TargetGroupId: g.GetGroupId(), Enabled: true,
		RequiredSkills: skills, Condition: &routingv1.RuleCondition{Subcategories: []string{"order_status"}}}})
	require.NoError(t, err)
}

var orderStatus = ticket{typ: inquiry, subcategory: "order_status"}

// refundTo adds a rule sending refund requests to g, first.
func (s *stack) refundTo(t *testing.T, g *routingv1.Group) {
	t.Helper()
	_, err := s.routing.CreateRoutingRule(as(t.Context(), adminP), &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
		Position: 1, DisplayName: "refund → " + g.GetCode(), TargetGroupId: g.GetGroupId(), Enabled: true,
		Condition: &routingv1.RuleCondition{Subcategories: []string{"refund"}}}})
	require.NoError(t, err)
}

// loads returns how many open tickets routing counts per agent.
func (s *stack) loads(t *testing.T) map[string]int {
	t.Helper()
	rows, err := s.routingDB.Pool.Query(t.Context(), `SELECT assignee_id::text, count(*) FROM routed_tickets
		WHERE state = 'assigned' GROUP BY 1`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		require.NoError(t, rows.Scan(&a, &n))
		out[a] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// intakeAssignees returns, for the tickets, how many have each assignee at intake.
func (s *stack) intakeAssignees(t *testing.T, ids []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, id := range ids {
		out[s.get(t, id).GetAssigneeId()]++
	}
	return out
}

// TestRoundRobinSpreadsTicketsEvenly: 100 tickets over 4 agents are 25 each.
func TestRoundRobinSpreadsTicketsEvenly(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_rr", routingv1.Strategy_STRATEGY_ROUND_ROBIN)
	s.orderStatusTo(t, g)
	var agents []string
	for i := range 4 {
		agents = append(agents, s.newAgent(t, fmt.Sprintf("rr-%d", i), agentSpec{groups: []*routingv1.Group{g}, capacity: 200}))
	}
	var ids []string
	for range 100 {
		ids = append(ids, s.submit(t, orderStatus))
	}
	s.settle(t)
	for _, id := range ids {
		s.awaitAssigned(t, id)
	}
	got := s.intakeAssignees(t, ids)
	for _, a := range agents {
		require.Equal(t, 25, got[a], "agent %s", a)
	}
}

// TestLeastLoadedFillsByCapacityAndQueuesTheRest: capacities 2 and 3 take 5 of 7 tickets; 2 wait; when
// the fuller agent resolves one, the first queued ticket goes to them at once.
func TestLeastLoadedFillsByCapacityAndQueuesTheRest(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_ll", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	small := s.newAgent(t, "small", agentSpec{groups: []*routingv1.Group{g}, capacity: 2})
	big := s.newAgent(t, "big", agentSpec{groups: []*routingv1.Group{g}, capacity: 3})
	var ids []string
	for range 7 {
		ids = append(ids, s.submit(t, orderStatus))
	}
	testkit.EventuallyNoError(t, func() error {
		q, err := s.routing.GetQueue(as(t.Context(), adminP), &routingv1.GetQueueRequest{GroupId: g.GetGroupId()})
		if err != nil {
			return err
		}
		if q.GetDepth() != 2 {
			return fmt.Errorf("queue depth %d", q.GetDepth())
		}
		return nil
	}, wait)
	s.settle(t)
	require.Equal(t, map[string]int{small: 2, big: 3}, s.loads(t))
	got := s.intakeAssignees(t, ids)
	require.Equal(t, 2, got[small])
	require.Equal(t, 3, got[big])
	require.Equal(t, 2, got[""], "two tickets wait unassigned at intake")

	// The queue is in order: the first queued ticket is the older of the two.
	q, err := s.routing.GetQueue(as(t.Context(), adminP), &routingv1.GetQueueRequest{GroupId: g.GetGroupId()})
	require.NoError(t, err)
	require.Len(t, q.GetTickets(), 2)
	first := q.GetTickets()[0].GetTicketId()

	// big resolves one of theirs: capacity frees and the first queued ticket is theirs, event-driven.
	var bigs []string
	for _, id := range ids {
		if s.get(t, id).GetAssigneeId() == big {
			bigs = append(bigs, id)
		}
	}
	s.resolve(t, bigs[0])
	require.Equal(t, big, s.awaitAssigned(t, first).GetAssigneeId())
	s.settle(t)
	require.Equal(t, map[string]int{small: 2, big: 3}, s.loads(t))
}

// resolve resolves a ticket at intake as an admin.
func (s *stack) resolve(t *testing.T, id string) {
	t.Helper()
	require.NoError(t, s.tryResolve(t.Context(), id))
}

// tryResolve is resolve for any goroutine: it returns the error.
func (s *stack) tryResolve(ctx context.Context, id string) error {
	ctx = as(ctx, adminP)
	resp, err := s.intake.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: id})
	if err != nil {
		return err
	}
	if resp.GetTicket().GetStatus() == intakev1.TicketStatus_TICKET_STATUS_ASSIGNED {
		if _, err := s.intake.StartWork(ctx, &intakev1.StartWorkRequest{TicketId: id}); err != nil {
			return err
		}
	}
	_, err = s.intake.ResolveTicket(ctx, &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "已处理"})
	return err
}

// TestSkillsThenLeastLoadedPrefersTheSkilledAgent: with a rule requiring "english", the skilled agent
// gets tickets while they have room, even when busier; then the others do.
func TestSkillsThenLeastLoadedPrefersTheSkilledAgent(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_skills", routingv1.Strategy_STRATEGY_SKILLS_THEN_LEAST_LOADED)
	s.orderStatusTo(t, g, "english")
	skilled := s.newAgent(t, "skilled", agentSpec{groups: []*routingv1.Group{g}, capacity: 3, skills: []string{"english"}})
	other := s.newAgent(t, "other", agentSpec{groups: []*routingv1.Group{g}, capacity: 3})
	var ids []string
	for range 4 {
		ids = append(ids, s.submit(t, orderStatus))
		s.settle(t)
	}
	for _, id := range ids {
		s.awaitAssigned(t, id)
	}
	got := s.intakeAssignees(t, ids)
	require.Equal(t, 3, got[skilled])
	require.Equal(t, 1, got[other])
}

// TestL1ComplaintBypassesTheQueue: an L1 complaint goes to the online senior agent even at capacity, not
// to the idle junior, and the group's head is notified; with no senior online it goes to the head.
func TestL1ComplaintBypassesTheQueue(t *testing.T) {
	t.Parallel()
	s := start(t)
	senior := s.group(t, "senior_complaints")
	head := s.newAgent(t, "head", agentSpec{capacity: 1, seniority: routingv1.Seniority_SENIORITY_LEAD, offline: true})
	_, err := s.routing.UpdateGroup(as(t.Context(), adminP), &routingv1.UpdateGroupRequest{
		Group:      &routingv1.Group{GroupId: senior.GetGroupId(), HeadAgentId: head, Etag: senior.GetEtag()},
		UpdateMask: mask("head_agent_id")})
	require.NoError(t, err)
	veteran := s.newAgent(t, "veteran", agentSpec{groups: []*routingv1.Group{senior}, capacity: 1, seniority: routingv1.Seniority_SENIORITY_SENIOR})
	junior := s.newAgent(t, "junior", agentSpec{groups: []*routingv1.Group{senior}, capacity: 5})

	l1 := ticket{typ: complaint, subcategory: "product_quality", level: levelL1, text: "产品起火烫伤了孩子"}
	first := s.submit(t, l1)
	require.Equal(t, veteran, s.awaitAssigned(t, first).GetAssigneeId())
	second := s.submit(t, l1) // the veteran is at capacity now: still theirs
	require.Equal(t, veteran, s.awaitAssigned(t, second).GetAssigneeId())
	s.settle(t)
	require.Equal(t, 2, s.loads(t)[veteran], "the bypass may exceed capacity")
	require.Zero(t, s.loads(t)[junior])

	s.presence(t, veteran, routingv1.Presence_PRESENCE_OFFLINE)
	third := s.submit(t, l1)
	require.Equal(t, head, s.awaitAssigned(t, third).GetAssigneeId(), "no senior online: the head takes it")

	// Each bypass asked for a notification of the head.
	s.settle(t)
	testkit.EventuallyNoError(t, func() error {
		var n int
		if err := s.routingDB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE subject = 'kefu.notification.requested'
			AND published_at IS NOT NULL`).Scan(&n); err != nil {
			return err
		}
		if n != 3 {
			return fmt.Errorf("%d notifications published", n)
		}
		return nil
	}, wait)
	var payload []byte
	require.NoError(t, s.routingDB.Pool.QueryRow(t.Context(), `SELECT payload FROM outbox WHERE subject = 'kefu.notification.requested'
		ORDER BY id LIMIT 1`).Scan(&payload))
	var n eventsv1.NotificationRequested
	require.NoError(t, proto.Unmarshal(payload, &n))
	require.Equal(t, head, n.GetRecipientId())
	require.Equal(t, first, n.GetTicketId())
	require.Equal(t, eventsv1.NotificationReason_NOTIFICATION_REASON_L1_BYPASS, n.GetReason())
}

// TestQueueDrainsWhenAnAgentComesOnline: tickets wait while nobody is online and are assigned, in queue
// order, as soon as an agent goes online; a capacity raise drains the rest.
func TestQueueDrainsWhenAnAgentComesOnline(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_q", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	agent := s.newAgent(t, "late", agentSpec{groups: []*routingv1.Group{g}, capacity: 2, offline: true})
	var ids []string
	for range 3 {
		id := s.submit(t, orderStatus)
		s.awaitQueued(t, id, g.GetGroupId())
		ids = append(ids, id)
	}
	s.presence(t, agent, routingv1.Presence_PRESENCE_ONLINE)
	require.Equal(t, agent, s.awaitAssigned(t, ids[0]).GetAssigneeId())
	require.Equal(t, agent, s.awaitAssigned(t, ids[1]).GetAssigneeId())
	s.settle(t)
	s.awaitQueued(t, ids[2], g.GetGroupId())

	a, err := s.routing.GetAgent(as(t.Context(), adminP), &routingv1.GetAgentRequest{AgentId: agent})
	require.NoError(t, err)
	require.EqualValues(t, 2, a.GetAgent().GetOpenTickets())
	_, err = s.routing.UpdateAgent(as(t.Context(), adminP), &routingv1.UpdateAgentRequest{
		Agent: &routingv1.Agent{AgentId: agent, Capacity: 3, Etag: a.GetAgent().GetEtag()}, UpdateMask: mask("capacity")})
	require.NoError(t, err)
	require.Equal(t, agent, s.awaitAssigned(t, ids[2]).GetAssigneeId())
}

// TestTwoReplicasNeverAssignTwiceNorOverCapacity runs two routing replicas on one database while tickets
// arrive concurrently: every ticket is assigned at most once at intake, and no agent holds more than their
// capacity. Then agents resolve concurrently and the queue drains, still within capacity.
func TestTwoReplicasNeverAssignTwiceNorOverCapacity(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.replica(t)
	g := s.newGroup(t, "orders_2x", routingv1.Strategy_STRATEGY_ROUND_ROBIN)
	s.orderStatusTo(t, g)
	const capacity, agents, tickets = 3, 4, 30
	for i := range agents {
		s.newAgent(t, fmt.Sprintf("a%d", i), agentSpec{groups: []*routingv1.Group{g}, capacity: capacity})
	}
	ids := s.submitConcurrently(t, 6, tickets, orderStatus)
	s.requireWithinCapacity(t, capacity, capacity*agents)

	// Every agent resolves their tickets at once; the queue drains into the freed capacity.
	var assigned []string
	for _, id := range ids {
		if s.get(t, id).GetAssigneeId() != "" {
			assigned = append(assigned, id)
		}
	}
	require.Len(t, assigned, capacity*agents)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, id := range assigned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.tryResolve(t.Context(), id); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	s.requireWithinCapacity(t, capacity, capacity*agents)
}

// requireWithinCapacity waits until routing has settled with wantAssigned tickets assigned, then checks that
// no agent holds more than capacity and that intake assigned no ticket to an agent twice.
func (s *stack) requireWithinCapacity(t *testing.T, capacity, wantAssigned int) {
	t.Helper()
	s.settle(t)
	testkit.EventuallyNoError(t, func() error {
		n := 0
		for _, c := range s.loads(t) {
			n += c
		}
		if n != wantAssigned {
			return fmt.Errorf("%d assigned, want %d", n, wantAssigned)
		}
		return nil
	}, wait)
	for a, n := range s.loads(t) {
		require.LessOrEqual(t, n, capacity, "agent %s over capacity", a)
	}
	// Every assignment to an agent at intake (events with an assignee; a queued ticket's move into its
	// group has none) happens at most once per ticket.
	rows, err := s.intakeDB.Pool.Query(context.WithoutCancel(t.Context()), `SELECT payload FROM outbox
		WHERE subject = 'kefu.ticket.assigned'`)
	require.NoError(t, err)
	defer rows.Close()
	toAgent := map[string]int{}
	for rows.Next() {
		var b []byte
		require.NoError(t, rows.Scan(&b))
		var ev eventsv1.TicketAssigned
		require.NoError(t, proto.Unmarshal(b, &ev))
		if ev.GetAssigneeId() != "" {
			toAgent[ev.GetMeta().GetAggregateId()]++
		}
	}
	require.NoError(t, rows.Err())
	for id, n := range toAgent {
		if n > 1 {
			t.Errorf("ticket %s was assigned to an agent %d times", id, n)
		}
	}
}

// submitConcurrently submits n tickets of each kind from workers goroutines at once and returns their ids.
func (s *stack) submitConcurrently(t *testing.T, workers, n int, kinds ...ticket) []string {
	t.Helper()
	// require may only stop the test from its own goroutine, so the workers hand back ids and errors.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		ids  []string
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n*len(kinds); i += workers {
				resp, err := s.intake.SubmitTicket(as(t.Context(), adapterP), kinds[i%len(kinds)].request())
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, resp.GetTicket().GetTicketId())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	return ids
}

// TestAgentsSharedByTwoGroupsStayWithinCapacity: the same agents serve two groups, and tickets for both
// arrive at once on two replicas. Each group's decisions are ordered by the group's lock, but an agent's
// last free slot is wanted by both groups at once: only the agent's own lock, and the pick's confirmation
// against the agent as locked, keep them within capacity.
func TestAgentsSharedByTwoGroupsStayWithinCapacity(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.replica(t)
	g1 := s.newGroup(t, "orders_shared", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	g2 := s.newGroup(t, "refunds_shared", routingv1.Strategy_STRATEGY_ROUND_ROBIN)
	s.orderStatusTo(t, g1)
	s.refundTo(t, g2)
	const capacity, agents = 2, 5
	for i := range agents {
		s.newAgent(t, fmt.Sprintf("shared%d", i), agentSpec{groups: []*routingv1.Group{g1, g2}, capacity: capacity})
	}
	refund := ticket{typ: request, subcategory: "refund"}
	s.submitConcurrently(t, 8, 20, orderStatus, refund)
	s.requireWithinCapacity(t, capacity, capacity*agents)
}

// TestBatchesPlacingTicketsInTwoGroupsDoNotDeadlock: tickets for two groups arrive at once on two replicas,
// so the consumer's batches (split into shards by ticket) place tickets in both groups, in whatever order
// they come. Each shard locks every group in id order before placing any, so none fails on a deadlock and
// falls back to one event at a time; every ticket is assigned.
func TestBatchesPlacingTicketsInTwoGroupsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	s := start(t, func(c *routing.Config) { c.ConsumerWorkers = 8 }) // shards, which the default (1) has not
	s.replica(t)
	g1 := s.newGroup(t, "orders_batch", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	g2 := s.newGroup(t, "refunds_batch", routingv1.Strategy_STRATEGY_ROUND_ROBIN)
	s.orderStatusTo(t, g1)
	s.refundTo(t, g2)
	const capacity, agents, each = 100, 4, 150
	for i := range agents {
		s.newAgent(t, fmt.Sprintf("batch%d", i), agentSpec{groups: []*routingv1.Group{g1, g2}, capacity: capacity})
	}
	refund := ticket{typ: request, subcategory: "refund"}
	s.submitConcurrently(t, 16, each, orderStatus, refund)
	s.requireWithinCapacity(t, capacity, 2*each)
	require.Zero(t, s.batchFailures.n.Load(), "batches that failed (deadlocked) and fell back to one event at a time")
}
