package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// EventKind is a ticket event the service follows.
type EventKind int

// Event kinds: intake's kefu.ticket.* and routing's kefu.routing.transfer_*.
const (
	EventCreated EventKind = iota + 1
	EventUpdated
	EventAssigned
	EventStatusChanged
	EventReplied
	EventCustomerMessage
	EventResolved
	EventReopened
	EventClosed
	EventArchived
	// Routing's transfer events, in routing's own per-ticket sequence.
	EventTransferRequested
	EventTransferAccepted
)

// fromRouting reports whether k is routing's (its sequence is routing's, not intake's).
func (k EventKind) fromRouting() bool {
	return k == EventTransferRequested || k == EventTransferAccepted
}

// TicketEvent is what the service reads from one event.
type TicketEvent struct {
	Kind     EventKind
	TicketID uuid.UUID
	Seq      int64
	At       time.Time
	// Created: the facts policies match on, when the ticket was received. Updated: the new classification
	// (channel and tier are not repeated; the created event's stay).
	Facts       sla.Facts
	Subcategory string
	ReceivedAt  time.Time
	// ToStatus is the status after the event, when it carries one ("pending_customer", ...).
	ToStatus string
	// GroupID: assigned's group. AssigneeID: the agent after an assignment or a reopen (uuid.Nil: nobody).
	GroupID, AssigneeID uuid.UUID
	// Deadline: a transfer's acceptance deadline from routing.
	Deadline time.Time
}

// ErrTicketUnseen is a transient error: an event of a ticket whose created event the service has not
// applied yet, within unseenWindow of the event. Replicas share the consumer, so a ticket's next event
// (routing assigns a new ticket within milliseconds) may overtake its created event, which another replica
// is applying; the consumer retries it with backoff instead of losing it (and the ticket's assignment).
var ErrTicketUnseen = errors.New("ticket not seen yet")

// unseenWindow is how long after it occurred an event of an unseen ticket is retried rather than skipped:
// well within the consumer's deliveries before it would park the event (1 s, 2 s, 5 s, 10 s, 30 s, 1 min).
const unseenWindow = 2 * time.Minute

// statusPending is intake's pending-customer status code.
const statusPending = "pending_customer"

// HandleTicketEvents applies several events in tx, in order: one consumer batch. It locks every ticket
// they concern first, in id order, reading them with their clocks in the same round trip (see
// store.Tx.LockTickets); each ticket's first event of the batch starts from that read, and a later one
// reads the ticket again, since the event before it changed it.
func (a *App) HandleTicketEvents(ctx context.Context, tx *store.Tx, evs []TicketEvent) error {
	ids := make([]uuid.UUID, 0, len(evs))
	for _, ev := range evs {
		ids = append(ids, ev.TicketID)
	}
	locked, err := tx.LockTickets(ctx, pgxutil.LockOrder(ids))
	if err != nil {
		return err
	}
	read := map[uuid.UUID]bool{}
	load := func(ctx context.Context, id uuid.UUID) (store.TicketRow, bool, error) {
		if read[id] {
			return tx.LockTicket(ctx, id)
		}
		read[id] = true
		row, found := locked[id]
		return row, found, nil
	}
	env := a.envOnce(tx)
	for _, ev := range evs {
		if err := a.handleTicketEvent(ctx, tx, ev, env, load); err != nil {
			return fmt.Errorf("ticket %s: %w", ev.TicketID, err)
		}
	}
	return nil
}

// HandleTicketEvent applies one event to the ticket's clocks inside tx (the consumer's transaction, which
// also holds the event's inbox row), and writes the kefu.sla.* events it causes. Events older than what
// was applied are skipped (each source's sequence orders it); events of a ticket the service never saw
// created are skipped too (created before the service ran: it has no start to count from), unless they are
// recent (see ErrTicketUnseen).
func (a *App) HandleTicketEvent(ctx context.Context, tx *store.Tx, ev TicketEvent) error {
	return a.handleTicketEvent(ctx, tx, ev, a.envOnce(tx), tx.LockTicket)
}

// envOnce reads the policies and calendars through tx the first time it is called and returns the same
// afterwards: one read for all the events of a batch.
func (a *App) envOnce(tx *store.Tx) func(ctx context.Context) (*environment, error) {
	var e *environment
	return func(ctx context.Context) (*environment, error) {
		if e != nil {
			return e, nil
		}
		var err error
		e, err = a.envFrom(ctx, tx)
		return e, err
	}
}

// handleTicketEvent is HandleTicketEvent with the ticket locked and read by load.
func (a *App) handleTicketEvent(ctx context.Context, tx *store.Tx, ev TicketEvent, env func(context.Context) (*environment, error),
	load func(context.Context, uuid.UUID) (store.TicketRow, bool, error)) error {
	row, found, err := load(ctx, ev.TicketID)
	if err != nil {
		return err
	}
	if ev.Kind != EventCreated && !found {
		if a.now().Sub(ev.At) < unseenWindow {
			return fmt.Errorf("%w: ticket %s", ErrTicketUnseen, ev.TicketID)
		}
		return nil
	}
	switch {
	case ev.Kind.fromRouting() && ev.Seq <= row.RoutingSeq, !ev.Kind.fromRouting() && found && ev.Seq <= row.Seq:
		// A replayed or late event: a later one was applied already. An assignment overtaken by an event
		// of another kind (replicas share the consumer, so a ticket's events may be applied out of order)
		// still says who has the ticket: it keeps its own sequence.
		if assign(&row, ev) {
			return tx.Write(ctx, []store.TicketWrite{{Row: row}}, a.now())
		}
		return nil
	case ev.Kind.fromRouting():
		row.RoutingSeq = ev.Seq
	default:
		row.Seq = ev.Seq
	}
	e, err := env(ctx)
	if err != nil {
		return err
	}
	changes, err := apply(&row, ev, e.Env)
	if err != nil {
		return err
	}
	return a.save(ctx, tx, &row, changes, e.Env, ev.At)
}

// apply runs the domain method of ev on row's ticket.
func apply(row *store.TicketRow, ev TicketEvent, env sla.Env) ([]sla.Change, error) {
	t, at := &row.Ticket, ev.At
	switch ev.Kind {
	case EventCreated:
		t.ID, t.Facts, t.Start = ev.TicketID, ev.Facts, ev.ReceivedAt
		if t.Start.IsZero() {
			t.Start = at
		}
		row.Subcategory = ev.Subcategory
		return t.Open(env)
	case EventUpdated:
		row.Subcategory = ev.Subcategory
		facts := ev.Facts
		facts.Channel, facts.Tier = t.Facts.Channel, t.Facts.Tier
		if facts == t.Facts {
			return nil, nil // a subcategory change: no policy matches on it
		}
		return t.Reclassify(facts, at, env)
	case EventAssigned:
		assign(row, ev)
		return t.SetPending(ev.ToStatus == statusPending, at), nil
	case EventStatusChanged:
		return t.SetPending(ev.ToStatus == statusPending, at), nil
	case EventReplied:
		out := t.Reply(at)
		return append(out, t.SetPending(ev.ToStatus == statusPending, at)...), nil
	case EventCustomerMessage:
		out := t.SetPending(ev.ToStatus == statusPending, at)
		return append(out, t.CustomerMessage(at)...), nil
	case EventResolved:
		return t.Resolve(at), nil
	case EventReopened:
		assign(row, ev)
		return t.Reopen(at), nil
	case EventClosed, EventArchived:
		t.Close(at)
		return nil, nil
	case EventTransferRequested:
		return t.TransferRequested(at, ev.Deadline, env)
	case EventTransferAccepted:
		return t.TransferAccepted(at), nil
	}
	return nil, nil
}

// assign records the group and agent of an assignment or a reopen newer than the last one recorded, and
// reports whether it did.
func assign(row *store.TicketRow, ev TicketEvent) bool {
	if ev.Kind != EventAssigned && ev.Kind != EventReopened || ev.Seq <= row.AssignSeq {
		return false
	}
	if ev.Kind == EventAssigned && ev.GroupID != uuid.Nil {
		row.GroupID = ev.GroupID
	}
	// An assignment to the group alone, or a reopen without an agent, leaves nobody.
	row.AssigneeID, row.AssignSeq = ev.AssigneeID, ev.Seq
	return true
}

// save writes row with every clock's schedule and the events of changes, and wakes the timer loop when a
// clock may now fire sooner than it planned.
func (a *App) save(ctx context.Context, tx *store.Tx, row *store.TicketRow, changes []sla.Change, env sla.Env, at time.Time) error {
	w, err := a.prepare(ctx, row, changes, env, at)
	if err != nil {
		return err
	}
	if err := tx.Write(ctx, []store.TicketWrite{w}, a.now()); err != nil {
		return err
	}
	if len(changes) > 0 {
		a.wakeTimers()
	}
	return nil
}

// prepare computes every clock's schedule and the events of changes (advancing row's SLA sequence).
func (a *App) prepare(ctx context.Context, row *store.TicketRow, changes []sla.Change, env sla.Env, at time.Time) (store.TicketWrite, error) {
	clocks := make([]store.ClockRow, len(row.Clocks))
	for i, c := range row.Clocks {
		due, next, err := c.Schedule(env)
		if err != nil {
			return store.TicketWrite{}, err
		}
		clocks[i] = store.ClockRow{Clock: c, Due: due, Next: next}
	}
	msgs, err := a.messages(ctx, row, changes, env, at)
	if err != nil {
		return store.TicketWrite{}, err
	}
	return store.TicketWrite{Row: *row, Clocks: clocks, Events: msgs}, nil
}
