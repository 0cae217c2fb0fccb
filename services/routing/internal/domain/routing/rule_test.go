package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestConditionMatches(t *testing.T) {
	t.Parallel()
	complaintL1 := Facts{Type: "complaint", Subcategory: "product_quality", Level: "l1", Urgency: "critical", Channel: "phone", Tier: "vip", Text: "充电时起火了"}
	tests := []struct {
		name  string
		cond  Condition
		facts Facts
		want  bool
	}{
		{"an empty condition matches every ticket", Condition{}, Facts{}, true},
		{"a listed type matches", Condition{Types: []string{"inquiry", "complaint"}}, complaintL1, true},
		{"an unlisted type does not match", Condition{Types: []string{"inquiry"}}, complaintL1, false},
		{"an unclassified ticket does not match a type list", Condition{Types: []string{"inquiry"}}, Facts{}, false},
		{"every non-empty list must match", Condition{Types: []string{"complaint"}, Levels: []string{"l2"}}, complaintL1, false},
		{"type and level together match an l1 complaint", Condition{Types: []string{"complaint"}, Levels: []string{"l1"}}, complaintL1, true},
		{"a listed subcategory matches", Condition{Subcategories: []string{"product_quality"}}, complaintL1, true},
		{"a listed urgency matches", Condition{Urgencies: []string{"critical"}}, complaintL1, true},
		{"an unlisted channel does not match", Condition{Channels: []string{"web_chat", "app"}}, complaintL1, false},
		{"a listed tier matches", Condition{Tiers: []string{"vip", "key_account"}}, complaintL1, true},
		{"a ticket without a tier does not match a tier list", Condition{Tiers: []string{"vip"}}, Facts{Type: "inquiry"}, false},
		{"a chinese keyword matches as a substring", Condition{Keywords: []string{"起火"}}, complaintL1, true},
		{"an english keyword matches a whole word whatever the case", Condition{Keywords: []string{"crash"}}, Facts{Text: "The app CRASH again"}, true},
		{"an english keyword does not match inside a longer word", Condition{Keywords: []string{"crash"}}, Facts{Text: "crashing all day"}, false},
		{"a multi-word keyword matches across extra spaces", Condition{Keywords: []string{"not working"}}, Facts{Text: "screen   Not Working"}, true},
		{"any one keyword is enough", Condition{Keywords: []string{"退款", "refund"}}, Facts{Text: "我要退款"}, true},
		{"keywords and lists must both match", Condition{Types: []string{"inquiry"}, Keywords: []string{"起火"}}, complaintL1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.cond.Matches(tc.facts))
		})
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	good := Rule{Position: 10, DisplayName: "物流 → 物流组", TargetGroupID: id(1), Enabled: true,
		Condition: Condition{Types: []string{"inquiry"}, Subcategories: []string{"logistics_status"}, Keywords: []string{"快递"}}}
	with := func(f func(*Rule)) Rule { r := good; f(&r); return r }
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name   string
		rule   Rule
		fields []string
	}{
		{"a rule with a target and known codes is valid", good, nil},
		{"a rule without a name is valid", with(func(r *Rule) { r.DisplayName = "" }), nil},
		{"a catch-all rule with an empty condition is valid", with(func(r *Rule) { r.Condition = Condition{} }), nil},
		{"a rule without a target group is rejected", with(func(r *Rule) { r.TargetGroupID = uuid.Nil }), []string{"rule.target_group_id"}},
		{"a negative position is rejected", with(func(r *Rule) { r.Position = -1 }), []string{"rule.position"}},
		{"a position over a million is rejected", with(func(r *Rule) { r.Position = 1_000_001 }), []string{"rule.position"}},
		{"an unknown ticket type is rejected at its index", with(func(r *Rule) { r.Condition.Types = []string{"inquiry", "question"} }), []string{"rule.condition.types[1]"}},
		{"an unknown level is rejected", with(func(r *Rule) { r.Condition.Levels = []string{"l4"} }), []string{"rule.condition.levels[0]"}},
		{"an unknown urgency is rejected", with(func(r *Rule) { r.Condition.Urgencies = []string{"high"} }), []string{"rule.condition.urgencies[0]"}},
		{"the web chat channel code is accepted", with(func(r *Rule) { r.Condition.Channels = []string{"web_chat"} }), nil},
		{"an unknown channel is rejected", with(func(r *Rule) { r.Condition.Channels = []string{"fax"} }), []string{"rule.condition.channels[0]"}},
		{"a subcategory that is not lower snake is rejected", with(func(r *Rule) { r.Condition.Subcategories = []string{"Refund"} }), []string{"rule.condition.subcategories[0]"}},
		{"a 33-character tier is rejected", with(func(r *Rule) { r.Condition.Tiers = []string{strings.Repeat("v", 33)} }), []string{"rule.condition.tiers[0]"}},
		{"50 keywords are accepted", with(func(r *Rule) { r.Condition.Keywords = many(50, "快递") }), nil},
		{"51 keywords are too many", with(func(r *Rule) { r.Condition.Keywords = many(51, "快递") }), []string{"rule.condition.keywords"}},
		{"a 64-character keyword is accepted", with(func(r *Rule) { r.Condition.Keywords = []string{strings.Repeat("快", 64)} }), nil},
		{"a 65-character keyword is rejected", with(func(r *Rule) { r.Condition.Keywords = []string{strings.Repeat("快", 65)} }), []string{"rule.condition.keywords[0]"}},
		{"an empty keyword is rejected", with(func(r *Rule) { r.Condition.Keywords = []string{"快递", ""} }), []string{"rule.condition.keywords[1]"}},
		{"a keyword with surrounding spaces is rejected", with(func(r *Rule) { r.Condition.Keywords = []string{" refund"} }), []string{"rule.condition.keywords[0]"}},
		{"a required skill that is not lower snake is rejected", with(func(r *Rule) { r.RequiredSkills = []string{"English"} }), []string{"rule.required_skills[0]"}},
		{"11 required skills are too many", with(func(r *Rule) { r.RequiredSkills = many(11, "english") }), []string{"rule.required_skills"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireFields(t, tc.rule.Validate("rule"), tc.fields...)
		})
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	refund := Condition{Subcategories: []string{"refund"}}
	tests := []struct {
		name   string
		rules  []Rule
		facts  Facts
		want   uuid.UUID // the winning rule's id; uuid.Nil for no match
		wantOK bool
	}{
		{
			name: "rules are tried by position, not slice order",
			rules: []Rule{
				{ID: id(1), Position: 20, Enabled: true, TargetGroupID: id(90)},
				{ID: id(2), Position: 10, Enabled: true, TargetGroupID: id(91), Condition: refund},
			},
			facts: Facts{Type: "request", Subcategory: "refund"}, want: id(2), wantOK: true,
		},
		{
			name: "a rule that does not match is passed over",
			rules: []Rule{
				{ID: id(1), Position: 20, Enabled: true, TargetGroupID: id(90)},
				{ID: id(2), Position: 10, Enabled: true, TargetGroupID: id(91), Condition: refund},
			},
			facts: Facts{Type: "inquiry", Subcategory: "product"}, want: id(1), wantOK: true,
		},
		{
			name: "a disabled rule is skipped even when it matches",
			rules: []Rule{
				{ID: id(1), Position: 10, Enabled: false, TargetGroupID: id(90), Condition: refund},
				{ID: id(2), Position: 20, Enabled: true, TargetGroupID: id(91)},
			},
			facts: Facts{Subcategory: "refund"}, want: id(2), wantOK: true,
		},
		{
			name: "on equal positions the older rule wins",
			rules: []Rule{
				{ID: id(1), Position: 10, Enabled: true, CreatedAt: t0.Add(time.Minute)},
				{ID: id(2), Position: 10, Enabled: true, CreatedAt: t0},
			},
			want: id(2), wantOK: true,
		},
		{
			name: "on equal positions and times the lower id wins",
			rules: []Rule{
				{ID: id(2), Position: 10, Enabled: true, CreatedAt: t0},
				{ID: id(1), Position: 10, Enabled: true, CreatedAt: t0},
			},
			want: id(1), wantOK: true,
		},
		{
			name:  "no matching enabled rule routes nowhere",
			rules: []Rule{{ID: id(1), Position: 10, Enabled: true, Condition: refund}, {ID: id(2), Position: 20}},
			facts: Facts{Subcategory: "product"},
		},
		{name: "no rules route nowhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Route(tc.rules, tc.facts)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got.ID)
		})
	}
}

func TestRouteLeavesTheCallersSliceAlone(t *testing.T) {
	t.Parallel()
	rules := []Rule{{ID: id(1), Position: 20, Enabled: true}, {ID: id(2), Position: 10, Enabled: true}}
	got, ok := Route(rules, Facts{})
	require.True(t, ok)
	require.Equal(t, id(2), got.ID)
	require.Equal(t, id(1), rules[0].ID, "Route must not sort the caller's slice")
}
