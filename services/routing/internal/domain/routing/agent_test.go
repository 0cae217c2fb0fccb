package routing

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestAgentWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Agent
		want Agent
	}{
		{"a new agent gets capacity 5, junior and offline",
			Agent{DisplayName: "王芳"},
			Agent{DisplayName: "王芳", Capacity: 5, Seniority: SeniorityJunior, Presence: PresenceOffline}},
		{"set values are kept",
			Agent{Capacity: 12, Seniority: SeniorityLead, Presence: PresenceOnline},
			Agent{Capacity: 12, Seniority: SeniorityLead, Presence: PresenceOnline}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.in.WithDefaults())
		})
	}
}

func TestAgentValidate(t *testing.T) {
	t.Parallel()
	good := Agent{ID: id(1), DisplayName: "王芳", GroupIDs: []uuid.UUID{id(10), id(11)}, Skills: []string{"refund", "english"}}.WithDefaults()
	with := func(f func(*Agent)) Agent { a := good; f(&a); return a }
	tests := []struct {
		name   string
		agent  Agent
		fields []string
	}{
		{"a defaulted agent with an id and a name is valid", good, nil},
		{"an agent without an id is rejected", with(func(a *Agent) { a.ID = uuid.Nil }), []string{"agent.agent_id"}},
		{"an agent without a name is rejected", with(func(a *Agent) { a.DisplayName = "" }), []string{"agent.display_name"}},
		{"capacity 0 is rejected once defaults were applied", with(func(a *Agent) { a.Capacity = 0 }), []string{"agent.capacity"}},
		{"capacity 1 is accepted", with(func(a *Agent) { a.Capacity = 1 }), nil},
		{"capacity 200 is accepted", with(func(a *Agent) { a.Capacity = 200 }), nil},
		{"capacity 201 is rejected", with(func(a *Agent) { a.Capacity = 201 }), []string{"agent.capacity"}},
		{"an unknown seniority is rejected", with(func(a *Agent) { a.Seniority = "boss" }), []string{"agent.seniority"}},
		{"an unknown presence is rejected", with(func(a *Agent) { a.Presence = "busy" }), []string{"agent.presence"}},
		{"a repeated group is rejected at its index", with(func(a *Agent) { a.GroupIDs = []uuid.UUID{id(10), id(10)} }), []string{"agent.group_ids[1]"}},
		{"a nil group id is rejected", with(func(a *Agent) { a.GroupIDs = []uuid.UUID{uuid.Nil} }), []string{"agent.group_ids[0]"}},
		{"21 groups are too many", with(func(a *Agent) {
			a.GroupIDs = nil
			for i := range 21 {
				a.GroupIDs = append(a.GroupIDs, id(100+i))
			}
		}), []string{"agent.group_ids"}},
		{"a skill with a space is rejected at its index", with(func(a *Agent) { a.Skills = []string{"refund", "after sales"} }), []string{"agent.skills[1]"}},
		{"a repeated skill is rejected", with(func(a *Agent) { a.Skills = []string{"refund", "refund"} }), []string{"agent.skills[1]"}},
		{"31 skills are too many", with(func(a *Agent) {
			a.Skills = nil
			for i := range 31 {
				a.Skills = append(a.Skills, "s"+strings.Repeat("x", i))
			}
		}), []string{"agent.skills"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireFields(t, tc.agent.Validate("agent"), tc.fields...)
		})
	}
}

func TestAgentMembershipAndSkills(t *testing.T) {
	t.Parallel()
	a := Agent{GroupIDs: []uuid.UUID{id(10)}, Skills: []string{"refund", "english"}}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"an agent is in a group it lists", a.InGroup(id(10)), true},
		{"an agent is not in a group it does not list", a.InGroup(id(11)), false},
		{"no required skills are always held", a.HasSkills(nil), true},
		{"every required skill held is a match", a.HasSkills([]string{"english", "refund"}), true},
		{"one missing skill is no match", a.HasSkills([]string{"refund", "japanese"}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}
