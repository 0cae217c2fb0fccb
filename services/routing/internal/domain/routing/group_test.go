package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGroupWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Group
		want Group
	}{
		{"an empty group gets least_loaded, a 2h deadline and notify_head",
			Group{Code: "vip"},
			Group{Code: "vip", Strategy: StrategyLeastLoaded, TransferDeadline: 2 * time.Hour, Escalation: EscalationNotifyHead}},
		{"set values are kept",
			Group{Code: "vip", Strategy: StrategyRoundRobin, TransferDeadline: 30 * time.Minute, Escalation: EscalationReassignToSenior},
			Group{Code: "vip", Strategy: StrategyRoundRobin, TransferDeadline: 30 * time.Minute, Escalation: EscalationReassignToSenior}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.in.WithDefaults())
		})
	}
}

func TestGroupValidate(t *testing.T) {
	t.Parallel()
	good := Group{Code: "logistics", DisplayName: "物流组"}.WithDefaults()
	with := func(f func(*Group)) Group { g := good; f(&g); return g }
	tests := []struct {
		name   string
		group  Group
		fields []string
	}{
		{"a defaulted group with a code and a name is valid", good, nil},
		{"a code with upper case is rejected", with(func(g *Group) { g.Code = "Logistics" }), []string{"group.code"}},
		{"a code starting with a digit is rejected", with(func(g *Group) { g.Code = "1st_line" }), []string{"group.code"}},
		{"an empty code is rejected", with(func(g *Group) { g.Code = "" }), []string{"group.code"}},
		{"a 65-character code is rejected", with(func(g *Group) { g.Code = "a" + strings.Repeat("b", 64) }), []string{"group.code"}},
		{"a 64-character code is accepted", with(func(g *Group) { g.Code = "a" + strings.Repeat("b", 63) }), nil},
		{"a blank name is rejected", with(func(g *Group) { g.DisplayName = "  " }), []string{"group.display_name"}},
		{"a 101-character name is rejected", with(func(g *Group) { g.DisplayName = strings.Repeat("组", 101) }), []string{"group.display_name"}},
		{"a 100-character chinese name is accepted", with(func(g *Group) { g.DisplayName = strings.Repeat("组", 100) }), nil},
		{"an unknown strategy is rejected", with(func(g *Group) { g.Strategy = "random" }), []string{"group.strategy"}},
		{"a 59-second transfer deadline is too short", with(func(g *Group) { g.TransferDeadline = 59 * time.Second }), []string{"group.transfer_accept_deadline"}},
		{"a one-minute transfer deadline is accepted", with(func(g *Group) { g.TransferDeadline = time.Minute }), nil},
		{"a seven-day transfer deadline is accepted", with(func(g *Group) { g.TransferDeadline = 7 * 24 * time.Hour }), nil},
		{"an eight-day transfer deadline is too long", with(func(g *Group) { g.TransferDeadline = 8 * 24 * time.Hour }), []string{"group.transfer_accept_deadline"}},
		{"an unknown escalation policy is rejected", with(func(g *Group) { g.Escalation = "page_everyone" }), []string{"group.escalation_policy"}},
		{"every bad field is reported at once", Group{Code: "X"}, []string{"group.code", "group.display_name", "group.strategy",
			"group.transfer_accept_deadline", "group.escalation_policy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireFields(t, tc.group.Validate("group"), tc.fields...)
		})
	}
}

func TestValidateWithoutPrefixNamesBareFields(t *testing.T) {
	t.Parallel()
	requireFields(t, Group{}.WithDefaults().Validate(""), "code", "display_name")
}
