package ticket

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

// actionCalls performs each action with valid arguments, so only the lifecycle decides the outcome.
var actionCalls = map[Action]func(tk *Ticket) (Change, error){
	ActionAssign:    func(tk *Ticket) (Change, error) { return tk.Assign(testGroup, otherAgnt, staff, testNow) },
	ActionStartWork: func(tk *Ticket) (Change, error) { return tk.StartWork(staff, testNow) },
	ActionReply: func(tk *Ticket) (Change, error) {
		return tk.Reply("we are on it", ChannelUnspecified, false, staff, testNow)
	},
	ActionSetPendingCustomer: func(tk *Ticket) (Change, error) { return tk.SetPendingCustomer(staff, testNow) },
	ActionAppendCustomerMessage: func(tk *Ticket) (Change, error) {
		return tk.AppendCustomerMessage("any news?", ChannelUnspecified, nil, adapter, testNow)
	},
	ActionAddNote:  func(tk *Ticket) (Change, error) { return tk.AddNote("called the warehouse", staff, testNow) },
	ActionEscalate: func(tk *Ticket) (Change, error) { return tk.Escalate("VIP customer", staff, testNow) },
	ActionResolve:  func(tk *Ticket) (Change, error) { return tk.Resolve("sent a new charger", staff, testNow) },
	ActionClose:    func(tk *Ticket) (Change, error) { return tk.Close(staff, testNow) },
	ActionReopen:   func(tk *Ticket) (Change, error) { return tk.Reopen("", true, staff, testNow) },
	ActionRecordSatisfaction: func(tk *Ticket) (Change, error) {
		return tk.RecordSatisfaction(SatisfactionSatisfied, "", adapter, testNow)
	},
	ActionWaiveSatisfaction: func(tk *Ticket) (Change, error) { return tk.WaiveSatisfaction(staff, testNow) },
	ActionArchive: func(tk *Ticket) (Change, error) {
		// Complete the record first so that only the status decides.
		tk.Satisfaction = &SatisfactionRecord{Waived: true, Resolution: tk.ResolutionCount, RecordedAt: testNow}
		return tk.Archive(staff, testNow)
	},
	ActionReclassify: func(tk *Ticket) (Change, error) {
		u := UrgencyCritical
		return tk.Reclassify(ClassificationUpdate{Urgency: &u}, DefaultTaxonomy(), staff, testNow)
	},
}

// actionEvents is the one event kind each action emits.
var actionEvents = map[Action]EventKind{
	ActionAssign: EventAssigned, ActionStartWork: EventStatusChanged, ActionReply: EventReplied,
	ActionSetPendingCustomer: EventStatusChanged, ActionAppendCustomerMessage: EventCustomerMessageAdded,
	ActionAddNote: EventNoteAdded, ActionEscalate: EventEscalated, ActionResolve: EventResolved,
	ActionClose: EventClosed, ActionReopen: EventReopened, ActionRecordSatisfaction: EventRated,
	ActionWaiveSatisfaction: EventRated, ActionArchive: EventArchived, ActionReclassify: EventUpdated,
}

// legalTargets is the lifecycle of issue 3 §2 written out: for each action, the statuses it is allowed in
// and where it leaves the ticket (the same status when it does not move). Every pair not listed is illegal.
var legalTargets = map[Action]map[Status]Status{
	ActionAssign: {
		StatusNew: StatusAssigned, StatusAssigned: StatusAssigned,
		StatusInProgress: StatusInProgress, StatusPendingCustomer: StatusPendingCustomer,
	},
	ActionStartWork: {StatusAssigned: StatusInProgress},
	ActionReply: {
		StatusAssigned: StatusInProgress, StatusInProgress: StatusInProgress, StatusPendingCustomer: StatusPendingCustomer,
	},
	ActionSetPendingCustomer: {StatusInProgress: StatusPendingCustomer},
	ActionAppendCustomerMessage: {
		StatusNew: StatusNew, StatusAssigned: StatusAssigned,
		StatusInProgress: StatusInProgress, StatusPendingCustomer: StatusInProgress,
	},
	ActionAddNote: {
		StatusNew: StatusNew, StatusAssigned: StatusAssigned, StatusInProgress: StatusInProgress,
		StatusPendingCustomer: StatusPendingCustomer, StatusResolved: StatusResolved, StatusClosed: StatusClosed,
	},
	ActionEscalate: {
		StatusNew: StatusNew, StatusAssigned: StatusAssigned,
		StatusInProgress: StatusInProgress, StatusPendingCustomer: StatusPendingCustomer,
	},
	ActionResolve:            {StatusInProgress: StatusResolved, StatusPendingCustomer: StatusResolved},
	ActionClose:              {StatusResolved: StatusClosed},
	ActionReopen:             {StatusResolved: StatusInProgress, StatusClosed: StatusInProgress},
	ActionRecordSatisfaction: {StatusResolved: StatusResolved, StatusClosed: StatusClosed},
	ActionWaiveSatisfaction:  {StatusResolved: StatusResolved, StatusClosed: StatusClosed},
	ActionArchive:            {StatusClosed: StatusArchived},
	ActionReclassify: {
		StatusNew: StatusNew, StatusAssigned: StatusAssigned, StatusInProgress: StatusInProgress,
		StatusPendingCustomer: StatusPendingCustomer, StatusResolved: StatusResolved, StatusClosed: StatusClosed,
	},
}

func TestEveryStatusActionPair(t *testing.T) {
	t.Parallel()
	require.Len(t, actionCalls, len(Actions()), "every action needs a call")
	require.Len(t, legalTargets, len(Actions()), "every action needs its legal statuses")
	require.Len(t, actionEvents, len(Actions()), "every action needs its event kind")
	for _, action := range Actions() {
		for _, status := range Statuses() {
			target, legal := legalTargets[action][status]
			name := fmt.Sprintf("%s in %s is illegal", action, status)
			if legal {
				name = fmt.Sprintf("%s in %s leaves the ticket %s", action, status, target)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				require.Equal(t, legal, Allowed(status, action))
				tk := fixture(t, status)
				before := *tk
				ch, err := actionCalls[action](tk)
				if !legal {
					var te *TransitionError
					require.ErrorAs(t, err, &te)
					require.Equal(t, status, te.From)
					require.Equal(t, action, te.Action)
					require.Contains(t, err.Error(), fmt.Sprintf("%q", status.String()))
					var ae *apierr.Error
					require.ErrorAs(t, err, &ae)
					require.Equal(t, apierr.KindFailedPrecondition, ae.Kind)
					require.Equal(t, ReasonIllegalTransition, ae.Reason)
					require.Equal(t, status.String(), ae.Meta["current_state"])
					require.Equal(t, err.Error(), ae.Message)
					require.True(t, ch.Empty())
					if action != ActionArchive { // the archive call completes the record before trying
						require.Equal(t, before, *tk, "a refused action must not change the ticket")
					}
					return
				}
				require.NoError(t, err)
				require.Equal(t, target, tk.Status)
				requireOneChange(t, tk, before.Version, ch, actionEvents[action])
				e := ch.Events[0]
				if target != status {
					require.Equal(t, status, e.From)
					require.Equal(t, target, e.To)
					require.Equal(t, status, ch.Timeline[0].From)
					require.Equal(t, target, ch.Timeline[0].To)
				} else {
					require.Equal(t, StatusUnspecified, e.From)
					require.Equal(t, StatusUnspecified, e.To)
				}
			})
		}
	}
}

func TestTransitionErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *TransitionError
		want string
	}{
		{"resolving a new ticket names new", &TransitionError{From: StatusNew, To: StatusResolved, Action: ActionResolve}, `cannot resolve a ticket in status "new"`},
		{"noting an archived ticket names archived", &TransitionError{From: StatusArchived, Action: ActionAddNote}, `cannot add a note to a ticket in status "archived"`},
		{"pending from assigned reads naturally", &TransitionError{From: StatusAssigned, To: StatusPendingCustomer, Action: ActionSetPendingCustomer}, `cannot set a ticket in status "assigned" to pending_customer`},
		{"an unknown action still names the state", &TransitionError{From: StatusClosed, Action: "frobnicate"}, `cannot frobnicate a ticket in status "closed"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.err.Error())
			wrapped := fmt.Errorf("update ticket: %w", tc.err)
			ae, ok := apierr.As(wrapped)
			require.True(t, ok)
			require.Equal(t, tc.want, ae.Message)
			require.Equal(t, string(tc.err.Action), ae.Meta["action"])
			require.Equal(t, apierr.KindFailedPrecondition, apierr.KindOf(wrapped))
			var te *TransitionError
			require.True(t, errors.As(wrapped, &te))
		})
	}
}

func TestEveryActionHasAMessage(t *testing.T) {
	t.Parallel()
	for _, a := range Actions() {
		t.Run(string(a)+" has a message", func(t *testing.T) {
			t.Parallel()
			require.Contains(t, messages, a)
		})
	}
}
