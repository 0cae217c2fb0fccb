package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/services/routing/internal/store"
)

// MaxReasonRunes caps a transfer's or hand-back's reason.
const MaxReasonRunes = 500

// caller returns who is calling and whether they act on anyone's tickets: supervisors, admins, services
// and adapters do; an agent (a staff member with neither supervisor nor admin role) only on their own.
func caller(ctx context.Context) (auth.Principal, bool) {
	p, _ := auth.FromContext(ctx)
	return p, p.Kind != auth.KindStaff || p.Has(auth.RoleSupervisor) || p.Has(auth.RoleAdmin)
}

// staffID is the agent id of a staff caller; uuid.Nil for anyone else.
func staffID(p auth.Principal) uuid.UUID {
	if p.Kind != auth.KindStaff {
		return uuid.Nil
	}
	id, err := uuid.Parse(p.ID)
	if err != nil {
		return uuid.Nil
	}
	return id
}

// notYours is what an agent gets for a ticket that is not theirs: NotFound, as for a ticket outside their
// scope anywhere else, so ids of others' tickets are not confirmed.
func notYours(ticket uuid.UUID) error {
	return apierr.NotFound("kefu.routing.v1.RoutedTicket", ticket.String())
}

// Transfer moves a ticket to group to, which must accept it before its transfer deadline. The ticket
// leaves its agent at once (their capacity frees and their groups drain).
func (a *App) Transfer(ctx context.Context, ticket, to uuid.UUID, reason string, req Request) (store.TransferRow, error) {
	who, anyone := caller(ctx)
	var out store.TransferRow
	err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		e := engine{a: a, tx: tx, now: a.now()}
		c := claim(ctx, req, "transfer:"+ticket.String())
		id, err := newID()
		if err != nil {
			return err
		}
		c.ResourceID = id.String()
		if earlier, err := tx.Claim(ctx, c, e.now); err != nil {
			return err
		} else if earlier != uuid.Nil {
			out, err = tx.TransferByID(ctx, earlier)
			return err
		}
		row, found, err := tx.LockTicket(ctx, ticket)
		if err != nil {
			return err
		}
		if !found || (!anyone && row.AssigneeID != staffID(who)) {
			return notYours(ticket)
		}
		switch row.State {
		case store.StateAssigned, store.StateQueued, store.StateTransferring:
		default:
			return apierr.FailedPrecondition("TICKET_NOT_OPEN", fmt.Sprintf("cannot transfer a ticket in routing state %q", row.State))
		}
		if to == row.GroupID {
			return apierr.InvalidField("to_group_id", "is the ticket's group already")
		}
		if err := e.cancelTransfer(ctx, row.ID); err != nil {
			return err
		}
		groups, err := tx.LockGroups(ctx, []uuid.UUID{to})
		if err != nil {
			return err
		}
		g, ok := groups[to]
		if !ok {
			return apierr.InvalidField("to_group_id", "no group has this id")
		}
		out = store.TransferRow{ID: id, TicketID: row.ID, FromGroupID: row.GroupID, ToGroupID: to, Reason: reason,
			RequestedBy: who.String(), State: store.TransferPending, CreatedAt: e.now, DeadlineAt: e.now.Add(g.TransferDeadline)}
		if err := tx.InsertTransfer(ctx, out); err != nil {
			return err
		}
		previous, wasAssigned := row.AssigneeID, row.State == store.StateAssigned
		row.State, row.GroupID, row.AssigneeID, row.Bypass, row.DeclinedBy = store.StateTransferring, to, uuid.Nil, false, nil
		row.EventSeq++
		row.UpdatedAt = e.now
		// Into the receiving group, with nobody.
		if err := e.dispatchToGroup(ctx, &row, to); err != nil {
			return err
		}
		if err := tx.SaveTicket(ctx, row); err != nil {
			return err
		}
		if err := e.event(row.ID, row.EventSeq, "transfer_requested", &eventsv1.RoutingTransferRequested{
			TransferId: id.String(), FromGroupId: idString(out.FromGroupID), ToGroupId: to.String(),
			AcceptDeadline: timestamppb.New(out.DeadlineAt)}); err != nil {
			return err
		}
		if wasAssigned {
			if err := e.drainAgentGroups(ctx, previous); err != nil {
				return err
			}
		}
		return e.flush(ctx)
	})
	if err == nil {
		a.notify.Notify()
	}
	return out, err
}

// AcceptTransfer accepts a pending transfer: the ticket goes to assignee (default: the caller when a
// member of the receiving group), or into the group's queue.
func (a *App) AcceptTransfer(ctx context.Context, id, assignee uuid.UUID) (store.TransferRow, error) {
	who, anyone := caller(ctx)
	tr, err := a.store.Transfer(ctx, id)
	if err != nil {
		return tr, err
	}
	err = a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		e := engine{a: a, tx: tx, now: a.now()}
		row, found, err := tx.LockTicket(ctx, tr.TicketID)
		if err != nil {
			return err
		}
		cur, pending, err := tx.PendingTransfer(ctx, tr.TicketID)
		if err != nil {
			return err
		}
		if !found || !pending || cur.ID != id {
			if tr, err = tx.TransferByID(ctx, id); err != nil {
				return err
			}
			return apierr.FailedPrecondition("TRANSFER_NOT_PENDING", fmt.Sprintf("cannot accept a transfer in state %q", tr.State))
		}
		groups, err := tx.LockGroups(ctx, []uuid.UUID{cur.ToGroupID})
		if err != nil {
			return err
		}
		g := groups[cur.ToGroupID]
		members, err := tx.LockMembers(ctx, []uuid.UUID{g.ID})
		if err != nil {
			return err
		}
		isMember := func(agent uuid.UUID) bool {
			return agent != uuid.Nil && (agent == g.HeadAgentID || slices.ContainsFunc(members, func(m store.Member) bool { return m.AgentID == agent }))
		}
		me := staffID(who)
		if !anyone && !isMember(me) {
			return apierr.New(apierr.KindPermissionDenied, "NOT_IN_GROUP", "only members of the receiving group, its head or a supervisor accept a transfer")
		}
		if assignee == uuid.Nil && isMember(me) {
			assignee = me
		}
		if assignee != uuid.Nil && !isMember(assignee) {
			return apierr.InvalidField("assignee_id", "is not a member of the receiving group")
		}
		if err := tx.FinishTransfer(ctx, cur.ID, store.TransferAccepted, e.now, who.String(), assignee); err != nil {
			return err
		}
		row.State, row.AssigneeID = store.StateQueued, uuid.Nil
		if assignee != uuid.Nil {
			// An explicit acceptance: theirs whatever their load.
			if err := e.assign(ctx, &row, g, assignee, false); err != nil {
				return err
			}
		} else if err := e.place(ctx, row, g.ID); err != nil {
			return err
		}
		row, _, err = tx.LockTicket(ctx, tr.TicketID)
		if err != nil {
			return err
		}
		row.EventSeq++
		if err := tx.SaveTicket(ctx, row); err != nil {
			return err
		}
		if err := e.event(row.ID, row.EventSeq, "transfer_accepted", &eventsv1.RoutingTransferAccepted{
			TransferId: id.String(), ToGroupId: g.ID.String(), AssigneeId: idString(assignee),
			Wait: durationpb.New(max(e.now.Sub(cur.CreatedAt), 0))}); err != nil {
			return err
		}
		if tr, err = tx.TransferByID(ctx, id); err != nil {
			return err
		}
		return e.flush(ctx)
	})
	if err == nil {
		a.notify.Notify()
	}
	return tr, err
}

// Transfers lists the transfers into group.
func (a *App) Transfers(ctx context.Context, group uuid.UUID, all bool) ([]store.TransferRow, error) {
	if _, err := a.store.Group(ctx, group); err != nil {
		return nil, err
	}
	return a.store.Transfers(ctx, group, all)
}

// ExpireTransfers escalates every pending transfer whose deadline passed to the receiving group's head
// (assigned to them whatever their load, so it sits on their board; without a head it waits in the
// group's queue), publishing kefu.routing.transfer_expired and a notification of the head. Two replicas
// may race for one transfer: the one that locks the ticket first expires it, the other finds it done.
func (a *App) ExpireTransfers(ctx context.Context) (int, error) {
	due, err := a.store.DueTransfers(ctx, a.now(), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ticket := range due {
		expired := false
		err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			e := engine{a: a, tx: tx, now: a.now()}
			row, found, err := tx.LockTicket(ctx, ticket)
			if err != nil || !found {
				return err
			}
			tr, pending, err := tx.PendingTransfer(ctx, ticket)
			if err != nil || !pending || tr.DeadlineAt.After(e.now) {
				return err
			}
			groups, err := tx.LockGroups(ctx, []uuid.UUID{tr.ToGroupID})
			if err != nil {
				return err
			}
			g := groups[tr.ToGroupID]
			if err := tx.FinishTransfer(ctx, tr.ID, store.TransferExpired, e.now, "", g.HeadAgentID); err != nil {
				return err
			}
			row.State, row.AssigneeID = store.StateQueued, uuid.Nil
			if g.HeadAgentID != uuid.Nil {
				if err := e.assign(ctx, &row, g, g.HeadAgentID, true); err != nil {
					return err
				}
			} else if err := e.place(ctx, row, g.ID); err != nil {
				return err
			}
			if row, _, err = tx.LockTicket(ctx, ticket); err != nil {
				return err
			}
			row.EventSeq++
			if err := tx.SaveTicket(ctx, row); err != nil {
				return err
			}
			if err := e.event(row.ID, row.EventSeq, "transfer_expired", &eventsv1.RoutingTransferExpired{
				TransferId: tr.ID.String(), ToGroupId: g.ID.String(), HeadAgentId: idString(g.HeadAgentID)}); err != nil {
				return err
			}
			if err := e.notifyHead(ctx, g.ID, row.ID, eventsv1.NotificationReason_NOTIFICATION_REASON_TRANSFER_EXPIRED); err != nil {
				return err
			}
			expired = true
			return e.flush(ctx)
		})
		if err != nil {
			return n, err
		}
		if expired {
			n++
		}
	}
	if n > 0 {
		a.notify.Notify()
	}
	return n, nil
}

// HandBack gives a ticket back to its group: it is assigned to another eligible member (never the one who
// handed it back) or waits in the queue.
func (a *App) HandBack(ctx context.Context, ticket uuid.UUID) (store.TicketRow, error) {
	who, anyone := caller(ctx)
	var out store.TicketRow
	err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		e := engine{a: a, tx: tx, now: a.now()}
		row, found, err := tx.LockTicket(ctx, ticket)
		if err != nil {
			return err
		}
		if !found || (!anyone && row.AssigneeID != staffID(who)) {
			return notYours(ticket)
		}
		if row.State != store.StateAssigned {
			return apierr.FailedPrecondition("TICKET_NOT_ASSIGNED", fmt.Sprintf("cannot hand back a ticket in routing state %q", row.State))
		}
		previous := row.AssigneeID
		if !slices.Contains(row.DeclinedBy, previous) {
			row.DeclinedBy = append(row.DeclinedBy, previous)
		}
		// place tells intake: the new agent when the drain finds one, else the group with nobody.
		row.AssigneeID, row.Bypass = uuid.Nil, false
		if err := e.place(ctx, row, row.GroupID); err != nil {
			return err
		}
		if err := e.drainAgentGroups(ctx, previous); err != nil {
			return err
		}
		if out, _, err = tx.LockTicket(ctx, ticket); err != nil {
			return err
		}
		return e.flush(ctx)
	})
	if err == nil {
		a.notify.Notify()
	}
	return out, err
}

// AgentTickets is an agent's board. An agent sees only their own.
func (a *App) AgentTickets(ctx context.Context, agent uuid.UUID) ([]store.TicketRow, error) {
	who, anyone := caller(ctx)
	if !anyone && !who.Has(auth.RoleAuditor) && staffID(who) != agent {
		return nil, apierr.New(apierr.KindPermissionDenied, "NOT_YOUR_BOARD", "agents see only their own board")
	}
	if _, err := a.store.Agent(ctx, agent); err != nil {
		return nil, err
	}
	return a.store.AgentTickets(ctx, agent, 500)
}

// RunTimers expires transfers at their deadlines and advances surges until ctx ends. It wakes at the next
// transfer deadline, and at least every tick (surges move with time alone).
func (a *App) RunTimers(ctx context.Context, tick time.Duration) error {
	for ctx.Err() == nil {
		if _, err := a.ExpireTransfers(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "expire transfers", "error", err.Error())
		}
		if err := a.CheckSurges(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "check surges", "error", err.Error())
		}
		wait := tick
		if next, ok, err := a.store.NextTransferDue(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(a.now()), 10*time.Millisecond))
		}
		sleep(ctx, wait)
	}
	return nil
}
