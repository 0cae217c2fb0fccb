package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDerivePriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		urgency Urgency
		level   Level
		want    Priority
	}{
		{"critical alone is p1", UrgencyCritical, LevelNone, PriorityP1},
		{"l1 alone is p1", UrgencyNormal, LevelL1, PriorityP1},
		{"critical l3 is still p1", UrgencyCritical, LevelL3, PriorityP1},
		{"urgent l1 is p1", UrgencyUrgent, LevelL1, PriorityP1},
		{"urgent alone is p2", UrgencyUrgent, LevelNone, PriorityP2},
		{"l2 alone is p2", UrgencyNormal, LevelL2, PriorityP2},
		{"urgent l3 is p2", UrgencyUrgent, LevelL3, PriorityP2},
		{"normal l3 is p3", UrgencyNormal, LevelL3, PriorityP3},
		{"normal without level is p4", UrgencyNormal, LevelNone, PriorityP4},
		{"unspecified urgency without level is p4", UrgencyUnspecified, LevelNone, PriorityP4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, DerivePriority(tc.urgency, tc.level))
		})
	}
}

func TestMoreSevere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b Level
		want Level
	}{
		{"none and none is none", LevelNone, LevelNone, LevelNone},
		{"none and l3 is l3", LevelNone, LevelL3, LevelL3},
		{"l2 and none is l2", LevelL2, LevelNone, LevelL2},
		{"l3 and l1 is l1", LevelL3, LevelL1, LevelL1},
		{"l1 and l2 is l1", LevelL1, LevelL2, LevelL1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, MoreSevere(tc.a, tc.b))
		})
	}
}
