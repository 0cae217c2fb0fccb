package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

func TestScopeOf(t *testing.T) {
	t.Parallel()
	staff := func(roles []string, groups ...string) auth.Principal {
		return auth.Principal{Kind: auth.KindStaff, ID: "u-1", Roles: roles, Groups: groups}
	}
	tests := []struct {
		name string
		p    auth.Principal
		want auth.TicketScope
	}{
		{"no roles see nothing", staff(nil, "g1"), auth.TicketScope{}},
		{"unknown roles see nothing", staff([]string{"root"}), auth.TicketScope{}},
		{"an agent: assigned to them or queued in their groups", staff([]string{auth.RoleAgent}, "g1", "g2"),
			auth.TicketScope{AssigneeID: "u-1", GroupIDs: []string{"g1", "g2"}}},
		{"a supervisor: their groups and the ungrouped triage queue", staff([]string{auth.RoleSupervisor}, "g1"),
			auth.TicketScope{AssigneeID: "u-1", GroupIDs: []string{"g1"}, Ungrouped: true}},
		{"roles add up", staff([]string{auth.RoleAgent, auth.RoleSupervisor}, "g1"),
			auth.TicketScope{AssigneeID: "u-1", GroupIDs: []string{"g1"}, Ungrouped: true}},
		{"an admin sees all", staff([]string{auth.RoleAgent, auth.RoleAdmin}, "g1"), auth.TicketScope{All: true}},
		{"an auditor sees all", staff([]string{auth.RoleAuditor}), auth.TicketScope{All: true}},
		{"a service sees all", auth.Principal{Kind: auth.KindService, ID: "routing", Roles: []string{auth.RoleService}},
			auth.TicketScope{All: true}},
		{"an adapter: what it submitted", auth.Principal{Kind: auth.KindAdapter, ID: "web-form", Roles: []string{auth.RoleAdapter}},
			auth.TicketScope{SubmitterKind: auth.KindAdapter, SubmitterID: "web-form"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, auth.ScopeOf(tc.p))
		})
	}
}

func TestScopeAdmits(t *testing.T) {
	t.Parallel()
	agent := auth.TicketScope{AssigneeID: "a-1", GroupIDs: []string{"g1"}}
	sup := auth.TicketScope{AssigneeID: "s-1", GroupIDs: []string{"g1"}, Ungrouped: true}
	adapter := auth.TicketScope{SubmitterKind: "adapter", SubmitterID: "web-form"}
	tests := []struct {
		name  string
		scope auth.TicketScope
		t     auth.ScopedTicket
		want  bool
	}{
		{"all admits anything", auth.TicketScope{All: true}, auth.ScopedTicket{GroupID: "g9"}, true},
		{"an agent's own ticket", agent, auth.ScopedTicket{GroupID: "g9", AssigneeID: "a-1"}, true},
		{"a ticket queued in the agent's group", agent, auth.ScopedTicket{GroupID: "g1"}, true},
		{"another group's ticket is out", agent, auth.ScopedTicket{GroupID: "g2", AssigneeID: "a-2"}, false},
		{"an ungrouped ticket is out for an agent", agent, auth.ScopedTicket{}, false},
		{"an ungrouped ticket is in for a supervisor", sup, auth.ScopedTicket{}, true},
		{"the adapter's own submission", adapter, auth.ScopedTicket{GroupID: "g1", SubmitterKind: "adapter", SubmitterID: "web-form"}, true},
		{"another adapter's submission is out", adapter, auth.ScopedTicket{SubmitterKind: "adapter", SubmitterID: "ivr"}, false},
		{"the zero scope admits nothing", auth.TicketScope{}, auth.ScopedTicket{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.scope.Admits(tc.t))
		})
	}
}
