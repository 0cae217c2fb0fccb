package intake_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

const (
	typInquiry   = intakev1.TicketType_TICKET_TYPE_INQUIRY
	typComplaint = intakev1.TicketType_TICKET_TYPE_COMPLAINT
	typRequest   = intakev1.TicketType_TICKET_TYPE_REQUEST
)

// TestDefaultClassification submits texts against the seeded default rules.
func TestDefaultClassification(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name     string
		text     string
		typ      intakev1.TicketType
		sub      string
		urgency  intakev1.Urgency
		level    intakev1.ComplaintLevel
		priority intakev1.Priority
	}{
		{"a complaint beats a delivery question", "快递员态度很差，我要投诉", typComplaint, "service_attitude", intakev1.Urgency_URGENCY_NORMAL, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L3, intakev1.Priority_PRIORITY_P3},
		{"a delivery question in Chinese", "我的快递到哪里了", typInquiry, "logistics_status", intakev1.Urgency_URGENCY_NORMAL, 0, intakev1.Priority_PRIORITY_P4},
		{"a refund in English, whole words, any case", "I want a REFUND now", typRequest, "refund", intakev1.Urgency_URGENCY_NORMAL, 0, intakev1.Priority_PRIORITY_P4},
		{"an English keyword inside a longer word does not match", "the refunded amount is wrong", 0, "", intakev1.Urgency_URGENCY_NORMAL, 0, intakev1.Priority_PRIORITY_P4},
		{"an injury raises a complaint to L1 and critical", "充电器起火了，我要投诉", typComplaint, "service_attitude", intakev1.Urgency_URGENCY_CRITICAL, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, intakev1.Priority_PRIORITY_P1},
		{"a fire on an inquiry is critical but has no level", "my order caught fire", typInquiry, "order_status", intakev1.Urgency_URGENCY_CRITICAL, 0, intakev1.Priority_PRIORITY_P1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := s.submit(t, tc.text)
			require.Equal(t, tc.typ, tk.GetType())
			require.Equal(t, tc.sub, tk.GetSubcategory())
			require.Equal(t, tc.urgency, tk.GetUrgency())
			require.Equal(t, tc.level, tk.GetLevel())
			require.Equal(t, tc.priority, tk.GetPriority())
			if tc.typ != 0 {
				require.Equal(t, intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE, tk.GetClassificationSource())
				require.NotEmpty(t, tk.GetClassificationRuleId(), "the ticket records which rule fired")
			}
			tested, err := s.client.TestClassification(staff(t), &intakev1.TestClassificationRequest{Text: tc.text})
			require.NoError(t, err)
			require.Equal(t, tk.GetClassificationRuleId(), tested.GetRuleId(), "TestClassification decides as submit does")
			require.Equal(t, tc.priority, tested.GetPriority())
		})
	}
}

func TestAdapterHintsWin(t *testing.T) {
	t.Parallel()
	s := start(t)
	req := s.submitReq("我要退款") // the rules would say request.refund
	req.TypeHint, req.SubcategoryHint, req.LevelHint = typComplaint, "product_quality", intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	tk := resp.GetTicket()
	require.Equal(t, typComplaint, tk.GetType())
	require.Equal(t, "product_quality", tk.GetSubcategory())
	require.Equal(t, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2, tk.GetLevel())
	require.Equal(t, intakev1.Priority_PRIORITY_P2, tk.GetPriority())
	require.Equal(t, intakev1.ClassificationSource_CLASSIFICATION_SOURCE_ADAPTER, tk.GetClassificationSource())
	require.Empty(t, tk.GetClassificationRuleId())
}

// TestRulesThroughTheAPI creates, orders, updates and deletes rules and subcategories, and checks that
// submit and TestClassification follow at once.
func TestRulesThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := staff(t)
	classify := func(text string) *intakev1.TestClassificationResponse {
		t.Helper()
		r, err := s.client.TestClassification(ctx, &intakev1.TestClassificationRequest{Text: text})
		require.NoError(t, err)
		return r
	}
	require.Equal(t, "logistics_status", classify("the courier lost my warranty card").GetSubcategory(), "delivery words come first by default")

	// A new subcategory and a rule ahead of every default targeting it.
	sc, err := s.client.CreateSubcategory(ctx, &intakev1.CreateSubcategoryRequest{IdempotencyKey: key("sc"), Type: typInquiry,
		Code: "warranty_card", NameZh: "保修卡", NameEn: "Warranty card"})
	require.NoError(t, err)
	require.True(t, sc.GetSubcategory().GetActive())
	createRule := &intakev1.CreateClassificationRuleRequest{IdempotencyKey: key("rule"), Rule: &intakev1.RuleSpec{
		Position: 1, Keywords: []string{"warranty card", "保修卡"}, Target: "inquiry.warranty_card", Enabled: true,
		Description: "warranty cards"}}
	rule, err := s.client.CreateClassificationRule(ctx, createRule)
	require.NoError(t, err)
	ruleID := rule.GetRule().GetRuleId()
	retried, err := s.client.CreateClassificationRule(ctx, createRule)
	require.NoError(t, err)
	require.Equal(t, ruleID, retried.GetRule().GetRuleId(), "a retried create returns the same rule")

	got := classify("the courier lost my warranty card")
	require.Equal(t, typInquiry, got.GetType())
	require.Equal(t, "warranty_card", got.GetSubcategory())
	require.Equal(t, ruleID, got.GetRuleId())
	tk := s.submit(t, "丢了保修卡")
	require.Equal(t, "warranty_card", tk.GetSubcategory())
	require.Equal(t, ruleID, tk.GetClassificationRuleId())

	// Moving the rule behind the defaults lets the delivery rule win again. Output-only fields named
	// alongside are ignored (AIP-203); a path that is no field is refused.
	moved, err := s.client.UpdateClassificationRule(ctx, &intakev1.UpdateClassificationRuleRequest{
		Rule:       &intakev1.ClassificationRule{RuleId: ruleID, Position: 10000, CreateTime: timestamppb.New(time.Unix(0, 0))},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"position", "create_time", "rule_id"}}})
	require.NoError(t, err)
	require.NotEqual(t, int64(0), moved.GetRule().GetCreateTime().AsTime().Unix(), "create_time is output only")
	_, err = s.client.UpdateClassificationRule(ctx, &intakev1.UpdateClassificationRuleRequest{
		Rule: &intakev1.ClassificationRule{RuleId: ruleID, Position: 10000}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"weight"}}})
	requireCode(t, err, codes.InvalidArgument)
	_, err = s.client.UpdateClassificationRule(ctx, &intakev1.UpdateClassificationRuleRequest{
		Rule: &intakev1.ClassificationRule{RuleId: ruleID}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"update_time"}}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, "logistics_status", classify("the courier lost my warranty card").GetSubcategory())

	// The subcategory cannot be deactivated while an enabled rule targets it.
	off := false
	_, err = s.client.UpdateSubcategory(ctx, &intakev1.UpdateSubcategoryRequest{FullCode: "inquiry.warranty_card", Active: &off})
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, []string{"RULE_TARGETS_SUBCATEGORY"}, preconditions(err))

	// Delete the rule; then it can.
	_, err = s.client.DeleteClassificationRule(ctx, &intakev1.DeleteClassificationRuleRequest{RuleId: ruleID})
	require.NoError(t, err)
	_, err = s.client.DeleteClassificationRule(ctx, &intakev1.DeleteClassificationRuleRequest{RuleId: ruleID})
	requireCode(t, err, codes.NotFound)
	upd, err := s.client.UpdateSubcategory(ctx, &intakev1.UpdateSubcategoryRequest{FullCode: "inquiry.warranty_card", Active: &off})
	require.NoError(t, err)
	require.False(t, upd.GetSubcategory().GetActive())

	// An inactive subcategory is refused as a hint and as a new rule's target, and hidden by default.
	req := s.submitReq("hello")
	req.TypeHint, req.SubcategoryHint = typInquiry, "warranty_card"
	_, err = s.client.SubmitTicket(as(t.Context(), adapterP), req)
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"subcategory_hint"}, badFields(err))
	_, err = s.client.CreateClassificationRule(ctx, &intakev1.CreateClassificationRuleRequest{IdempotencyKey: key("rule"),
		Rule: &intakev1.RuleSpec{Keywords: []string{"card"}, Target: "inquiry.warranty_card", Enabled: true}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"rule.target"}, badFields(err))
	list, err := s.client.ListSubcategories(ctx, &intakev1.ListSubcategoriesRequest{Type: typInquiry})
	require.NoError(t, err)
	for _, sc := range list.GetSubcategories() {
		require.NotEqual(t, "warranty_card", sc.GetCode())
	}
	all, err := s.client.ListSubcategories(ctx, &intakev1.ListSubcategoriesRequest{Type: typInquiry, IncludeInactive: true})
	require.NoError(t, err)
	require.Len(t, all.GetSubcategories(), len(list.GetSubcategories())+1)

	// A taken code is AlreadyExists naming the field.
	_, err = s.client.CreateSubcategory(ctx, &intakev1.CreateSubcategoryRequest{IdempotencyKey: key("sc"), Type: typRequest,
		Code: "refund", NameZh: "退款", NameEn: "Refund"})
	requireCode(t, err, codes.AlreadyExists)
	require.Equal(t, []string{"code"}, badFields(err))
}

func TestRuleOrderDecidesBetweenMatchingRules(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := staff(t)
	mk := func(pos int32, target string) string {
		r, err := s.client.CreateClassificationRule(ctx, &intakev1.CreateClassificationRuleRequest{IdempotencyKey: key("rule"),
			Rule: &intakev1.RuleSpec{Position: pos, Keywords: []string{"zebra"}, Target: target, Enabled: true}})
		require.NoError(t, err)
		return r.GetRule().GetRuleId()
	}
	second := mk(6, "suggestion.product_feature")
	first := mk(5, "inquiry.product")
	got, err := s.client.TestClassification(ctx, &intakev1.TestClassificationRequest{Text: "a zebra"})
	require.NoError(t, err)
	require.Equal(t, first, got.GetRuleId(), "the lower position wins whatever the creation order")

	rules, err := s.client.ListClassificationRules(ctx, &intakev1.ListClassificationRulesRequest{})
	require.NoError(t, err)
	var order []string
	for _, r := range rules.GetRules() {
		if r.GetRuleId() == first || r.GetRuleId() == second {
			order = append(order, r.GetRuleId())
		}
	}
	require.Equal(t, []string{first, second}, order, "rules are listed in evaluation order")

	// Disabling the winner hands the decision to the next rule.
	_, err = s.client.UpdateClassificationRule(ctx, &intakev1.UpdateClassificationRuleRequest{
		Rule: &intakev1.ClassificationRule{RuleId: first, Enabled: false}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	require.NoError(t, err)
	got, err = s.client.TestClassification(ctx, &intakev1.TestClassificationRequest{Text: "a zebra"})
	require.NoError(t, err)
	require.Equal(t, second, got.GetRuleId())
}

func TestRuleValidation(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name  string
		rule  *intakev1.RuleSpec
		field string
	}{
		{"no keywords", &intakev1.RuleSpec{Target: "request.refund", Enabled: true}, "rule.keywords"},
		{"a target that does not exist", &intakev1.RuleSpec{Keywords: []string{"x"}, Target: "request.teleport", Enabled: true}, "rule.target"},
		{"a keyword with surrounding spaces", &intakev1.RuleSpec{Keywords: []string{" x"}, Target: "request.refund", Enabled: true}, "rule.keywords[0]"},
		{"no effect at all", &intakev1.RuleSpec{Keywords: []string{"x"}, Enabled: true}, "rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.client.CreateClassificationRule(staff(t), &intakev1.CreateClassificationRuleRequest{
				IdempotencyKey: key("rule"), Rule: proto.Clone(tc.rule).(*intakev1.RuleSpec)})
			requireCode(t, err, codes.InvalidArgument)
			fields := badFields(err)
			require.NotEmpty(t, fields)
			require.Contains(t, fields[0], tc.field)
		})
	}
}
