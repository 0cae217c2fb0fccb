package routing

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

// online is an online junior with the given load, never assigned.
func online(n, open, capacity int) Candidate {
	return Candidate{AgentID: id(n), Presence: PresenceOnline, Open: open, Capacity: capacity, Seniority: SeniorityJunior}
}

func tweak(c Candidate, f func(*Candidate)) Candidate { f(&c); return c }

func TestEligible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    Candidate
		want bool
	}{
		{"an online agent under capacity is eligible", online(1, 4, 5), true},
		{"an online agent at capacity is not", online(1, 5, 5), false},
		{"an online agent over capacity is not", online(1, 6, 5), false},
		{"an away agent is not", tweak(online(1, 0, 5), func(c *Candidate) { c.Presence = PresenceAway }), false},
		{"an offline agent is not", tweak(online(1, 0, 5), func(c *Candidate) { c.Presence = PresenceOffline }), false},
		{"an agent with zero capacity is not", online(1, 0, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Eligible(tc.c))
		})
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	at := func(c Candidate, d time.Duration) Candidate {
		return tweak(c, func(c *Candidate) { c.LastTurn = 1 + int64(d/time.Second) })
	}
	skilled := func(c Candidate, skills ...string) Candidate {
		return tweak(c, func(c *Candidate) { c.Skills = skills })
	}
	tests := []struct {
		name     string
		strategy Strategy
		cs       []Candidate
		skills   []string
		want     uuid.UUID
		wantOK   bool
	}{
		{"nobody to pick from picks nobody", StrategyLeastLoaded, nil, nil, uuid.Nil, false},
		{"a full agent is never picked", StrategyLeastLoaded,
			[]Candidate{online(1, 5, 5), online(2, 9, 10)}, nil, id(2), true},
		{"when everyone is full nobody is picked", StrategyRoundRobin,
			[]Candidate{online(1, 5, 5), online(2, 10, 10)}, nil, uuid.Nil, false},
		{"away and offline agents are never picked, however idle", StrategyLeastLoaded,
			[]Candidate{
				tweak(online(1, 0, 5), func(c *Candidate) { c.Presence = PresenceAway }),
				tweak(online(2, 0, 5), func(c *Candidate) { c.Presence = PresenceOffline }),
				online(3, 4, 5),
			}, nil, id(3), true},
		{"least loaded compares open over capacity: 2 of 10 beats 1 of 3", StrategyLeastLoaded,
			[]Candidate{online(1, 1, 3), online(2, 2, 10)}, nil, id(2), true},
		{"an equal ratio goes to the agent with fewer open tickets", StrategyLeastLoaded,
			[]Candidate{online(1, 2, 10), online(2, 1, 5)}, nil, id(2), true},
		{"ratios are compared exactly: 1 of 3 ties 2 of 6, fewer open wins", StrategyLeastLoaded,
			[]Candidate{online(1, 2, 6), online(2, 1, 3)}, nil, id(2), true},
		{"an equal load goes to the agent idle longest", StrategyLeastLoaded,
			[]Candidate{at(online(1, 1, 5), time.Minute), at(online(2, 1, 5), 0)}, nil, id(2), true},
		{"an equal load and idle time goes to the lower id", StrategyLeastLoaded,
			[]Candidate{online(2, 1, 5), online(1, 1, 5)}, nil, id(1), true},
		{"round robin picks the agent whose last assignment is oldest, whatever the load", StrategyRoundRobin,
			[]Candidate{at(online(1, 0, 5), time.Minute), at(online(2, 4, 5), 0)}, nil, id(2), true},
		{"round robin picks a never-assigned agent first", StrategyRoundRobin,
			[]Candidate{at(online(1, 0, 5), 0), online(2, 3, 5)}, nil, id(2), true},
		{"round robin breaks a tie by id", StrategyRoundRobin,
			[]Candidate{online(3, 0, 5), online(2, 0, 5)}, nil, id(2), true},
		{"skills first picks the least loaded agent holding every required skill", StrategySkillsThenLeastLoaded,
			[]Candidate{
				skilled(online(1, 0, 5), "refund"),
				skilled(online(2, 3, 5), "refund", "english"),
				skilled(online(3, 4, 5), "english", "refund"),
			}, []string{"refund", "english"}, id(2), true},
		{"skills first falls back to least loaded among all when no skilled agent is eligible", StrategySkillsThenLeastLoaded,
			[]Candidate{
				skilled(online(1, 5, 5), "english"),
				skilled(online(2, 3, 5), "refund"),
				online(3, 1, 5),
			}, []string{"english"}, id(3), true},
		{"skills first without required skills is least loaded", StrategySkillsThenLeastLoaded,
			[]Candidate{skilled(online(1, 3, 5), "english"), online(2, 1, 5)}, nil, id(2), true},
		{"an unknown strategy picks as least loaded", Strategy("random"),
			[]Candidate{online(1, 3, 5), online(2, 1, 5)}, nil, id(2), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Pick(tc.strategy, tc.cs, tc.skills)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestPickSimulated runs many assignments, updating each pick's load and last assignment as the app would,
// and checks the totals each strategy must produce.
func TestPickSimulated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		strategy Strategy
		agents   []Candidate
		tickets  int
		want     []int // tickets per agent, in agents order
	}{
		{"round robin spreads 100 tickets over 4 agents 25 each", StrategyRoundRobin,
			[]Candidate{online(4, 0, 200), online(2, 0, 200), online(3, 0, 200), online(1, 0, 200)}, 100, []int{25, 25, 25, 25}},
		{"round robin spreads evenly even when loads differ at the start", StrategyRoundRobin,
			[]Candidate{online(1, 7, 200), online(2, 0, 200), online(3, 3, 200), online(4, 1, 200)}, 100, []int{25, 25, 25, 25}},
		{"least loaded fills agents in proportion to capacity and never beyond it", StrategyLeastLoaded,
			[]Candidate{online(1, 0, 10), online(2, 0, 5), online(3, 0, 5)}, 100, []int{10, 5, 5}},
		{"round robin skips full agents and never exceeds capacity", StrategyRoundRobin,
			[]Candidate{online(1, 0, 2), online(2, 0, 20), online(3, 0, 20)}, 30, []int{2, 14, 14}},
		{"offline agents get nothing", StrategyRoundRobin,
			[]Candidate{online(1, 0, 50), tweak(online(2, 0, 50), func(c *Candidate) { c.Presence = PresenceOffline }), online(3, 0, 50)}, 40, []int{20, 0, 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			agents := append([]Candidate(nil), tc.agents...)
			start := make([]int, len(agents))
			for i, a := range agents {
				start[i] = a.Open
			}
			now := t0
			for range tc.tickets {
				got, ok := Pick(tc.strategy, agents, nil)
				if !ok {
					break // the rest would wait in the queue
				}
				now = now.Add(time.Second)
				for i := range agents {
					if agents[i].AgentID == got {
						require.Less(t, agents[i].Open, agents[i].Capacity, "picked a full agent")
						agents[i].Open++
						agents[i].LastTurn = now.Unix()
					}
				}
			}
			got := make([]int, len(agents))
			for i, a := range agents {
				got[i] = a.Open - start[i]
				require.LessOrEqual(t, a.Open, a.Capacity)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPickBypass(t *testing.T) {
	t.Parallel()
	head := id(99)
	senior := func(n, open, capacity int) Candidate {
		return tweak(online(n, open, capacity), func(c *Candidate) { c.Seniority = SenioritySenior })
	}
	tests := []struct {
		name   string
		cs     []Candidate
		head   uuid.UUID
		want   uuid.UUID
		wantOK bool
	}{
		{"a senior agent at capacity still gets the ticket", []Candidate{senior(1, 5, 5)}, head, id(1), true},
		{"a senior agent over capacity still gets the ticket", []Candidate{senior(1, 9, 5)}, head, id(1), true},
		{"a lead counts as senior", []Candidate{tweak(online(1, 5, 5), func(c *Candidate) { c.Seniority = SeniorityLead })}, head, id(1), true},
		{"an idle junior agent does not get it", []Candidate{online(1, 0, 5), senior(2, 5, 5)}, head, id(2), true},
		{"the least loaded senior gets it", []Candidate{senior(1, 6, 5), senior(2, 3, 5), senior(3, 4, 5)}, head, id(2), true},
		{"the load is a ratio: 6 of 10 beats 4 of 5", []Candidate{senior(1, 4, 5), senior(2, 6, 10)}, head, id(2), true},
		{"an offline senior is skipped and the head gets it",
			[]Candidate{tweak(senior(1, 0, 5), func(c *Candidate) { c.Presence = PresenceOffline })}, head, head, true},
		{"an away senior is skipped and the head gets it",
			[]Candidate{tweak(senior(1, 0, 5), func(c *Candidate) { c.Presence = PresenceAway })}, head, head, true},
		{"with only juniors online the head gets it", []Candidate{online(1, 0, 5)}, head, head, true},
		{"with nobody online and no head nobody gets it", []Candidate{online(1, 0, 5)}, uuid.Nil, uuid.Nil, false},
		{"with no members at all the head gets it", nil, head, head, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := PickBypass(tc.cs, tc.head)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPickSenior(t *testing.T) {
	t.Parallel()
	senior := func(n, open, capacity int) Candidate {
		return tweak(online(n, open, capacity), func(c *Candidate) { c.Seniority = SenioritySenior })
	}
	junior := id(1)
	tests := []struct {
		name    string
		cs      []Candidate
		current uuid.UUID
		want    uuid.UUID
		wantOK  bool
	}{
		{"a junior's ticket goes to the online senior", []Candidate{online(1, 1, 5), senior(2, 1, 5)}, junior, id(2), true},
		{"even a senior at capacity takes it", []Candidate{online(1, 0, 5), senior(2, 5, 5)}, junior, id(2), true},
		{"the least loaded senior takes it", []Candidate{online(1, 0, 5), senior(2, 4, 5), senior(3, 2, 5)}, junior, id(3), true},
		{"a lead counts as senior", []Candidate{online(1, 0, 5), tweak(online(2, 0, 5), func(c *Candidate) { c.Seniority = SeniorityLead })}, junior, id(2), true},
		{"a senior who has it keeps it", []Candidate{senior(1, 3, 5), senior(2, 0, 5)}, id(1), uuid.Nil, false},
		{"an idle junior is not a senior", []Candidate{online(1, 1, 5), online(2, 0, 5)}, junior, uuid.Nil, false},
		{"an offline senior is skipped", []Candidate{online(1, 1, 5), tweak(senior(2, 0, 5), func(c *Candidate) { c.Presence = PresenceOffline })}, junior, uuid.Nil, false},
		{"an assignee outside the group hands over to the group's senior", []Candidate{senior(2, 0, 5)}, id(7), id(2), true},
		{"a ticket with nobody on it goes to a senior", []Candidate{senior(2, 0, 5)}, uuid.Nil, id(2), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := PickSenior(tc.cs, tc.current)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIsBypass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		facts Facts
		want  bool
	}{
		{"an l1 complaint bypasses the queue", Facts{Type: "complaint", Level: "l1"}, true},
		{"an l2 complaint waits its turn", Facts{Type: "complaint", Level: "l2"}, false},
		{"a complaint without a level waits its turn", Facts{Type: "complaint"}, false},
		{"a critical inquiry is not a bypass", Facts{Type: "inquiry", Urgency: "critical"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, IsBypass(tc.facts))
		})
	}
}
