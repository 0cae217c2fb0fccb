package facts

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)

// script is one ticket's life, in sequence order.
func script() []Event {
	m := func(d time.Duration) time.Time { return t0.Add(d) }
	return []Event{
		{Kind: KindCreated, Seq: 1, At: m(0), ReceivedAt: m(-time.Minute), Channel: "web_chat", Type: "complaint",
			Subcategory: "logistics_delay", Urgency: "normal", Level: "l2", ToStatus: "new",
			Topics: []string{"delivery_delay"}},
		{Kind: KindSLAApplied, Seq: 1, At: m(time.Second), Targets: []string{"first_response", "resolution"}},
		{Kind: KindUpdated, Seq: 2, At: m(2 * time.Minute), Type: "complaint", Subcategory: "logistics_delay", Urgency: "urgent", Level: "l2"},
		{Kind: KindAssigned, Seq: 3, At: m(3 * time.Minute), GroupID: "g1", AssigneeID: "a1", ToStatus: "assigned"},
		{Kind: KindSLAWarning, Seq: 2, At: m(10 * time.Minute), Targets: []string{"first_response"}},
		{Kind: KindReplied, Seq: 4, At: m(14 * time.Minute), ToStatus: "in_progress"},
		{Kind: KindSLAMet, Seq: 3, At: m(14 * time.Minute), Targets: []string{"first_response"}, Elapsed: 12 * time.Minute},
		{Kind: KindTransferRequested, Seq: 1, At: m(20 * time.Minute)},
		{Kind: KindTransferAccepted, Seq: 2, At: m(25 * time.Minute), Wait: 5 * time.Minute},
		{Kind: KindAssigned, Seq: 5, At: m(25 * time.Minute), GroupID: "g2", AssigneeID: "a2", ToStatus: "in_progress"},
		{Kind: KindSLABreached, Seq: 4, At: m(30 * time.Hour), Targets: []string{"resolution"}},
		{Kind: KindResolved, Seq: 6, At: m(31 * time.Hour), ToStatus: "resolved"},
		{Kind: KindRated, Seq: 7, At: m(32 * time.Hour), Rating: RatingUnsatisfied},
		{Kind: KindReopened, Seq: 8, At: m(33 * time.Hour), ToStatus: "in_progress"},
		{Kind: KindEscalated, Seq: 9, At: m(33 * time.Hour)},
		{Kind: KindResolved, Seq: 10, At: m(34 * time.Hour), ToStatus: "resolved"},
		{Kind: KindRated, Seq: 11, At: m(35 * time.Hour), Rating: RatingSatisfied},
	}
}

// fold applies events one at a time, accumulating each change's delta, and returns the ticket and the sum
// of the deltas.
func fold(events []Event) (Ticket, *Delta) {
	var tk Ticket
	d := NewDelta()
	for _, e := range events {
		before := tk
		before.SLA = cloneSLA(tk.SLA)
		tk.Apply(e)
		d.Change(before, tk)
	}
	return tk, d
}

func cloneSLA(m map[string]SLAFlags) map[string]SLAFlags {
	if m == nil {
		return nil
	}
	out := make(map[string]SLAFlags, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// nonzero drops the cells a delta left at zero.
func nonzero(d *Delta) *Delta {
	out := NewDelta()
	for k, v := range d.Tickets {
		if !v.Zero() {
			out.Tickets[k] = v
		}
	}
	for k, v := range d.Hist {
		if v != 0 {
			out.Hist[k] = v
		}
	}
	for k, v := range d.SLA {
		if v != (SLACounts{}) {
			out.SLA[k] = v
		}
	}
	for k, v := range d.Agents {
		if v != (AgentCounts{}) {
			out.Agents[k] = v
		}
	}
	for k, v := range d.Topics {
		if v != 0 {
			out.Topics[k] = v
		}
	}
	for k, v := range d.Stays {
		if v != (StayCounts{}) {
			out.Stays[k] = v
		}
	}
	return out
}

func TestTicketFoldsItsLife(t *testing.T) {
	t.Parallel()
	tk, d := fold(script())
	require.Equal(t, "urgent", tk.Urgency, "the update's classification")
	require.Equal(t, "a2", tk.AssigneeID)
	require.Equal(t, t0.Add(3*time.Minute), tk.FirstAssignedAt)
	require.Equal(t, t0.Add(31*time.Hour), tk.ResolvedAt, "the first resolution")
	require.Equal(t, RatingSatisfied, tk.Rating, "the latest rating")
	require.Equal(t, int64(1), tk.Reopens)
	require.False(t, tk.Open())

	d = nonzero(d)
	hour := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	dims := Dims{Hour: hour, Channel: "web_chat", Group: "g2", Type: "complaint", Subcategory: "logistics_delay", Urgency: "urgent", Level: "l2"}
	require.Equal(t, map[Dims]Counts{dims: {Tickets: 1, FirstResponses: 1, FirstResponseMS: (15 * time.Minute).Milliseconds(),
		Resolutions: 1, ResolutionMS: (31*time.Hour + time.Minute).Milliseconds(), Satisfied: 1, Transfers: 1, Escalations: 1,
		Reopens: 1, AcceptWaitMS: (5 * time.Minute).Milliseconds(), Transferred: 1, Escalated: 1, SLATickets: 1, Breached: 1,
		TransfersAccepted: 1, FirstResponsesBusiness: 1, FirstResponseBusinessMS: (12 * time.Minute).Milliseconds()}},
		d.Tickets, "one ticket, counted once, where it stands now")
	require.Equal(t, map[TopicKey]int64{{dims, "delivery_delay"}: 1}, d.Topics)
	// Its stays: g1 from 3 min to the move at 25 min, then g2 until the first resolution.
	g1, g2 := dims, dims
	g1.Group = "g1"
	require.Equal(t, map[Dims]StayCounts{g1: {1, (22 * time.Minute).Milliseconds()}, g2: {1, (31*time.Hour - 25*time.Minute).Milliseconds()}},
		d.Stays)
	require.Equal(t, map[SLAKey]SLACounts{
		{dims, "first_response"}: {Tickets: 1, WarnedRecovered: 1},
		{dims, "resolution"}:     {Tickets: 1, Breached: 1},
	}, d.SLA)
	require.Equal(t, map[AgentKey]AgentCounts{{Dims: dims, Agent: "a2"}: {Assigned: 1, Resolved: 1, Handled: 1,
		HandleMS: (31*time.Hour - 3*time.Minute).Milliseconds()}}, d.Agents)
	require.Equal(t, map[HistKey]int64{
		{dims, MetricFirstResponse, Bucket(15 * time.Minute)}:         1,
		{dims, MetricFirstResponseBusiness, Bucket(12 * time.Minute)}: 1,
		{dims, MetricResolution, Bucket(31*time.Hour + time.Minute)}:  1,
	}, d.Hist)
}

// TestAnyOrderGivesTheSameNumbers: the events of a ticket applied in any order (late, reordered) leave the
// same projection and the same net change to the rollups.
func TestAnyOrderGivesTheSameNumbers(t *testing.T) {
	t.Parallel()
	want, wantDelta := fold(script())
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		events := script()
		r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		got, d := fold(events)
		require.Equal(t, want, got)
		require.Equal(t, nonzero(wantDelta), nonzero(d))
	}
}

func TestBucketsAndPercentiles(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, 500 * time.Millisecond, time.Second, 90 * time.Second, time.Hour, 400 * 24 * time.Hour} {
		b := Bucket(d)
		require.LessOrEqual(t, Lower(b), d+time.Millisecond, "%s in bucket %d", d, b)
		require.Greater(t, Lower(b+1), d, "%s in bucket %d", d, b)
	}
	counts := map[int]int64{}
	for i := 1; i <= 100; i++ {
		counts[Bucket(time.Duration(i)*time.Minute)]++
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Minute}, {0.9, 90 * time.Minute}, {0.99, 99 * time.Minute}} {
		got := Percentile(counts, tc.p)
		require.InEpsilon(t, tc.want.Seconds(), got.Seconds(), 0.025, "p%.0f", tc.p*100)
	}
	require.Zero(t, Percentile(map[int]int64{}, 0.5))
}

func TestStays(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	as := func(seq int64, m int, g string) Assignment { return Assignment{Seq: seq, At: at(m), Group: g} }
	for _, tc := range []struct {
		name     string
		assigned []Assignment
		resolved int // minutes; 0 for still open
		want     []Stay
	}{
		{"one group until resolution", []Assignment{as(2, 1, "g1")}, 30, []Stay{{"g1", at(1), at(30)}}},
		{"a stay still running is not counted", []Assignment{as(2, 1, "g1")}, 0, nil},
		{"another agent in the same group continues the stay", []Assignment{as(2, 1, "g1"), as(3, 5, "g1")}, 30,
			[]Stay{{"g1", at(1), at(30)}}},
		{"a move ends a stay; the last runs to resolution", []Assignment{as(2, 1, "g1"), as(4, 10, "g2")}, 30,
			[]Stay{{"g1", at(1), at(10)}, {"g2", at(10), at(30)}}},
		{"a move with the ticket open counts the stays before it", []Assignment{as(2, 1, "g1"), as(4, 10, "g2")}, 0,
			[]Stay{{"g1", at(1), at(10)}}},
		{"assignments after the first resolution are not counted", []Assignment{as(2, 1, "g1"), as(6, 40, "g2")}, 30,
			[]Stay{{"g1", at(1), at(30)}}},
		{"an assignment without a group is no stay", []Assignment{as(2, 1, "")}, 30, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := Ticket{Assignments: tc.assigned}
			if tc.resolved > 0 {
				tk.ResolvedAt = at(tc.resolved)
			}
			require.Equal(t, tc.want, tk.Stays())
		})
	}
}

func TestExpandAddsEveryCoarseGrain(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	// Received 23 November 17:30 UTC: 24 November 01:30 in Shanghai, so its business day is the 24th.
	tk := Ticket{Created: true, ReceivedAt: time.Date(2026, 11, 23, 17, 30, 0, 0, time.UTC), Channel: "web_chat", GroupID: "g1",
		Type: "complaint", Subcategory: "logistics", Urgency: "urgent", Level: "l2", Topics: []string{"delivery_delay"}}
	d := NewDelta()
	d.Change(Ticket{}, tk)
	d.Expand(shanghai)
	hour, day := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 0, 0, 0, 0, shanghai).UTC()
	want := map[Dims]Counts{{Grain: GrainHour, Hour: hour, Channel: "web_chat", Group: "g1", Type: "complaint",
		Subcategory: "logistics", Urgency: "urgent", Level: "l2"}: {Tickets: 1}}
	keep := map[Slot]Dims{SlotNone: {}, SlotChannel: {Channel: "web_chat"}, SlotGroup: {Group: "g1"}, SlotType: {Type: "complaint"},
		SlotSubcategory: {Type: "complaint", Subcategory: "logistics"}, SlotUrgency: {Urgency: "urgent"}, SlotLevel: {Level: "l2"},
		SlotSubcategory | SlotChannel: {Channel: "web_chat", Type: "complaint", Subcategory: "logistics"},
		SlotSubcategory | SlotGroup:   {Group: "g1", Type: "complaint", Subcategory: "logistics"},
		SlotSubcategory | SlotUrgency: {Urgency: "urgent", Type: "complaint", Subcategory: "logistics"},
		SlotSubcategory | SlotLevel:   {Level: "l2", Type: "complaint", Subcategory: "logistics"}}
	for _, s := range []Slot{SlotNone, SlotChannel, SlotType, SlotUrgency, SlotLevel} { // not the wide group and subcategory
		k := keep[s]
		k.Grain, k.Hour = HourOf(s), hour
		want[k] = Counts{Tickets: 1}
	}
	for s, k := range keep {
		k.Grain, k.Hour = DayOf(s), day
		want[k] = Counts{Tickets: 1}
	}
	require.Equal(t, want, d.Tickets)
	require.Len(t, d.Topics, 1+len(FamilyTopics.HourSlots())+len(FamilyTopics.DaySlots()), "every family is expanded, to its own grains")
	require.Empty(t, d.Stays, "a ticket without a completed stay")

	// Two tickets of one batch on the same business day and channel, in different hours, share the day cell.
	other := tk
	other.ReceivedAt, other.Subcategory = tk.ReceivedAt.Add(3*time.Hour), "order_status"
	d = NewDelta()
	d.Change(Ticket{}, tk)
	d.Change(Ticket{}, other)
	d.Expand(shanghai)
	require.Equal(t, Counts{Tickets: 2}, d.Tickets[Dims{Grain: DayOf(SlotChannel), Hour: day, Channel: "web_chat"}])
	require.Equal(t, Counts{Tickets: 1}, d.Tickets[Dims{Grain: HourOf(SlotChannel), Hour: hour, Channel: "web_chat"}])
	require.Equal(t, Counts{Tickets: 1}, d.Tickets[Dims{Grain: DayOf(SlotSubcategory), Hour: day, Type: "complaint", Subcategory: "order_status"}])
	require.True(t, FamilyTickets.Keeps(GrainHour) && FamilyTickets.Keeps(HourOf(SlotChannel)) && !FamilyTickets.Keeps(HourOf(SlotGroup)))
	require.True(t, FamilyStays.Keeps(DayOf(SlotGroup)) && FamilyStays.Keeps(DayOf(SlotGroup|SlotUrgency)) && !FamilyStays.Keeps(DayOf(SlotNone)))
	require.False(t, FamilyAgents.Keeps(DayOf(SlotSubcategory|SlotChannel)), "workload keeps single dimensions only")
	for _, f := range []Family{FamilyTickets, FamilyHist, FamilySLA, FamilyAgents, FamilyTopics, FamilyStays} {
		for _, s := range append(f.DaySlots(), f.HourSlots()...) {
			require.True(t, HourOf(s) > GrainHour && HourOf(s) < DayOf(SlotNone) && DayOf(s) >= DayOf(SlotNone),
				"slot %d: the hour and day codes stay apart and off the hourly rows'", s)
		}
	}
}

func TestSlotFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cols []string
		want Slot
	}{
		{nil, SlotNone},
		{[]string{"channel"}, SlotChannel},
		{[]string{"channel", "channel"}, SlotChannel},
		{[]string{"group_id"}, SlotGroup},
		{[]string{"type", "subcategory"}, SlotSubcategory},
		{[]string{"subcategory"}, SlotSubcategory},
		{[]string{"urgency"}, SlotUrgency},
		{[]string{"level"}, SlotLevel},
		{[]string{"channel", "subcategory"}, SlotSubcategory | SlotChannel},
		{[]string{"urgency", "level"}, SlotUrgency | SlotLevel},
		{[]string{"agent"}, SlotNone},
	} {
		require.Equal(t, tc.want, SlotFor(tc.cols), "%v", tc.cols)
	}
}

// TestCovering: a report reads the grain keeping what it needs and the fewest other dimensions, or the
// hourly rows when none does.
func TestCovering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f      Family
		need   Slot
		hourly bool
		want   Slot
		ok     bool
	}{
		{FamilyTickets, SlotNone, false, SlotNone, true},
		{FamilyTickets, SlotChannel, false, SlotChannel, true},
		{FamilyTickets, SlotSubcategory | SlotUrgency, false, SlotSubcategory | SlotUrgency, true},
		{FamilyTickets, SlotType | SlotUrgency, false, SlotSubcategory | SlotUrgency, true}, // a wider pair still beats every hourly row
		{FamilyTickets, SlotChannel | SlotUrgency, false, 0, false},
		{FamilyTickets, SlotGroup, true, 0, false},
		{FamilyTickets, SlotUrgency, true, SlotUrgency, true},
		{FamilyStays, SlotNone, false, SlotGroup, true},
		{FamilyStays, SlotGroup | SlotSubcategory, false, SlotGroup | SlotSubcategory, true},
		{FamilyStays, SlotChannel, true, 0, false},
		{FamilyAgents, SlotSubcategory, false, SlotSubcategory, true},
		{FamilyAgents, SlotChannel, true, 0, false},
	} {
		got, ok := tc.f.Covering(tc.need, tc.hourly)
		require.Equal(t, tc.ok, ok, "%v %v hourly=%v", tc.f, tc.need, tc.hourly)
		require.Equal(t, tc.want, got, "%v %v hourly=%v", tc.f, tc.need, tc.hourly)
	}
}

func TestHistogramEncoding(t *testing.T) {
	t.Parallel()
	for _, h := range []Histogram{{}, {0: 1}, {3: 2, 250: -1, 7: 1_000_000}, {Bucket(400 * 24 * time.Hour): 5}} {
		got := Histogram{}
		require.NoError(t, got.Decode(h.Encode()))
		require.Equal(t, h, got)
	}
	sum := Histogram{3: 2, 9: 1}
	require.NoError(t, sum.Decode(Histogram{3: -2, 10: 4}.Encode()))
	require.Equal(t, Histogram{9: 1, 10: 4}, sum, "decoding adds; a bucket that reaches zero goes")
	require.Empty(t, Histogram{5: 0}.Encode(), "zero counts are not stored")
	require.ErrorIs(t, Histogram{}.Decode([]byte{0x80}), ErrBadHistogram)
	require.ErrorIs(t, Histogram{}.Decode([]byte{0x01}), ErrBadHistogram, "a bucket without its count")
}

// TestSeqSet: numbers added in any order are all found and no others; the set stays compact.
func TestSeqSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		add   []int64
		floor int64
		above []int64
	}{
		{nil, 0, nil},
		{[]int64{1, 2, 3}, 3, nil},
		{[]int64{3, 1, 2}, 3, nil},
		{[]int64{2, 4}, 0, []int64{2, 4}},
		{[]int64{2, 4, 1}, 2, []int64{4}},
		{[]int64{5, 5, 1, 1}, 1, []int64{5}},
	} {
		var s SeqSet
		for _, n := range tc.add {
			s.Add(n)
		}
		require.Equal(t, SeqSet{tc.floor, tc.above}, s, "%v", tc.add)
		for n := int64(1); n <= 6; n++ {
			require.Equal(t, slices.Contains(tc.add, n), s.Has(n), "%v has %d", tc.add, n)
		}
	}
}

// TestEventsApplyOnce: an event delivered again, or published again, changes nothing; the same number
// from another service is another event.
func TestEventsApplyOnce(t *testing.T) {
	t.Parallel()
	once, d := fold(script())
	again := once.Clone()
	for _, e := range script() {
		require.False(t, again.Apply(e), "%v seq %d", e.Kind, e.Seq)
	}
	require.Equal(t, once, again)
	twice, d2 := fold(append(script(), script()...))
	require.Equal(t, once, twice)
	require.Equal(t, nonzero(d), nonzero(d2), "the rollups count each event once")
	require.True(t, again.Apply(Event{Kind: KindTransferRequested, Seq: 9, At: t0}), "routing's 9 is not intake's 9")
	require.Equal(t, once.Transfers+1, again.Transfers)
}
