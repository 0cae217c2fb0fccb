package routing

import "slices"

// Strategy is how a group picks an agent among its eligible members (see Pick).
type Strategy string

// Strategies, named as kefu.routing.v1.Strategy without its prefix.
const (
	StrategyRoundRobin            Strategy = "round_robin"
	StrategyLeastLoaded           Strategy = "least_loaded"
	StrategySkillsThenLeastLoaded Strategy = "skills_then_least_loaded"
)

// Valid reports whether s is one of the strategies.
func (s Strategy) Valid() bool {
	return s == StrategyRoundRobin || s == StrategyLeastLoaded || s == StrategySkillsThenLeastLoaded
}

// EscalationPolicy is what routing does when a group's ticket breaches an SLA target or is escalated.
type EscalationPolicy string

// Escalation policies, named as kefu.routing.v1.EscalationPolicy without its prefix.
const (
	// EscalationNotifyHead notifies the group's head only.
	EscalationNotifyHead EscalationPolicy = "notify_head"
	// EscalationReassignToSenior notifies the head and moves the ticket from a junior agent to a senior one
	// (see PickSenior).
	EscalationReassignToSenior EscalationPolicy = "reassign_to_senior"
)

// Valid reports whether p is one of the policies.
func (p EscalationPolicy) Valid() bool {
	return p == EscalationNotifyHead || p == EscalationReassignToSenior
}

// Seniority is an agent's rank. L1 complaints go to senior agents and leads (see PickBypass).
type Seniority string

// Seniorities, named as kefu.routing.v1.Seniority without its prefix.
const (
	SeniorityJunior Seniority = "junior"
	SenioritySenior Seniority = "senior"
	SeniorityLead   Seniority = "lead"
)

// Valid reports whether s is one of the seniorities.
func (s Seniority) Valid() bool {
	return s == SeniorityJunior || s == SenioritySenior || s == SeniorityLead
}

// Presence says whether an agent takes tickets now. Only online agents are assigned.
type Presence string

// Presences, named as kefu.routing.v1.Presence without its prefix.
const (
	PresenceOnline  Presence = "online"
	PresenceAway    Presence = "away"
	PresenceOffline Presence = "offline"
)

// Valid reports whether p is one of the presences.
func (p Presence) Valid() bool {
	return p == PresenceOnline || p == PresenceAway || p == PresenceOffline
}

// Ticket codes routing itself relies on (the L1 bypass and the default rules). They are intake's names.
const (
	TypeComplaint = "complaint"
	LevelL1       = "l1"
)

// The codes a rule condition may list, mirroring intake's TicketType, ComplaintLevel, Urgency and Channel
// (kefu.intake.v1) without their prefixes. Subcategories and tiers are admin data owned by intake and
// customer, so conditions only check their shape.
var (
	ticketTypes = []string{"inquiry", TypeComplaint, "request", "suggestion"}
	levels      = []string{LevelL1, "l2", "l3"}
	urgencies   = []string{"normal", "urgent", "critical"}
	channels    = []string{"phone", "web_chat", "app", "mini_program", "email", "wechat", "sms", "store", "social"}
)

func oneOf(set []string) func(string) bool {
	return func(s string) bool { return slices.Contains(set, s) }
}
