package ticket

import (
	"fmt"

	"kefu.dev/pkg/apierr"
)

// Reasons (apierr ErrorInfo reasons) the ticket domain reports. They are part of the API: the protos list
// them and clients switch on them.
const (
	ReasonIllegalTransition           = "TICKET_ILLEGAL_TRANSITION"
	ReasonArchiveIncomplete           = "TICKET_ARCHIVE_INCOMPLETE"
	ReasonSatisfactionAlreadyRecorded = "SATISFACTION_ALREADY_RECORDED"
)

// Action is a state-changing operation on a ticket, as named in TransitionError and its ErrorInfo metadata.
type Action string

// Actions, one per Ticket method that changes state.
const (
	ActionAssign                Action = "assign"
	ActionStartWork             Action = "start_work"
	ActionReply                 Action = "reply"
	ActionSetPendingCustomer    Action = "set_pending_customer"
	ActionAppendCustomerMessage Action = "append_customer_message"
	ActionAddNote               Action = "add_note"
	ActionEscalate              Action = "escalate"
	ActionResolve               Action = "resolve"
	ActionClose                 Action = "close"
	ActionReopen                Action = "reopen"
	ActionRecordSatisfaction    Action = "record_satisfaction"
	ActionWaiveSatisfaction     Action = "waive_satisfaction"
	ActionArchive               Action = "archive"
	ActionReclassify            Action = "reclassify"
)

var (
	openStatuses     = []Status{StatusNew, StatusAssigned, StatusInProgress, StatusPendingCustomer}
	doneStatuses     = []Status{StatusResolved, StatusClosed}
	unfrozenStatuses = []Status{StatusNew, StatusAssigned, StatusInProgress, StatusPendingCustomer, StatusResolved, StatusClosed}
)

// allowed is the lifecycle table: the statuses in which each action may run. Where the action moves the
// ticket is decided by the method (some targets depend on arguments); this table only gates.
var allowed = map[Action][]Status{
	// Reassigning keeps in_progress and pending_customer: the work is under way, only the owner changes.
	ActionAssign:    openStatuses,
	ActionStartWork: {StatusAssigned},
	// A reply needs someone handling the ticket, so not in new; the first reply from assigned starts work.
	ActionReply:              {StatusAssigned, StatusInProgress, StatusPendingCustomer},
	ActionSetPendingCustomer: {StatusInProgress},
	// A customer message on a resolved or closed ticket is refused rather than reopening it implicitly: the
	// adapter (or an agent) decides whether to Reopen or open a new ticket, which keeps this table simple and
	// resolution counts honest.
	ActionAppendCustomerMessage: openStatuses,
	// Notes stay possible after resolution (follow-up, audit remarks); an archived ticket is frozen.
	ActionAddNote:            unfrozenStatuses,
	ActionEscalate:           openStatuses,
	ActionResolve:            {StatusInProgress, StatusPendingCustomer},
	ActionClose:              {StatusResolved},
	ActionReopen:             doneStatuses,
	ActionRecordSatisfaction: doneStatuses,
	ActionWaiveSatisfaction:  doneStatuses,
	ActionArchive:            {StatusClosed},
	// Classification stays correctable until archiving, so reports on closed tickets can be fixed.
	ActionReclassify: unfrozenStatuses,
}

// Actions lists every action (for tests and documentation).
func Actions() []Action {
	return []Action{
		ActionAssign, ActionStartWork, ActionReply, ActionSetPendingCustomer, ActionAppendCustomerMessage,
		ActionAddNote, ActionEscalate, ActionResolve, ActionClose, ActionReopen, ActionRecordSatisfaction,
		ActionWaiveSatisfaction, ActionArchive, ActionReclassify,
	}
}

// Allowed reports whether a may run on a ticket in status s. UIs use it to enable buttons; the methods use
// it to refuse. Allowed says nothing about arguments or other preconditions (archive completeness, a
// satisfaction already recorded).
func Allowed(s Status, a Action) bool {
	for _, st := range allowed[a] {
		if st == s {
			return true
		}
	}
	return false
}

// messages phrase each action for TransitionError; %q is the current status.
var messages = map[Action]string{
	ActionAssign:                "cannot assign a ticket in status %q",
	ActionStartWork:             "cannot start work on a ticket in status %q",
	ActionReply:                 "cannot reply to a ticket in status %q",
	ActionSetPendingCustomer:    "cannot set a ticket in status %q to pending_customer",
	ActionAppendCustomerMessage: "cannot append a customer message to a ticket in status %q",
	ActionAddNote:               "cannot add a note to a ticket in status %q",
	ActionEscalate:              "cannot escalate a ticket in status %q",
	ActionResolve:               "cannot resolve a ticket in status %q",
	ActionClose:                 "cannot close a ticket in status %q",
	ActionReopen:                "cannot reopen a ticket in status %q",
	ActionRecordSatisfaction:    "cannot record satisfaction for a ticket in status %q",
	ActionWaiveSatisfaction:     "cannot waive satisfaction for a ticket in status %q",
	ActionArchive:               "cannot archive a ticket in status %q",
	ActionReclassify:            "cannot reclassify a ticket in status %q",
}

// TransitionError reports an action that the ticket's current status forbids. It converts to an
// *apierr.Error (FailedPrecondition, reason TICKET_ILLEGAL_TRANSITION, metadata current_state and action),
// so both errors.As(err, &transitionErr) and errors.As(err, &apiErr) work.
type TransitionError struct {
	From   Status // the current status
	To     Status // where the action would have moved the ticket; StatusUnspecified for actions that keep it
	Action Action
}

// Error names the current status, e.g. `cannot resolve a ticket in status "new"`.
func (e *TransitionError) Error() string {
	format, ok := messages[e.Action]
	if !ok {
		format = "cannot " + string(e.Action) + " a ticket in status %q"
	}
	return fmt.Sprintf(format, e.From.String())
}

// APIError returns the client-facing error.
func (e *TransitionError) APIError() *apierr.Error {
	return apierr.FailedPrecondition(ReasonIllegalTransition, e.Error()).
		WithMeta("current_state", e.From.String()).
		WithMeta("action", string(e.Action))
}

// As lets errors.As find an *apierr.Error in a chain holding a *TransitionError, so the gRPC error mapper
// needs no knowledge of this package.
func (e *TransitionError) As(target any) bool {
	if p, ok := target.(**apierr.Error); ok {
		*p = e.APIError()
		return true
	}
	return false
}

// gate returns a *TransitionError when a is not allowed in from; to is the target the action would have had.
func gate(from Status, a Action, to Status) error {
	if Allowed(from, a) {
		return nil
	}
	return &TransitionError{From: from, To: to, Action: a}
}
