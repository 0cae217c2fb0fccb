package chaos

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStreamVerdict proves the checker's stream rules on hand-made streams: each defect is counted, and
// a clean stream (with another producer numbering the same aggregate, and other tickets' events) is clean.
func TestStreamVerdict(t *testing.T) {
	t.Parallel()
	const a, b, other = "t-a", "t-b", "t-other"
	whole := func(id string) []Event {
		return []Event{
			{Subject: "kefu.ticket.created", AggregateID: id, Seq: 1, EventID: id + "-c"},
			{Subject: "kefu.routing.ticket_queued", AggregateID: id, Seq: 1, EventID: id + "-q"},
			{Subject: "kefu.sla.applied", AggregateID: id, Seq: 1, EventID: id + "-s"},
			{Subject: "kefu.ticket.updated", AggregateID: id, Seq: 2, EventID: id + "-u"},
		}
	}
	acked := map[string]bool{a: true, b: true}
	clean := slices.Concat(whole(a), whole(b), whole(other)[:1])
	for _, tc := range []struct {
		name string
		evs  []Event
		want Verdict
	}{
		{"clean", clean, Verdict{}},
		{"an event id twice", slices.Concat(clean, []Event{whole(a)[3]}), Verdict{Duplicated: 1}},
		{"a second created event", slices.Concat(clean, []Event{Event{Subject: "kefu.ticket.created", AggregateID: b, Seq: 3, EventID: "x"}}),
			Verdict{Duplicated: 1}},
		{"a sequence going back", slices.Concat(clean, []Event{Event{Subject: "kefu.ticket.updated", AggregateID: a, Seq: 1, EventID: "y"}}),
			Verdict{OutOfOrder: 1}},
		{"a sequence repeated", slices.Concat(clean, []Event{Event{Subject: "kefu.ticket.updated", AggregateID: a, Seq: 2, EventID: "z"}}),
			Verdict{OutOfOrder: 1}},
		{"a missing queued event", slices.Concat(whole(a), []Event{whole(b)[0], whole(b)[2], whole(b)[3]}),
			Verdict{Lost: 1, Missing: []string{"kefu.routing.ticket_queued t-b"}}},
		{"another ticket's defects are not this scenario's", slices.Concat(clean, []Event{whole(other)[0], whole(other)[0]}), Verdict{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, streamVerdict(tc.evs, acked, nil))
		})
	}
}

// TestStreamVerdictCountsTimerEvents: a timer event expected n times counts missing below n and
// duplicated above it.
func TestStreamVerdictCountsTimerEvents(t *testing.T) {
	t.Parallel()
	base := []Event{
		{Subject: "kefu.ticket.created", AggregateID: "t", Seq: 1, EventID: "c"},
		{Subject: "kefu.routing.ticket_queued", AggregateID: "t", Seq: 1, EventID: "q"},
		{Subject: "kefu.sla.applied", AggregateID: "t", Seq: 1, EventID: "s"},
	}
	warn := func(seq int64) Event {
		return Event{Subject: "kefu.sla.warning", AggregateID: "t", Seq: seq, EventID: fmt.Sprint("w", seq)}
	}
	due := map[string]int{"kefu.sla.warning": 2}
	acked := map[string]bool{"t": true}
	require.Equal(t, Verdict{}, streamVerdict(slices.Concat(base, []Event{warn(2), warn(3)}), acked, due))
	require.Equal(t, Verdict{Lost: 1, Missing: []string{"kefu.sla.warning t"}}, streamVerdict(slices.Concat(base, []Event{warn(2)}), acked, due))
	require.Equal(t, Verdict{Duplicated: 1}, streamVerdict(slices.Concat(base, []Event{warn(2), warn(3), warn(4)}), acked, due))
}
