package ticket

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestClassifyWithDefaultRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		want     string // "type.subcategory", or "" for unclassified
		rule     string
		urgency  Urgency
		level    Level
		raisedBy []string
	}{
		{"a rude courier is an attitude complaint, not a delivery question", "快递员态度很差我要投诉", "complaint.service_attitude", "default.complaint.attitude", 0, 0, nil},
		{"a bare complaint about a courier beats the logistics rule", "我要投诉快递", "complaint.service_attitude", "default.complaint", 0, 0, nil},
		{"a quality complaint beats the generic complaint", "质量太差我要投诉", "complaint.product_quality", "default.complaint.quality", 0, 0, nil},
		{"an upper-case english word matches case-insensitively", "Where is my DELIVERY?", "inquiry.logistics_status", "default.inquiry.logistics", 0, 0, nil},
		{"refunded is not the whole word refund", "I was refunded twice", "", "", 0, 0, nil},
		{"a refund request", "I want a refund", "request.refund", "default.request.refund", 0, 0, nil},
		{"an english word right after chinese still matches", "我要refund", "request.refund", "default.request.refund", 0, 0, nil},
		{"punctuation bounds a word", "refund, please!", "request.refund", "default.request.refund", 0, 0, nil},
		{"a refund for a delivery is a refund", "refund for my delivery", "request.refund", "default.request.refund", 0, 0, nil},
		{"fire while charging raises critical and l1 without classifying", "手机充电时起火了", "", "", UrgencyCritical, LevelL1, []string{"default.safety"}},
		{"an injury in english raises critical and l1", "my son was injured by the blender", "", "", UrgencyCritical, LevelL1, []string{"default.safety"}},
		{"urgency raises even when a later rule classifies", "urgent: where is my parcel", "inquiry.logistics_status", "default.inquiry.logistics", UrgencyUrgent, 0, []string{"default.urgent"}},
		{"the larger of two urgency raises wins", "urgent!!! the charger exploded", "", "", UrgencyCritical, LevelL1, []string{"default.safety", "default.urgent"}},
		{"a process complaint raises l2", "多次联系都没人处理", "complaint.process", "default.complaint.process", 0, LevelL2, []string{"default.complaint.process"}},
		{"a multi-word keyword matches across extra spaces", "I need it as  soon   as possible", "", "", UrgencyUrgent, 0, []string{"default.urgent"}},
		{"nothing matching leaves the ticket unclassified", "你好", "", "", 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tc.text, DefaultRules())
			target := ""
			if got.Type != TypeUnclassified {
				target = FormatTarget(got.Type, got.Subcategory)
			}
			require.Equal(t, tc.want, target)
			if tc.rule != "" {
				require.Equal(t, tc.rule, got.RuleID)
			}
			if tc.want == "" {
				require.Empty(t, got.RuleID)
			}
			require.Equal(t, tc.urgency, got.Urgency)
			require.Equal(t, tc.level, got.Level)
			require.Equal(t, tc.raisedBy, got.RaisedBy)
		})
	}
}

func TestClassifyRuleMechanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		rules   []Rule
		want    string
		rule    string
		urgency Urgency
		level   Level
	}{
		{
			name: "rules run by position, not by slice order",
			text: "refund my order",
			rules: []Rule{
				{ID: "order", Position: 20, Keywords: []string{"order"}, Target: "inquiry.order_status", Enabled: true},
				{ID: "refund", Position: 10, Keywords: []string{"refund"}, Target: "request.refund", Enabled: true},
			},
			want: "request.refund", rule: "refund",
		},
		{
			name: "equal positions keep the given order",
			text: "refund my order",
			rules: []Rule{
				{ID: "order", Position: 10, Keywords: []string{"order"}, Target: "inquiry.order_status", Enabled: true},
				{ID: "refund", Position: 10, Keywords: []string{"refund"}, Target: "request.refund", Enabled: true},
			},
			want: "inquiry.order_status", rule: "order",
		},
		{
			name: "a disabled rule neither classifies nor raises",
			text: "refund now, urgent",
			rules: []Rule{
				{ID: "refund", Position: 10, Keywords: []string{"refund"}, Target: "request.refund"},
				{ID: "urgent", Position: 20, Keywords: []string{"urgent"}, SetUrgency: UrgencyUrgent},
			},
		},
		{
			name: "a rule with a malformed target does not classify but the next one does",
			text: "refund",
			rules: []Rule{
				{ID: "bad", Position: 10, Keywords: []string{"refund"}, Target: "refund", Enabled: true},
				{ID: "good", Position: 20, Keywords: []string{"refund"}, Target: "request.refund", Enabled: true},
			},
			want: "request.refund", rule: "good",
		},
		{
			name: "the most severe level raised wins",
			text: "slow and dangerous",
			rules: []Rule{
				{ID: "slow", Position: 10, Keywords: []string{"slow"}, SetLevel: LevelL3, Enabled: true},
				{ID: "danger", Position: 20, Keywords: []string{"dangerous"}, SetLevel: LevelL2, Enabled: true},
			},
			level: LevelL2,
		},
		{
			name:  "a keyword with a non-ascii letter matches inside a word",
			text:  "two cafés nearby",
			rules: []Rule{{ID: "cafe", Keywords: []string{"café"}, Target: "inquiry.service", Enabled: true}},
			want:  "inquiry.service", rule: "cafe",
		},
		{
			name:  "an accented letter continues an english word",
			text:  "café",
			rules: []Rule{{ID: "caf", Keywords: []string{"caf"}, Target: "inquiry.service", Enabled: true}},
		},
		{
			name:  "a keyword ending in punctuation may be followed by a letter",
			text:  "c++11 support",
			rules: []Rule{{ID: "cpp", Keywords: []string{"c++"}, Target: "inquiry.product", Enabled: true}},
			want:  "inquiry.product", rule: "cpp",
		},
		{
			name:  "digits continue a word",
			text:  "order2 status",
			rules: []Rule{{ID: "order", Keywords: []string{"order"}, Target: "inquiry.order_status", Enabled: true}},
		},
		{
			name:  "a later occurrence can match when an earlier one is inside a word",
			text:  "returned items, return label",
			rules: []Rule{{ID: "ret", Keywords: []string{"return"}, Target: "request.return_exchange", Enabled: true}},
			want:  "request.return_exchange", rule: "ret",
		},
		{
			name:  "upper-case chinese-adjacent keyword text is lowered before matching",
			text:  "申请REFUND",
			rules: []Rule{{ID: "refund", Keywords: []string{"Refund"}, Target: "request.refund", Enabled: true}},
			want:  "request.refund", rule: "refund",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tc.text, tc.rules)
			target := ""
			if got.Type != TypeUnclassified {
				target = FormatTarget(got.Type, got.Subcategory)
			}
			require.Equal(t, tc.want, target)
			require.Equal(t, tc.rule, got.RuleID)
			require.Equal(t, tc.urgency, got.Urgency)
			require.Equal(t, tc.level, got.Level)
		})
	}
}

func TestRuleMatchesIgnoresEnabled(t *testing.T) {
	t.Parallel()
	r := Rule{Keywords: []string{"not working"}}
	require.True(t, r.Matches("The app is NOT\tworking"))
	require.False(t, r.Matches("nothing is working"))
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		hints    Hints
		want     string
		source   ClassificationSource
		rule     string
		urgency  Urgency
		level    Level
		priority Priority
	}{
		{"rules classify when there is no hint", "I want a refund", Hints{}, "request.refund", SourceRule, "default.request.refund", UrgencyNormal, LevelNone, PriorityP4},
		{"a complaint found by rules defaults to l3", "我要投诉", Hints{}, "complaint.service_attitude", SourceRule, "default.complaint", UrgencyNormal, LevelL3, PriorityP3},
		{"a type hint beats the rules", "我要投诉", Hints{Type: TypeInquiry, Subcategory: "policy"}, "inquiry.policy", SourceAdapterHint, "", UrgencyNormal, LevelNone, PriorityP4},
		{"a type hint without subcategory leaves it empty", "I want a refund", Hints{Type: TypeRequest}, "request.", SourceAdapterHint, "", UrgencyNormal, LevelNone, PriorityP4},
		{"fire on a hinted complaint is l1 and p1", "手机充电时起火了", Hints{Type: TypeComplaint}, "complaint.", SourceAdapterHint, "", UrgencyCritical, LevelL1, PriorityP1},
		{"fire on an unclassified ticket is critical p1 without a level", "手机充电时起火了", Hints{}, "", SourceNone, "", UrgencyCritical, LevelNone, PriorityP1},
		{"a rule raise beats a lower urgency hint", "the charger exploded", Hints{Urgency: UrgencyUrgent}, "", SourceNone, "", UrgencyCritical, LevelNone, PriorityP1},
		{"a higher urgency hint beats a lower rule raise", "urgent, where is my parcel", Hints{Urgency: UrgencyCritical}, "inquiry.logistics_status", SourceRule, "default.inquiry.logistics", UrgencyCritical, LevelNone, PriorityP1},
		{"a level hint is dropped when the ticket is not a complaint", "I want a refund", Hints{Level: LevelL2}, "request.refund", SourceRule, "default.request.refund", UrgencyNormal, LevelNone, PriorityP4},
		{"a level hint stays on a complaint", "我要投诉", Hints{Level: LevelL2}, "complaint.service_attitude", SourceRule, "default.complaint", UrgencyNormal, LevelL2, PriorityP2},
		{"a rule's l1 beats a hinted l3", "staff were rude and my hand got burned", Hints{Level: LevelL3}, "complaint.service_attitude", SourceRule, "default.complaint.attitude", UrgencyCritical, LevelL1, PriorityP1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Decide(tc.text, tc.hints, DefaultRules())
			target := ""
			if d.Type != TypeUnclassified {
				target = FormatTarget(d.Type, d.Subcategory)
			}
			require.Equal(t, tc.want, target)
			require.Equal(t, tc.source, d.Source)
			require.Equal(t, tc.rule, d.RuleID)
			require.Equal(t, tc.urgency, d.Urgency)
			require.Equal(t, tc.level, d.Level)
			require.Equal(t, tc.priority, d.Priority)
		})
	}
}

func TestValidateRule(t *testing.T) {
	t.Parallel()
	valid := func() Rule {
		return Rule{ID: "r", Position: 5, Keywords: []string{"退款", "money back"}, Target: "request.refund", Enabled: true}
	}
	tests := []struct {
		name   string
		change func(r *Rule)
		fields []string // every field the error must name; empty for a valid rule
	}{
		{"a refund rule is valid", func(*Rule) {}, nil},
		{"a raise-only rule is valid", func(r *Rule) { r.Target, r.SetUrgency = "", UrgencyUrgent }, nil},
		{"a disabled rule is validated all the same", func(r *Rule) { r.Enabled, r.Keywords = false, nil }, []string{"keywords"}},
		{"no keywords", func(r *Rule) { r.Keywords = nil }, []string{"keywords"}},
		{"too many keywords", func(r *Rule) { r.Keywords = make([]string, MaxRuleKeywords+1); fillKeywords(r.Keywords) }, []string{"keywords"}},
		{"a blank keyword", func(r *Rule) { r.Keywords = []string{"ok", "   "} }, []string{"keywords[1]"}},
		{"a keyword of 65 characters", func(r *Rule) { r.Keywords = []string{strings.Repeat("字", 65)} }, []string{"keywords[0]"}},
		{"a keyword of 64 characters", func(r *Rule) { r.Keywords = []string{strings.Repeat("字", 64)} }, nil},
		{"a keyword with surrounding spaces", func(r *Rule) { r.Keywords = []string{" refund"} }, []string{"keywords[0]"}},
		{"a keyword with a nul byte", func(r *Rule) { r.Keywords = []string{"re\x00fund"} }, []string{"keywords[0]"}},
		{"a malformed target", func(r *Rule) { r.Target = "refund" }, []string{"target"}},
		{"a target outside the taxonomy", func(r *Rule) { r.Target = "request.teleport" }, []string{"target"}},
		{"a target of the unclassified type", func(r *Rule) { r.Target = "unclassified.refund" }, []string{"target"}},
		{"a rule that does nothing", func(r *Rule) { r.Target = "" }, []string{"target"}},
		{"an unknown urgency", func(r *Rule) { r.SetUrgency = Urgency(9) }, []string{"set_urgency"}},
		{"an unknown level", func(r *Rule) { r.SetLevel = Level(9) }, []string{"set_level"}},
		{"a negative position", func(r *Rule) { r.Position = -1 }, []string{"position"}},
		{"every problem is reported at once", func(r *Rule) { r.Keywords = []string{""}; r.Target = "x.y"; r.Position = -3 }, []string{"keywords[0]", "target", "position"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			tc.change(&r)
			err := ValidateRule(r, DefaultTaxonomy())
			if len(tc.fields) == 0 {
				require.NoError(t, err)
				return
			}
			for _, f := range tc.fields {
				requireInvalidField(t, err, f)
			}
			e, _ := apierr.As(err)
			require.Len(t, e.Fields, len(tc.fields))
		})
	}
}

func fillKeywords(ks []string) {
	for i := range ks {
		ks[i] = "k" + strings.Repeat("x", i%10)
	}
}

func TestDefaultRulesAreValidAndOrdered(t *testing.T) {
	t.Parallel()
	rules := DefaultRules()
	seen := map[string]bool{}
	for i, r := range rules {
		t.Run(r.ID+" is valid", func(t *testing.T) {
			require.NoError(t, ValidateRule(r, DefaultTaxonomy()))
			require.True(t, r.Enabled)
		})
		require.False(t, seen[r.ID], "duplicate rule id %s", r.ID)
		seen[r.ID] = true
		if i > 0 {
			require.Greater(t, r.Position, rules[i-1].Position, "positions must be strictly increasing")
		}
	}
}

// TestPreparedRulesClassifyAlike proves the policy cache's prepared rules (sorted, keywords normalized once)
// decide exactly what the raw rules decide.
func TestPreparedRulesClassifyAlike(t *testing.T) {
	t.Parallel()
	raw := DefaultRules()
	slices.Reverse(raw) // out of order on purpose: Classify must sort unprepared rules itself
	prepared := PrepareRules(raw)
	for _, text := range []string{
		"快递员态度很差我要投诉", "Where is my DELIVERY?", "I want a refund", "refunded already",
		"手机充电时起火了", "加急！订单 SO1 还没发货", "please  SUGGEST   a feature", "",
	} {
		require.Equal(t, Classify(text, raw), Classify(text, prepared), text)
	}
}
