package ticket

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestAssign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       Status
		startGroup   uuid.UUID
		startAgent   uuid.UUID
		group, agent uuid.UUID
		wantStatus   Status
		wantGroup    uuid.UUID
		wantAgent    uuid.UUID
	}{
		{"a new ticket assigned to a group waits in that group's queue", StatusNew, uuid.Nil, uuid.Nil, testGroup, uuid.Nil, StatusAssigned, testGroup, uuid.Nil},
		{"a new ticket assigned to an agent", StatusNew, uuid.Nil, uuid.Nil, testGroup, testAgent, StatusAssigned, testGroup, testAgent},
		{"naming only an agent keeps the group", StatusAssigned, testGroup, uuid.Nil, uuid.Nil, testAgent, StatusAssigned, testGroup, testAgent},
		{"moving to another group without an agent clears the agent", StatusAssigned, testGroup, testAgent, otherGrp, uuid.Nil, StatusAssigned, otherGrp, uuid.Nil},
		{"naming the same group keeps the agent", StatusAssigned, testGroup, testAgent, testGroup, uuid.Nil, StatusAssigned, testGroup, testAgent},
		{"reassigning work in progress keeps it in progress", StatusInProgress, testGroup, testAgent, uuid.Nil, otherAgnt, StatusInProgress, testGroup, otherAgnt},
		{"reassigning while waiting for the customer keeps waiting", StatusPendingCustomer, testGroup, testAgent, otherGrp, otherAgnt, StatusPendingCustomer, otherGrp, otherAgnt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			tk.GroupID, tk.AssigneeID = tc.startGroup, tc.startAgent
			before := tk.Version
			ch, err := tk.Assign(tc.group, tc.agent, staff, testNow)
			require.NoError(t, err)
			requireOneChange(t, tk, before, ch, EventAssigned)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, tc.wantGroup, tk.GroupID)
			require.Equal(t, tc.wantAgent, tk.AssigneeID)
			e := ch.Events[0]
			require.Equal(t, tc.startGroup, e.PreviousGroupID)
			require.Equal(t, tc.startAgent, e.PreviousAssigneeID)
			require.Equal(t, tc.wantGroup, e.GroupID)
			require.Equal(t, tc.wantAgent, e.AssigneeID)
			if tc.status != tc.wantStatus {
				require.Equal(t, tc.status, e.From)
				require.Equal(t, tc.wantStatus, e.To)
			}
		})
	}
}

func TestUnassign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     Status
		group      uuid.UUID
		wantGroup  uuid.UUID
		wantStatus Status
	}{
		{"work in progress goes back to its group's queue", StatusInProgress, uuid.Nil, testGroup, StatusAssigned},
		{"waiting on the customer goes back too", StatusPendingCustomer, uuid.Nil, testGroup, StatusAssigned},
		{"naming a group moves it there", StatusAssigned, otherGrp, otherGrp, StatusAssigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			tk.GroupID, tk.AssigneeID = testGroup, testAgent
			before := tk.Version
			ch, err := tk.Unassign(tc.group, staff, testNow)
			require.NoError(t, err)
			requireOneChange(t, tk, before, ch, EventAssigned)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, tc.wantGroup, tk.GroupID)
			require.Equal(t, uuid.Nil, tk.AssigneeID)
			require.Equal(t, testAgent, ch.Events[0].PreviousAssigneeID)
		})
	}
	tk := fixture(t, StatusResolved)
	_, err := tk.Unassign(uuid.Nil, staff, testNow)
	require.Error(t, err, "a resolved ticket has nobody to hand it back")
}

func TestAssignNeedsAGroupOrAnAgent(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusNew)
	before := *tk
	_, err := tk.Assign(uuid.Nil, uuid.Nil, staff, testNow)
	requireInvalidField(t, err, "group_id")
	requireInvalidField(t, err, "assignee_id")
	require.Equal(t, before, *tk)
}

func TestReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      Status
		channel     Channel
		asks        bool
		wantStatus  Status
		wantChannel Channel
	}{
		{"the first reply starts work", StatusAssigned, ChannelUnspecified, false, StatusInProgress, ChannelWebChat},
		{"a first reply that asks waits for the customer", StatusAssigned, ChannelUnspecified, true, StatusPendingCustomer, ChannelWebChat},
		{"a reply in progress stays in progress", StatusInProgress, ChannelUnspecified, false, StatusInProgress, ChannelWebChat},
		{"a reply that asks waits for the customer", StatusInProgress, ChannelSMS, true, StatusPendingCustomer, ChannelSMS},
		{"a reply while waiting keeps waiting", StatusPendingCustomer, ChannelEmail, false, StatusPendingCustomer, ChannelEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			before, handled := tk.Version, tk.HandlingCount
			ch, err := tk.Reply("please send a photo", tc.channel, tc.asks, staff, testNow)
			require.NoError(t, err)
			requireOneChange(t, tk, before, ch, EventReplied)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, handled+1, tk.HandlingCount, "a reply is a handling record")
			e, entry := ch.Events[0], ch.Timeline[0]
			require.Equal(t, tc.wantChannel, e.MessageChannel)
			require.Equal(t, tc.asks, e.AskedCustomer)
			require.Equal(t, tc.wantChannel, entry.Channel)
			require.Equal(t, "please send a photo", entry.Text)
			require.Equal(t, staff, entry.Actor)
			require.Equal(t, testNow, entry.At)
			if tc.status == tc.wantStatus {
				require.Equal(t, StatusUnspecified, e.From)
			} else {
				require.Equal(t, tc.status, e.From)
				require.Equal(t, tc.wantStatus, e.To)
			}
		})
	}
}

func TestArgumentsAreCheckedBeforeTheLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status Status
		call   func(tk *Ticket) (Change, error)
		field  string
	}{
		{"a blank reply", StatusNew, func(tk *Ticket) (Change, error) { return tk.Reply(" ", ChannelUnspecified, false, staff, testNow) }, "text"},
		{"a reply on an unknown channel", StatusInProgress, func(tk *Ticket) (Change, error) { return tk.Reply("hi", Channel(42), false, staff, testNow) }, "channel"},
		{"a customer message with a nul byte", StatusClosed, func(tk *Ticket) (Change, error) {
			return tk.AppendCustomerMessage("a\x00", ChannelUnspecified, nil, adapter, testNow)
		}, "text"},
		{"a blank note", StatusArchived, func(tk *Ticket) (Change, error) { return tk.AddNote("", staff, testNow) }, "text"},
		{"an escalation without a reason", StatusInProgress, func(tk *Ticket) (Change, error) { return tk.Escalate("\t", staff, testNow) }, "reason"},
		{"a resolution without a summary", StatusNew, func(tk *Ticket) (Change, error) { return tk.Resolve("", staff, testNow) }, "resolution_summary"},
		{"a rating that is not one", StatusResolved, func(tk *Ticket) (Change, error) {
			return tk.RecordSatisfaction(SatisfactionUnspecified, "", adapter, testNow)
		}, "rating"},
		{"a rating comment of invalid utf-8", StatusResolved, func(tk *Ticket) (Change, error) {
			return tk.RecordSatisfaction(SatisfactionSatisfied, "\xff", adapter, testNow)
		}, "comment"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is invalid whatever the status", func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			before := *tk
			ch, err := tc.call(tk)
			requireInvalidField(t, err, tc.field)
			require.True(t, ch.Empty())
			require.Equal(t, before, *tk)
		})
	}
}

func TestABadActorIsAProgrammingError(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusInProgress)
	before := *tk
	_, err := tk.AddNote("note", Actor{Kind: "robot", ID: "r2"}, testNow)
	require.Error(t, err)
	require.Equal(t, apierr.KindInternal, apierr.KindOf(err))
	require.Equal(t, before, *tk)
}

func TestAppendCustomerMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     Status
		wantStatus Status
	}{
		{"an answer while waiting resumes work", StatusPendingCustomer, StatusInProgress},
		{"a message on a new ticket keeps it new", StatusNew, StatusNew},
		{"a message in progress keeps it in progress", StatusInProgress, StatusInProgress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			before, handled := tk.Version, tk.HandlingCount
			ch, err := tk.AppendCustomerMessage("here is the photo", ChannelUnspecified, nil, adapter, testNow)
			require.NoError(t, err)
			requireOneChange(t, tk, before, ch, EventCustomerMessageAdded)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, handled, tk.HandlingCount, "a customer message is not a handling record")
			require.Equal(t, ChannelWebChat, ch.Events[0].MessageChannel)
			require.Equal(t, "here is the photo", ch.Timeline[0].Text)
		})
	}
}

func TestNotesEscalationResolutionAndClosing(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusInProgress)
	tk.HandlingCount = 0

	ch, err := tk.AddNote("checked the warehouse", staff, testNow)
	require.NoError(t, err)
	require.Equal(t, 1, tk.HandlingCount)
	require.Equal(t, "checked the warehouse", ch.Timeline[0].Text)

	for want := 1; want <= 2; want++ {
		ch, err = tk.Escalate("customer called again", staff, testNow)
		require.NoError(t, err)
		require.Equal(t, want, tk.EscalationLevel)
		require.Equal(t, want, ch.Events[0].EscalationLevel)
		require.Equal(t, EventEscalated, ch.Events[0].Kind)
	}

	resolvedAt := testNow.Add(time.Hour)
	ch, err = tk.Resolve("sent a replacement", staff, resolvedAt)
	require.NoError(t, err)
	require.Equal(t, "sent a replacement", tk.ResolutionSummary)
	require.Equal(t, 1, tk.ResolutionCount)
	require.Equal(t, 1, ch.Events[0].ResolutionCount)
	require.Equal(t, resolvedAt, tk.ResolvedAt)
	require.Equal(t, "sent a replacement", ch.Timeline[0].Text)

	closedAt := resolvedAt.Add(72 * time.Hour)
	ch, err = tk.Close(Actor{Kind: ActorSystem, ID: "auto-close"}, closedAt)
	require.NoError(t, err)
	require.Equal(t, StatusClosed, tk.Status)
	require.Equal(t, closedAt, tk.ClosedAt)
	require.Equal(t, closedAt, tk.UpdatedAt)
	require.Equal(t, ActorSystem, ch.Events[0].Actor.Kind)
	require.Equal(t, int64(6), tk.Version, "created, note, two escalations, resolve, close")
}

func TestAutoCloseDue(t *testing.T) {
	t.Parallel()
	const after = 72 * time.Hour
	tests := []struct {
		name   string
		status Status
		since  time.Duration
		want   bool
	}{
		{"resolved 71h ago is not due", StatusResolved, 71 * time.Hour, false},
		{"resolved exactly 72h ago is due", StatusResolved, 72 * time.Hour, true},
		{"resolved a week ago is due", StatusResolved, 7 * 24 * time.Hour, true},
		{"a closed ticket is never due again", StatusClosed, 7 * 24 * time.Hour, false},
		{"an open ticket is never due", StatusInProgress, 7 * 24 * time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			tk.ResolvedAt = testNow
			require.Equal(t, tc.want, tk.AutoCloseDue(testNow.Add(tc.since), after))
		})
	}
}

func TestReopen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      Status
		agent       uuid.UUID
		agentActive bool
		wantStatus  Status
		wantAgent   uuid.UUID
	}{
		{"a resolved ticket returns to its active agent", StatusResolved, testAgent, true, StatusInProgress, testAgent},
		{"a closed ticket returns to its active agent", StatusClosed, testAgent, true, StatusInProgress, testAgent},
		{"without the agent it waits in the group's queue", StatusClosed, testAgent, false, StatusAssigned, uuid.Nil},
		{"a ticket that never had an agent waits in the queue", StatusResolved, uuid.Nil, true, StatusAssigned, uuid.Nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			tk.AssigneeID = tc.agent
			before := tk.Version
			ch, err := tk.Reopen("customer wrote again", tc.agentActive, staff, testNow)
			require.NoError(t, err)
			requireOneChange(t, tk, before, ch, EventReopened)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, tc.wantAgent, tk.AssigneeID)
			require.Equal(t, "customer wrote again", ch.Timeline[0].Text, "the reason is in the timeline")
			require.Equal(t, testGroup, tk.GroupID, "the group is kept")
			require.Equal(t, tc.agent, ch.Events[0].PreviousAssigneeID)
			require.Equal(t, tc.status, ch.Events[0].From)
			require.Equal(t, tc.wantStatus, ch.Events[0].To)
			require.True(t, tk.ResolvedAt.IsZero())
			require.True(t, tk.ClosedAt.IsZero())
			require.Equal(t, 1, tk.ResolutionCount, "the earlier resolution still counts")
		})
	}
}

func TestVersionCountsEveryChange(t *testing.T) {
	t.Parallel()
	tk, _, err := New(validSubmission(), testPolicy(), testNow)
	require.NoError(t, err)
	calls := []func() (Change, error){
		func() (Change, error) { return tk.Assign(testGroup, testAgent, staff, testNow) },
		func() (Change, error) { return tk.StartWork(staff, testNow) },
		func() (Change, error) { return tk.SetPendingCustomer(staff, testNow) },
		func() (Change, error) {
			return tk.AppendCustomerMessage("ok", ChannelUnspecified, nil, adapter, testNow)
		},
		func() (Change, error) { return tk.Resolve("done", staff, testNow) },
		func() (Change, error) { return tk.Reopen("", true, staff, testNow) },
		func() (Change, error) { return tk.Resolve("done again", staff, testNow) },
	}
	for i, call := range calls {
		ch, err := call()
		require.NoError(t, err)
		require.Equal(t, int64(i+2), tk.Version)
		require.Equal(t, tk.Version, ch.Events[0].Seq)
	}
	require.Equal(t, 2, tk.ResolutionCount)
}

func TestOnlyTheFirstReplyIsTheFirstResponse(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusAssigned)
	ch, err := tk.Reply("hello", ChannelUnspecified, false, staff, testNow)
	require.NoError(t, err)
	require.True(t, ch.Events[0].FirstReply)
	require.Equal(t, testNow, tk.FirstReplyAt)
	later := testNow.Add(time.Hour)
	ch, err = tk.Reply("more", ChannelUnspecified, false, staff, later)
	require.NoError(t, err)
	require.False(t, ch.Events[0].FirstReply)
	require.Equal(t, testNow, tk.FirstReplyAt, "the first response time stays")
}

func TestCustomerMessageAttachments(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusPendingCustomer)
	photo := Attachment{Name: "p.jpg", ContentType: "image/jpeg", Size: 10, URL: "https://f.example.com/p.jpg"}
	ch, err := tk.AppendCustomerMessage("photo attached", ChannelUnspecified, []Attachment{photo}, adapter, testNow)
	require.NoError(t, err)
	require.Equal(t, []Attachment{photo}, ch.Timeline[0].Attachments)

	before := tk.Version
	_, err = tk.AppendCustomerMessage("bad", ChannelUnspecified, []Attachment{{Name: "x", ContentType: "a/b", URL: "file:///etc/passwd"}}, adapter, testNow)
	requireInvalidField(t, err, "attachments[0].url")
	require.Equal(t, before, tk.Version, "a refused message changes nothing")
}
