package routing

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestCompareQueue(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name string
		a, b QueueEntry
		want int // sign of CompareQueue(a, b)
	}{
		{"p1 goes before p2 whatever the age",
			QueueEntry{TicketID: id(1), Priority: 1, EnqueuedAt: at(time.Hour)},
			QueueEntry{TicketID: id(2), Priority: 2, EnqueuedAt: at(0)}, -1},
		{"p4 goes before an unknown priority",
			QueueEntry{TicketID: id(1), Priority: 4},
			QueueEntry{TicketID: id(2), Priority: 0}, -1},
		{"an out-of-range priority counts as unknown",
			QueueEntry{TicketID: id(1), Priority: 9, EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(2), Priority: 0, EnqueuedAt: at(time.Minute)}, -1},
		{"on equal priority the earlier sla due time goes first",
			QueueEntry{TicketID: id(1), Priority: 2, SLADue: at(2 * time.Hour), EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(2), Priority: 2, SLADue: at(time.Hour), EnqueuedAt: at(time.Minute)}, 1},
		{"a known sla due time goes before an unknown one",
			QueueEntry{TicketID: id(1), Priority: 2, EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(2), Priority: 2, SLADue: at(48 * time.Hour), EnqueuedAt: at(time.Hour)}, 1},
		{"on equal priority and due time the older ticket goes first",
			QueueEntry{TicketID: id(1), Priority: 3, SLADue: at(time.Hour), EnqueuedAt: at(time.Minute)},
			QueueEntry{TicketID: id(2), Priority: 3, SLADue: at(time.Hour), EnqueuedAt: at(0)}, 1},
		{"with both due times unknown the older ticket goes first",
			QueueEntry{TicketID: id(2), Priority: 3, EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(1), Priority: 3, EnqueuedAt: at(time.Minute)}, -1},
		{"everything equal falls back to the ticket id",
			QueueEntry{TicketID: id(2), Priority: 3, EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(1), Priority: 3, EnqueuedAt: at(0)}, 1},
		{"an entry equals itself",
			QueueEntry{TicketID: id(1), Priority: 3, EnqueuedAt: at(0)},
			QueueEntry{TicketID: id(1), Priority: 3, EnqueuedAt: at(0)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, sign(CompareQueue(tc.a, tc.b)))
			require.Equal(t, -tc.want, sign(CompareQueue(tc.b, tc.a)), "the order must be antisymmetric")
		})
	}
}

func TestQueueSortsAWholeQueue(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	queue := []QueueEntry{
		{TicketID: id(6), Priority: 0, EnqueuedAt: at(0)},
		{TicketID: id(5), Priority: 3, EnqueuedAt: at(time.Minute)},
		{TicketID: id(4), Priority: 3, EnqueuedAt: at(0)},
		{TicketID: id(3), Priority: 2, EnqueuedAt: at(0)},
		{TicketID: id(2), Priority: 2, SLADue: at(3 * time.Hour), EnqueuedAt: at(time.Hour)},
		{TicketID: id(1), Priority: 1, EnqueuedAt: at(2 * time.Hour)},
	}
	slices.SortFunc(queue, CompareQueue)
	got := make([]uuid.UUID, len(queue))
	for i, e := range queue {
		got[i] = e.TicketID
	}
	require.Equal(t, []uuid.UUID{id(1), id(2), id(3), id(4), id(5), id(6)}, got)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
