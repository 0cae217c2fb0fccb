package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func TestReclassify(t *testing.T) {
	t.Parallel()
	asRefund := func(tk *Ticket) {
		tk.Type, tk.Subcategory, tk.Urgency, tk.Level, tk.Priority = TypeRequest, "refund", UrgencyNormal, LevelNone, PriorityP4
		tk.ClassificationSource, tk.RuleID = SourceRule, "default.request.refund"
	}
	asL2Complaint := func(tk *Ticket) {
		tk.Type, tk.Subcategory, tk.Urgency, tk.Level, tk.Priority = TypeComplaint, "process", UrgencyNormal, LevelL2, PriorityP2
		tk.ClassificationSource, tk.RuleID = SourceRule, "default.complaint.process"
	}
	tests := []struct {
		name     string
		start    func(tk *Ticket)
		update   ClassificationUpdate
		badField string
		want     string // type.subcategory after
		level    Level
		urgency  Urgency
		priority Priority
		changed  []string
		source   ClassificationSource
	}{
		{
			name: "turning a request into a complaint clears its subcategory and gives l3", start: asRefund,
			update: ClassificationUpdate{Type: ptr(TypeComplaint)},
			want:   "complaint.", level: LevelL3, urgency: UrgencyNormal, priority: PriorityP3,
			changed: []string{"type", "subcategory", "level", "priority"}, source: SourceStaff,
		},
		{
			name: "type, subcategory and level together", start: asRefund,
			update: ClassificationUpdate{Type: ptr(TypeComplaint), Subcategory: ptr("product_quality"), Level: ptr(LevelL1)},
			want:   "complaint.product_quality", level: LevelL1, urgency: UrgencyNormal, priority: PriorityP1,
			changed: []string{"type", "subcategory", "level", "priority"}, source: SourceStaff,
		},
		{
			name: "raising urgency recomputes priority and keeps the rule", start: asRefund,
			update: ClassificationUpdate{Urgency: ptr(UrgencyCritical)},
			want:   "request.refund", urgency: UrgencyCritical, priority: PriorityP1,
			changed: []string{"urgency", "priority"}, source: SourceRule,
		},
		{
			name: "clearing the subcategory", start: asRefund,
			update: ClassificationUpdate{Subcategory: ptr("")},
			want:   "request.", urgency: UrgencyNormal, priority: PriorityP4,
			changed: []string{"subcategory"}, source: SourceStaff,
		},
		{
			name: "a complaint turned inquiry loses its level", start: asL2Complaint,
			update: ClassificationUpdate{Type: ptr(TypeInquiry), Subcategory: ptr("service")},
			want:   "inquiry.service", level: LevelNone, urgency: UrgencyNormal, priority: PriorityP4,
			changed: []string{"type", "subcategory", "level", "priority"}, source: SourceStaff,
		},
		{
			name: "lowering a complaint from l2 to l3", start: asL2Complaint,
			update: ClassificationUpdate{Level: ptr(LevelL3)},
			want:   "complaint.process", level: LevelL3, urgency: UrgencyNormal, priority: PriorityP3,
			changed: []string{"level", "priority"}, source: SourceRule,
		},
		{name: "a level on a request is invalid", start: asRefund, update: ClassificationUpdate{Level: ptr(LevelL2)}, badField: "level"},
		{name: "a complaint cannot drop its level", start: asL2Complaint, update: ClassificationUpdate{Level: ptr(LevelNone)}, badField: "level"},
		{name: "an unknown level is invalid", start: asL2Complaint, update: ClassificationUpdate{Level: ptr(Level(7))}, badField: "level"},
		{name: "unclassified is not a type to set", start: asRefund, update: ClassificationUpdate{Type: ptr(TypeUnclassified)}, badField: "type"},
		{name: "a subcategory outside the taxonomy", start: asRefund, update: ClassificationUpdate{Subcategory: ptr("teleport")}, badField: "subcategory"},
		{name: "a subcategory of another type", start: asRefund, update: ClassificationUpdate{Subcategory: ptr("product_quality")}, badField: "subcategory"},
		{name: "an unspecified urgency", start: asRefund, update: ClassificationUpdate{Urgency: ptr(UrgencyUnspecified)}, badField: "urgency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, StatusInProgress)
			tc.start(tk)
			before := *tk
			ch, err := tk.Reclassify(tc.update, DefaultTaxonomy(), staff, testNow)
			if tc.badField != "" {
				requireInvalidField(t, err, tc.badField)
				require.Equal(t, before, *tk)
				return
			}
			require.NoError(t, err)
			requireOneChange(t, tk, before.Version, ch, EventUpdated)
			require.Equal(t, tc.want, FormatTarget(tk.Type, tk.Subcategory))
			require.Equal(t, tc.level, tk.Level)
			require.Equal(t, tc.urgency, tk.Urgency)
			require.Equal(t, tc.priority, tk.Priority)
			require.Equal(t, tc.source, tk.ClassificationSource)
			if tc.source == SourceStaff {
				require.Empty(t, tk.RuleID)
			}
			e := ch.Events[0]
			require.Equal(t, tc.changed, e.Changed)
			require.Equal(t, tc.priority, e.Priority)
			require.Equal(t, StatusUnspecified, e.From)
			require.NotEmpty(t, ch.Timeline[0].Text)
		})
	}
}

func TestReclassifyWithoutChangesSavesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		update ClassificationUpdate
	}{
		{"an empty field mask", ClassificationUpdate{}},
		{"the values it already has", ClassificationUpdate{Type: ptr(TypeInquiry), Subcategory: ptr("policy"), Urgency: ptr(UrgencyNormal)}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" changes nothing", func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, StatusAssigned)
			tk.Type, tk.Subcategory = TypeInquiry, "policy"
			before := *tk
			ch, err := tk.Reclassify(tc.update, DefaultTaxonomy(), staff, testNow)
			require.NoError(t, err)
			require.True(t, ch.Empty())
			require.Equal(t, before, *tk)
		})
	}
}

func TestReclassifyTimelineDescribesTheChange(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusInProgress)
	ch, err := tk.Reclassify(ClassificationUpdate{Urgency: ptr(UrgencyUrgent)}, DefaultTaxonomy(), staff, testNow)
	require.NoError(t, err)
	require.Equal(t, "urgency: normal → urgent; priority: p4 → p2", ch.Timeline[0].Text)
}
