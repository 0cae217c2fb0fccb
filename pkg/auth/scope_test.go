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
