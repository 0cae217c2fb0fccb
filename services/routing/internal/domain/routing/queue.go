package routing

import (
	"bytes"
	"cmp"
	"time"

	"github.com/google/uuid"
)

// QueueEntry is a ticket waiting in a group's queue for an eligible agent.
type QueueEntry struct {
	TicketID   uuid.UUID
	Priority   int       // 1 = P1 (first) … 4 = P4; 0 (or anything else) is unknown and sorts last
	SLADue     time.Time // when the ticket's SLA target falls due; zero = unknown, after every known one
	EnqueuedAt time.Time
}

// CompareQueue orders a group's queue, first served first: by priority, then by SLA due time (earlier first,
// known before unknown), then by age (enqueued earlier first), then by ticket id so the order is total.
func CompareQueue(a, b QueueEntry) int {
	return cmp.Or(
		cmp.Compare(priorityRank(a.Priority), priorityRank(b.Priority)),
		compareKnownFirst(a.SLADue, b.SLADue),
		a.EnqueuedAt.Compare(b.EnqueuedAt),
		bytes.Compare(a.TicketID[:], b.TicketID[:]),
	)
}

// priorityRank maps P1..P4 to themselves and an unknown priority after P4.
func priorityRank(p int) int {
	if p < 1 || p > 4 {
		return 5
	}
	return p
}

// compareKnownFirst orders times ascending with the zero time (unknown) last.
func compareKnownFirst(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}
