package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// EventKind is the kind of a ticket event the engine applies.
type EventKind int

// Ticket event kinds (kefu.ticket.<kind>) the engine applies.
const (
	EventCreated EventKind = iota + 1
	EventUpdated
	EventAssigned
	EventReopened
	EventResolved
	EventClosed
	EventArchived
	EventEscalated
	// EventSLABreached is kefu.sla.breached: the SLA service's event about the ticket, in its own sequence.
	EventSLABreached
)

// TicketEvent is a kefu.ticket.* event as the engine needs it, decoded by the consumer.
type TicketEvent struct {
	Kind     EventKind
	TicketID uuid.UUID
	Seq      int64
	At       time.Time
	// Facts and Priority come with created and updated.
	Facts    routing.Facts
	Priority int
	// GroupID and AssigneeID come with assigned (the new ones) and reopened (the agent it went back to).
	GroupID    uuid.UUID
	AssigneeID uuid.UUID
	// ByRouting marks an event of routing's own AssignTicket call: an echo of a decision already applied.
	ByRouting bool
	// NotifyOnly: an SLA breach whose policy only notifies (action NOTIFY), so the group's escalation
	// policy does not apply.
	NotifyOnly bool
	// IncidentGroupID comes with created when intake linked the new ticket to an incident: its emergency
	// team's group takes the ticket instead of the rules.
	IncidentGroupID uuid.UUID
}

// HandleTicketEvent applies one ticket event inside tx (the consumer's transaction, which also holds the
// event's inbox row). Lock order, everywhere in the engine: the ticket row, then groups by id, then agents by
// id; so concurrent transactions on two replicas queue behind each other instead of deadlocking.
func (a *App) HandleTicketEvent(ctx context.Context, tx *store.Tx, ev TicketEvent) error {
	row, found, err := tx.LockTicket(ctx, ev.TicketID)
	if err != nil {
		return err
	}
	if ev.Kind == EventSLABreached {
		// Not a ticket event: its sequence is the SLA service's, so it neither orders nor advances row.Seq.
		if !found || row.State == store.StateDone {
			return nil // a ticket routing never routed, or one already resolved
		}
		e := engine{a: a, tx: tx, now: a.now()}
		reason := eventsv1.NotificationReason_NOTIFICATION_REASON_SLA_BREACHED
		escalate := e.escalate
		if ev.NotifyOnly {
			// The policy asked for a notice only: the head hears of it, nobody is reassigned.
			escalate = func(ctx context.Context, row store.TicketRow, reason eventsv1.NotificationReason) error {
				return e.notifyHead(ctx, row.GroupID, row.ID, reason)
			}
		}
		if err := escalate(ctx, row, reason); err != nil {
			return err
		}
		return e.flush(ctx)
	}
	if found && ev.Seq <= row.Seq {
		return nil // a replayed or late event: a later one was applied already
	}
	now := a.now()
	if !found {
		row = store.TicketRow{ID: ev.TicketID, State: store.StateDone, EnqueuedAt: now, CreatedAt: now}
	}
	row.Seq, row.UpdatedAt = ev.Seq, now
	e := engine{a: a, tx: tx, now: now}
	if err := e.apply(ctx, row, found, ev); err != nil {
		return err
	}
	return e.flush(ctx)
}

// echo reports an event that only records what routing already decided (its own assignment coming
// back): applying it locks no group.
func (ev TicketEvent) echo() bool { return ev.Kind == EventAssigned && ev.ByRouting }

// apply is HandleTicketEvent's work on the locked row.
func (e *engine) apply(ctx context.Context, row store.TicketRow, found bool, ev TicketEvent) error {
	tx, now := e.tx, e.now
	switch ev.Kind {
	case EventCreated:
		row.Facts, row.Priority, row.IntakeAssignee = ev.Facts, ev.Priority, uuid.Nil
		if ev.IncidentGroupID != uuid.Nil {
			if _, err := tx.Group(ctx, ev.IncidentGroupID); err == nil {
				row.RuleID, row.RequiredSkills = uuid.Nil, nil
				return e.place(ctx, row, ev.IncidentGroupID)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			// An emergency team routing does not know: the rules decide rather than the ticket being lost.
			e.a.log.WarnContext(ctx, "incident team group unknown; routing by the rules", "ticket_id", row.ID.String(),
				"group_id", ev.IncidentGroupID.String())
		}
		return e.route(ctx, row, true)
	case EventUpdated:
		ev.Facts.Channel, ev.Facts.Tier = row.Facts.Channel, row.Facts.Tier // not repeated by updated
		row.Facts, row.Priority = ev.Facts, ev.Priority
		if row.State == store.StateQueued {
			// Waiting tickets follow their new classification; an assigned one stays with its agent.
			return e.route(ctx, row, true)
		}
		return tx.SaveTicket(ctx, row)
	case EventAssigned:
		if ev.echo() {
			return tx.SaveTicket(ctx, row) // routing's state is already at or past this decision
		}
		return e.assigned(ctx, row, ev)
	case EventReopened:
		row.IntakeAssignee = ev.AssigneeID
		if ev.AssigneeID != uuid.Nil {
			// Back to the agent who had it, whatever their load: it is their case.
			row.State, row.AssigneeID, row.AssignedAt, row.Bypass = store.StateAssigned, ev.AssigneeID, now, false
			return tx.SaveTicket(ctx, row)
		}
		return e.route(ctx, row, found)
	case EventResolved, EventClosed, EventArchived:
		freed := row.State == store.StateAssigned
		row.State = store.StateDone
		if err := tx.CancelDispatch(ctx, row.ID); err != nil {
			return err
		}
		if err := e.cancelTransfer(ctx, row.ID); err != nil {
			return err
		}
		if err := tx.SaveTicket(ctx, row); err != nil {
			return err
		}
		if freed {
			return e.drainAgentGroups(ctx, row.AssigneeID)
		}
		return nil
	case EventEscalated:
		if err := tx.SaveTicket(ctx, row); err != nil {
			return err
		}
		return e.escalate(ctx, row, eventsv1.NotificationReason_NOTIFICATION_REASON_TICKET_ESCALATED)
	}
	return tx.SaveTicket(ctx, row)
}

// engine is one transaction's assignment work.
type engine struct {
	a      *App
	tx     *store.Tx
	now    time.Time
	events []outbox.Message
	// lastTurn is the round-robin turn of the latest assignment.
	lastTurn int64
}

// route picks the ticket's group by the rules and places it there. withText says whether keyword rules may
// be evaluated (the text is fetched from intake only when a keyword rule is reached).
func (e *engine) route(ctx context.Context, row store.TicketRow, withText bool) error {
	rules, err := e.tx.Rules(ctx)
	if err != nil {
		return err
	}
	f := row.Facts
	if withText && needsText(rules, f) {
		if f.Text, err = e.a.intake.TicketText(ctx, row.ID); err != nil {
			// Without the text keyword rules cannot match; retrying (the event is redelivered) is better than
			// routing on half the facts.
			return fmt.Errorf("read ticket %s's text for keyword rules: %w", row.ID, err)
		}
	}
	rule, ok := routing.Route(rules, f)
	if !ok {
		// Every rule was disabled or deleted: keep the ticket visible rather than lose it.
		e.a.log.WarnContext(ctx, "no routing rule matches; the ticket is left unrouted", "ticket_id", row.ID.String())
		row.State, row.GroupID, row.AssigneeID, row.RuleID = store.StateDone, uuid.Nil, uuid.Nil, uuid.Nil
		return e.tx.SaveTicket(ctx, row)
	}
	row.RuleID, row.RequiredSkills = rule.ID, rule.RequiredSkills
	return e.place(ctx, row, rule.TargetGroupID)
}

// needsText reports whether a keyword rule would be tried before a rule without keywords matches.
func needsText(rules []routing.Rule, f routing.Facts) bool {
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		if len(r.Condition.Keywords) > 0 {
			c := r.Condition
			c.Keywords = nil
			if c.Matches(f) {
				return true
			}
			continue
		}
		if r.Condition.Matches(f) {
			return false
		}
	}
	return false
}

// place puts the ticket in group: an L1 complaint straight to a senior agent or the head; anything else
// into the queue, which is then drained (so it is assigned at once when someone is eligible). A group in
// surge sends it to its overflow group instead (one hop: the overflow group's own surge is not followed).
func (e *engine) place(ctx context.Context, row store.TicketRow, group uuid.UUID) error {
	bypass := routing.IsBypass(row.Facts)
	g, err := e.tx.Group(ctx, group)
	if err != nil {
		return fmt.Errorf("ticket %s: group %s of rule %s: %w", row.ID, group, row.RuleID, err)
	}
	ids := []uuid.UUID{group}
	if !bypass && g.SurgeState.InSurge && g.Surge.OverflowGroupID != uuid.Nil {
		ids = append(ids, g.Surge.OverflowGroupID)
	}
	p, err := e.tx.LockForPlacement(ctx, ids) // in id order, before any agent lock
	if err != nil {
		return err
	}
	var ok bool
	if g, ok = p.Groups[group]; !ok {
		return fmt.Errorf("ticket %s: group %s of rule %s no longer exists", row.ID, group, row.RuleID)
	}
	if over, ok := p.Groups[g.Surge.OverflowGroupID]; ok && !bypass && g.SurgeState.InSurge {
		g = over
	}
	row.GroupID, row.AssigneeID, row.Bypass = g.ID, uuid.Nil, false
	if bypass {
		members, err := e.tx.LockMembers(ctx, []uuid.UUID{g.ID})
		if err != nil {
			return err
		}
		if agent, ok := routing.PickBypass(candidates(members, g.ID, nil), g.HeadAgentID); ok {
			if err := e.assign(ctx, &row, g, agent, true); err != nil {
				return err
			}
			return e.notifyHead(ctx, g.ID, row.ID, eventsv1.NotificationReason_NOTIFICATION_REASON_L1_BYPASS)
		}
		// No senior agent online and no head: the ticket waits first in line like any other.
	} else if !p.Waiting[g.ID] {
		done, err := e.assignFirst(ctx, &row, g, p.Members)
		if err != nil || done {
			return err
		}
	}
	row.State, row.EnqueuedAt = store.StateQueued, e.now
	if err := e.tx.SaveTicket(ctx, row); err != nil {
		return err
	}
	// Draining locks every member. Skip it when nobody looked eligible after the group lock: whatever frees
	// capacity from then on (a resolve, presence, a capacity raise, a new member) drains this group, and
	// that drain waits for this lock, so it finds the ticket in the queue.
	if slices.ContainsFunc(candidates(p.Members, g.ID, nil), routing.Eligible) {
		assigned, err := e.drain(ctx, []uuid.UUID{g.ID})
		if err != nil {
			return err
		}
		if slices.Contains(assigned, row.ID) {
			return nil
		}
	}
	// Intake shows the ticket waiting in the group with nobody (status assigned), so staff see the queue
	// there too; unassign also clears an agent the ticket had (a hand-back). queued saves the row.
	if err := e.dispatchToGroup(ctx, &row, g.ID); err != nil {
		return err
	}
	if err := e.queued(ctx, row); err != nil {
		return err
	}
	return e.surge(ctx, g)
}

// assignFirst gives a ticket that finds its group's queue empty straight to the agent the strategy picks,
// locking only that agent: the common case, and the group lock is held to commit, so it is kept to two
// round trips (ClaimAgent, RecordAssignment). The group lock already orders every decision in the group;
// the agent's lock guards against a concurrent decision in another group they belong to, so the pick is
// confirmed against the agent as they stand once locked. It reports false when the pick did not hold up (or
// nobody looked eligible), having released the agent, and the caller queues the ticket and drains.
func (e *engine) assignFirst(ctx context.Context, row *store.TicketRow, g routing.Group, members []store.Member) (bool, error) {
	cs := candidates(members, g.ID, row.DeclinedBy)
	agent, ok := routing.Pick(g.Strategy, cs, row.RequiredSkills)
	if !ok {
		return false, nil
	}
	c, err := e.tx.ClaimAgent(ctx, g.ID, agent)
	if err != nil {
		return false, err
	}
	// Confirm: the same pick with the agent's locked state in place of what was read before.
	cs = slices.DeleteFunc(cs, func(x routing.Candidate) bool { return x.AgentID == agent })
	if c.Found && c.Member {
		cs = append(cs, c.Candidate)
	}
	if again, ok := routing.Pick(g.Strategy, cs, row.RequiredSkills); !ok || again != agent {
		return false, e.tx.Unclaim(ctx)
	}
	return true, e.assignTurn(ctx, row, g, agent, false, c.Turn)
}

// escalate handles a ticket that breached an SLA target or was escalated: the group's head is notified,
// and in a group whose policy is reassign_to_senior a ticket a junior agent has moves to the least loaded
// online senior agent or lead (routing.PickSenior), even over capacity; the junior's freed capacity drains
// their groups' queues.
func (e *engine) escalate(ctx context.Context, row store.TicketRow, reason eventsv1.NotificationReason) error {
	if err := e.notifyHead(ctx, row.GroupID, row.ID, reason); err != nil {
		return err
	}
	if row.State != store.StateAssigned || row.GroupID == uuid.Nil {
		return nil // waiting in a queue or a transfer: the head's notice is what can be done
	}
	groups, err := e.tx.LockGroups(ctx, []uuid.UUID{row.GroupID})
	if err != nil {
		return err
	}
	g, ok := groups[row.GroupID]
	if !ok || g.Escalation != routing.EscalationReassignToSenior {
		return nil
	}
	members, err := e.tx.LockMembers(ctx, []uuid.UUID{g.ID})
	if err != nil {
		return err
	}
	agent, ok := routing.PickSenior(candidates(members, g.ID, row.DeclinedBy), row.AssigneeID)
	if !ok {
		return nil
	}
	previous := row.AssigneeID
	if err := e.assign(ctx, &row, g, agent, true); err != nil {
		return err
	}
	return e.drainAgentGroups(ctx, previous)
}

// assigned applies an assignment made at intake by someone other than routing: a supervisor's by hand, or
// a move to a group without an agent (which queues it there).
func (e *engine) assigned(ctx context.Context, row store.TicketRow, ev TicketEvent) error {
	group := ev.GroupID
	if group == uuid.Nil {
		group = row.GroupID
	}
	// Staff decided by hand: that is what intake has now, and a pending decision or transfer of ours must
	// not override it.
	row.IntakeAssignee = ev.AssigneeID
	if err := e.tx.CancelDispatch(ctx, row.ID); err != nil {
		return err
	}
	if err := e.cancelTransfer(ctx, row.ID); err != nil {
		return err
	}
	previous, wasAssigned := row.AssigneeID, row.State == store.StateAssigned
	if ev.AssigneeID == uuid.Nil {
		if group == uuid.Nil {
			return e.tx.SaveTicket(ctx, row)
		}
		row.AssigneeID = uuid.Nil
		if err := e.place(ctx, row, group); err != nil {
			return err
		}
	} else {
		row.State, row.GroupID, row.AssigneeID, row.AssignedAt, row.Bypass = store.StateAssigned, group, ev.AssigneeID, e.now, false
		if err := e.tx.SaveTicket(ctx, row); err != nil {
			return err
		}
	}
	if wasAssigned && previous != uuid.Nil && previous != ev.AssigneeID {
		return e.drainAgentGroups(ctx, previous)
	}
	return nil
}

// drainAgentGroups drains every group agent belongs to (their capacity freed).
func (e *engine) drainAgentGroups(ctx context.Context, agent uuid.UUID) error {
	if agent == uuid.Nil {
		return nil
	}
	groups, err := e.tx.GroupsOf(ctx, agent)
	if err != nil || len(groups) == 0 {
		return err
	}
	if _, err := e.drain(ctx, groups); err != nil {
		return err
	}
	return e.flush(ctx)
}

// drain assigns queued tickets of the groups, in queue order, to eligible agents by each group's strategy,
// until a group's queue is empty or nobody in it is eligible; a ticket only agents who handed it back could
// take is passed over, keeping its place. It locks the groups, then their agents, and
// counts loads after the locks. It returns the tickets it assigned.
func (e *engine) drain(ctx context.Context, groupIDs []uuid.UUID) ([]uuid.UUID, error) {
	groupIDs = slices.Clone(groupIDs)
	slices.SortFunc(groupIDs, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	groupIDs = slices.Compact(groupIDs)
	groups, err := e.tx.LockGroups(ctx, groupIDs)
	if err != nil {
		return nil, err
	}
	members, err := e.tx.LockMembers(ctx, groupIDs)
	if err != nil {
		return nil, err
	}
	var assigned []uuid.UUID
	for _, id := range groupIDs {
		g, ok := groups[id]
		if !ok {
			continue
		}
		queue, err := e.tx.QueueHead(ctx, id, e.a.cfg.DrainBatch)
		if err != nil {
			return nil, err
		}
		for _, t := range queue {
			agent, ok := routing.Pick(g.Strategy, candidates(members, id, t.DeclinedBy), t.RequiredSkills)
			if !ok {
				if len(t.DeclinedBy) > 0 && slices.ContainsFunc(candidates(members, id, nil), routing.Eligible) {
					// Only agents who handed it back have room: it keeps its place at the head for the next
					// one who frees up, and the queue behind it goes on rather than waiting with them idle.
					continue
				}
				break
			}
			if err := e.assign(ctx, &t, g, agent, false); err != nil {
				return nil, err
			}
			took(members, agent, id, e.lastTurn)
			assigned = append(assigned, t.ID)
		}
	}
	return assigned, nil
}

// took records in members that agent took a ticket in group at turn: their load rises in every group they
// belong to, their turn only in this one.
func took(members []store.Member, agent, group uuid.UUID, turn int64) {
	for i := range members {
		if members[i].AgentID == agent {
			members[i].Open++
			if members[i].GroupID == group {
				members[i].LastTurn = turn
			}
		}
	}
}

// candidates returns the members of group as the strategies see them, but those who declined the ticket.
func candidates(members []store.Member, group uuid.UUID, declined []uuid.UUID) []routing.Candidate {
	var cs []routing.Candidate
	for _, m := range members {
		if m.GroupID == group && !slices.Contains(declined, m.AgentID) {
			cs = append(cs, m.Candidate)
		}
	}
	return cs
}

// assign gives the ticket to agent in group g: the row counts toward the agent's load from now on, the
// agent's turn advances, and a dispatch tells intake after commit.
func (e *engine) assign(ctx context.Context, row *store.TicketRow, g routing.Group, agent uuid.UUID, bypass bool) error {
	turn, err := e.tx.NextTurn(ctx)
	if err != nil {
		return err
	}
	return e.assignTurn(ctx, row, g, agent, bypass, turn)
}

// assignTurn is assign with the decision's turn already drawn.
func (e *engine) assignTurn(ctx context.Context, row *store.TicketRow, g routing.Group, agent uuid.UUID, bypass bool, turn int64) error {
	a := e.decideAssignment(row, g.ID, agent, bypass, turn)
	return e.tx.RecordAssignment(ctx, a.Row, a.Dispatch, a.Turn)
}

// decideAssignment makes row assigned to agent in group at turn and returns the decision to record.
func (e *engine) decideAssignment(row *store.TicketRow, group, agent uuid.UUID, bypass bool, turn int64) store.Assignment {
	row.State, row.GroupID, row.AssigneeID, row.AssignedAt, row.Bypass = store.StateAssigned, group, agent, e.now, bypass
	row.UpdatedAt = e.now
	d := e.decision(row, group, agent, turn)
	e.lastTurn = turn
	return store.Assignment{Row: *row, Dispatch: d, Turn: turn}
}

// dispatchToGroup records that intake must put the ticket in group with nobody (it waits in the group's
// queue, or for the group to accept a transfer); the caller saves row.
func (e *engine) dispatchToGroup(ctx context.Context, row *store.TicketRow, group uuid.UUID) error {
	turn, err := e.tx.NextTurn(ctx)
	if err != nil {
		return err
	}
	return e.tx.AddDispatch(ctx, e.decision(row, group, uuid.Nil, turn))
}

// decision is the dispatch telling intake to put the ticket in group with agent (uuid.Nil: nobody),
// expecting the agent intake has now (or will have once the previous dispatch lands); it makes agent that
// expectation for the next one. turn is unique to the decision.
func (e *engine) decision(row *store.TicketRow, group, agent uuid.UUID, turn int64) store.Dispatch {
	d := store.Dispatch{TicketID: row.ID, GroupID: group, AgentID: agent, Unassign: agent == uuid.Nil,
		Expected: row.IntakeAssignee, RequestID: requestID(row.ID, turn), CreatedAt: e.now}
	row.IntakeAssignee = agent
	return d
}

// requestID names one decision about a ticket for intake's idempotency: turn is unique per decision.
func requestID(ticket uuid.UUID, turn int64) string {
	return fmt.Sprintf("routing:%s:%d", ticket, turn)
}

// cancelTransfer cancels the ticket's pending transfer, if any (the ticket was resolved or reassigned by
// hand first).
func (e *engine) cancelTransfer(ctx context.Context, ticket uuid.UUID) error {
	tr, ok, err := e.tx.PendingTransfer(ctx, ticket)
	if err != nil || !ok {
		return err
	}
	return e.tx.FinishTransfer(ctx, tr.ID, store.TransferCancelled, e.now, "", uuid.Nil)
}

// queued publishes kefu.routing.ticket_queued for a ticket left waiting.
func (e *engine) queued(ctx context.Context, row store.TicketRow) error {
	depth, err := e.tx.QueueDepth(ctx, row.GroupID)
	if err != nil {
		return err
	}
	row.EventSeq++
	if err := e.tx.SaveTicket(ctx, row); err != nil {
		return err
	}
	return e.event(row.ID, row.EventSeq, "ticket_queued", &eventsv1.RoutingTicketQueued{
		GroupId: row.GroupID.String(), Priority: intakev1.Priority(row.Priority), Depth: int32(depth),
		RuleId: idString(row.RuleID)})
}

// notifyHead asks for a notification of group's head (none when the group has no head).
func (e *engine) notifyHead(ctx context.Context, group, ticket uuid.UUID, reason eventsv1.NotificationReason) error {
	if group == uuid.Nil {
		return nil
	}
	g, err := e.tx.Group(ctx, group)
	if err != nil || g.HeadAgentID == uuid.Nil {
		return err
	}
	id, err := newID()
	if err != nil {
		return err
	}
	return e.eventOn(events.Subject("notification", "requested"), id, 1, &eventsv1.NotificationRequested{
		RecipientId: g.HeadAgentID.String(), Reason: reason, TicketId: idString(ticket), GroupId: group.String()})
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// event queues a kefu.routing.<name> event about aggregate.
func (e *engine) event(aggregate uuid.UUID, seq int64, name string, body proto.Message) error {
	return e.eventOn(events.Subject("routing", name), aggregate, seq, body)
}

func (e *engine) eventOn(subject string, aggregate uuid.UUID, seq int64, body proto.Message) error {
	m, err := e.a.newEvent(subject, aggregate, seq, e.now, e.a.systemActor(), body)
	if err != nil {
		return err
	}
	e.events = append(e.events, m)
	return nil
}

// flush adds the queued events to the outbox in the transaction.
func (e *engine) flush(ctx context.Context) error {
	msgs := e.events
	e.events = nil
	return e.tx.AddEvents(ctx, msgs...)
}

// Drain assigns what it can from the groups' queues, in its own transaction (after an admin change freed
// capacity). It returns how many tickets it assigned.
func (a *App) Drain(ctx context.Context, groups []uuid.UUID) (int, error) {
	if len(groups) == 0 {
		return 0, nil
	}
	var n int
	err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		e := engine{a: a, tx: tx, now: a.now()}
		assigned, err := e.drain(ctx, groups)
		n = len(assigned)
		if err != nil {
			return err
		}
		return e.flush(ctx)
	})
	if err == nil {
		a.notify.Notify()
	}
	return n, err
}

// drainAfter drains groups after an admin change committed. A failure is logged, not returned: the change
// itself succeeded, and the periodic sweep drains what is left.
func (a *App) drainAfter(ctx context.Context, groups []uuid.UUID, why string) {
	if _, err := a.Drain(ctx, groups); err != nil {
		a.log.WarnContext(ctx, "drain queues after a change", "why", why, "error", err.Error())
	}
}

// DrainAll drains every group with a queue: the safety net behind the event-driven drains (a replica that
// died between committing a change and draining).
func (a *App) DrainAll(ctx context.Context) (int, error) {
	groups, err := a.store.QueuedGroups(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, g := range groups {
		n, err := a.Drain(ctx, []uuid.UUID{g})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
