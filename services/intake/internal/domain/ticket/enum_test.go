package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// enumCase checks one enum: every valid value round-trips through its name, and the names are exactly the
// ones the database and events use.
type enumCase struct {
	name   string
	values []string           // String() of every stored value, in order
	format func(i int) string // String() of the i-th stored value
	parse  func(s string) (int, error)
	bad    []string // inputs Parse must reject
}

func TestEnumsRoundTripTheirStoredNames(t *testing.T) {
	t.Parallel()
	tests := []enumCase{
		{
			name:   "channel",
			values: []string{"phone", "web_chat", "app", "mini_program", "email", "wechat", "sms", "store", "social"},
			format: func(i int) string { return Channel(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseChannel(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "Phone", "fax"},
		},
		{
			name:   "type, whose zero value is unclassified",
			values: []string{"unclassified", "inquiry", "complaint", "request", "suggestion"},
			format: func(i int) string { return Type(i).String() },
			parse:  func(s string) (int, error) { v, err := ParseType(s); return int(v), err },
			bad:    []string{"question", "Complaint"},
		},
		{
			name:   "urgency",
			values: []string{"normal", "urgent", "critical"},
			format: func(i int) string { return Urgency(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseUrgency(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "high"},
		},
		{
			name:   "level, whose zero value is none",
			values: []string{"none", "l1", "l2", "l3"},
			format: func(i int) string { return Level(i).String() },
			parse:  func(s string) (int, error) { v, err := ParseLevel(s); return int(v), err },
			bad:    []string{"L1", "l4"},
		},
		{
			name:   "priority",
			values: []string{"p1", "p2", "p3", "p4"},
			format: func(i int) string { return Priority(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParsePriority(s); return int(v) - 1, err },
			bad:    []string{"", "p0", "p5", "P1"},
		},
		{
			name:   "status",
			values: []string{"new", "assigned", "in_progress", "pending_customer", "resolved", "closed", "archived"},
			format: func(i int) string { return Status(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseStatus(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "open", "in progress"},
		},
		{
			name:   "satisfaction",
			values: []string{"satisfied", "neutral", "unsatisfied"},
			format: func(i int) string { return Satisfaction(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseSatisfaction(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "happy"},
		},
		{
			name:   "contact kind",
			values: []string{"phone", "email", "wechat"},
			format: func(i int) string { return ContactKind(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseContactKind(s); return int(v) - 1, err },
			bad:    []string{"", "weixin"},
		},
		{
			name:   "verification method",
			values: []string{"order_number", "phone_last4"},
			format: func(i int) string { return VerificationMethod(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseVerificationMethod(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "phone"},
		},
		{
			name:   "classification source",
			values: []string{"none", "adapter_hint", "rule", "staff"},
			format: func(i int) string { return ClassificationSource(i).String() },
			parse:  func(s string) (int, error) { v, err := ParseClassificationSource(s); return int(v), err },
			bad:    []string{"adapter", "Rule"},
		},
		{
			name: "event kind",
			values: []string{"created", "updated", "assigned", "status_changed", "replied", "customer_message_added",
				"note_added", "escalated", "resolved", "closed", "reopened", "rated", "archived"},
			format: func(i int) string { return EventKind(i + 1).String() },
			parse:  func(s string) (int, error) { v, err := ParseEventKind(s); return int(v) - 1, err },
			bad:    []string{"", "unspecified", "deleted"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name+" round-trips", func(t *testing.T) {
			t.Parallel()
			for i, want := range tc.values {
				require.Equal(t, want, tc.format(i))
				got, err := tc.parse(want)
				require.NoError(t, err)
				require.Equal(t, i, got)
			}
			require.Contains(t, tc.format(98), "invalid(", "out-of-range values print without panicking")
			for _, b := range tc.bad {
				_, err := tc.parse(b)
				require.Error(t, err, "parse %q", b)
			}
		})
	}
}

func TestEmptyStringParsesAsTheMeaningfulZero(t *testing.T) {
	t.Parallel()
	typ, err := ParseType("")
	require.NoError(t, err)
	require.Equal(t, TypeUnclassified, typ)
	lvl, err := ParseLevel("")
	require.NoError(t, err)
	require.Equal(t, LevelNone, lvl)
	src, err := ParseClassificationSource("")
	require.NoError(t, err)
	require.Equal(t, SourceNone, src)
}

func TestValidity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"unspecified channel is invalid", ChannelUnspecified.Valid(), false},
		{"social channel is valid", ChannelSocial.Valid(), true},
		{"out-of-range channel is invalid", Channel(10).Valid(), false},
		{"unspecified status is invalid", StatusUnspecified.Valid(), false},
		{"archived status is valid", StatusArchived.Valid(), true},
		{"unspecified urgency is invalid", UrgencyUnspecified.Valid(), false},
		{"critical urgency is valid", UrgencyCritical.Valid(), true},
		{"level none is valid", LevelNone.Valid(), true},
		{"level 4 is invalid", Level(4).Valid(), false},
		{"unclassified type is valid", TypeUnclassified.Valid(), true},
		{"out-of-range type is invalid", Type(9).Valid(), false},
		{"negative type is invalid", Type(-1).Valid(), false},
		{"unspecified satisfaction is invalid", SatisfactionUnspecified.Valid(), false},
		{"unspecified priority is invalid", PriorityUnspecified.Valid(), false},
		{"p4 is valid", PriorityP4.Valid(), true},
		{"unspecified contact kind is invalid", ContactUnspecified.Valid(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func TestOpenStatuses(t *testing.T) {
	t.Parallel()
	want := map[Status]bool{StatusNew: true, StatusAssigned: true, StatusInProgress: true, StatusPendingCustomer: true}
	for _, s := range Statuses() {
		t.Run(s.String()+" openness", func(t *testing.T) {
			t.Parallel()
			require.Equal(t, want[s], s.Open())
		})
	}
}
