// Package app holds the routing service's use cases: the admin API over groups, agents and rules, the
// assignment engine that applies ticket events (route by rules, pick by strategy, queue, drain), and the
// dispatcher that tells intake about each assignment. Decisions are made under Postgres row locks and
// committed with their outbox events and their dispatch rows, so two replicas never assign one ticket twice
// or push an agent over capacity, and a crash loses no assignment.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/etag"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// Notifier wakes the outbox relay after a commit.
type Notifier interface{ Notify() }

// Intake is what routing asks of the intake service.
type Intake interface {
	// TicketText returns a ticket's subject and description, for keyword rules.
	TicketText(ctx context.Context, id uuid.UUID) (string, error)
	// Assign calls AssignTicket; a retry with the same requestID changes nothing. An error wrapping
	// ErrRefused means intake will never accept it (the ticket is closed or gone).
	// unassign clears the agent instead (a hand-back); expected is the agent the ticket must still have
	// (uuid.Nil: nobody), else intake refuses.
	Assign(ctx context.Context, ticket, group, agent uuid.UUID, unassign bool, expected uuid.UUID, requestID string) error
}

// ErrRefused marks an intake answer no retry changes (FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT).
var ErrRefused = errors.New("refused by intake")

// Config holds the app's settings.
type Config struct {
	// Source names the service in events' meta.
	Source string
	// DrainBatch caps the tickets one drain transaction assigns per group.
	DrainBatch int
}

// App runs the use cases.
type App struct {
	store  *store.Store
	clock  clock.Clock
	notify Notifier
	intake Intake
	cfg    Config
	log    *slog.Logger
}

// New returns an App.
func New(st *store.Store, clk clock.Clock, notify Notifier, intake Intake, cfg Config, log *slog.Logger) *App {
	if cfg.Source == "" {
		cfg.Source = "routing"
	}
	if cfg.DrainBatch <= 0 {
		cfg.DrainBatch = 100
	}
	registerMetrics(st)
	return &App{store: st, clock: clk, notify: notify, intake: intake, cfg: cfg, log: log}
}

// Seed inserts the default groups and rules on the first start of a database.
func (a *App) Seed(ctx context.Context) error {
	seeded, err := a.store.Seed(ctx, a.now(), newID)
	if err != nil {
		return fmt.Errorf("seed default groups and rules: %w", err)
	}
	if seeded {
		a.log.InfoContext(ctx, "seeded the default routing groups and rules")
	}
	return nil
}

// now is the clock's time at Postgres's precision, so values read back compare equal.
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

func newID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}

// Etag renders a version as an etag.
func Etag(version int64) string { return etag.Of(version) }

// checkEtag is etag.Check.
func checkEtag(field, given string, version int64, what string) error {
	return etag.Check(field, given, version, what)
}

// Updatable mask paths of each resource.
var (
	GroupPaths = []string{"display_name", "head_agent_id", "strategy", "transfer_accept_deadline", "overflow_group_id",
		"surge_queue_depth", "surge_oldest_wait", "calm_queue_depth", "calm_oldest_wait", "calm_period",
		"escalation_policy"}
	AgentPaths = []string{"display_name", "group_ids", "skills", "seniority", "capacity"}
	RulePaths  = []string{"position", "display_name", "condition", "target_group_id", "required_skills", "enabled"}
)

// Request identifies a create for idempotency: the caller's request id (empty: none) and the request's
// fingerprint.
type Request struct {
	ID          string
	Fingerprint []byte
}

// claim is the idempotency claim of req for a create of kind.
func claim(ctx context.Context, req Request, kind string) idempotency.Claim {
	who, _ := auth.FromContext(ctx)
	return idempotency.Claim{Principal: who.String(), Scope: kind, Key: req.ID, Fingerprint: req.Fingerprint}
}

// CreateGroup adds a group.
func (a *App) CreateGroup(ctx context.Context, req Request, g routing.Group) (routing.Group, error) {
	g = g.WithDefaults()
	if err := g.Validate("group"); err != nil {
		return g, err
	}
	var err error
	if g.ID, err = newID(); err != nil {
		return g, err
	}
	g.Builtin = false
	g.CreatedAt, g.UpdatedAt = a.now(), a.now()
	out, err := a.store.CreateGroup(ctx, claim(ctx, req, "create_group"), g, func(g routing.Group, seq int64) ([]outbox.Message, error) {
		return a.groupChanged(ctx, routing.Group{}, g, seq, true)
	})
	a.wakeRelay(err)
	return out, err
}

// wakeRelay wakes the outbox relay after a change committed (err is nil) with events.
func (a *App) wakeRelay(err error) {
	if err == nil {
		a.notify.Notify()
	}
}

// Group returns a group.
func (a *App) Group(ctx context.Context, id uuid.UUID) (routing.Group, error) {
	return a.store.Group(ctx, id)
}

// Groups lists every group.
func (a *App) Groups(ctx context.Context) ([]routing.Group, error) { return a.store.Groups(ctx) }

// UpdateGroup changes the paths of group id (see GroupPaths) to value's, given the current etag.
func (a *App) UpdateGroup(ctx context.Context, id uuid.UUID, etag string, paths []string, value routing.Group) (routing.Group, error) {
	out, err := a.store.UpdateGroup(ctx, id, a.now(), func(g *routing.Group) error {
		if err := checkEtag("group.etag", etag, g.Version, "group"); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				g.DisplayName = value.DisplayName
			case "head_agent_id":
				g.HeadAgentID = value.HeadAgentID
			case "strategy":
				g.Strategy = value.Strategy
			case "transfer_accept_deadline":
				g.TransferDeadline = value.TransferDeadline
			case "overflow_group_id":
				g.Surge.OverflowGroupID = value.Surge.OverflowGroupID
			case "surge_queue_depth":
				g.Surge.QueueDepth = value.Surge.QueueDepth
			case "surge_oldest_wait":
				g.Surge.OldestWait = value.Surge.OldestWait
			case "calm_queue_depth":
				g.Surge.CalmDepth = value.Surge.CalmDepth
			case "calm_oldest_wait":
				g.Surge.CalmWait = value.Surge.CalmWait
			case "calm_period":
				g.Surge.CalmPeriod = value.Surge.CalmPeriod
			case "escalation_policy":
				g.Escalation = value.Escalation
			}
		}
		*g = g.WithDefaults()
		return g.Validate("group")
	}, func(before, after routing.Group, seq int64) ([]outbox.Message, error) {
		return a.groupChanged(ctx, before, after, seq, false)
	})
	a.wakeRelay(err)
	return out, err
}

// CreateAgent registers an agent (offline).
func (a *App) CreateAgent(ctx context.Context, req Request, ag routing.Agent) (store.AgentView, error) {
	ag.Presence = ""
	ag = ag.WithDefaults()
	if err := ag.Validate("agent"); err != nil {
		return store.AgentView{}, err
	}
	ag.CreatedAt, ag.UpdatedAt, ag.Version = a.now(), a.now(), 1
	v, err := a.store.CreateAgent(ctx, claim(ctx, req, "create_agent"), ag, func(ag routing.Agent) ([]outbox.Message, error) {
		return a.agentChanged(ctx, ag, true)
	})
	a.wakeRelay(err)
	return v, err
}

// Agent returns an agent with their load.
func (a *App) Agent(ctx context.Context, id uuid.UUID) (store.AgentView, error) {
	return a.store.Agent(ctx, id)
}

// Memberships returns the groups staff works in as an agent and the groups they head.
func (a *App) Memberships(ctx context.Context, staff uuid.UUID) (member, headed []uuid.UUID, err error) {
	return a.store.Memberships(ctx, staff)
}

// Agents lists agents, of one group unless group is uuid.Nil.
func (a *App) Agents(ctx context.Context, group uuid.UUID) ([]store.AgentView, error) {
	return a.store.Agents(ctx, group)
}

// UpdateAgent changes the paths of agent id (see AgentPaths) given the current etag. Raising capacity or
// joining a group drains the agent's groups' queues at once.
func (a *App) UpdateAgent(ctx context.Context, id uuid.UUID, etag string, paths []string, value routing.Agent) (store.AgentView, error) {
	before, after, err := a.store.UpdateAgent(ctx, id, a.now(), func(ag *routing.Agent) error {
		if err := checkEtag("agent.etag", etag, ag.Version, "agent"); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				ag.DisplayName = value.DisplayName
			case "group_ids":
				ag.GroupIDs = value.GroupIDs
			case "skills":
				ag.Skills = value.Skills
			case "seniority":
				ag.Seniority = value.Seniority
			case "capacity":
				ag.Capacity = value.Capacity
			}
		}
		*ag = ag.WithDefaults()
		return ag.Validate("agent")
	}, a.agentEvents(ctx))
	a.wakeRelay(err)
	if err != nil {
		return after, err
	}
	if after.Capacity > before.Capacity || slices.ContainsFunc(after.GroupIDs, func(g uuid.UUID) bool { return !before.InGroup(g) }) ||
		!slices.Equal(after.Skills, before.Skills) {
		a.drainAfter(ctx, after.GroupIDs, "agent updated")
	}
	return a.store.Agent(ctx, id)
}

// SetPresence sets an agent's presence. An agent sets only their own; adapters, supervisors and admins
// set anyone's. Coming online drains the agent's groups' queues at once.
func (a *App) SetPresence(ctx context.Context, id uuid.UUID, p routing.Presence) (store.AgentView, error) {
	if !p.Valid() {
		return store.AgentView{}, apierr.InvalidField("presence", "must be online, away or offline")
	}
	if who, ok := auth.FromContext(ctx); ok && who.Kind == auth.KindStaff && !who.Has(auth.RoleSupervisor) &&
		!who.Has(auth.RoleAdmin) && who.ID != id.String() {
		return store.AgentView{}, apierr.New(apierr.KindPermissionDenied, "NOT_YOUR_PRESENCE",
			"agents set only their own presence; a supervisor sets others'")
	}
	_, after, err := a.store.UpdateAgent(ctx, id, a.now(), func(ag *routing.Agent) error {
		ag.Presence = p
		return nil
	}, a.agentEvents(ctx))
	a.wakeRelay(err)
	if err != nil {
		return after, err
	}
	if p == routing.PresenceOnline {
		a.drainAfter(ctx, after.GroupIDs, "agent online")
	}
	return a.store.Agent(ctx, id)
}

// CreateRule adds a rule; the target group must exist.
func (a *App) CreateRule(ctx context.Context, req Request, r routing.Rule) (routing.Rule, error) {
	if err := r.Validate("rule"); err != nil {
		return r, err
	}
	var err error
	if r.ID, err = newID(); err != nil {
		return r, err
	}
	r.Builtin, r.CreatedAt = false, a.now()
	return a.store.CreateRule(ctx, claim(ctx, req, "create_rule"), r)
}

// Rules lists the rules in the order they are tried.
func (a *App) Rules(ctx context.Context) ([]routing.Rule, error) { return a.store.Rules(ctx) }

// UpdateRule changes the paths of rule id (see RulePaths) given the current etag.
func (a *App) UpdateRule(ctx context.Context, id uuid.UUID, etag string, paths []string, value routing.Rule) (routing.Rule, error) {
	return a.store.UpdateRule(ctx, id, func(r *routing.Rule) error {
		if err := checkEtag("rule.etag", etag, r.Version, "rule"); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "position":
				r.Position = value.Position
			case "display_name":
				r.DisplayName = value.DisplayName
			case "condition":
				r.Condition = value.Condition
			case "target_group_id":
				r.TargetGroupID = value.TargetGroupID
			case "required_skills":
				r.RequiredSkills = value.RequiredSkills
			case "enabled":
				r.Enabled = value.Enabled
			}
		}
		return r.Validate("rule")
	})
}

// DeleteRule removes a rule.
func (a *App) DeleteRule(ctx context.Context, id uuid.UUID) error { return a.store.DeleteRule(ctx, id) }

// TestRouting returns the rule and group a ticket with facts f would get.
func (a *App) TestRouting(ctx context.Context, f routing.Facts) (routing.Rule, routing.Group, error) {
	rules, err := a.store.Rules(ctx)
	if err != nil {
		return routing.Rule{}, routing.Group{}, err
	}
	r, ok := routing.Route(rules, f)
	if !ok {
		return r, routing.Group{}, apierr.FailedPrecondition("NO_RULE_MATCHES",
			"no enabled rule matches: add a catch-all rule (an empty condition) last")
	}
	g, err := a.store.Group(ctx, r.TargetGroupID)
	return r, g, err
}

// QueueView is a group's queue with its members' loads.
type QueueView struct {
	Group   routing.Group
	Depth   int
	Oldest  time.Duration
	Tickets []store.TicketRow
	Agents  []store.AgentView
}

// Queue returns group id's view.
func (a *App) Queue(ctx context.Context, id uuid.UUID) (QueueView, error) {
	g, err := a.store.Group(ctx, id)
	if err != nil {
		return QueueView{}, err
	}
	q, err := a.store.Queue(ctx, id, 100)
	if err != nil {
		return QueueView{}, err
	}
	agents, err := a.store.Agents(ctx, id)
	if err != nil {
		return QueueView{}, err
	}
	v := QueueView{Group: g, Depth: q.Depth, Tickets: q.Tickets, Agents: agents}
	if !q.OldestAt.IsZero() {
		v.Oldest = max(a.now().Sub(q.OldestAt), 0)
	}
	return v, nil
}
