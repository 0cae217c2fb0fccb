package routing

import (
	"time"

	"github.com/google/uuid"
)

// Limits and defaults for groups (kefu.routing.v1.Group).
const (
	MaxCodeLen              = 64
	MaxDisplayNameRunes     = 100
	DefaultStrategy         = StrategyLeastLoaded
	DefaultTransferDeadline = 2 * time.Hour
	MinTransferDeadline     = time.Minute
	MaxTransferDeadline     = 7 * 24 * time.Hour
)

// Group is a department or skill group (物流组, 售后组, ...) that tickets are routed to.
type Group struct {
	ID          uuid.UUID
	Code        string // lower snake, unique, e.g. "logistics"
	DisplayName string
	HeadAgentID uuid.UUID // the supervisor: receives escalations and bypass notices; uuid.Nil when none
	Strategy    Strategy
	// TransferDeadline is how long a transfer into this group may wait for acceptance before it escalates
	// to the head.
	TransferDeadline time.Duration
	Builtin          bool // seeded on first start
	// Surge is the overflow policy; SurgeState where the group stands (kept by the engine).
	Surge      Surge
	SurgeState SurgeState
	// Escalation is what a breached SLA target or an escalation of the group's ticket does.
	Escalation EscalationPolicy
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// WithDefaults returns g with unset fields defaulted: strategy least_loaded, transfer deadline 2 hours,
// escalation policy notify_head.
func (g Group) WithDefaults() Group {
	if g.Strategy == "" {
		g.Strategy = DefaultStrategy
	}
	if g.TransferDeadline == 0 {
		g.TransferDeadline = DefaultTransferDeadline
	}
	if g.Escalation == "" {
		g.Escalation = EscalationNotifyHead
	}
	if g.Surge.QueueDepth > 0 || g.Surge.OldestWait > 0 {
		g.Surge = g.Surge.WithDefaults()
	}
	return g
}

// Validate checks g (after WithDefaults) and reports every bad field at once, each named under prefix as
// in the request ("group.code"): code (lower snake, 1 to 64), display_name (1 to 100 characters), strategy,
// transfer_accept_deadline (1 minute to 7 days).
func (g Group) Validate(prefix string) error {
	var v violations
	if !validCode(g.Code, MaxCodeLen) {
		v.add(path(prefix, "code"), "must be lower snake case (a letter, then letters, digits or _), 1 to %d characters", MaxCodeLen)
	}
	if msg := checkText(g.DisplayName, MaxDisplayNameRunes, true); msg != "" {
		v.add(path(prefix, "display_name"), "%s", msg)
	}
	if !g.Strategy.Valid() {
		v.add(path(prefix, "strategy"), "must be round_robin, least_loaded or skills_then_least_loaded")
	}
	if g.TransferDeadline < MinTransferDeadline || g.TransferDeadline > MaxTransferDeadline {
		v.add(path(prefix, "transfer_accept_deadline"), "must be between %s and %s", MinTransferDeadline, MaxTransferDeadline)
	}
	if !g.Escalation.Valid() {
		v.add(path(prefix, "escalation_policy"), "must be notify_head or reassign_to_senior")
	}
	v.validateSurge(prefix, g.ID, g.Surge)
	return v.err()
}
