package routing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnumsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid bool
		got   bool
	}{
		{"round_robin is a strategy", true, StrategyRoundRobin.Valid()},
		{"least_loaded is a strategy", true, StrategyLeastLoaded.Valid()},
		{"skills_then_least_loaded is a strategy", true, StrategySkillsThenLeastLoaded.Valid()},
		{"an empty strategy is not valid", false, Strategy("").Valid()},
		{"the proto's upper-case name is not a strategy code", false, Strategy("STRATEGY_ROUND_ROBIN").Valid()},
		{"junior, senior and lead are seniorities", true, SeniorityJunior.Valid() && SenioritySenior.Valid() && SeniorityLead.Valid()},
		{"an unknown seniority is not valid", false, Seniority("principal").Valid()},
		{"online, away and offline are presences", true, PresenceOnline.Valid() && PresenceAway.Valid() && PresenceOffline.Valid()},
		{"an empty presence is not valid", false, Presence("").Valid()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.valid, tc.got)
		})
	}
}
