// Package facts is the analytics service's domain in plain Go: what it knows of one ticket (built from its
// events in whatever order they arrive) and what the ticket contributes to the hourly rollups. A change to
// a ticket is applied to the rollups as its contribution after minus its contribution before, so the
// rollups always equal the sum over the tickets as they stand: a late, reordered or replayed event moves a
// ticket between buckets instead of counting it twice, and a rebuild from the stream gives the same numbers.
package facts

import (
	"math"
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
	// AcceptWait is the total time transfers of the ticket waited for acceptance.
	AcceptWait time.Duration

	SLA map[string]SLAFlags
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
		t.Created, t.ReceivedAt, t.Channel = true, e.ReceivedAt, e.Channel
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
		}
	case KindTransferRequested:
		t.Transfers++
	case KindTransferAccepted:
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
}

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
}

// Zero reports whether every measure is zero.
func (c Counts) Zero() bool { return c == Counts{} }

// Duration metrics with histograms.
const (
	MetricFirstResponse = "first_response"
	MetricResolution    = "resolution"
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

// Delta is a change to every rollup.
type Delta struct {
	Tickets map[Dims]Counts
	Hist    map[HistKey]int64
	SLA     map[SLAKey]SLACounts
	Agents  map[AgentKey]AgentCounts
}

// NewDelta returns an empty delta.
func NewDelta() *Delta {
	return &Delta{Tickets: map[Dims]Counts{}, Hist: map[HistKey]int64{}, SLA: map[SLAKey]SLACounts{},
		Agents: map[AgentKey]AgentCounts{}}
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
		AcceptWaitMS: t.AcceptWait.Milliseconds()}
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
