// Package facts is the analytics service's domain in plain Go: what it knows of one ticket (built from its
// events in whatever order they arrive) and what the ticket contributes to the hourly rollups. A change to
// a ticket is applied to the rollups as its contribution after minus its contribution before, so the
// rollups always equal the sum over the tickets as they stand: a late, reordered or replayed event moves a
// ticket between buckets instead of counting it twice, and a rebuild from the stream gives the same numbers.
package facts

import (
	"cmp"
	"maps"
	"math/bits"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Ratings, as intake's Satisfaction codes.
const (
	RatingSatisfied   = "satisfied"
	RatingNeutral     = "neutral"
	RatingUnsatisfied = "unsatisfied"
)

// StatusResolved and the other statuses that end a ticket's open life.
const (
	StatusResolved = "resolved"
	StatusClosed   = "closed"
	StatusArchived = "archived"
)

// ProjectionVersion is the version of what a ticket's projection holds and contributes. A release that
// changes either raises it, and the service rebuilds the projections from the stream when it starts on
// projections of an older version (the rollups would otherwise mix two definitions).
const ProjectionVersion = 4

// SLA targets whose first-cycle business time the timeliness report gives (the SLA service's codes).
const (
	TargetFirstResponse = "first_response"
	TargetResolution    = "resolution"
)

// SLAFlags is what happened to one SLA target of a ticket, in any cycle.
type SLAFlags struct {
	Applied, Warned, Breached, Met bool
}

// Ticket is the projection of one ticket. Fields set by one kind of event carry that event's sequence, so
// an older event arriving late does not overwrite a newer one; times that mark a first (first response,
// first resolution) keep the earliest; counters count events (Applied lets each count once).
type Ticket struct {
	ID uuid.UUID
	// Created is set by kefu.ticket.created: until then the ticket has no received time and contributes
	// nothing.
	Created    bool
	ReceivedAt time.Time
	Channel    string

	Type, Subcategory, Urgency, Level string
	ClassSeq                          int64

	GroupID, AssigneeID string
	AssignSeq           int64
	FirstAssignedAt     time.Time

	Status    string
	StatusSeq int64

	FirstResponseAt time.Time
	ResolvedAt      time.Time

	Rating    string
	RatingSeq int64

	Transfers, Escalations, Reopens int64
	// TransfersAccepted and AcceptWait: the transfers accepted and the total time they waited for it.
	TransfersAccepted int64
	AcceptWait        time.Duration

	SLA map[string]SLAFlags
	// FirstResponseBusiness and ResolutionBusiness are the business time the SLA service counted on the
	// first cycle of those targets (SlaMet.elapsed): its calendar, less the time paused.
	FirstResponseBusiness, ResolutionBusiness Measured

	// Topics are the complaint topics found in the customer's words at submit.
	Topics []string
	// Assignments are the ticket's assignments (to a group, with or without an agent), in sequence order.
	Assignments []Assignment
	// Applied are the sequences of the events applied, per publishing service (Source): an event whose
	// sequence is here already is a redelivery or a republication, and changes nothing. This is what makes
	// the projection count each event once without an inbox row per event.
	Applied [sources]SeqSet
}

// Source is the service that numbered an event about a ticket: each keeps its own per-ticket sequence.
type Source int

// Sources.
const (
	SourceIntake Source = iota
	SourceSLA
	SourceRouting
	sources
)

// Source returns the service that publishes events of kind k.
func (k Kind) Source() Source {
	switch k {
	case KindSLAApplied, KindSLAWarning, KindSLABreached, KindSLAMet:
		return SourceSLA
	case KindTransferRequested, KindTransferAccepted:
		return SourceRouting
	}
	return SourceIntake
}

// SeqSet is a set of positive sequence numbers: every number up to Floor, and Above (sorted, each above
// Floor + 1). Events mostly arrive in order, so Above stays short: it holds the numbers beyond a gap (an
// event not yet arrived, or one the projection does not read).
type SeqSet struct {
	Floor int64
	Above []int64
}

// Has reports whether n is in s.
func (s SeqSet) Has(n int64) bool {
	if n <= s.Floor {
		return true
	}
	_, found := slices.BinarySearch(s.Above, n)
	return found
}

// Add puts n in s.
func (s *SeqSet) Add(n int64) {
	if s.Has(n) {
		return
	}
	i, _ := slices.BinarySearch(s.Above, n)
	s.Above = slices.Insert(slices.Clip(s.Above), i, n)
	for len(s.Above) > 0 && s.Above[0] == s.Floor+1 {
		s.Floor, s.Above = s.Floor+1, s.Above[1:]
	}
	if len(s.Above) == 0 {
		s.Above = nil
	}
}

// Measured is a duration that may not be known.
type Measured struct {
	Set bool
	D   time.Duration
}

// Assignment is one assignment event's group.
type Assignment struct {
	Seq   int64
	At    time.Time
	Group string
}

// Stay is a span a ticket spent in one group.
type Stay struct {
	Group    string
	From, To time.Time
}

// Stays returns the ticket's completed stays in groups: from an assignment to a group until the ticket
// moved to another group or was first resolved, whichever came first. Assignments after the first
// resolution and a stay still running are left out: a rollup row cannot hold a time that keeps growing.
func (t Ticket) Stays() []Stay {
	as := t.Assignments
	var out []Stay
	for i := 0; i < len(as); {
		cur := as[i]
		j := i + 1
		for j < len(as) && as[j].Group == cur.Group {
			j++ // another agent in the same group: the stay goes on
		}
		var end time.Time
		if j < len(as) {
			end = as[j].At
		}
		if !t.ResolvedAt.IsZero() && (end.IsZero() || t.ResolvedAt.Before(end)) {
			end = t.ResolvedAt
		}
		if cur.Group != "" && !end.IsZero() && !end.Before(cur.At) && (t.ResolvedAt.IsZero() || !cur.At.After(t.ResolvedAt)) {
			out = append(out, Stay{Group: cur.Group, From: cur.At, To: end})
		}
		i = j
	}
	return out
}

// Clone returns a copy of t that shares no map or slice with it, so folding events into the copy leaves
// t (the state before) as it was.
func (t Ticket) Clone() Ticket {
	t.SLA = maps.Clone(t.SLA)
	t.Topics = slices.Clone(t.Topics)
	t.Assignments = slices.Clone(t.Assignments)
	for i := range t.Applied {
		t.Applied[i].Above = slices.Clone(t.Applied[i].Above)
	}
	return t
}

// Event is what the projection reads from one event about a ticket.
type Event struct {
	Kind Kind
	Seq  int64
	At   time.Time

	// Created, Updated: the classification; Created also the channel and the received time.
	Channel, Type, Subcategory, Urgency, Level string
	ReceivedAt                                 time.Time
	// Any event that moves the status: where it moved to ("" when it does not say).
	ToStatus string
	// Assigned.
	GroupID, AssigneeID string
	// Rated.
	Rating string
	// SLA events: the targets concerned.
	Targets []string
	// TransferAccepted: how long it waited.
	Wait time.Duration
	// SLAMet: the clock's cycle and the business time it counted.
	Cycle   int
	Elapsed time.Duration
	// Created: the complaint topics.
	Topics []string
}

// Kind is the kind of an event.
type Kind int

// Kinds of events the projection reads.
const (
	KindCreated Kind = iota + 1
	KindUpdated
	KindAssigned
	KindStatusChanged
	KindReplied
	KindCustomerMessage
	KindResolved
	KindReopened
	KindClosed
	KindArchived
	KindEscalated
	KindRated
	KindSLAApplied
	KindSLAWarning
	KindSLABreached
	KindSLAMet
	KindTransferRequested
	KindTransferAccepted
)

// earliest keeps the earlier of a and b, a zero a counting as unset.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// Apply folds one event into the ticket, and reports whether it did: an event applied before (its
// source's sequence in Applied) changes nothing. e.Seq must be positive.
func (t *Ticket) Apply(e Event) bool {
	applied := &t.Applied[e.Kind.Source()]
	if applied.Has(e.Seq) {
		return false
	}
	applied.Add(e.Seq)
	if e.ToStatus != "" && e.Seq > t.StatusSeq {
		t.Status, t.StatusSeq = e.ToStatus, e.Seq
	}
	switch e.Kind {
	case KindCreated:
		t.Created, t.ReceivedAt, t.Channel, t.Topics = true, e.ReceivedAt, e.Channel, slices.Clone(e.Topics)
		if t.ReceivedAt.IsZero() {
			t.ReceivedAt = e.At
		}
		t.classify(e)
	case KindUpdated:
		t.classify(e)
	case KindAssigned:
		if e.Seq > t.AssignSeq {
			t.GroupID, t.AssigneeID, t.AssignSeq = e.GroupID, e.AssigneeID, e.Seq
		}
		if e.AssigneeID != "" {
			t.FirstAssignedAt = earliest(t.FirstAssignedAt, e.At)
		}
		// Kept in sequence order whatever the arrival order, so the projection is the same either way.
		i, _ := slices.BinarySearchFunc(t.Assignments, e.Seq, func(a Assignment, seq int64) int { return cmp.Compare(a.Seq, seq) })
		t.Assignments = slices.Insert(slices.Clip(t.Assignments), i, Assignment{Seq: e.Seq, At: e.At, Group: e.GroupID})
	case KindReplied:
		t.FirstResponseAt = earliest(t.FirstResponseAt, e.At)
	case KindResolved:
		t.ResolvedAt = earliest(t.ResolvedAt, e.At)
	case KindReopened:
		t.Reopens++
	case KindEscalated:
		t.Escalations++
	case KindRated:
		if e.Seq > t.RatingSeq {
			t.Rating, t.RatingSeq = e.Rating, e.Seq
		}
	case KindSLAApplied, KindSLAWarning, KindSLABreached, KindSLAMet:
		if t.SLA == nil {
			t.SLA = map[string]SLAFlags{}
		}
		for _, target := range e.Targets {
			f := t.SLA[target]
			switch e.Kind {
			case KindSLAApplied:
				f.Applied = true
			case KindSLAWarning:
				f.Warned = true
			case KindSLABreached:
				f.Breached = true
			case KindSLAMet:
				f.Met = true
			}
			t.SLA[target] = f
			if e.Kind == KindSLAMet && e.Cycle == 0 {
				switch target {
				case TargetFirstResponse:
					t.FirstResponseBusiness = Measured{true, e.Elapsed}
				case TargetResolution:
					t.ResolutionBusiness = Measured{true, e.Elapsed}
				}
			}
		}
	case KindTransferRequested:
		t.Transfers++
	case KindTransferAccepted:
		t.TransfersAccepted++
		t.AcceptWait += e.Wait
	}
	return true
}

func (t *Ticket) classify(e Event) {
	if e.Seq > t.ClassSeq {
		t.Type, t.Subcategory, t.Urgency, t.Level, t.ClassSeq = e.Type, e.Subcategory, e.Urgency, e.Level, e.Seq
	}
}

// Open reports whether the ticket is neither resolved nor closed.
func (t Ticket) Open() bool {
	return t.Status != StatusResolved && t.Status != StatusClosed && t.Status != StatusArchived
}

// Dims is a rollup row's key: its grain, the hour (or, in a day grain, the business day) the ticket was
// received and the classification the grain keeps (the others empty).
type Dims struct {
	Grain                                             Grain
	Hour                                              time.Time
	Channel, Group, Type, Subcategory, Urgency, Level string
}

// Grain is how finely a rollup row is keyed. Every change is counted at GrainHour: the UTC hour and every
// dimension, from which any filter, breakdown and time zone can be answered. It is counted again at the
// coarse grains, which keep one or two dimensions (a Slot): by UTC hour (HourOf) and by business day in
// the business zone (DayOf). A report whose filter and breakdown use only the dimensions of a slot its
// table keeps reads that coarse grain — whole business days at the day grain, the rest at the hour grain —
// so its cost follows the number of periods and values, not of tickets.
type Grain int16

// GrainHour keys rows by UTC hour and every dimension.
const GrainHour Grain = 0

// dayBase separates the day grains from the hour grains in the stored code: HourOf(s) = 1 + s, DayOf(s) =
// dayBase + s.
const dayBase = 100

// Slot is the set of dimensions a coarse grain keeps, one bit each.
type Slot int16

// Slots of one dimension; a pair is their union (SlotSubcategory | SlotChannel).
const (
	SlotNone    Slot = 0
	SlotChannel Slot = 1 << (iota - 1)
	SlotGroup
	SlotType
	subcategoryBit
	SlotUrgency
	SlotLevel
	// SlotSubcategory keeps the subcategory with its type (a subcategory belongs to one type).
	SlotSubcategory = subcategoryBit | SlotType
)

// singles are the slots of at most one dimension.
var singles = []Slot{SlotNone, SlotChannel, SlotGroup, SlotType, SlotSubcategory, SlotUrgency, SlotLevel}

// HourOf is the coarse grain keeping s by UTC hour.
func HourOf(s Slot) Grain { return Grain(1 + s) }

// DayOf is the coarse grain keeping s by business day.
func DayOf(s Slot) Grain { return Grain(dayBase + s) }

// Family is one kind of rollup; each keeps its own coarse grains.
type Family int

// Families.
const (
	FamilyTickets Family = iota
	FamilyHist
	FamilySLA
	FamilyAgents
	FamilyTopics
	FamilyStays
)

// DaySlots lists the slots f keeps day grains of, and HourSlots those it keeps hour grains of. Each costs
// rows written per batch (a slot has a row per value, or pair of values, in every day or hour a batch
// touches), so a family keeps what its reports read:
//   - every family: each dimension alone, by day;
//   - tickets, for the top issues (subcategories ranked by tickets and breaches under one filter): the
//     subcategory paired with each other dimension, by day;
//   - time in groups (always per group): the group paired with each other dimension, by day;
//   - tickets, histograms and SLA, by hour: the narrow dimensions alone (not group, ten or more, nor
//     subcategory, tens), for hourly charts of the whole or of one channel, type, urgency or level.
//
// Workload is per agent, so its rows multiply by agents: days only. Anything else (two dimensions outside
// these pairs, or an hourly report filtered by group or subcategory) reads the hourly rows of every
// dimension (GrainHour).
func (f Family) DaySlots() []Slot {
	switch f {
	case FamilyTickets:
		return append(slices.Clone(singles), SlotSubcategory|SlotChannel, SlotSubcategory|SlotGroup, SlotSubcategory|SlotUrgency,
			SlotSubcategory|SlotLevel)
	case FamilyStays:
		return []Slot{SlotGroup, SlotGroup | SlotChannel, SlotGroup | SlotType, SlotGroup | SlotSubcategory, SlotGroup | SlotUrgency,
			SlotGroup | SlotLevel}
	}
	return singles
}

// HourSlots: see DaySlots.
func (f Family) HourSlots() []Slot {
	switch f {
	case FamilyTickets, FamilyHist, FamilySLA:
		return []Slot{SlotNone, SlotChannel, SlotType, SlotUrgency, SlotLevel}
	}
	return nil
}

// Keeps reports whether f keeps grain g.
func (f Family) Keeps(g Grain) bool {
	switch {
	case g == GrainHour:
		return true
	case g >= dayBase:
		return slices.Contains(f.DaySlots(), Slot(g-dayBase))
	}
	return slices.Contains(f.HourSlots(), Slot(g-1))
}

// Covering returns the slot of f's grains (by day, or by hour when hourly) that keeps every dimension of
// need and the fewest others, and false when no slot does (GrainHour must be read).
func (f Family) Covering(need Slot, hourly bool) (Slot, bool) {
	slots := f.DaySlots()
	if hourly {
		slots = f.HourSlots()
	}
	best, found := Slot(0), false
	for _, s := range slots {
		if s&need == need && (!found || bits.OnesCount16(uint16(s)) < bits.OnesCount16(uint16(best))) {
			best, found = s, true
		}
	}
	return best, found
}

// businessDay returns the start (UTC) of the business day in zone holding hour.
func businessDay(hour time.Time, zone *time.Location) time.Time {
	y, m, day := hour.In(zone).Date()
	return time.Date(y, m, day, 0, 0, 0, 0, zone).UTC()
}

// project returns d's key at coarse grain g: its hour or its business day (day, from businessDay), and
// the dimensions g's slot keeps.
func (d Dims) project(g Grain, day time.Time) Dims {
	out := Dims{Grain: g, Hour: d.Hour}
	var slot Slot
	if g >= dayBase {
		slot = Slot(g - dayBase)
		out.Hour = day
	} else {
		slot = Slot(g - 1)
	}
	if slot&SlotChannel != 0 {
		out.Channel = d.Channel
	}
	if slot&SlotGroup != 0 {
		out.Group = d.Group
	}
	if slot&SlotType != 0 {
		out.Type = d.Type
	}
	if slot&subcategoryBit != 0 {
		out.Subcategory = d.Subcategory
	}
	if slot&SlotUrgency != 0 {
		out.Urgency = d.Urgency
	}
	if slot&SlotLevel != 0 {
		out.Level = d.Level
	}
	return out
}

// SlotFor returns the slot keeping exactly the dimensions in cols (rollup column names: "channel",
// "group_id", "type", "subcategory", "urgency", "level"; a subcategory brings its type).
func SlotFor(cols []string) Slot {
	var s Slot
	for _, c := range cols {
		switch c {
		case "channel":
			s |= SlotChannel
		case "group_id":
			s |= SlotGroup
		case "type":
			s |= SlotType
		case "subcategory":
			s |= SlotSubcategory
		case "urgency":
			s |= SlotUrgency
		case "level":
			s |= SlotLevel
		}
	}
	return s
}

// Counts are the additive measures of the ticket rollup.
type Counts struct {
	Tickets, FirstResponses, FirstResponseMS, Resolutions, ResolutionMS int64
	Satisfied, Neutral, Unsatisfied                                     int64
	Transfers, Escalations, Reopens, AcceptWaitMS                       int64
	// Tickets with the flag: transferred, escalated, with an SLA target, having breached one.
	Transferred, Escalated, SLATickets, Breached int64
	TransfersAccepted                            int64
	// Business-time first responses and resolutions: how many and their milliseconds.
	FirstResponsesBusiness, FirstResponseBusinessMS, ResolutionsBusiness, ResolutionBusinessMS int64
}

// Values lists c's measures in the order of CountColumns.
func (c Counts) Values() []int64 {
	return []int64{c.Tickets, c.FirstResponses, c.FirstResponseMS, c.Resolutions, c.ResolutionMS, c.Satisfied,
		c.Neutral, c.Unsatisfied, c.Transfers, c.Escalations, c.Reopens, c.AcceptWaitMS, c.Transferred, c.Escalated,
		c.SLATickets, c.Breached, c.TransfersAccepted, c.FirstResponsesBusiness, c.FirstResponseBusinessMS,
		c.ResolutionsBusiness, c.ResolutionBusinessMS}
}

// CountColumns are ticket_rollup's measure columns, in the order of Counts.Values.
var CountColumns = []string{"tickets", "first_responses", "first_response_ms", "resolutions", "resolution_ms",
	"satisfied", "neutral", "unsatisfied", "transfers", "escalations", "reopens", "accept_wait_ms", "transferred",
	"escalated", "sla_tickets", "breached", "transfers_accepted", "first_responses_business",
	"first_response_business_ms", "resolutions_business", "resolution_business_ms"}

func (c *Counts) add(o Counts, sign int64) {
	c.Tickets += sign * o.Tickets
	c.FirstResponses += sign * o.FirstResponses
	c.FirstResponseMS += sign * o.FirstResponseMS
	c.Resolutions += sign * o.Resolutions
	c.ResolutionMS += sign * o.ResolutionMS
	c.Satisfied += sign * o.Satisfied
	c.Neutral += sign * o.Neutral
	c.Unsatisfied += sign * o.Unsatisfied
	c.Transfers += sign * o.Transfers
	c.Escalations += sign * o.Escalations
	c.Reopens += sign * o.Reopens
	c.AcceptWaitMS += sign * o.AcceptWaitMS
	c.Transferred += sign * o.Transferred
	c.Escalated += sign * o.Escalated
	c.SLATickets += sign * o.SLATickets
	c.Breached += sign * o.Breached
	c.TransfersAccepted += sign * o.TransfersAccepted
	c.FirstResponsesBusiness += sign * o.FirstResponsesBusiness
	c.FirstResponseBusinessMS += sign * o.FirstResponseBusinessMS
	c.ResolutionsBusiness += sign * o.ResolutionsBusiness
	c.ResolutionBusinessMS += sign * o.ResolutionBusinessMS
}

// Zero reports whether every measure is zero.
func (c Counts) Zero() bool { return c == Counts{} }

// Duration metrics with histograms.
const (
	MetricFirstResponse         = "first_response"
	MetricResolution            = "resolution"
	MetricFirstResponseBusiness = "first_response_business"
	MetricResolutionBusiness    = "resolution_business"
)

// HistKey is a histogram cell: a metric's bucket under a rollup key.
type HistKey struct {
	Dims
	Metric string
	Bucket int
}

// SLAKey is an SLA rollup row's key.
type SLAKey struct {
	Dims
	Target string
}

// SLACounts are the SLA rollup's measures.
type SLACounts struct {
	Tickets, Breached, WarnedRecovered, WarnedBreached int64
}

// AgentKey is a workload rollup row's key: the ticket's rollup key and its assignee.
type AgentKey struct {
	Dims
	Agent string
}

// AgentCounts are the workload rollup's measures.
type AgentCounts struct {
	Assigned, Resolved, Open, Handled, HandleMS int64
}

// TopicKey is a topic rollup row's key: the ticket's rollup key and one of its topics.
type TopicKey struct {
	Dims
	Topic string
}

// StayCounts are the group-time rollup's measures; its key is the ticket's rollup key with Group the
// group stayed in.
type StayCounts struct {
	Stays, MS int64
}

// Delta is a change to every rollup.
type Delta struct {
	Tickets map[Dims]Counts
	Hist    map[HistKey]int64
	SLA     map[SLAKey]SLACounts
	Agents  map[AgentKey]AgentCounts
	Topics  map[TopicKey]int64
	Stays   map[Dims]StayCounts
}

// NewDelta returns an empty delta.
func NewDelta() *Delta {
	return &Delta{Tickets: map[Dims]Counts{}, Hist: map[HistKey]int64{}, SLA: map[SLAKey]SLACounts{},
		Agents: map[AgentKey]AgentCounts{}, Topics: map[TopicKey]int64{}, Stays: map[Dims]StayCounts{}}
}

// Expand adds to d, for each of its hourly cells, the same change at every coarse grain its family keeps
// (hours, and business days in zone). The ingester calls it once per batch, after every Change, so each
// hourly cell is projected once however many tickets changed it. Calling it twice on one delta counts the
// coarse grains twice.
func (d *Delta) Expand(zone *time.Location) {
	expand(d.Tickets, FamilyTickets, zone, func(k Dims) Dims { return k }, func(_ Dims, g Dims) Dims { return g },
		func(a, b Counts) Counts {
			a.add(b, 1)
			return a
		})
	expand(d.Hist, FamilyHist, zone, func(k HistKey) Dims { return k.Dims }, func(k HistKey, g Dims) HistKey { k.Dims = g; return k },
		func(a, b int64) int64 { return a + b })
	expand(d.SLA, FamilySLA, zone, func(k SLAKey) Dims { return k.Dims }, func(k SLAKey, g Dims) SLAKey { k.Dims = g; return k },
		func(a, b SLACounts) SLACounts {
			return SLACounts{a.Tickets + b.Tickets, a.Breached + b.Breached, a.WarnedRecovered + b.WarnedRecovered,
				a.WarnedBreached + b.WarnedBreached}
		})
	expand(d.Agents, FamilyAgents, zone, func(k AgentKey) Dims { return k.Dims }, func(k AgentKey, g Dims) AgentKey { k.Dims = g; return k },
		func(a, b AgentCounts) AgentCounts {
			return AgentCounts{a.Assigned + b.Assigned, a.Resolved + b.Resolved, a.Open + b.Open, a.Handled + b.Handled,
				a.HandleMS + b.HandleMS}
		})
	expand(d.Topics, FamilyTopics, zone, func(k TopicKey) Dims { return k.Dims }, func(k TopicKey, g Dims) TopicKey { k.Dims = g; return k },
		func(a, b int64) int64 { return a + b })
	expand(d.Stays, FamilyStays, zone, func(k Dims) Dims { return k }, func(_ Dims, g Dims) Dims { return g },
		func(a, b StayCounts) StayCounts { return StayCounts{a.Stays + b.Stays, a.MS + b.MS} })
}

// expand adds every hourly cell of m again under its projection to each coarse grain f keeps.
// A cell whose change cancelled out (a ticket counted again where it stood) is dropped, not projected.
func expand[K, V comparable](m map[K]V, f Family, zone *time.Location, dims func(K) Dims, with func(K, Dims) K, sum func(a, b V) V) {
	var grains []Grain
	for _, s := range f.HourSlots() {
		grains = append(grains, HourOf(s))
	}
	for _, s := range f.DaySlots() {
		grains = append(grains, DayOf(s))
	}
	var zero V
	var hourly []K
	for k, v := range m {
		switch {
		case dims(k).Grain != GrainHour:
		case v == zero:
			delete(m, k)
		default:
			hourly = append(hourly, k)
		}
	}
	for _, k := range hourly {
		v, d := m[k], dims(k)
		day := businessDay(d.Hour, zone)
		for _, g := range grains {
			pk := with(k, d.project(g, day))
			m[pk] = sum(m[pk], v)
		}
	}
}

// Change adds what a ticket's change from before to after does to the rollups.
func (d *Delta) Change(before, after Ticket) {
	d.add(before, -1)
	d.add(after, 1)
}

// add adds t's contribution times sign.
func (d *Delta) add(t Ticket, sign int64) {
	if !t.Created {
		return
	}
	dims := Dims{Hour: t.ReceivedAt.UTC().Truncate(time.Hour), Channel: t.Channel, Group: t.GroupID, Type: t.Type,
		Subcategory: t.Subcategory, Urgency: t.Urgency, Level: t.Level}
	c := Counts{Tickets: 1, Transfers: t.Transfers, Escalations: t.Escalations, Reopens: t.Reopens,
		AcceptWaitMS: t.AcceptWait.Milliseconds(), TransfersAccepted: t.TransfersAccepted,
		Transferred: flag(t.Transfers > 0), Escalated: flag(t.Escalations > 0)}
	if b := t.FirstResponseBusiness; b.Set {
		c.FirstResponsesBusiness, c.FirstResponseBusinessMS = 1, max(b.D, 0).Milliseconds()
		d.Hist[HistKey{dims, MetricFirstResponseBusiness, Bucket(b.D)}] += sign
	}
	if b := t.ResolutionBusiness; b.Set {
		c.ResolutionsBusiness, c.ResolutionBusinessMS = 1, max(b.D, 0).Milliseconds()
		d.Hist[HistKey{dims, MetricResolutionBusiness, Bucket(b.D)}] += sign
	}
	for _, f := range t.SLA {
		if f.Applied {
			c.SLATickets = 1
			if f.Breached {
				c.Breached = 1
			}
		}
	}
	for _, topic := range t.Topics {
		d.Topics[TopicKey{dims, topic}] += sign
	}
	for _, st := range t.Stays() {
		k := dims
		k.Group = st.Group
		sc := d.Stays[k]
		sc.Stays += sign
		sc.MS += sign * st.To.Sub(st.From).Milliseconds()
		d.Stays[k] = sc
	}
	if !t.FirstResponseAt.IsZero() {
		frt := max(t.FirstResponseAt.Sub(t.ReceivedAt), 0)
		c.FirstResponses, c.FirstResponseMS = 1, frt.Milliseconds()
		d.Hist[HistKey{dims, MetricFirstResponse, Bucket(frt)}] += sign
	}
	if !t.ResolvedAt.IsZero() {
		rt := max(t.ResolvedAt.Sub(t.ReceivedAt), 0)
		c.Resolutions, c.ResolutionMS = 1, rt.Milliseconds()
		d.Hist[HistKey{dims, MetricResolution, Bucket(rt)}] += sign
	}
	switch t.Rating {
	case RatingSatisfied:
		c.Satisfied = 1
	case RatingNeutral:
		c.Neutral = 1
	case RatingUnsatisfied:
		c.Unsatisfied = 1
	}
	cur := d.Tickets[dims]
	cur.add(c, sign)
	d.Tickets[dims] = cur
	for target, f := range t.SLA {
		if !f.Applied {
			continue
		}
		k := SLAKey{dims, target}
		s := d.SLA[k]
		s.Tickets += sign
		if f.Breached {
			s.Breached += sign
			if f.Warned {
				s.WarnedBreached += sign
			}
		} else if f.Warned && f.Met {
			s.WarnedRecovered += sign
		}
		d.SLA[k] = s
	}
	if t.AssigneeID != "" {
		k := AgentKey{Dims: dims, Agent: t.AssigneeID}
		a := d.Agents[k]
		a.Assigned += sign
		if !t.ResolvedAt.IsZero() {
			a.Resolved += sign
			if !t.FirstAssignedAt.IsZero() {
				a.Handled += sign
				a.HandleMS += sign * max(t.ResolvedAt.Sub(t.FirstAssignedAt), 0).Milliseconds()
			}
		}
		if t.Open() {
			a.Open += sign
		}
		d.Agents[k] = a
	}
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
