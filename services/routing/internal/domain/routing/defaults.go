package routing

import (
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// Codes of the groups seeded on first start.
const (
	GroupGeneral          = "general"
	GroupLogistics        = "logistics"
	GroupAfterSales       = "after_sales"
	GroupTechSupport      = "tech_support"
	GroupSeniorComplaints = "senior_complaints"
)

// builtinNamespace derives the ids of the default groups from their codes.
var builtinNamespace = uuid.MustParse("6f1c2a3e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")

// BuiltinGroupID is the id the default group with code gets in every installation (a name-based UUID), so
// configuration, scripts and staff tokens can name the seeded groups before anyone has read an id.
func BuiltinGroupID(code string) uuid.UUID { return uuid.NewSHA1(builtinNamespace, []byte(code)) }

// DefaultGroups are the groups a fresh installation starts with (issue #6), with their BuiltinGroupID.
// The store seeds them once, assigning times; afterwards admins own them. Heads are unset until an admin
// names one.
func DefaultGroups() []Group {
	groups := []Group{
		{Code: GroupGeneral, DisplayName: "综合组"},
		{Code: GroupLogistics, DisplayName: "物流组"},
		{Code: GroupAfterSales, DisplayName: "售后组"},
		{Code: GroupTechSupport, DisplayName: "技术支持组"},
		{Code: GroupSeniorComplaints, DisplayName: "高级投诉组"},
	}
	for i := range groups {
		groups[i].ID = BuiltinGroupID(groups[i].Code)
		groups[i].Builtin = true
		groups[i] = groups[i].WithDefaults()
	}
	return groups
}

// technicalKeywords route tickets describing a technical fault to tech support. Intake's taxonomy has no
// "technical" subcategory, so keywords stand in for it. They are specific phrases rather than 无法 or
// "error" alone, which would also catch "无法接受你们的态度" and "billing error", and leave out 不能用 and
// 用不了 ("优惠券用不了" is a coupon question).
var technicalKeywords = []string{
	"故障", "死机", "闪退", "黑屏", "蓝屏", "报错", "无法开机", "无法启动", "无法登录", "无法连接", "连不上", "打不开",
	"开不了机",
	"not working", "doesn't work", "does not work", "won't turn on", "crash", "crashes", "crashed", "error code",
	"error message",
}

// DefaultRules are the routing rules a fresh installation starts with, given the ids of DefaultGroups by code.
// The store seeds them once; afterwards admins own them. Positions leave gaps of 10 so admins can slot rules
// in between. Order is precedence:
//  1. L1 complaints (safety, injury) go to the senior complaints group first, so they win over every topic
//     rule: a dangerous product is a senior matter before it is a quality matter.
//  2. Logistics (inquiry.logistics_status, complaint.logistics) to logistics.
//  3. Returns, exchanges and refunds (request.return_exchange, request.refund) to after-sales.
//  4. Product quality (complaint.product_quality) to tech support.
//  5. Technical faults, by keyword (see technicalKeywords), to tech support.
//  6. Anything else (an empty condition) to general.
//
// It panics when groups lacks one of the default codes: the caller seeds DefaultGroups first, so a missing
// one is a programming error found at start-up.
func DefaultRules(groups map[string]uuid.UUID) []Rule {
	target := func(code string) uuid.UUID {
		id, ok := groups[code]
		if !ok || id == uuid.Nil {
			panic(fmt.Sprintf("routing: default rules need the id of group %q", code))
		}
		return id
	}
	rules := []Rule{
		{DisplayName: "一级投诉 → 高级投诉组", TargetGroupID: target(GroupSeniorComplaints),
			Condition: Condition{Types: []string{TypeComplaint}, Levels: []string{LevelL1}}},
		{DisplayName: "物流 → 物流组", TargetGroupID: target(GroupLogistics),
			Condition: Condition{Subcategories: []string{"logistics_status", "logistics"}}},
		{DisplayName: "退换货与退款 → 售后组", TargetGroupID: target(GroupAfterSales),
			Condition: Condition{Subcategories: []string{"return_exchange", "refund"}}},
		{DisplayName: "产品质量 → 技术支持组", TargetGroupID: target(GroupTechSupport),
			Condition: Condition{Subcategories: []string{"product_quality"}}},
		{DisplayName: "技术故障 → 技术支持组", TargetGroupID: target(GroupTechSupport),
			Condition: Condition{Keywords: slices.Clone(technicalKeywords)}},
		{DisplayName: "其他 → 综合组", TargetGroupID: target(GroupGeneral)},
	}
	for i := range rules {
		rules[i].Position = (i + 1) * 10
		rules[i].Enabled = true
		rules[i].Builtin = true
	}
	return rules
}
