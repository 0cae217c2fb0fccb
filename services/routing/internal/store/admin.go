package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/routing/internal/domain/routing"
)

// Reasons of the store's own errors.
const (
	ReasonGroupCodeTaken = "GROUP_CODE_TAKEN"
	ReasonAgentExists    = "AGENT_EXISTS"
	ReasonGroupInUse     = "GROUP_IN_USE"
)

// constraintErr turns a constraint violation of an admin write into the API error naming the field.
func constraintErr(err error, prefix string) error {
	if c, ok := pgxutil.UniqueViolation(err); ok {
		switch c {
		case "groups_code_key":
			return apierr.New(apierr.KindAlreadyExists, ReasonGroupCodeTaken, "%s.code: another group has this code", prefix)
		case "agents_pkey":
			return apierr.New(apierr.KindAlreadyExists, ReasonAgentExists, "%s.agent_id: the agent already exists", prefix)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation
		switch pe.ConstraintName {
		case "groups_head_fkey":
			return apierr.InvalidField(prefix+".head_agent_id", "no agent has this id")
		case "memberships_group_fkey":
			return apierr.InvalidField(prefix+".group_ids", "names a group that does not exist")
		case "routing_rules_target_fkey":
			return apierr.InvalidField(prefix+".target_group_id", "no group has this id")
		case "groups_overflow_fkey":
			return apierr.InvalidField(prefix+".overflow_group_id", "no group has this id")
		}
	}
	return err
}

const groupColumns = `id, code, display_name, head_agent_id, strategy, transfer_deadline_seconds, builtin, version,
	created_at, updated_at, overflow_group_id, surge_queue_depth, surge_wait_seconds, calm_queue_depth, calm_wait_seconds,
	calm_period_seconds, in_surge, surge_started_at, calm_since, escalation_policy`

func scanGroup(row pgx.Row) (routing.Group, error) {
	var (
		g                            routing.Group
		head, overflow               *uuid.UUID
		strategy, escalation         string
		seconds, surgeWait, calmWait int
		calmPeriod                   int
		surgeStarted, calmSince      *time.Time
	)
	if err := row.Scan(&g.ID, &g.Code, &g.DisplayName, &head, &strategy, &seconds, &g.Builtin, &g.Version,
		&g.CreatedAt, &g.UpdatedAt, &overflow, &g.Surge.QueueDepth, &surgeWait, &g.Surge.CalmDepth, &calmWait, &calmPeriod,
		&g.SurgeState.InSurge, &surgeStarted, &calmSince, &escalation); err != nil {
		return g, err
	}
	g.Escalation = routing.EscalationPolicy(escalation)
	g.HeadAgentID, g.Surge.OverflowGroupID = deref(head), deref(overflow)
	g.Strategy, g.TransferDeadline = routing.Strategy(strategy), time.Duration(seconds)*time.Second
	g.Surge.OldestWait, g.Surge.CalmWait = time.Duration(surgeWait)*time.Second, time.Duration(calmWait)*time.Second
	g.Surge.CalmPeriod = time.Duration(calmPeriod) * time.Second
	if surgeStarted != nil {
		g.SurgeState.StartedAt = *surgeStarted
	}
	if calmSince != nil {
		g.SurgeState.CalmSince = *calmSince
	}
	return g, nil
}

func nullID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func (t *Tx) insertGroup(ctx context.Context, g routing.Group) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO groups (`+groupColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13, $14, $15, false, NULL, NULL, $16)`,
		g.ID, g.Code, g.DisplayName, nullID(g.HeadAgentID), string(g.Strategy), int(g.TransferDeadline/time.Second),
		g.Builtin, g.CreatedAt, g.UpdatedAt, nullID(g.Surge.OverflowGroupID), g.Surge.QueueDepth, seconds(g.Surge.OldestWait),
		g.Surge.CalmDepth, seconds(g.Surge.CalmWait), seconds(g.Surge.CalmPeriod), string(g.Escalation))
	if err != nil {
		return fmt.Errorf("insert group: %w", constraintErr(err, "group"))
	}
	return nil
}

// Claim records an idempotency claim (none when c.Key is empty) and returns the id an earlier identical
// request created, if any.
func (t *Tx) Claim(ctx context.Context, c idempotency.Claim, now time.Time) (uuid.UUID, error) {
	if c.Key == "" {
		return uuid.Nil, nil
	}
	existing, err := c.Claim(ctx, t.tx, now)
	if err != nil || existing == "" {
		return uuid.Nil, err
	}
	id, err := uuid.Parse(existing)
	if err != nil {
		return uuid.Nil, fmt.Errorf("idempotency key names %q: %w", existing, err)
	}
	return id, nil
}

// CreateGroup inserts g (ID, times and defaults set by the caller) with the outbox events events returns
// for it (seq: the group's first event sequence), unless c names an earlier identical request, whose group
// it returns.
func (s *Store) CreateGroup(ctx context.Context, c idempotency.Claim, g routing.Group,
	events func(g routing.Group, seq int64) ([]outbox.Message, error)) (routing.Group, error) {
	g.Version = 1
	c.ResourceID = g.ID.String()
	var earlier uuid.UUID
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) (err error) {
		if earlier, err = t.Claim(ctx, c, g.CreatedAt); err != nil || earlier != uuid.Nil {
			return err
		}
		if err := t.insertGroup(ctx, g); err != nil {
			return err
		}
		seq, err := t.advanceGroupSeq(ctx, g.ID)
		if err != nil {
			return err
		}
		return t.addEventsOf(ctx, func() ([]outbox.Message, error) { return events(g, seq) })
	})
	if err == nil && earlier != uuid.Nil {
		return s.Group(ctx, earlier)
	}
	return g, err
}

// advanceGroupSeq draws the group's next event sequence (shared by its change and surge events).
func (t *Tx) advanceGroupSeq(ctx context.Context, id uuid.UUID) (int64, error) {
	var seq int64
	if err := t.tx.QueryRow(ctx, `UPDATE groups SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq`, id).Scan(&seq); err != nil {
		return 0, fmt.Errorf("advance group event sequence: %w", err)
	}
	return seq, nil
}

// addEventsOf adds the events build returns to the outbox.
func (t *Tx) addEventsOf(ctx context.Context, build func() ([]outbox.Message, error)) error {
	msgs, err := build()
	if err != nil {
		return err
	}
	return t.AddEvents(ctx, msgs...)
}

// Group returns a group.
func (s *Store) Group(ctx context.Context, id uuid.UUID) (routing.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return g, notFound("Group", id)
	}
	return g, err
}

// Groups returns every group by code.
func (s *Store) Groups(ctx context.Context) ([]routing.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+groupColumns+` FROM groups ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (routing.Group, error) { return scanGroup(r) })
}

// UpdateGroup locks group id, lets change edit it (change checks the etag and validates), and saves it
// with the next version and the outbox events events returns for the change (seq: the group's next event
// sequence).
func (s *Store) UpdateGroup(ctx context.Context, id uuid.UUID, now time.Time, change func(*routing.Group) error,
	events func(before, after routing.Group, seq int64) ([]outbox.Message, error)) (routing.Group, error) {
	var out routing.Group
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		g, err := scanGroup(t.tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("Group", id)
		} else if err != nil {
			return fmt.Errorf("load group: %w", err)
		}
		before := g
		if err := change(&g); err != nil {
			return err
		}
		g.Version++
		g.UpdatedAt = now
		var seq int64
		err = t.tx.QueryRow(ctx, `UPDATE groups SET display_name = $2, head_agent_id = $3, strategy = $4,
			transfer_deadline_seconds = $5, version = $6, updated_at = $7, overflow_group_id = $8, surge_queue_depth = $9,
			surge_wait_seconds = $10, calm_queue_depth = $11, calm_wait_seconds = $12, calm_period_seconds = $13,
			escalation_policy = $14, event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq`,
			g.ID, g.DisplayName, nullID(g.HeadAgentID), string(g.Strategy), int(g.TransferDeadline/time.Second), g.Version, g.UpdatedAt,
			nullID(g.Surge.OverflowGroupID), g.Surge.QueueDepth, seconds(g.Surge.OldestWait), g.Surge.CalmDepth,
			seconds(g.Surge.CalmWait), seconds(g.Surge.CalmPeriod), string(g.Escalation)).Scan(&seq)
		if err != nil {
			return fmt.Errorf("update group: %w", constraintErr(err, "group"))
		}
		out = g
		return t.addEventsOf(ctx, func() ([]outbox.Message, error) { return events(before, g, seq) })
	})
	return out, err
}

// AgentView is an agent with their load.
type AgentView struct {
	routing.Agent
	Open int // open tickets assigned now
}

// openCountSQL is agent a's load: the tickets assigned to them and not yet done, read from the kept count
// (migration 00004: the folded count plus the deltas not yet folded). One expression for every query that
// reads a load (the views, the engine's picks and their confirmation), so they cannot disagree.
const openCountSQL = `(coalesce((SELECT c.n FROM routing_counts c WHERE c.kind = 'agent' AND c.id = a.id), 0)
	+ coalesce((SELECT sum(x.d) FROM routing_count_deltas x WHERE x.kind = 'agent' AND x.id = a.id), 0))`

// queueDepthSQL is group $1's queue depth, read from the kept count as openCountSQL is.
const queueDepthSQL = `(coalesce((SELECT c.n FROM routing_counts c WHERE c.kind = 'queue' AND c.id = $1), 0)
	+ coalesce((SELECT sum(x.d) FROM routing_count_deltas x WHERE x.kind = 'queue' AND x.id = $1), 0))`

// FoldCounts moves the count deltas written so far into routing_counts, in one transaction: readers see the
// same totals before and after. Replicas may fold at once; a delta is folded by one of them.
func (s *Store) FoldCounts(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `WITH d AS (DELETE FROM routing_count_deltas RETURNING kind, id, d)
		INSERT INTO routing_counts (kind, id, n)
		SELECT kind, id, sum(d) FROM d GROUP BY kind, id ORDER BY kind, id
		ON CONFLICT ON CONSTRAINT routing_counts_pkey DO UPDATE SET n = routing_counts.n + excluded.n`)
	if err != nil {
		return 0, fmt.Errorf("fold counts: %w", err)
	}
	return tag.RowsAffected(), nil
}

const agentSelect = `SELECT a.id, a.display_name, a.skills, a.seniority, a.capacity, a.presence, a.version, a.created_at,
	a.updated_at,
	coalesce((SELECT array_agg(m.group_id ORDER BY m.group_id) FROM memberships m WHERE m.agent_id = a.id), '{}'),
	` + openCountSQL + `
	FROM agents a`

func scanAgent(row pgx.Row) (AgentView, error) {
	var (
		v                   AgentView
		seniority, presence string
		open                int64
	)
	if err := row.Scan(&v.ID, &v.DisplayName, &v.Skills, &seniority, &v.Capacity, &presence, &v.Version, &v.CreatedAt,
		&v.UpdatedAt, &v.GroupIDs, &open); err != nil {
		return v, err
	}
	v.Seniority, v.Presence, v.Open = routing.Seniority(seniority), routing.Presence(presence), int(open)
	return v, nil
}

// CreateAgent inserts a with their memberships and the outbox events events returns for them (their
// sequence is their version, 1), unless c names an earlier identical request, whose agent it returns.
func (s *Store) CreateAgent(ctx context.Context, c idempotency.Claim, a routing.Agent,
	events func(a routing.Agent) ([]outbox.Message, error)) (AgentView, error) {
	a.Version = 1
	c.ResourceID = a.ID.String()
	var earlier uuid.UUID
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) (err error) {
		if earlier, err = t.Claim(ctx, c, a.CreatedAt); err != nil || earlier != uuid.Nil {
			return err
		}
		_, err = t.tx.Exec(ctx, `INSERT INTO agents (id, display_name, skills, seniority, capacity, presence, version,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)`,
			a.ID, a.DisplayName, nonNil(a.Skills), string(a.Seniority), a.Capacity, string(a.Presence), a.CreatedAt, a.UpdatedAt)
		if err != nil {
			return fmt.Errorf("insert agent: %w", constraintErr(err, "agent"))
		}
		if err := t.setMemberships(ctx, a.ID, a.GroupIDs); err != nil {
			return err
		}
		return t.addEventsOf(ctx, func() ([]outbox.Message, error) { return events(a) })
	})
	if err != nil {
		return AgentView{}, err
	}
	if earlier != uuid.Nil {
		return s.Agent(ctx, earlier)
	}
	return AgentView{Agent: a}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// setMemberships makes groups the agent's memberships, keeping the round-robin turn of the ones that stay.
func (t *Tx) setMemberships(ctx context.Context, agent uuid.UUID, groups []uuid.UUID) error {
	if groups == nil {
		groups = []uuid.UUID{}
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM memberships WHERE agent_id = $1 AND NOT (group_id = ANY($2))`, agent, groups); err != nil {
		return fmt.Errorf("remove memberships: %w", err)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO memberships (group_id, agent_id) SELECT g, $1 FROM unnest($2::uuid[]) g
		ON CONFLICT DO NOTHING`, agent, groups)
	if err != nil {
		return fmt.Errorf("add memberships: %w", constraintErr(err, "agent"))
	}
	return nil
}

// Agent returns an agent with their load.
func (s *Store) Agent(ctx context.Context, id uuid.UUID) (AgentView, error) {
	v, err := scanAgent(s.pool.QueryRow(ctx, agentSelect+` WHERE a.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFound("Agent", id)
	}
	return v, err
}

// Agents returns the agents by name (then id), only the members of group unless it is uuid.Nil.
func (s *Store) Agents(ctx context.Context, group uuid.UUID) ([]AgentView, error) {
	q, args := agentSelect+` ORDER BY a.display_name, a.id`, []any{}
	if group != uuid.Nil {
		q = agentSelect + ` WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.agent_id = a.id AND m.group_id = $1)
			ORDER BY a.display_name, a.id`
		args = append(args, group)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentView, error) { return scanAgent(r) })
}

// UpdateAgent locks agent id, lets change edit it (etag, validation), and saves it and its memberships
// with the next version (also the sequence of its events) and the outbox events events returns. It returns
// the agent before and after.
func (s *Store) UpdateAgent(ctx context.Context, id uuid.UUID, now time.Time, change func(*routing.Agent) error,
	events func(before, after AgentView) ([]outbox.Message, error)) (before, after AgentView, err error) {
	err = s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		v, err := scanAgent(t.tx.QueryRow(ctx, agentSelect+` WHERE a.id = $1 FOR UPDATE OF a`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("Agent", id)
		} else if err != nil {
			return fmt.Errorf("load agent: %w", err)
		}
		before = v
		v.GroupIDs = append([]uuid.UUID(nil), v.GroupIDs...)
		v.Skills = append([]string(nil), v.Skills...)
		if err := change(&v.Agent); err != nil {
			return err
		}
		v.Version++
		v.UpdatedAt = now
		_, err = t.tx.Exec(ctx, `UPDATE agents SET display_name = $2, skills = $3, seniority = $4, capacity = $5, presence = $6,
			version = $7, updated_at = $8 WHERE id = $1`,
			v.ID, v.DisplayName, nonNil(v.Skills), string(v.Seniority), v.Capacity, string(v.Presence), v.Version, v.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update agent: %w", err)
		}
		if err := t.setMemberships(ctx, v.ID, v.GroupIDs); err != nil {
			return err
		}
		after = v
		return t.addEventsOf(ctx, func() ([]outbox.Message, error) { return events(before, after) })
	})
	return before, after, err
}

// conditionJSON is a rule condition as stored.
type conditionJSON struct {
	Types         []string `json:"types,omitempty"`
	Subcategories []string `json:"subcategories,omitempty"`
	Levels        []string `json:"levels,omitempty"`
	Urgencies     []string `json:"urgencies,omitempty"`
	Channels      []string `json:"channels,omitempty"`
	Tiers         []string `json:"tiers,omitempty"`
	Keywords      []string `json:"keywords,omitempty"`
}

const ruleColumns = `id, position, display_name, condition, target_group_id, required_skills, enabled, builtin, version, created_at`

func scanRule(row pgx.Row) (routing.Rule, error) {
	var (
		r    routing.Rule
		cond []byte
	)
	if err := row.Scan(&r.ID, &r.Position, &r.DisplayName, &cond, &r.TargetGroupID, &r.RequiredSkills, &r.Enabled,
		&r.Builtin, &r.Version, &r.CreatedAt); err != nil {
		return r, err
	}
	var c conditionJSON
	if err := json.Unmarshal(cond, &c); err != nil {
		return r, fmt.Errorf("decode condition of rule %s: %w", r.ID, err)
	}
	r.Condition = routing.Condition(c)
	return r, nil
}

func (t *Tx) insertRule(ctx context.Context, r routing.Rule) error {
	cond, err := json.Marshal(conditionJSON(r.Condition))
	if err != nil {
		return fmt.Errorf("encode condition: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO routing_rules (`+ruleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)`,
		r.ID, r.Position, r.DisplayName, cond, r.TargetGroupID, nonNil(r.RequiredSkills), r.Enabled, r.Builtin, r.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert rule: %w", constraintErr(err, "rule"))
	}
	return nil
}

// CreateRule inserts r unless c names an earlier identical request, whose rule it returns.
func (s *Store) CreateRule(ctx context.Context, c idempotency.Claim, r routing.Rule) (routing.Rule, error) {
	r.Version = 1
	c.ResourceID = r.ID.String()
	var earlier uuid.UUID
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) (err error) {
		if earlier, err = t.Claim(ctx, c, r.CreatedAt); err != nil || earlier != uuid.Nil {
			return err
		}
		return t.insertRule(ctx, r)
	})
	if err == nil && earlier != uuid.Nil {
		return s.Rule(ctx, earlier)
	}
	return r, err
}

// Rule returns a rule.
func (s *Store) Rule(ctx context.Context, id uuid.UUID) (routing.Rule, error) {
	r, err := scanRule(s.pool.QueryRow(ctx, `SELECT `+ruleColumns+` FROM routing_rules WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("RoutingRule", id)
	}
	return r, err
}

// Rules returns every rule in the order Route tries them.
func (s *Store) Rules(ctx context.Context) ([]routing.Rule, error) {
	return rules(ctx, s.pool)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func rules(ctx context.Context, q querier) ([]routing.Rule, error) {
	rows, err := q.Query(ctx, rulesSQL)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	return collectRules(rows)
}

// rulesSQL reads every rule in the order Route tries them.
const rulesSQL = `SELECT ` + ruleColumns + ` FROM routing_rules ORDER BY position, created_at, id`

func collectRules(rows pgx.Rows) ([]routing.Rule, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (routing.Rule, error) { return scanRule(r) })
}

// UpdateRule locks rule id, lets change edit it, and saves it with the next version.
func (s *Store) UpdateRule(ctx context.Context, id uuid.UUID, change func(*routing.Rule) error) (routing.Rule, error) {
	var out routing.Rule
	err := s.InTx(ctx, func(ctx context.Context, t *Tx) error {
		r, err := scanRule(t.tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM routing_rules WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("RoutingRule", id)
		} else if err != nil {
			return fmt.Errorf("load rule: %w", err)
		}
		if err := change(&r); err != nil {
			return err
		}
		r.Version++
		cond, err := json.Marshal(conditionJSON(r.Condition))
		if err != nil {
			return fmt.Errorf("encode condition: %w", err)
		}
		_, err = t.tx.Exec(ctx, `UPDATE routing_rules SET position = $2, display_name = $3, condition = $4,
			target_group_id = $5, required_skills = $6, enabled = $7, version = $8 WHERE id = $1`,
			r.ID, r.Position, r.DisplayName, cond, r.TargetGroupID, nonNil(r.RequiredSkills), r.Enabled, r.Version)
		if err != nil {
			return fmt.Errorf("update rule: %w", constraintErr(err, "rule"))
		}
		out = r
		return nil
	})
	return out, err
}

// DeleteRule removes rule id.
func (s *Store) DeleteRule(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM routing_rules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("RoutingRule", id)
	}
	return nil
}

func seconds(d time.Duration) int { return int(d / time.Second) }

// Memberships returns the groups staff belongs to as an agent and the groups they head, each in id order.
func (s *Store) Memberships(ctx context.Context, staff uuid.UUID) (member, headed []uuid.UUID, err error) {
	err = s.pool.QueryRow(ctx, `SELECT
		array(SELECT group_id FROM memberships WHERE agent_id = $1 ORDER BY group_id),
		array(SELECT id FROM groups WHERE head_agent_id = $1 ORDER BY id)`, staff).Scan(&member, &headed)
	if err != nil {
		return nil, nil, fmt.Errorf("memberships of %s: %w", staff, err)
	}
	return member, headed, nil
}
