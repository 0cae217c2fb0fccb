package routing

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestSurgeStep(t *testing.T) {
	t.Parallel()
	over := uuid.MustParse("00000000-0000-7000-8000-0000000000ff")
	policy := Surge{OverflowGroupID: over, QueueDepth: 20, OldestWait: 10 * time.Minute, CalmPeriod: time.Minute}
	t0 := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
	surging := SurgeState{InSurge: true, StartedAt: t0}
	type step struct {
		st             SurgeState
		depth          int
		oldest         time.Duration
		at             time.Time
		want           SurgeState
		started, ended bool
	}
	tests := []struct {
		name   string
		policy Surge
		step   step
	}{
		{"below both thresholds: normal", policy, step{SurgeState{}, 19, 9 * time.Minute, t0, SurgeState{}, false, false}},
		{"depth reaches its threshold: surge", policy, step{SurgeState{}, 20, 0, t0, surging, true, false}},
		{"the oldest wait reaches its threshold: surge", policy, step{SurgeState{}, 1, 10 * time.Minute, t0, surging, true, false}},
		{"no overflow group: never", Surge{QueueDepth: 1}, step{SurgeState{}, 100, time.Hour, t0, SurgeState{}, false, false}},
		{"only a depth threshold: the wait is ignored", Surge{OverflowGroupID: over, QueueDepth: 5}, step{SurgeState{}, 4, 24 * time.Hour, t0, SurgeState{}, false, false}},
		{"still busy: no calm clock", policy, step{surging, 11, 0, t0.Add(time.Minute), surging, false, false}},
		{"calm (depth 10 = half, wait 5 min = half): the calm clock starts", policy,
			step{surging, 10, 5 * time.Minute, t0.Add(time.Minute), SurgeState{InSurge: true, StartedAt: t0, CalmSince: t0.Add(time.Minute)}, false, false}},
		{"calm for less than the period: still surging", policy,
			step{SurgeState{InSurge: true, StartedAt: t0, CalmSince: t0.Add(time.Minute)}, 3, 0, t0.Add(119 * time.Second),
				SurgeState{InSurge: true, StartedAt: t0, CalmSince: t0.Add(time.Minute)}, false, false}},
		{"calm for the whole period: ends", policy,
			step{SurgeState{InSurge: true, StartedAt: t0, CalmSince: t0.Add(time.Minute)}, 3, 0, t0.Add(2 * time.Minute), SurgeState{}, false, true}},
		{"busy again resets the calm clock", policy,
			step{SurgeState{InSurge: true, StartedAt: t0, CalmSince: t0.Add(time.Minute)}, 15, 0, t0.Add(2 * time.Minute), surging, false, false}},
		{"the policy switched off mid-surge: ends", Surge{}, step{surging, 50, time.Hour, t0, SurgeState{}, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.step
			got, started, ended := tc.policy.Step(s.st, s.depth, s.oldest, s.at)
			require.Equal(t, s.want, got)
			require.Equal(t, s.started, started)
			require.Equal(t, s.ended, ended)
		})
	}
}

func TestSurgeValidation(t *testing.T) {
	t.Parallel()
	self := uuid.MustParse("00000000-0000-7000-8000-000000000001")
	g := Group{ID: self, Code: "g", DisplayName: "g", Surge: Surge{OverflowGroupID: self, QueueDepth: 10, CalmDepth: 10,
		OldestWait: 1500 * time.Millisecond}}.WithDefaults()
	err := g.Validate("group")
	requireFields(t, err, "group.overflow_group_id", "group.calm_queue_depth", "group.surge_oldest_wait", "group.calm_oldest_wait")
}
