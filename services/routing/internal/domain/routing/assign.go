package routing

import (
	"bytes"
	"cmp"

	"github.com/google/uuid"
)

// Candidate is one member of a group as the strategies see it at the moment of assignment.
type Candidate struct {
	AgentID   uuid.UUID
	Presence  Presence
	Open      int // open tickets assigned to the agent now
	Capacity  int
	Skills    []string
	Seniority Seniority
	// LastTurn orders the agent's last assignment in this group among all assignments (a strictly
	// increasing counter, so several assignments in one transaction still order); 0 means never, which
	// counts as longest ago.
	LastTurn int64
}

// Eligible reports whether c may be given a ticket now: online and under capacity.
func Eligible(c Candidate) bool { return c.Presence == PresenceOnline && c.Open < c.Capacity }

// Pick chooses the agent for a ticket among the eligible candidates by strategy s; false when nobody is
// eligible (the ticket waits in the queue). Every strategy is deterministic, so replicas agree:
//   - round_robin: the agent whose last assignment is oldest (never assigned first), ties by AgentID. Turns
//     come from LastTurn, which the caller advances on every assignment.
//   - least_loaded: the lowest Open/Capacity, then fewest open, then oldest last assignment, then AgentID.
//   - skills_then_least_loaded: least_loaded among the agents holding every required skill; when none of
//     them is eligible, least_loaded among all eligible agents, because an answer from the wrong specialist
//     beats a ticket left waiting.
//
// An unknown strategy picks as least_loaded, the default.
func Pick(s Strategy, cs []Candidate, requiredSkills []string) (uuid.UUID, bool) {
	switch s {
	case StrategyRoundRobin:
		return best(cs, Eligible, compareRoundRobin)
	case StrategySkillsThenLeastLoaded:
		if id, ok := best(cs, func(c Candidate) bool { return Eligible(c) && hasAll(c.Skills, requiredSkills) }, compareLoad); ok {
			return id, true
		}
	}
	return best(cs, Eligible, compareLoad)
}

// PickBypass chooses the agent for an L1 complaint (see IsBypass), which skips the queue: an online senior
// agent or lead, least loaded first (ties as least_loaded), even when at or over capacity. With none online
// it returns head, the group's head, even when offline: the ticket then sits on the head's board and the
// head is notified. False when there is neither (head is uuid.Nil).
func PickBypass(cs []Candidate, head uuid.UUID) (uuid.UUID, bool) {
	senior := func(c Candidate) bool { return c.Presence == PresenceOnline && isSenior(c) }
	if id, ok := best(cs, senior, compareLoad); ok {
		return id, true
	}
	return head, head != uuid.Nil
}

// PickSenior chooses who takes over a ticket escalated in a group whose policy is reassign_to_senior: the
// least loaded online senior agent or lead other than current (ties as least_loaded), even at or over
// capacity. False when current is already senior or a lead (they keep it), or when no other senior agent
// or lead is online.
func PickSenior(cs []Candidate, current uuid.UUID) (uuid.UUID, bool) {
	for _, c := range cs {
		if c.AgentID == current && isSenior(c) {
			return uuid.Nil, false
		}
	}
	return best(cs, func(c Candidate) bool {
		return c.AgentID != current && c.Presence == PresenceOnline && isSenior(c)
	}, compareLoad)
}

func isSenior(c Candidate) bool {
	return c.Seniority == SenioritySenior || c.Seniority == SeniorityLead
}

// IsBypass reports whether a ticket skips the queue: an L1 complaint (safety or personal injury).
func IsBypass(f Facts) bool { return f.Type == TypeComplaint && f.Level == LevelL1 }

// best returns the first candidate by order among those ok accepts.
func best(cs []Candidate, ok func(Candidate) bool, order func(a, b Candidate) int) (uuid.UUID, bool) {
	var (
		winner Candidate
		found  bool
	)
	for _, c := range cs {
		if ok(c) && (!found || order(c, winner) < 0) {
			winner, found = c, true
		}
	}
	return winner.AgentID, found
}

func compareRoundRobin(a, b Candidate) int {
	return cmp.Or(cmp.Compare(a.LastTurn, b.LastTurn), bytes.Compare(a.AgentID[:], b.AgentID[:]))
}

// compareLoad orders by load Open/Capacity, compared exactly as a.Open*b.Capacity against b.Open*a.Capacity
// (no floating point, so 1/3 and 2/6 tie), then fewest open, then round-robin order.
func compareLoad(a, b Candidate) int {
	return cmp.Or(
		cmp.Compare(int64(a.Open)*int64(capacity(b)), int64(b.Open)*int64(capacity(a))),
		cmp.Compare(a.Open, b.Open),
		compareRoundRobin(a, b),
	)
}

// capacity is c.Capacity but at least 1, so a corrupt zero capacity cannot make the load comparison
// meaningless (Eligible already excludes such an agent; the bypass does not look at eligibility).
func capacity(c Candidate) int { return max(c.Capacity, 1) }
