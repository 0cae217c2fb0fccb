package routing

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Limits and defaults for agents (kefu.routing.v1.Agent).
const (
	MinCapacity      = 1
	MaxCapacity      = 200
	DefaultCapacity  = 5
	MaxAgentGroups   = 20
	MaxAgentSkills   = 30
	DefaultSeniority = SeniorityJunior
	DefaultPresence  = PresenceOffline
)

// Agent is a staff member who handles tickets. ID is their staff id (the token's subject and the assignee
// id on intake's tickets).
type Agent struct {
	ID          uuid.UUID
	DisplayName string
	GroupIDs    []uuid.UUID
	Skills      []string // lower snake tags such as "refund", "english"
	Seniority   Seniority
	Capacity    int // most open tickets at once; the L1 bypass may exceed it
	Presence    Presence
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WithDefaults returns a with unset fields defaulted: capacity 5, seniority junior, presence offline (a new
// agent takes no tickets until they go online).
func (a Agent) WithDefaults() Agent {
	if a.Capacity == 0 {
		a.Capacity = DefaultCapacity
	}
	if a.Seniority == "" {
		a.Seniority = DefaultSeniority
	}
	if a.Presence == "" {
		a.Presence = DefaultPresence
	}
	return a
}

// Validate checks a (after WithDefaults) and reports every bad field at once, each named under prefix
// ("agent.capacity"): agent_id (required), display_name (1 to 100 characters), group_ids (at most 20, no
// nil or repeated id), skills (at most 30, lower snake, no repeats), seniority, capacity (1 to 200),
// presence. Whether the groups exist is the store's question.
func (a Agent) Validate(prefix string) error {
	var v violations
	if a.ID == uuid.Nil {
		v.add(path(prefix, "agent_id"), "is required")
	}
	if msg := checkText(a.DisplayName, MaxDisplayNameRunes, true); msg != "" {
		v.add(path(prefix, "display_name"), "%s", msg)
	}
	groups := path(prefix, "group_ids")
	if len(a.GroupIDs) > MaxAgentGroups {
		v.add(groups, "at most %d groups", MaxAgentGroups)
	}
	for i, id := range a.GroupIDs {
		switch {
		case id == uuid.Nil:
			v.add(index(groups, i), "must be a group id")
		case slices.Contains(a.GroupIDs[:i], id):
			v.add(index(groups, i), "repeats an earlier group")
		}
	}
	skills := path(prefix, "skills")
	v.checkCodes(skills, a.Skills, MaxAgentSkills, func(s string) bool { return validCode(s, MaxCodeLen) }, "a lower snake skill tag")
	for i, s := range a.Skills {
		if slices.Contains(a.Skills[:i], s) {
			v.add(index(skills, i), "repeats an earlier skill")
		}
	}
	if !a.Seniority.Valid() {
		v.add(path(prefix, "seniority"), "must be junior, senior or lead")
	}
	if a.Capacity < MinCapacity || a.Capacity > MaxCapacity {
		v.add(path(prefix, "capacity"), "must be between %d and %d", MinCapacity, MaxCapacity)
	}
	if !a.Presence.Valid() {
		v.add(path(prefix, "presence"), "must be online, away or offline")
	}
	return v.err()
}

// InGroup reports whether a belongs to the group id.
func (a Agent) InGroup(id uuid.UUID) bool { return slices.Contains(a.GroupIDs, id) }

// HasSkills reports whether a holds every one of required (true when required is empty).
func (a Agent) HasSkills(required []string) bool { return hasAll(a.Skills, required) }

func hasAll(have, required []string) bool {
	for _, s := range required {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}
