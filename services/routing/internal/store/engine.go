package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/routing/internal/domain/routing"
)

// Ticket states in routed_tickets.
const (
	StateQueued   = "queued"
	StateAssigned = "assigned"
	StateDone     = "done"
	// StateTransferring: waiting for GroupID, the receiving group, to accept a transfer.
	StateTransferring = "transferring"
)

// DispatchChannel is the Postgres NOTIFY channel a deciding transaction signals at commit, so dispatchers
// on every replica call intake at once rather than at their next poll.
const DispatchChannel = "kefu_routing_dispatch"

// TicketRow is routing's projection of one ticket.
type TicketRow struct {
	ID             uuid.UUID
	GroupID        uuid.UUID
	AssigneeID     uuid.UUID
	State          string
	Priority       int
	Facts          routing.Facts // without Text, which routing does not keep
	RuleID         uuid.UUID
	RequiredSkills []string
	SLADue         time.Time
	EnqueuedAt     time.Time
	AssignedAt     time.Time
	Bypass         bool
	DeclinedBy     []uuid.UUID // agents who handed it back: not picked for it again
	// IntakeAssignee is the agent intake has, or will have once the pending dispatch lands (uuid.Nil:
	// nobody). Each dispatch expects it.
	IntakeAssignee uuid.UUID
	Seq            int64 // last kefu.ticket.* sequence applied
	EventSeq       int64 // last kefu.routing.* sequence published for the ticket
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const ticketColumns = `ticket_id, group_id, assignee_id, state, priority, type, subcategory, level, urgency, channel, tier,
	rule_id, required_skills, sla_due_at, enqueued_at, assigned_at, bypass, seq, event_seq, created_at, updated_at,
	declined_by, intake_assignee`

func scanTicket(row pgx.Row) (TicketRow, error) {
	var (
		t                                     TicketRow
		group, assignee, rule, intakeAssignee *uuid.UUID
		slaDue, assignedAt                    *time.Time
	)
	err := row.Scan(&t.ID, &group, &assignee, &t.State, &t.Priority, &t.Facts.Type, &t.Facts.Subcategory, &t.Facts.Level,
		&t.Facts.Urgency, &t.Facts.Channel, &t.Facts.Tier, &rule, &t.RequiredSkills, &slaDue, &t.EnqueuedAt, &assignedAt,
		&t.Bypass, &t.Seq, &t.EventSeq, &t.CreatedAt, &t.UpdatedAt, &t.DeclinedBy, &intakeAssignee)
	if err != nil {
		return t, err
	}
	t.GroupID, t.AssigneeID, t.RuleID, t.IntakeAssignee = deref(group), deref(assignee), deref(rule), deref(intakeAssignee)
	if slaDue != nil {
		t.SLADue = *slaDue
	}
	if assignedAt != nil {
		t.AssignedAt = *assignedAt
	}
	return t, nil
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// BatchLocks is what a transaction applying a batch of ticket events takes first.
type BatchLocks struct {
	// Tickets are the batch's tickets routing has seen, locked; a ticket missing is new to routing.
	Tickets map[uuid.UUID]TicketRow
	// Groups are every group, locked, and Rules the routing rules in the order Route tries them; both nil
	// unless asked for.
	Groups map[uuid.UUID]routing.Group
	Rules  []routing.Rule
}

// LockBatch locks, in one round trip, the tickets ids routing has seen (in id order) and, when groups is
// set, every group (in id order), and reads the rules. A transaction that applies several tickets' events
// takes them all first, so that, like one event's transaction, it locks tickets before any group or agent;
// and it locks every group because the groups its events need are only known one event at a time, and
// locking them as they come would break the id order every other transaction keeps.
func (t *Tx) LockBatch(ctx context.Context, ids []uuid.UUID, groups bool) (BatchLocks, error) {
	l := BatchLocks{}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+ticketColumns+` FROM routed_tickets WHERE ticket_id = ANY($1) ORDER BY ticket_id FOR UPDATE`, ids).
		Query(func(rows pgx.Rows) error {
			ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketRow, error) { return scanTicket(r) })
			l.Tickets = make(map[uuid.UUID]TicketRow, len(ts))
			for _, row := range ts {
				l.Tickets[row.ID] = row
			}
			return err
		})
	if groups {
		b.Queue(`SELECT ` + groupColumns + ` FROM groups ORDER BY id FOR UPDATE`).Query(func(rows pgx.Rows) (err error) {
			l.Groups, err = collectGroups(rows)
			return err
		})
		b.Queue(rulesSQL).Query(func(rows pgx.Rows) (err error) {
			l.Rules, err = collectRules(rows)
			return err
		})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return l, fmt.Errorf("lock a batch of %d tickets: %w", len(ids), err)
	}
	return l, nil
}

// LockTicket returns ticket id locked for this transaction; found is false when routing has not seen it.
func (t *Tx) LockTicket(ctx context.Context, id uuid.UUID) (row TicketRow, found bool, err error) {
	row, err = scanTicket(t.tx.QueryRow(ctx, `SELECT `+ticketColumns+` FROM routed_tickets WHERE ticket_id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("load ticket %s: %w", id, err)
	}
	return row, true, nil
}

// Ticket returns ticket id without locking.
func (s *Store) Ticket(ctx context.Context, id uuid.UUID) (row TicketRow, found bool, err error) {
	row, err = scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM routed_tickets WHERE ticket_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return row, false, nil
	}
	return row, err == nil, err
}

// SaveTicket inserts or overwrites the ticket's row.
func (t *Tx) SaveTicket(ctx context.Context, r TicketRow) error {
	if _, err := t.tx.Exec(ctx, saveTicketSQL, ticketArgs(r)...); err != nil {
		return fmt.Errorf("save ticket %s: %w", r.ID, err)
	}
	return nil
}

const saveTicketSQL = `INSERT INTO routed_tickets (` + ticketColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
	ON CONFLICT (ticket_id) DO UPDATE SET group_id = EXCLUDED.group_id, assignee_id = EXCLUDED.assignee_id,
		state = EXCLUDED.state, priority = EXCLUDED.priority, type = EXCLUDED.type, subcategory = EXCLUDED.subcategory,
		level = EXCLUDED.level, urgency = EXCLUDED.urgency, channel = EXCLUDED.channel, tier = EXCLUDED.tier,
		rule_id = EXCLUDED.rule_id, required_skills = EXCLUDED.required_skills, sla_due_at = EXCLUDED.sla_due_at,
		enqueued_at = EXCLUDED.enqueued_at, assigned_at = EXCLUDED.assigned_at, bypass = EXCLUDED.bypass,
		seq = EXCLUDED.seq, event_seq = EXCLUDED.event_seq, updated_at = EXCLUDED.updated_at,
		declined_by = EXCLUDED.declined_by, intake_assignee = EXCLUDED.intake_assignee`

func ticketArgs(r TicketRow) []any {
	return []any{r.ID, nullID(r.GroupID), nullID(r.AssigneeID), r.State, r.Priority, r.Facts.Type, r.Facts.Subcategory,
		r.Facts.Level, r.Facts.Urgency, r.Facts.Channel, r.Facts.Tier, nullID(r.RuleID), nonNil(r.RequiredSkills),
		nullTime(r.SLADue), r.EnqueuedAt, nullTime(r.AssignedAt), r.Bypass, r.Seq, r.EventSeq, r.CreatedAt, r.UpdatedAt,
		nonNilIDs(r.DeclinedBy), nullID(r.IntakeAssignee)}
}

// Rules returns every rule in the order Route tries them, as this transaction sees them.
func (t *Tx) Rules(ctx context.Context) ([]routing.Rule, error) { return rules(ctx, t.tx) }

// LockGroups locks the groups in id order (the engine's lock order: ticket, then groups by id, then agents
// by id, so two transactions never wait on each other in a circle) and returns them by id. Unknown ids are
// left out.
func (t *Tx) LockGroups(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]routing.Group, error) {
	rows, err := t.tx.Query(ctx, lockGroupsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("lock groups: %w", err)
	}
	return collectGroups(rows)
}

const lockGroupsSQL = `SELECT ` + groupColumns + ` FROM groups WHERE id = ANY($1) ORDER BY id FOR UPDATE`

func collectGroups(rows pgx.Rows) (map[uuid.UUID]routing.Group, error) {
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (routing.Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, fmt.Errorf("lock groups: %w", err)
	}
	out := make(map[uuid.UUID]routing.Group, len(gs))
	for _, g := range gs {
		out[g.ID] = g
	}
	return out, nil
}

// Placement is what placing one ticket needs of its groups.
type Placement struct {
	Groups map[uuid.UUID]routing.Group // locked
	// Members are the groups' agents with their loads, read after the group locks but without locking the
	// agents: a pick among them holds only once ClaimAgent confirms it.
	Members []Member
	// Waiting holds the groups with a queued ticket.
	Waiting map[uuid.UUID]bool
}

// LockForPlacement locks the groups (as LockGroups) and reads their members and whether their queues are
// empty, in one round trip: the group locks are held to commit, so the locked section is kept to few
// round trips. Each statement of the batch takes its own snapshot after the one before it ran, so the
// members and queues are read after the locks were granted.
func (t *Tx) LockForPlacement(ctx context.Context, ids []uuid.UUID) (Placement, error) {
	p := Placement{Waiting: map[uuid.UUID]bool{}}
	b := &pgx.Batch{}
	b.Queue(lockGroupsSQL, ids).Query(func(rows pgx.Rows) (err error) {
		p.Groups, err = collectGroups(rows)
		return err
	})
	b.Queue(membersSQL, ids).Query(func(rows pgx.Rows) (err error) {
		p.Members, err = collectMembers(rows)
		return err
	})
	queueWaiting(b, ids, p.Waiting)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return p, fmt.Errorf("lock groups for placement: %w", err)
	}
	return p, nil
}

// queueWaiting reads which of the groups have a queued ticket into waiting.
func queueWaiting(b *pgx.Batch, groups []uuid.UUID, waiting map[uuid.UUID]bool) {
	b.Queue(`SELECT g FROM unnest($1::uuid[]) g
		WHERE EXISTS (SELECT 1 FROM routed_tickets r WHERE r.group_id = g AND r.state = 'queued')`, groups).Query(func(rows pgx.Rows) error {
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		for _, id := range ids {
			waiting[id] = true
		}
		return err
	})
}

// Placements is what placing a batch's new tickets together needs of their groups, whose locks the
// transaction holds already (LockBatch).
type Placements struct {
	// Members are the groups' agents, locked, with their loads counted after the lock.
	Members []Member
	// Waiting holds the groups with a queued ticket.
	Waiting map[uuid.UUID]bool
	// Turns are n fresh assignment turns, in increasing order.
	Turns []int64
}

// LockForPlacements locks every agent of the groups (in id order), reads them with their loads and which
// groups have a queue, and draws n turns, in one round trip. Every pick made from it holds to commit.
func (t *Tx) LockForPlacements(ctx context.Context, groups []uuid.UUID, n int) (Placements, error) {
	p := Placements{Waiting: map[uuid.UUID]bool{}}
	b := &pgx.Batch{}
	queueLockMembers(b, groups, &p.Members)
	queueWaiting(b, groups, p.Waiting)
	b.Queue(`SELECT nextval('assignment_turns') FROM generate_series(1, $1)`, n).Query(func(rows pgx.Rows) (err error) {
		p.Turns, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		slices.Sort(p.Turns)
		return err
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return p, fmt.Errorf("lock agents for placing %d tickets: %w", n, err)
	}
	if len(p.Turns) != n {
		return p, fmt.Errorf("lock agents for placing %d tickets: drew %d turns", n, len(p.Turns))
	}
	return p, nil
}

// AgentClaim is an agent as they stand once locked.
type AgentClaim struct {
	routing.Candidate
	Member bool  // still a member of the group
	Found  bool  // the agent still exists
	Turn   int64 // a fresh assignment turn (see NextTurn), drawn in the same round trip
}

// claimSavepoint lets Unclaim release the agent's lock without ending the transaction.
const claimSavepoint = "claim_agent"

// ClaimAgent locks one agent, under a savepoint, and returns them as they stand now in group, with their
// load counted after the lock and a fresh turn, in one round trip. A pick made from Placement's unlocked
// read holds only if it still holds against this. Locking one agent while holding group locks keeps the
// lock order (groups, then agents); a caller that needs more agents locked must Unclaim first.
func (t *Tx) ClaimAgent(ctx context.Context, group, agent uuid.UUID) (AgentClaim, error) {
	c := AgentClaim{}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT ` + claimSavepoint)
	b.Queue(`SELECT 1 FROM agents WHERE id = $1 FOR UPDATE`, agent)
	b.Queue(`SELECT a.id, a.presence, a.capacity, a.skills, a.seniority, coalesce(m.last_turn, 0), m.agent_id IS NOT NULL,
		`+openCountSQL+`
		FROM agents a LEFT JOIN memberships m ON m.agent_id = a.id AND m.group_id = $2 WHERE a.id = $1`, agent, group).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var (
					presence, seniority string
					open                int64
				)
				if err := rows.Scan(&c.AgentID, &presence, &c.Capacity, &c.Skills, &seniority, &c.LastTurn, &c.Member, &open); err != nil {
					return err
				}
				c.Presence, c.Seniority, c.Open, c.Found = routing.Presence(presence), routing.Seniority(seniority), int(open), true
			}
			return rows.Err()
		})
	b.Queue(`SELECT nextval('assignment_turns')`).QueryRow(func(row pgx.Row) error { return row.Scan(&c.Turn) })
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return c, fmt.Errorf("claim agent %s: %w", agent, err)
	}
	return c, nil
}

// Unclaim releases the agent ClaimAgent locked (rolling back to its savepoint).
func (t *Tx) Unclaim(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT `+claimSavepoint); err != nil {
		return fmt.Errorf("release claimed agent: %w", err)
	}
	return nil
}

// Member is an agent as the assignment engine sees them in one group.
type Member struct {
	routing.Candidate
	GroupID uuid.UUID
}

// LockMembers locks every agent of the groups, in id order, and returns one Member per (group, agent) with
// the agent's load counted after the lock, so no concurrent assignment can push them over capacity.
func (t *Tx) LockMembers(ctx context.Context, groups []uuid.UUID) ([]Member, error) {
	var members []Member
	b := &pgx.Batch{}
	queueLockMembers(b, groups, &members)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("lock members: %w", err)
	}
	return members, nil
}

// queueLockMembers locks every agent of the groups, in id order, and then reads the members into out.
func queueLockMembers(b *pgx.Batch, groups []uuid.UUID, out *[]Member) {
	b.Queue(`SELECT 1 FROM agents WHERE id IN (SELECT agent_id FROM memberships WHERE group_id = ANY($1))
		ORDER BY id FOR UPDATE`, groups)
	b.Queue(membersSQL, groups).Query(func(rows pgx.Rows) (err error) {
		*out, err = collectMembers(rows)
		return err
	})
}

// membersSQL reads every (group, agent) of the groups $1 with the agent's load.
const membersSQL = `SELECT m.group_id, a.id, a.presence, a.capacity, a.skills, a.seniority, m.last_turn,
	` + openCountSQL + `
	FROM memberships m JOIN agents a ON a.id = m.agent_id WHERE m.group_id = ANY($1) ORDER BY m.group_id, a.id`

func collectMembers(rows pgx.Rows) ([]Member, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var (
			m                   Member
			presence, seniority string
			open                int64
		)
		err := r.Scan(&m.GroupID, &m.AgentID, &presence, &m.Capacity, &m.Skills, &seniority, &m.LastTurn, &open)
		m.Presence, m.Seniority, m.Open = routing.Presence(presence), routing.Seniority(seniority), int(open)
		return m, err
	})
}

// QueueHead returns up to limit queued tickets of group in assignment order, locked; tickets another
// transaction holds are skipped (that transaction drains the group itself before it commits).
func (t *Tx) QueueHead(ctx context.Context, group uuid.UUID, limit int) ([]TicketRow, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+ticketColumns+` FROM routed_tickets WHERE group_id = $1 AND state = 'queued'
		ORDER BY (CASE WHEN priority BETWEEN 1 AND 4 THEN priority ELSE 5 END), sla_due_at NULLS LAST, enqueued_at, ticket_id
		LIMIT $2 FOR UPDATE SKIP LOCKED`, group, limit)
	if err != nil {
		return nil, fmt.Errorf("queue of %s: %w", group, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketRow, error) { return scanTicket(r) })
}

// NextTurn draws the next assignment turn, strictly increasing across the database. A turn numbers a
// decision's request to intake and, recorded by RecordAssignment, orders round robin.
func (t *Tx) NextTurn(ctx context.Context) (int64, error) {
	var turn int64
	if err := t.tx.QueryRow(ctx, `SELECT nextval('assignment_turns')`).Scan(&turn); err != nil {
		return 0, fmt.Errorf("draw turn: %w", err)
	}
	return turn, nil
}

// RecordAssignment writes a decision to give the ticket to d.AgentID, in one round trip: turn becomes the
// agent's last turn in d.GroupID (the head of a group need not be a member, and then nothing is recorded),
// the dispatch is added (AddDispatch) and the row saved.
func (t *Tx) RecordAssignment(ctx context.Context, r TicketRow, d Dispatch, turn int64) error {
	b := &pgx.Batch{}
	queueAssignment(b, Assignment{Row: r, Dispatch: d, Turn: turn})
	queueSignal(b)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record assignment of ticket %s: %w", r.ID, err)
	}
	return nil
}

// Assignment is one decision to give a ticket to an agent: the row as decided, the dispatch telling
// intake, and the decision's turn.
type Assignment struct {
	Row      TicketRow
	Dispatch Dispatch
	Turn     int64
}

// RecordAssignments writes decisions, each as RecordAssignment does, in one round trip.
func (t *Tx) RecordAssignments(ctx context.Context, as []Assignment) error {
	if len(as) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, a := range as {
		queueAssignment(b, a)
	}
	queueSignal(b)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record %d assignments: %w", len(as), err)
	}
	return nil
}

func queueAssignment(b *pgx.Batch, a Assignment) {
	b.Queue(`UPDATE memberships SET last_turn = $3 WHERE group_id = $1 AND agent_id = $2`, a.Dispatch.GroupID, a.Dispatch.AgentID, a.Turn)
	queueDispatch(b, a.Dispatch)
	b.Queue(saveTicketSQL, ticketArgs(a.Row)...)
}

// AdvanceSeqs records, in one round trip, that each ticket's events up to seqs[id] were applied (at at),
// changing nothing else of its row; a ticket already past it keeps its sequence.
func (t *Tx) AdvanceSeqs(ctx context.Context, seqs map[uuid.UUID]int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, id := range pgxutil.LockOrder(slices.Collect(maps.Keys(seqs))) {
		b.Queue(`UPDATE routed_tickets SET seq = $2, updated_at = $3 WHERE ticket_id = $1 AND seq < $2`, id, seqs[id], at)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("advance %d tickets' sequences: %w", len(seqs), err)
	}
	return nil
}

// Dispatch is an assignment waiting for intake's AssignTicket.
type Dispatch struct {
	TicketID  uuid.UUID
	GroupID   uuid.UUID
	AgentID   uuid.UUID // uuid.Nil: the group only
	Unassign  bool      // clear the agent (a hand-back)
	Expected  uuid.UUID // the agent intake must still have (uuid.Nil: nobody)
	RequestID string
	Attempts  int
	CreatedAt time.Time
}

// AddDispatch records that intake must be told ticket's assignment, replacing an older one not yet sent,
// and signals the dispatchers at commit.
func (t *Tx) AddDispatch(ctx context.Context, d Dispatch) error {
	b := &pgx.Batch{}
	queueDispatch(b, d)
	queueSignal(b)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("add dispatch: %w", err)
	}
	return nil
}

func queueDispatch(b *pgx.Batch, d Dispatch) {
	// A decision replacing one not yet sent keeps that one's expectation: intake never saw it. One replacing
	// a call in flight expects what that call sets.
	b.Queue(`INSERT INTO dispatches (ticket_id, group_id, agent_id, unassign, request_id, attempts, next_at,
			created_at, expected_assignee)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $6, $7)
		ON CONFLICT (ticket_id) DO UPDATE SET group_id = EXCLUDED.group_id, agent_id = EXCLUDED.agent_id,
			unassign = EXCLUDED.unassign, request_id = EXCLUDED.request_id, attempts = 0,
			next_at = CASE WHEN dispatches.in_flight THEN dispatches.next_at ELSE EXCLUDED.next_at END,
			expected_assignee = CASE WHEN dispatches.in_flight THEN EXCLUDED.expected_assignee ELSE dispatches.expected_assignee END,
			created_at = EXCLUDED.created_at`,
		d.TicketID, d.GroupID, nullID(d.AgentID), d.Unassign, d.RequestID, d.CreatedAt, nullID(d.Expected))
}

// queueSignal signals the dispatchers at commit.
func queueSignal(b *pgx.Batch) { b.Queue(`SELECT pg_notify($1, '')`, DispatchChannel) }

// CancelDispatch drops a dispatch not yet sent for ticket (the ticket was closed or reassigned meanwhile).
func (t *Tx) CancelDispatch(ctx context.Context, ticket uuid.UUID) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM dispatches WHERE ticket_id = $1`, ticket); err != nil {
		return fmt.Errorf("cancel dispatch: %w", err)
	}
	return nil
}

// ClaimDispatches leases up to limit due dispatches until now+lease, so no other dispatcher takes them
// meanwhile, and returns them oldest first. A dispatcher that dies leaves its lease to expire.
func (s *Store) ClaimDispatches(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Dispatch, error) {
	rows, err := s.pool.Query(ctx, `UPDATE dispatches d SET next_at = $2, attempts = d.attempts + 1, in_flight = true
		FROM (SELECT ticket_id FROM dispatches WHERE next_at <= $1 ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
		WHERE d.ticket_id = due.ticket_id
		RETURNING d.ticket_id, d.group_id, d.agent_id, d.unassign, d.request_id, d.attempts, d.created_at, d.expected_assignee`,
		now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim dispatches: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Dispatch, error) {
		var (
			d               Dispatch
			agent, expected *uuid.UUID
		)
		err := r.Scan(&d.TicketID, &d.GroupID, &agent, &d.Unassign, &d.RequestID, &d.Attempts, &d.CreatedAt, &expected)
		d.AgentID, d.Expected = deref(agent), deref(expected)
		return d, err
	})
}

// FinishDispatch removes a dispatch once intake answered (or refused for good). When a newer decision
// replaced the row meanwhile, that one is made due now (it waited for this call).
func (s *Store) FinishDispatch(ctx context.Context, d Dispatch, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dispatches WHERE ticket_id = $1 AND request_id = $2`, d.TicketID, d.RequestID)
	if err != nil {
		return fmt.Errorf("finish dispatch: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return s.releaseNewer(ctx, d, now)
	}
	return nil
}

// RetryDispatch makes a dispatch due again at at (or a newer decision that replaced it due now).
func (s *Store) RetryDispatch(ctx context.Context, d Dispatch, at, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE dispatches SET next_at = $3, in_flight = false WHERE ticket_id = $1 AND request_id = $2`,
		d.TicketID, d.RequestID, at)
	if err != nil {
		return fmt.Errorf("retry dispatch: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return s.releaseNewer(ctx, d, now)
	}
	return nil
}

// releaseNewer makes the decision that replaced d due now.
func (s *Store) releaseNewer(ctx context.Context, d Dispatch, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE dispatches SET next_at = $2, in_flight = false WHERE ticket_id = $1 AND in_flight`,
		d.TicketID, now); err != nil {
		return fmt.Errorf("release the next dispatch: %w", err)
	}
	return nil
}

// NextDispatchAt returns when the earliest dispatch falls due; ok is false when there is none.
func (s *Store) NextDispatchAt(ctx context.Context) (at time.Time, ok bool, err error) {
	var next *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(next_at) FROM dispatches`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next dispatch: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return *next, true, nil
}

// QueueStats is a group's queue at a glance.
type QueueStats struct {
	Depth     int
	OldestAt  time.Time // enqueue time of the longest waiting ticket; zero when empty
	Tickets   []TicketRow
	GroupLoad []Member
}

// Queue returns group's queue depth, oldest enqueue time and its first limit tickets in order, with every
// member's load (without locking).
func (s *Store) Queue(ctx context.Context, group uuid.UUID, limit int) (QueueStats, error) {
	var (
		q      QueueStats
		oldest *time.Time
	)
	if err := s.pool.QueryRow(ctx, `SELECT count(*), min(enqueued_at) FROM routed_tickets WHERE group_id = $1 AND state = 'queued'`,
		group).Scan(&q.Depth, &oldest); err != nil {
		return q, fmt.Errorf("queue stats: %w", err)
	}
	if oldest != nil {
		q.OldestAt = *oldest
	}
	rows, err := s.pool.Query(ctx, `SELECT `+ticketColumns+` FROM routed_tickets WHERE group_id = $1 AND state = 'queued'
		ORDER BY (CASE WHEN priority BETWEEN 1 AND 4 THEN priority ELSE 5 END), sla_due_at NULLS LAST, enqueued_at, ticket_id
		LIMIT $2`, group, limit)
	if err != nil {
		return q, fmt.Errorf("queue of %s: %w", group, err)
	}
	if q.Tickets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketRow, error) { return scanTicket(r) }); err != nil {
		return q, err
	}
	return q, nil
}

// GroupsOf returns the groups agent belongs to, in id order.
func (t *Tx) GroupsOf(ctx context.Context, agent uuid.UUID) ([]uuid.UUID, error) {
	rows, err := t.tx.Query(ctx, `SELECT group_id FROM memberships WHERE agent_id = $1 ORDER BY group_id`, agent)
	if err != nil {
		return nil, fmt.Errorf("groups of agent: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// QueuedGroups returns the groups with queued tickets, in id order.
func (s *Store) QueuedGroups(ctx context.Context) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT group_id FROM routed_tickets WHERE state = 'queued' ORDER BY group_id`)
	if err != nil {
		return nil, fmt.Errorf("queued groups: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// QueueDepth counts group's queued tickets as this transaction sees them.
func (t *Tx) QueueDepth(ctx context.Context, group uuid.UUID) (int, error) {
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT `+queueDepthSQL, group).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}

// Group returns a group as this transaction sees it, without locking.
func (t *Tx) Group(ctx context.Context, id uuid.UUID) (routing.Group, error) {
	g, err := scanGroup(t.tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return g, notFound("Group", id)
	}
	return g, err
}

func nonNilIDs(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}

// QueueStats returns group's queue depth and its oldest ticket's enqueue time (zero when empty), as this
// transaction sees them.
func (t *Tx) QueueStats(ctx context.Context, group uuid.UUID) (depth int, oldest time.Time, err error) {
	var at *time.Time
	if err := t.tx.QueryRow(ctx, `SELECT `+queueDepthSQL+`,
		(SELECT min(enqueued_at) FROM routed_tickets WHERE group_id = $1 AND state = 'queued')`,
		group).Scan(&depth, &at); err != nil {
		return 0, time.Time{}, fmt.Errorf("queue stats: %w", err)
	}
	if at != nil {
		oldest = *at
	}
	return depth, oldest, nil
}

// SaveSurgeState records where group stands and returns the next event sequence of the group (advanced
// when advance is set, for a surge event).
func (t *Tx) SaveSurgeState(ctx context.Context, group uuid.UUID, st routing.SurgeState, advance bool) (int64, error) {
	step := 0
	if advance {
		step = 1
	}
	var seq int64
	err := t.tx.QueryRow(ctx, `UPDATE groups SET in_surge = $2, surge_started_at = $3, calm_since = $4, event_seq = event_seq + $5
		WHERE id = $1 RETURNING event_seq`, group, st.InSurge, nullTime(st.StartedAt), nullTime(st.CalmSince), step).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("save surge state: %w", err)
	}
	return seq, nil
}

// SurgeGroups returns the groups whose surge policy is on or which are in surge, in id order.
func (s *Store) SurgeGroups(ctx context.Context) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM groups WHERE in_surge OR (overflow_group_id IS NOT NULL
		AND (surge_queue_depth > 0 OR surge_wait_seconds > 0)) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("surge groups: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// AgentTickets returns the open tickets assigned to agent, oldest assignment first (at most limit).
func (s *Store) AgentTickets(ctx context.Context, agent uuid.UUID, limit int) ([]TicketRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+ticketColumns+` FROM routed_tickets WHERE assignee_id = $1 AND state = 'assigned'
		ORDER BY assigned_at, ticket_id LIMIT $2`, agent, limit)
	if err != nil {
		return nil, fmt.Errorf("agent's tickets: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketRow, error) { return scanTicket(r) })
}
