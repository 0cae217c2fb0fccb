package routing

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// defaultGroupIDs gives each default group a fixed id, as the store would after seeding.
func defaultGroupIDs() map[string]uuid.UUID {
	ids := map[string]uuid.UUID{}
	for i, g := range DefaultGroups() {
		ids[g.Code] = id(100 + i)
	}
	return ids
}

func TestDefaultGroupsAreValid(t *testing.T) {
	t.Parallel()
	codes := map[string]bool{}
	for _, g := range DefaultGroups() {
		t.Run(g.Code, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, g.Validate("group"))
			require.True(t, g.Builtin)
			require.Equal(t, StrategyLeastLoaded, g.Strategy)
			require.Equal(t, DefaultTransferDeadline, g.TransferDeadline)
		})
		require.False(t, codes[g.Code], "duplicate code %s", g.Code)
		codes[g.Code] = true
	}
	require.Equal(t, map[string]bool{"general": true, "logistics": true, "after_sales": true, "tech_support": true, "senior_complaints": true}, codes)
}

func TestDefaultRulesAreValidAndOrdered(t *testing.T) {
	t.Parallel()
	rules := DefaultRules(defaultGroupIDs())
	for i, r := range rules {
		require.NoError(t, r.Validate("rule"), r.DisplayName)
		require.True(t, r.Enabled, r.DisplayName)
		require.True(t, r.Builtin, r.DisplayName)
		require.Equal(t, (i+1)*10, r.Position, "positions step by 10: %s", r.DisplayName)
	}
	require.Equal(t, Condition{}, rules[len(rules)-1].Condition, "the last rule is the catch-all")
}

func TestDefaultRulesRouteEachExample(t *testing.T) {
	t.Parallel()
	ids := defaultGroupIDs()
	rules := DefaultRules(ids)
	tests := []struct {
		name  string
		facts Facts
		group string
	}{
		{"an l1 complaint goes to senior complaints", Facts{Type: "complaint", Subcategory: "product_quality", Level: "l1", Urgency: "critical", Text: "充电时起火了"}, GroupSeniorComplaints},
		{"an l1 logistics complaint goes to senior complaints, not logistics", Facts{Type: "complaint", Subcategory: "logistics", Level: "l1", Text: "快递员把我撞伤了"}, GroupSeniorComplaints},
		{"a logistics status inquiry goes to logistics", Facts{Type: "inquiry", Subcategory: "logistics_status", Text: "我的快递到哪了"}, GroupLogistics},
		{"an l2 logistics complaint goes to logistics", Facts{Type: "complaint", Subcategory: "logistics", Level: "l2"}, GroupLogistics},
		{"a return or exchange goes to after-sales", Facts{Type: "request", Subcategory: "return_exchange", Text: "我想换货"}, GroupAfterSales},
		{"a refund goes to after-sales", Facts{Type: "request", Subcategory: "refund", Text: "I want a refund"}, GroupAfterSales},
		{"a refund that mentions a fault still goes to after-sales", Facts{Type: "request", Subcategory: "refund", Text: "机器故障，我要退款"}, GroupAfterSales},
		{"an l3 product quality complaint goes to tech support", Facts{Type: "complaint", Subcategory: "product_quality", Level: "l3", Text: "质量太差"}, GroupTechSupport},
		{"a product inquiry describing a fault goes to tech support", Facts{Type: "inquiry", Subcategory: "product", Text: "手机一直死机怎么办"}, GroupTechSupport},
		{"an unclassified ticket that is not working goes to tech support", Facts{Text: "My router is NOT working since yesterday"}, GroupTechSupport},
		{"an app that crashed goes to tech support", Facts{Text: "the app crashed on login"}, GroupTechSupport},
		{"can't accept is not a technical fault", Facts{Type: "complaint", Subcategory: "service_attitude", Level: "l3", Text: "无法接受你们的态度"}, GroupGeneral},
		{"a billing error is not a technical fault", Facts{Type: "inquiry", Subcategory: "order_status", Text: "there is a billing error on my order"}, GroupGeneral},
		{"an order status inquiry goes to general", Facts{Type: "inquiry", Subcategory: "order_status", Text: "订单什么时候发货"}, GroupGeneral},
		{"a suggestion goes to general", Facts{Type: "suggestion", Subcategory: "product_feature", Text: "希望增加夜间模式"}, GroupGeneral},
		{"an unclassified ticket goes to general", Facts{Text: "你好"}, GroupGeneral},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Route(rules, tc.facts)
			require.True(t, ok)
			require.Equal(t, ids[tc.group], got.TargetGroupID, "routed by %q", got.DisplayName)
		})
	}
}

func TestDefaultRulesPanicWithoutAGroup(t *testing.T) {
	t.Parallel()
	ids := defaultGroupIDs()
	delete(ids, GroupTechSupport)
	require.PanicsWithValue(t, `routing: default rules need the id of group "tech_support"`, func() { DefaultRules(ids) })
}
