package routing_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing/internal/store"
)

// TestIncidentTicketsGoToTheEmergencyTeam: while an incident is active, a new ticket its scope takes goes
// to the emergency team's group (created event's incident_group_id) whatever the rules say, and an
// existing ticket linked in bulk moves there too; other tickets follow the rules.
func TestIncidentTicketsGoToTheEmergencyTeam(t *testing.T) {
	t.Parallel()
	s := start(t)
	team := s.newGroup(t, "emergency", routingv1.Strategy_STRATEGY_LEAST_LOADED)
	responder := s.newAgent(t, "应急值班", agentSpec{groups: []*routingv1.Group{team}, capacity: 50})
	before := s.submit(t, ticket{text: "支付失败，钱扣了"})
	require.NotEqual(t, team.GetGroupId(), s.awaitAssignedOrQueued(t, before), "before the incident the rules decide")

	d, err := s.incidents.DeclareIncident(as(t.Context(), adminP), &intakev1.DeclareIncidentRequest{
		IdempotencyKey: "inc-" + uuid.NewString(), LinkExisting: true,
		Incident: &intakev1.Incident{Kind: intakev1.IncidentKind_INCIDENT_KIND_SYSTEM_FAILURE,
			Severity: intakev1.IncidentSeverity_INCIDENT_SEVERITY_SEV2, Title: "支付故障",
			Scope:       &intakev1.IncidentScope{Keywords: []string{"支付"}},
			TeamGroupId: team.GetGroupId(), CommanderId: "sup-1"}})
	require.NoError(t, err)
	require.Equal(t, int64(1), d.GetLinked())

	during := s.submit(t, ticket{text: "支付页面打不开"})
	tk := s.awaitAssigned(t, during)
	require.Equal(t, team.GetGroupId(), tk.GetGroupId())
	require.Equal(t, responder, tk.GetAssigneeId())
	require.Equal(t, intakev1.Urgency_URGENCY_URGENT, tk.GetUrgency(), "SEV2 raises to urgent")

	tk = s.awaitAssigned(t, before)
	require.Equal(t, team.GetGroupId(), tk.GetGroupId(), "the bulk-linked ticket moved to the team")
	require.Equal(t, responder, tk.GetAssigneeId())

	other := s.submit(t, ticket{text: "想改一下收货地址"})
	require.NotEqual(t, team.GetGroupId(), s.awaitAssignedOrQueued(t, other))
}

// awaitAssignedOrQueued waits until routing placed the ticket in a group (queued or assigned) and returns
// the group.
func (s *stack) awaitAssignedOrQueued(t *testing.T, id string) string {
	t.Helper()
	var group string
	testkit.EventuallyNoError(t, func() error {
		var state string
		err := s.routingDB.Pool.QueryRow(t.Context(), `SELECT state, coalesce(group_id::text, '') FROM routed_tickets
			WHERE ticket_id = $1`, id).Scan(&state, &group)
		if err != nil {
			return err
		}
		if group == "" || (state != store.StateQueued && state != store.StateAssigned) {
			return fmt.Errorf("ticket %s is %s in %q", id, state, group)
		}
		return nil
	}, wait)
	return group
}
