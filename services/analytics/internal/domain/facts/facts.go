// Package facts is the analytics service's domain in plain Go: what it knows of one ticket (built from its
// events in whatever order they arrive) and what the ticket contributes to the hourly rollups. A change to
// a ticket is applied to the rollups as its contribution after minus its contribution before, so the
// rollups always equal the sum over the tickets as they stand: a late, reordered or replayed event moves a
// ticket between buckets instead of counting it twice, and a rebuild from the stream gives the same numbers.
package facts

import (
	"cmp"
	"maps"
	"math"
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
const ProjectionVersion = 2

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
// first resolution) keep the earliest; counters count events (the inbox applies each once).
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

// Apply folds one event into the ticket.
func (t *Ticket) Apply(e Event) {
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

// Dims is a rollup row's key: the hour the ticket was received (UTC) and its classification.
type Dims struct {
	Hour                                              time.Time
	Channel, Group, Type, Subcategory, Urgency, Level string
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

// Histogram buckets are log-scale, 5% wide: bucket b holds durations from Lower(b) up to Lower(b+1).
// Bucket 0 holds everything under a second.
const growth = 1.05

// Bucket returns the histogram bucket of d.
func Bucket(d time.Duration) int {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return 1 + int(math.Floor(math.Log(s)/math.Log(growth)))
}

// Lower returns the smallest duration of bucket b.
func Lower(b int) time.Duration {
	if b <= 0 {
		return 0
	}
	return time.Duration(math.Pow(growth, float64(b-1)) * float64(time.Second))
}

// Percentile returns the p-th percentile (0 < p ≤ 1) of the durations counted in counts (bucket → count),
// by nearest rank, as the middle of the bucket holding it: within 2.5% of the true value above a second.
func Percentile(counts map[int]int64, p float64) time.Duration {
	var total int64
	maxB := 0
	for b, n := range counts {
		total += n
		maxB = max(maxB, b)
	}
	if total <= 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(total)))
	var seen int64
	for b := 0; b <= maxB; b++ {
		seen += counts[b]
		if seen >= rank {
			lo, hi := Lower(b), Lower(b+1)
			return lo + (hi-lo)/2
		}
	}
	return Lower(maxB)
}
