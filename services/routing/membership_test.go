package routing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/testkit"
)

// asAgentClaiming calls as staff member id with the agent role and a token whose groups claim says groups.
func asAgentClaiming(t *testing.T, id string, groups ...string) context.Context {
	t.Helper()
	tok, err := creds().Issuer.Mint(auth.StaffToken{Subject: id, Roles: []string{auth.RoleAgent}, Groups: groups,
		Now: testStart, TTL: 24 * time.Hour})
	require.NoError(t, err)
	return metadata.AppendToOutgoingContext(t.Context(), auth.AuthorizationKey, "Bearer "+tok)
}

// TestIntakeTakesStaffGroupsFromRouting: which queued tickets a staff member sees at intake follows
// routing's records, not the token: a member sees the group's queue, someone whose token merely claims the
// group does not, leaving the group at routing takes the queue away and heading the group gives it, each
// without a new token (routing's change events drop intake's cached copy).
func TestIntakeTakesStaffGroupsFromRouting(t *testing.T) {
	t.Parallel()
	s := start(t)
	g := s.newGroup(t, "orders_members", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	s.orderStatusTo(t, g)
	member := s.newAgent(t, "member", agentSpec{groups: []*routingv1.Group{g}, capacity: 1, offline: true})
	outsider := s.newAgent(t, "outsider", agentSpec{capacity: 1, offline: true})
	id := s.submit(t, orderStatus)
	s.awaitQueued(t, id, g.GetGroupId())
	s.settle(t)
	require.Equal(t, g.GetGroupId(), s.get(t, id).GetGroupId())

	sees := func(ctx context.Context) error {
		_, err := s.intake.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: id})
		return err
	}
	// want waits until the staff member's view settles on visible or not (NOT_FOUND outside one's scope).
	want := func(who string, ctx context.Context, visible bool) {
		t.Helper()
		testkit.EventuallyNoError(t, func() error {
			err := sees(ctx)
			switch {
			case visible && err != nil:
				return fmt.Errorf("%s does not see the ticket: %v", who, err)
			case !visible && err == nil:
				return fmt.Errorf("%s still sees the ticket", who)
			case !visible && status.Code(err) != codes.NotFound:
				return fmt.Errorf("%s: want NOT_FOUND, got %v", who, err)
			}
			return nil
		}, wait)
	}
	want("the member", asAgentClaiming(t, member), true)
	want("the outsider claiming the group in their token", asAgentClaiming(t, outsider, g.GetGroupId()), false)

	// The member leaves the group at routing: the same token no longer sees its queue.
	a, err := s.routing.GetAgent(as(t.Context(), adminP), &routingv1.GetAgentRequest{AgentId: member})
	require.NoError(t, err)
	_, err = s.routing.UpdateAgent(as(t.Context(), adminP), &routingv1.UpdateAgentRequest{
		Agent: &routingv1.Agent{AgentId: member, Etag: a.GetAgent().GetEtag()}, UpdateMask: mask("group_ids")})
	require.NoError(t, err)
	want("the former member", asAgentClaiming(t, member), false)

	// The outsider becomes the group's head: now they see it, with the token they had.
	s.updateGroup(t, g.GetGroupId(), &routingv1.Group{HeadAgentId: outsider}, "head_agent_id")
	want("the new head", asAgentClaiming(t, outsider), true)
}
