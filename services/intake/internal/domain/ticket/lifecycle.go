package ticket

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Every method here follows the same order, so callers get predictable errors: a bad actor (programming
// error), then bad arguments (InvalidArgument naming the field), then the lifecycle gate (*TransitionError),
// then other preconditions. Nothing is changed unless all checks pass. On success the returned Change holds
// exactly one event and one timeline entry and Version has grown by one.

// precheck validates the actor, then the argument checks, then the lifecycle gate for a.
func (t *Ticket) precheck(actor Actor, a Action, to Status, argErrs ...error) error {
	if err := actor.Validate(); err != nil {
		return err
	}
	if err := collect(argErrs...); err != nil {
		return err
	}
	return gate(t.Status, a, to)
}

// move sets the status and returns the from/to pair for the event, both zero when the status stays.
func (t *Ticket) move(to Status) (Status, Status) {
	from := t.Status
	if from == to {
		return StatusUnspecified, StatusUnspecified
	}
	t.Status = to
	return from, to
}

// Assign hands the ticket to a group and/or an agent (at least one is required; fields group_id and
// assignee_id, as in the request).
// new and assigned become assigned; in_progress and pending_customer keep their status, since work is under
// way and only the owner changes. A nil group keeps the current group; a nil agent keeps the current agent
// only when the group stays, because moving to another group without naming an agent puts the ticket in
// that group's queue. Emits assigned (with from/to when new → assigned) carrying the previous group/agent.
func (t *Ticket) Assign(group, agent uuid.UUID, actor Actor, now time.Time) (Change, error) {
	var argErr error
	if group == uuid.Nil && agent == uuid.Nil {
		argErr = apierr.InvalidFields(
			apierr.FieldViolation{Field: "group_id", Description: "group_id or assignee_id is required"},
			apierr.FieldViolation{Field: "assignee_id", Description: "group_id or assignee_id is required"},
		)
	}
	if err := t.precheck(actor, ActionAssign, StatusAssigned, argErr); err != nil {
		return Change{}, err
	}
	prevGroup, prevAgent := t.GroupID, t.AssigneeID
	if group != uuid.Nil && group != t.GroupID {
		t.GroupID, t.AssigneeID = group, uuid.Nil
	}
	if agent != uuid.Nil {
		t.AssigneeID = agent
	}
	to := t.Status
	if to == StatusNew {
		to = StatusAssigned
	}
	from, to := t.move(to)
	return t.record(actor, now, recordSpec{kind: EventAssigned, from: from, to: to, fill: func(e *Event) {
		e.PreviousGroupID, e.PreviousAssigneeID = prevGroup, prevAgent
	}}), nil
}

// Unassign clears the ticket's agent (an agent handing it back): it waits in its group, or in group when
// not nil, in status assigned until it is assigned again. Allowed where Assign is. Emits assigned with an
// empty assignee and the previous group/agent.
func (t *Ticket) Unassign(group uuid.UUID, actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionAssign, StatusAssigned); err != nil {
		return Change{}, err
	}
	prevGroup, prevAgent := t.GroupID, t.AssigneeID
	if group != uuid.Nil {
		t.GroupID = group
	}
	t.AssigneeID = uuid.Nil
	from, to := t.move(StatusAssigned)
	return t.record(actor, now, recordSpec{kind: EventAssigned, from: from, to: to, fill: func(e *Event) {
		e.PreviousGroupID, e.PreviousAssigneeID = prevGroup, prevAgent
	}}), nil
}

// StartWork moves assigned → in_progress (an agent picked the ticket up). Emits status_changed.
func (t *Ticket) StartWork(actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionStartWork, StatusInProgress); err != nil {
		return Change{}, err
	}
	from, to := t.move(StatusInProgress)
	return t.record(actor, now, recordSpec{kind: EventStatusChanged, from: from, to: to}), nil
}

// Reply records an agent's reply to the customer (field "text"), sent on channel, or on the ticket's submit
// channel (the customer's preferred one) when channel is ChannelUnspecified. Allowed in assigned,
// in_progress and pending_customer. The first reply from assigned starts work (→ in_progress); a reply that
// asksCustomer something waits for them (→ pending_customer); otherwise the status stays. Counts as a
// handling record; the first reply sets FirstReplyAt. Emits exactly one replied event, with from/to when the
// status moved and FirstReply on the first.
func (t *Ticket) Reply(text string, channel Channel, asksCustomer bool, actor Actor, now time.Time) (Change, error) {
	if channel == ChannelUnspecified {
		channel = t.Channel
	}
	to := t.Status
	switch {
	case asksCustomer:
		to = StatusPendingCustomer
	case t.Status == StatusAssigned:
		to = StatusInProgress
	}
	if err := t.precheck(actor, ActionReply, to, CheckText("text", text, MaxMessageRunes, true), checkChannel(channel)); err != nil {
		return Change{}, err
	}
	from, to := t.move(to)
	t.HandlingCount++
	first := t.FirstReplyAt.IsZero()
	if first {
		t.FirstReplyAt = now
	}
	return t.record(actor, now, recordSpec{kind: EventReplied, from: from, to: to, text: text, channel: channel, fill: func(e *Event) {
		e.MessageChannel, e.AskedCustomer, e.FirstReply = channel, asksCustomer, first
	}}), nil
}

// SetPendingCustomer moves in_progress → pending_customer (waiting for the customer, which pauses SLA
// clocks downstream). Emits status_changed.
func (t *Ticket) SetPendingCustomer(actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionSetPendingCustomer, StatusPendingCustomer); err != nil {
		return Change{}, err
	}
	from, to := t.move(StatusPendingCustomer)
	return t.record(actor, now, recordSpec{kind: EventStatusChanged, from: from, to: to}), nil
}

// AppendCustomerMessage records a message from the customer relayed by an adapter (field "text"), received
// on channel (default: the submit channel), with attachments by reference (fields attachments[i].*). Allowed while the ticket is open: pending_customer → in_progress
// (the customer answered), new/assigned/in_progress keep their status. On resolved, closed or archived it is
// a *TransitionError: reopening is an explicit decision (Reopen), not a side effect of a message.
// Emits customer_message_added, with from/to when the status moved.
func (t *Ticket) AppendCustomerMessage(text string, channel Channel, attachments []Attachment, actor Actor, now time.Time) (Change, error) {
	if channel == ChannelUnspecified {
		channel = t.Channel
	}
	to := t.Status
	if to == StatusPendingCustomer {
		to = StatusInProgress
	}
	argErrs := []error{CheckText("text", text, MaxMessageRunes, true), checkChannel(channel)}
	if len(attachments) > MaxAttachments {
		argErrs = append(argErrs, apierr.InvalidField("attachments", fmt.Sprintf("at most %d", MaxAttachments)))
	}
	for i, a := range attachments {
		argErrs = append(argErrs, validateAttachment(fmt.Sprintf("attachments[%d]", i), a)...)
	}
	if err := t.precheck(actor, ActionAppendCustomerMessage, to, argErrs...); err != nil {
		return Change{}, err
	}
	from, to := t.move(to)
	return t.record(actor, now, recordSpec{kind: EventCustomerMessageAdded, from: from, to: to, text: text, channel: channel,
		attach: slices.Clone(attachments), fill: func(e *Event) {
			e.MessageChannel = channel
		}}), nil
}

// AddNote records an internal note (field "text"), never shown to the customer. Allowed in every status
// but archived; counts as a handling record. Emits note_added.
func (t *Ticket) AddNote(text string, actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionAddNote, StatusUnspecified, CheckText("text", text, MaxMessageRunes, true)); err != nil {
		return Change{}, err
	}
	t.HandlingCount++
	return t.record(actor, now, recordSpec{kind: EventNoteAdded, text: text}), nil
}

// Escalate raises the escalation level by one, with a required reason (field "reason") kept in the
// timeline only. Allowed while open (new, assigned, in_progress, pending_customer). Emits escalated.
func (t *Ticket) Escalate(reason string, actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionEscalate, StatusUnspecified, CheckText("reason", reason, MaxReasonRunes, true)); err != nil {
		return Change{}, err
	}
	t.EscalationLevel++
	return t.record(actor, now, recordSpec{kind: EventEscalated, text: reason}), nil
}

// Resolve moves in_progress or pending_customer → resolved with a required summary (field
// "resolution_summary"), starting a new resolution: ResolutionCount grows and a satisfaction rating may be
// recorded for it. Emits resolved.
func (t *Ticket) Resolve(summary string, actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionResolve, StatusResolved, CheckText("resolution_summary", summary, MaxSummaryRunes, true)); err != nil {
		return Change{}, err
	}
	from, to := t.move(StatusResolved)
	t.ResolutionSummary = summary
	t.ResolutionCount++
	t.ResolvedAt = now
	return t.record(actor, now, recordSpec{kind: EventResolved, from: from, to: to, text: summary}), nil
}

// Close moves resolved → closed, either by staff or by the auto-close job (which passes a system actor once
// AutoCloseDue). Emits closed.
func (t *Ticket) Close(actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionClose, StatusClosed); err != nil {
		return Change{}, err
	}
	from, to := t.move(StatusClosed)
	t.ClosedAt = now
	return t.record(actor, now, recordSpec{kind: EventClosed, from: from, to: to}), nil
}

// AutoCloseDue reports whether a resolved ticket has waited at least after (config, default 72h) since its
// resolution and should be closed automatically.
func (t *Ticket) AutoCloseDue(now time.Time, after time.Duration) bool {
	return t.Status == StatusResolved && !now.Before(t.ResolvedAt.Add(after))
}

// Reopen moves resolved or closed back to work, with an optional reason (field "reason") for the timeline.
// With an agent who is still active (agentActive, asked of routing by the app) it returns to that agent in
// in_progress; otherwise the agent is cleared, the group kept, and the ticket waits in assigned for routing. Resolution and close times are cleared; the previous
// summary and rating stay (they belong to the earlier resolution, see ResolutionCount). Emits reopened with
// the previous agent.
func (t *Ticket) Reopen(reason string, agentActive bool, actor Actor, now time.Time) (Change, error) {
	to := StatusAssigned
	if agentActive && t.AssigneeID != uuid.Nil {
		to = StatusInProgress
	}
	if err := t.precheck(actor, ActionReopen, to, CheckText("reason", reason, MaxReasonRunes, false)); err != nil {
		return Change{}, err
	}
	prevGroup, prevAgent := t.GroupID, t.AssigneeID
	if to == StatusAssigned {
		t.AssigneeID = uuid.Nil
	}
	from, to := t.move(to)
	t.ResolvedAt, t.ClosedAt = time.Time{}, time.Time{}
	return t.record(actor, now, recordSpec{kind: EventReopened, from: from, to: to, text: reason, fill: func(e *Event) {
		e.PreviousGroupID, e.PreviousAssigneeID = prevGroup, prevAgent
	}}), nil
}

func checkChannel(c Channel) error {
	if !c.Valid() {
		return apierr.InvalidField("channel", "unknown channel")
	}
	return nil
}
