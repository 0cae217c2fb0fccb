package ticket

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

var (
	testNow   = time.Date(2023, 10, 26, 2, 0, 0, 0, time.UTC)
	staff     = Actor{Kind: ActorStaff, ID: "agent-7"}
	adapter   = Actor{Kind: ActorAdapter, ID: "web-form"}
	testGroup = uuid.MustParse("01890000-0000-7000-8000-000000000001")
	testAgent = uuid.MustParse("01890000-0000-7000-8000-000000000002")
	otherAgnt = uuid.MustParse("01890000-0000-7000-8000-000000000003")
	otherGrp  = uuid.MustParse("01890000-0000-7000-8000-000000000004")
	testCust  = uuid.MustParse("01890000-0000-7000-8000-000000000005")
	testID    = uuid.MustParse("01890000-0000-7000-8000-0000000000aa")
)

// validSubmission is a submission New accepts; tests change one thing at a time.
func validSubmission() NewTicket {
	return NewTicket{
		ID:          testID,
		Number:      "GD202310260001",
		Channel:     ChannelWebChat,
		ReceivedAt:  testNow.Add(-time.Minute),
		Submitter:   adapter,
		Description: "hello, a question",
	}
}

func testPolicy() Policy {
	return Policy{Taxonomy: DefaultTaxonomy(), Rules: DefaultRules(), MaxReceivedSkew: 5 * time.Minute}
}

// fixture returns a ticket sitting in status s with everything a later step could need (group, agent,
// customer, one handling record, a summary and one resolution when past in_progress) but no satisfaction.
func fixture(t *testing.T, s Status) *Ticket {
	t.Helper()
	tk, _, err := New(validSubmission(), testPolicy(), testNow)
	require.NoError(t, err)
	tk.Status = s
	tk.GroupID, tk.AssigneeID, tk.CustomerID = testGroup, testAgent, testCust
	tk.HandlingCount = 1
	if s >= StatusResolved {
		tk.ResolutionSummary = "replaced the charger"
		tk.ResolutionCount = 1
		tk.ResolvedAt = testNow
	}
	if s >= StatusClosed {
		tk.ClosedAt = testNow
	}
	return tk
}

// requireInvalidField asserts err is InvalidArgument with a violation on field.
func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := apierr.As(err)
	require.True(t, ok, "want *apierr.Error, got %v", err)
	require.Equal(t, apierr.KindInvalidArgument, e.Kind, "%v", err)
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	require.Contains(t, fields, field, "%v", err)
}

// requireOneChange asserts the shape every successful call shares: one event, one entry, Version +1.
func requireOneChange(t *testing.T, tk *Ticket, before int64, ch Change, kind EventKind) {
	t.Helper()
	require.Len(t, ch.Events, 1)
	require.Len(t, ch.Timeline, 1)
	require.Equal(t, before+1, tk.Version)
	require.Equal(t, kind, ch.Events[0].Kind)
	require.Equal(t, kind, ch.Timeline[0].Kind)
	require.Equal(t, tk.Version, ch.Events[0].Seq)
	require.Equal(t, tk.Version, ch.Timeline[0].Seq)
	require.Equal(t, tk.ID, ch.Events[0].TicketID)
	require.Equal(t, tk.Status, ch.Events[0].Status)
}
