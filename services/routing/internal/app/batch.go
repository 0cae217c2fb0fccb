package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// HandleTicketEvents applies ticket events in tx, in order: one consumer batch.
//
// It keeps the engine's lock order (tickets, then groups by id, then agents by id) however many tickets the
// batch holds: it locks every ticket first, in id order, and then, when any of the events may place a
// ticket or drain a queue (all but routing's own assignments coming back), every group in id order, since
// the groups those events need are only known one event at a time. A batch therefore decides alone.
//
// What makes a batch cheaper than its events one by one is the common case done set-wise: new tickets that
// go straight to an agent are placed together (their agents locked and read once, every decision written
// in one round trip), and routing's own assignments coming back are recorded in one round trip at the end.
// Every other event is applied one at a time (HandleTicketEvent) after what came before it was written, so
// the order of effects is the events' order wherever it matters: per ticket, and per group's queue.
func (a *App) HandleTicketEvents(ctx context.Context, tx *store.Tx, evs []TicketEvent) error {
	ids := make([]uuid.UUID, 0, len(evs))
	for _, ev := range evs {
		ids = append(ids, ev.TicketID)
	}
	locks, err := tx.LockBatch(ctx, pgxutil.LockOrder(ids), slices.ContainsFunc(evs, func(ev TicketEvent) bool { return !ev.echo() }))
	if err != nil {
		return err
	}
	b := &batch{a: a, tx: tx, now: a.now(), locks: locks, stale: map[uuid.UUID]bool{}, seqs: map[uuid.UUID]int64{}}
	for _, ev := range evs {
		if err := b.add(ctx, ev); err != nil {
			return fmt.Errorf("ticket %s: %w", ev.TicketID, err)
		}
	}
	return b.settle(ctx)
}

// batch is HandleTicketEvents' work: what it has locked and what it has decided but not yet written.
type batch struct {
	a     *App
	tx    *store.Tx
	now   time.Time
	locks store.BatchLocks
	// stale marks the tickets whose row in locks.Tickets no longer is what the database has (they were
	// written by an event applied one at a time, or placed): their later events are applied one at a time.
	stale map[uuid.UUID]bool
	// seqs are the sequences of routing's own assignments coming back, not yet recorded: all they change.
	// They are written as sequences only, never as whole rows, since an event applied one at a time may
	// have changed a row the batch locked (a drain assigns queued tickets).
	seqs map[uuid.UUID]int64
	// run holds new tickets to place together, in event order.
	run []placement
}

// placement is a new ticket whose group is known, to be given to an agent in it.
type placement struct {
	ev    TicketEvent
	row   store.TicketRow
	group uuid.UUID
}

// add applies ev or holds it for the set-wise steps.
func (b *batch) add(ctx context.Context, ev TicketEvent) error {
	if p, ok := b.placeable(ev); ok {
		b.run = append(b.run, p)
		return nil
	}
	if ev.echo() && !b.stale[ev.TicketID] {
		if row, ok := b.locks.Tickets[ev.TicketID]; ok {
			// Only the ticket's own events change its sequence, so the locked row's is still current.
			if ev.Seq > max(row.Seq, b.seqs[ev.TicketID]) {
				b.seqs[ev.TicketID] = ev.Seq
			}
			return nil // routing's state is already at or past this decision
		}
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	b.stale[ev.TicketID] = true
	return b.a.HandleTicketEvent(ctx, b.tx, ev)
}

// placeable reports whether ev creates a ticket the set-wise placement can take: new to routing, routed by
// the rules without its text (or to an incident's team), to a group routing knows and which is not
// overflowing, and not an L1 complaint (which bypasses the queue for a senior agent). Anything else goes
// through HandleTicketEvent, which handles every case.
func (b *batch) placeable(ev TicketEvent) (placement, bool) {
	id := ev.TicketID
	if ev.Kind != EventCreated || b.locks.Groups == nil || b.stale[id] || routing.IsBypass(ev.Facts) {
		return placement{}, false
	}
	if _, seen := b.locks.Tickets[id]; seen || slices.ContainsFunc(b.run, func(p placement) bool { return p.row.ID == id }) {
		return placement{}, false
	}
	row := store.TicketRow{ID: id, Facts: ev.Facts, Priority: ev.Priority, Seq: ev.Seq, EnqueuedAt: b.now,
		CreatedAt: b.now, UpdatedAt: b.now}
	group := ev.IncidentGroupID
	if group == uuid.Nil {
		if needsText(b.locks.Rules, ev.Facts) {
			return placement{}, false
		}
		rule, ok := routing.Route(b.locks.Rules, ev.Facts)
		if !ok {
			return placement{}, false
		}
		row.RuleID, row.RequiredSkills, group = rule.ID, rule.RequiredSkills, rule.TargetGroupID
	}
	g, ok := b.locks.Groups[group]
	if !ok || (g.SurgeState.InSurge && g.Surge.OverflowGroupID != uuid.Nil) {
		return placement{}, false
	}
	return placement{ev: ev, row: row, group: group}, true
}

// settle writes what the batch has held back: it places the run and records the sequences.
func (b *batch) settle(ctx context.Context) error {
	if err := b.place(ctx); err != nil {
		return err
	}
	if err := b.tx.AdvanceSeqs(ctx, b.seqs, b.now); err != nil {
		return err
	}
	clear(b.seqs)
	return nil
}

// blockShared marks group blocked, and every group reachable from it through agents who belong to both.
func blockShared(blocked map[uuid.UUID]bool, members []store.Member, group uuid.UUID) {
	todo := []uuid.UUID{group}
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if blocked[g] {
			continue
		}
		blocked[g] = true
		for _, m := range members {
			if m.GroupID != g {
				continue
			}
			for _, o := range members {
				if o.AgentID == m.AgentID && !blocked[o.GroupID] {
					todo = append(todo, o.GroupID)
				}
			}
		}
	}
}

// place gives the run's tickets to agents as place would one at a time when each finds its group's queue
// empty: each to the agent the group's strategy picks, with the loads and turns of the decisions before it.
// The first ticket of a group that finds nobody eligible, and every later one of that group, are applied
// one at a time after the others are written, in order, so they queue behind each other as they would
// have; a group with a queue already (and every group sharing agents with it) likewise.
func (b *batch) place(ctx context.Context) error {
	run := b.run
	b.run = nil
	if len(run) == 0 {
		return nil
	}
	groups := make([]uuid.UUID, 0, len(run))
	for _, p := range run {
		groups = append(groups, p.group)
		b.stale[p.row.ID] = true
	}
	p, err := b.tx.LockForPlacements(ctx, pgxutil.LockOrder(groups), len(run))
	if err != nil {
		return err
	}
	e := engine{a: b.a, tx: b.tx, now: b.now}
	blocked := map[uuid.UUID]bool{}
	var (
		done []store.Assignment
		rest []TicketEvent
	)
	for i, pl := range run {
		g := b.locks.Groups[pl.group]
		if p.Waiting[g.ID] && !blocked[g.ID] {
			// One at a time, the ticket would queue and the queue would drain, perhaps to an agent a later
			// ticket of another group would take here; so every group sharing agents with this one waits too.
			blockShared(blocked, p.Members, g.ID)
		}
		if blocked[g.ID] {
			rest = append(rest, pl.ev)
			continue
		}
		agent, ok := routing.Pick(g.Strategy, candidates(p.Members, g.ID, nil), pl.row.RequiredSkills)
		if !ok {
			blocked[g.ID] = true
			rest = append(rest, pl.ev)
			continue
		}
		row := pl.row
		done = append(done, e.decideAssignment(&row, g.ID, agent, false, p.Turns[i]))
		took(p.Members, agent, g.ID, p.Turns[i])
	}
	if err := b.tx.RecordAssignments(ctx, done); err != nil {
		return err
	}
	for _, ev := range rest {
		if err := b.a.HandleTicketEvent(ctx, b.tx, ev); err != nil {
			return fmt.Errorf("ticket %s: %w", ev.TicketID, err)
		}
	}
	return nil
}
