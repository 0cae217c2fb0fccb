package main

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/analytics"
)

// The suite's vocabulary: channels with their shares, the taxonomy (the 14 default subcategories plus 16
// an administrator would add), topics, urgencies and complaint levels.
var (
	channels = []weighted[intakev1.Channel]{
		{intakev1.Channel_CHANNEL_WEB_CHAT, 30}, {intakev1.Channel_CHANNEL_APP, 20}, {intakev1.Channel_CHANNEL_PHONE, 15},
		{intakev1.Channel_CHANNEL_WECHAT, 12}, {intakev1.Channel_CHANNEL_MINI_PROGRAM, 10}, {intakev1.Channel_CHANNEL_EMAIL, 6},
		{intakev1.Channel_CHANNEL_SOCIAL, 4}, {intakev1.Channel_CHANNEL_SMS, 3},
	}
	types = []weighted[intakev1.TicketType]{
		{intakev1.TicketType_TICKET_TYPE_INQUIRY, 45}, {intakev1.TicketType_TICKET_TYPE_COMPLAINT, 25},
		{intakev1.TicketType_TICKET_TYPE_REQUEST, 22}, {intakev1.TicketType_TICKET_TYPE_SUGGESTION, 8},
	}
	// subcategories by type, most frequent first (picked with Zipf-like weights).
	subcategories = map[intakev1.TicketType][]string{
		intakev1.TicketType_TICKET_TYPE_INQUIRY: {"order_status", "logistics_status", "product", "policy", "service", "payment",
			"promotion", "membership", "invoice", "account"},
		intakev1.TicketType_TICKET_TYPE_COMPLAINT: {"logistics", "product_quality", "service_attitude", "process", "wrong_item",
			"damaged_goods", "billing", "after_sales"},
		intakev1.TicketType_TICKET_TYPE_REQUEST: {"return_exchange", "refund", "information_change", "cancel_order",
			"invoice_request", "warranty_repair", "price_protection"},
		intakev1.TicketType_TICKET_TYPE_SUGGESTION: {"product_feature", "service_improvement", "website", "packaging",
			"delivery_option"},
	}
	// Topic ids of kefu.dev/pkg/topics, most frequent first.
	complaintTopics = []string{"delivery_delay", "damaged_item", "wrong_item", "quality", "staff_attitude", "missing_item",
		"no_response", "lost_parcel", "not_as_described", "price_charge", "refund_delay"}
	otherTopics = []string{"delivery_delay", "return_exchange", "refund_request", "invoice", "payment_failed", "account_login",
		"app_crash", "coupon_promotion", "membership", "cancellation", "price_protection"}
	urgencies = []weighted[intakev1.Urgency]{{intakev1.Urgency_URGENCY_NORMAL, 80}, {intakev1.Urgency_URGENCY_URGENT, 15},
		{intakev1.Urgency_URGENCY_CRITICAL, 5}}
	levels = []weighted[intakev1.ComplaintLevel]{{intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, 3},
		{intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2, 30}, {intakev1.ComplaintLevel_COMPLAINT_LEVEL_L3, 67}}
	ratings = []weighted[intakev1.Satisfaction]{{intakev1.Satisfaction_SATISFACTION_SATISFIED, 72},
		{intakev1.Satisfaction_SATISFACTION_NEUTRAL, 18}, {intakev1.Satisfaction_SATISFACTION_UNSATISFIED, 10}}
	// Tickets received per hour of the day (Asia/Shanghai) and per weekday (Sunday first), relative.
	hourShape = []float64{0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 1.0, 1.5, 1.8, 1.7, 1.3, 1.4, 1.7, 1.7, 1.6, 1.4,
		1.2, 1.3, 1.5, 1.4, 1.0, 0.5}
	dayShape = []float64{0.75, 1.15, 1.1, 1.05, 1.0, 1.0, 0.8}
)

const (
	groupCount     = 10
	agentsPerGroup = 5
)

type weighted[T any] struct {
	v T
	w float64
}

func pick[T any](r *mrand.Rand, ws []weighted[T]) T {
	var total float64
	for _, w := range ws {
		total += w.w
	}
	x := r.Float64() * total
	for _, w := range ws {
		if x < w.w {
			return w.v
		}
		x -= w.w
	}
	return ws[len(ws)-1].v
}

// zipf picks an index of n, the first the most likely (weights 1/(i+1)).
func zipf(r *mrand.Rand, n int) int {
	var total float64
	for i := range n {
		total += 1 / float64(i+1)
	}
	x := r.Float64() * total
	for i := range n {
		x -= 1 / float64(i+1)
		if x < 0 {
			return i
		}
	}
	return n - 1
}

func lognormal(r *mrand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}

func exponential(r *mrand.Rand, mean time.Duration) time.Duration {
	return time.Duration(float64(mean) * r.ExpFloat64())
}

// kind is what a generated event is.
type kind uint8

const (
	kCreated kind = iota
	kQueued
	kApplied
	kAssigned
	kReplied
	kCustomerMessage
	kResolved
	kReopened
	kClosed
	kEscalated
	kRated
	kWarning
	kBreached
	kMet
	kTransferRequested
	kTransferAccepted
)

var subjects = map[kind]string{
	kCreated: events.Subject("ticket", "created"), kQueued: events.Subject("routing", "ticket_queued"),
	kApplied: events.Subject("sla", "applied"), kAssigned: events.Subject("ticket", "assigned"),
	kReplied: events.Subject("ticket", "replied"), kCustomerMessage: events.Subject("ticket", "customer_message_added"),
	kResolved: events.Subject("ticket", "resolved"), kReopened: events.Subject("ticket", "reopened"),
	kClosed: events.Subject("ticket", "closed"), kEscalated: events.Subject("ticket", "escalated"),
	kRated: events.Subject("ticket", "rated"), kWarning: events.Subject("sla", "warning"),
	kBreached: events.Subject("sla", "breached"), kMet: events.Subject("sla", "met"),
	kTransferRequested: events.Subject("routing", "transfer_requested"),
	kTransferAccepted:  events.Subject("routing", "transfer_accepted"),
}

// source is the service that publishes k, whose per-ticket sequence the event carries.
func (k kind) source() string {
	switch k {
	case kApplied, kWarning, kBreached, kMet:
		return "slatimer"
	case kQueued, kTransferRequested, kTransferAccepted:
		return "routing"
	}
	return "intake"
}

// gTicket is a generated ticket.
type gTicket struct {
	id       string
	number   string
	channel  intakev1.Channel
	class    *eventsv1.TicketClassification
	topics   []string
	received time.Time
	customer string
}

// gEvent is one generated event, encoded when it is published.
type gEvent struct {
	at     time.Time
	order  uint64
	t      *gTicket
	kind   kind
	seq    int64
	target eventsv1.SlaTarget
	due    time.Time
	flag   bool // SlaMet.breached, TicketReplied.first_reply
	asks   bool // TicketReplied.asks_customer
	group  string
	agent  string
	from   string // previous group
	status intakev1.TicketStatus
	prev   intakev1.TicketStatus
	dur    time.Duration // SlaMet.elapsed, RoutingTransferAccepted.wait, SlaWarning.remaining
	rating intakev1.Satisfaction
	n      int32
	ref    string // transfer id
	dls    []*eventsv1.SlaDeadline
}

// generator produces the stream in time order: tickets in order of reception, each ticket's events
// merged with the others' by time (a heap), events after now dropped (the ticket is still open).
type generator struct {
	r        *mrand.Rand
	now      time.Time
	start    time.Time
	groups   []string
	agents   [][]string
	pending  eventHeap
	order    uint64
	tickets  int
	perHour  []int // tickets received in each hour from start
	hour     int
	inHour   []time.Time
	nextTick int
	topUp    bool
}

func newGenerator(seed uint64, now time.Time, days, tickets int) *generator {
	g := &generator{r: mrand.New(mrand.NewPCG(seed, 0x6b656675)), now: now, start: now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Hour)}
	for i := range groupCount {
		g.groups = append(g.groups, fixedUUID(0x9000+uint64(i)))
		var as []string
		for j := range agentsPerGroup {
			as = append(as, fixedUUID(0xa000+uint64(i*agentsPerGroup+j)))
		}
		g.agents = append(g.agents, as)
	}
	// Tickets per hour: the daily and weekly shape, a slow growth over the range and one promotion day at
	// 2.5 times, rounded so they add up to tickets exactly.
	hours := int(now.Sub(g.start) / time.Hour)
	shanghai := time.FixedZone("CST", 8*3600)
	promo := hours * 2 / 3 / 24
	weights := make([]float64, hours)
	var total float64
	for h := range hours {
		t := g.start.Add(time.Duration(h) * time.Hour).In(shanghai)
		w := hourShape[t.Hour()] * dayShape[t.Weekday()] * (0.9 + 0.2*float64(h)/float64(hours))
		if h/24 == promo {
			w *= 2.5
		}
		weights[h], total = w, total+w
	}
	var cum float64
	prev := 0
	for _, w := range weights {
		cum += w
		n := int(math.Round(cum / total * float64(tickets)))
		g.perHour = append(g.perHour, n-prev)
		prev = n
	}
	return g
}

// fixedUUID is a stable id for group or agent i.
func fixedUUID(i uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], i)
	b[6], b[8] = 0x40, 0x80|b[8]&0x3f
	return uuid.UUID(b).String()
}

// ticketID is a UUIDv7 of the reception time, as intake makes them.
func ticketID(r *mrand.Rand, at time.Time) string {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	binary.BigEndian.PutUint16(b[6:], uint16(r.Uint32()))
	b[6], b[8] = 0x70|b[6]&0x0f, 0x80|b[8]&0x3f
	return uuid.UUID(b).String()
}

// peekReceived returns the next ticket's reception time, or false when every ticket is out. After the
// planned tickets, with topUp set, more arrive in the last hour (when the estimate of events a ticket
// fell short of --events).
func (g *generator) peekReceived() (time.Time, bool) {
	for g.nextTick >= len(g.inHour) {
		g.inHour, g.nextTick = g.inHour[:0], 0
		switch {
		case g.hour < len(g.perHour):
			h0 := g.start.Add(time.Duration(g.hour) * time.Hour)
			for range g.perHour[g.hour] {
				g.inHour = append(g.inHour, h0.Add(time.Duration(g.r.Int64N(int64(time.Hour)))))
			}
			g.hour++
		case g.topUp:
			for range 100 {
				g.inHour = append(g.inHour, g.now.Add(-time.Duration(g.r.Int64N(int64(time.Hour)))))
			}
		default:
			return time.Time{}, false
		}
		for i, at := range g.inHour {
			if at.After(g.now) {
				at = g.now
			}
			g.inHour[i] = at.Truncate(time.Millisecond)
		}
		slices.SortFunc(g.inHour, func(a, b time.Time) int { return a.Compare(b) })
	}
	return g.inHour[g.nextTick], true
}

// next returns the next event in time order, or nil at the end of the stream.
func (g *generator) next() *gEvent {
	for {
		at, ok := g.peekReceived()
		if g.pending.Len() > 0 && (!ok || !g.pending[0].at.After(at)) {
			return heap.Pop(&g.pending).(*gEvent)
		}
		if !ok {
			return nil
		}
		g.nextTick++
		for _, e := range g.lifecycle(at) {
			g.order++
			e.order = g.order
			heap.Push(&g.pending, e)
		}
	}
}

// lifecycle generates one ticket received at received: its events in time order, with each publishing
// service's per-ticket sequence, those after now left out.
func (g *generator) lifecycle(received time.Time) []*gEvent {
	r := g.r
	g.tickets++
	typ := pick(r, types)
	subs := subcategories[typ]
	class := &eventsv1.TicketClassification{Type: typ, Subcategory: subs[zipf(r, len(subs))], Urgency: pick(r, urgencies),
		Source: intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE, RuleId: "rule-" + strconv.Itoa(r.IntN(40))}
	var topics []string
	pool, share := otherTopics, 0.15
	if typ == intakev1.TicketType_TICKET_TYPE_COMPLAINT {
		class.Level = pick(r, levels)
		pool, share = complaintTopics, 0.7
		if class.Level == intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1 && class.Urgency == intakev1.Urgency_URGENCY_NORMAL {
			class.Urgency = intakev1.Urgency_URGENCY_URGENT
		}
	}
	if r.Float64() < share {
		topics = append(topics, pool[zipf(r, len(pool))])
		if r.Float64() < 0.3 {
			if t := pool[r.IntN(len(pool))]; t != topics[0] {
				topics = append(topics, t)
			}
		}
		slices.Sort(topics)
	}
	t := &gTicket{id: ticketID(r, received), number: fmt.Sprintf("GD%08d", g.tickets), channel: pick(r, channels), class: class,
		topics: topics, received: received, customer: fixedUUID(0x100000 + uint64(r.IntN(2_000_000)))}
	var evs []*gEvent
	add := func(e *gEvent) *gEvent {
		e.t = t
		evs = append(evs, e)
		return e
	}
	add(&gEvent{at: received, kind: kCreated, status: intakev1.TicketStatus_TICKET_STATUS_NEW})
	// The group: mostly the one for the type and channel, sometimes another.
	gi := (int(typ)*3 + int(t.channel)) % groupCount
	if r.Float64() < 0.15 {
		gi = r.IntN(groupCount)
	}
	if r.Float64() < 0.3 {
		add(&gEvent{at: received.Add(150 * time.Millisecond), kind: kQueued, group: g.groups[gi], n: int32(1 + r.IntN(30))})
	}
	chat := t.channel != intakev1.Channel_CHANNEL_EMAIL && t.channel != intakev1.Channel_CHANNEL_SMS && t.channel != intakev1.Channel_CHANNEL_SOCIAL
	// Spam and duplicates (2%): closed without an agent.
	if r.Float64() < 0.02 {
		add(&gEvent{at: received.Add(exponential(r, 40*time.Minute)), kind: kClosed, prev: intakev1.TicketStatus_TICKET_STATUS_NEW,
			status: intakev1.TicketStatus_TICKET_STATUS_CLOSED})
		return g.finish(evs)
	}
	// SLA targets: by channel and urgency; suggestions have none.
	frLen, resLen := 10*time.Minute, 24*time.Hour
	if !chat {
		frLen = 4 * time.Hour
	}
	switch class.Urgency {
	case intakev1.Urgency_URGENCY_URGENT:
		frLen, resLen = frLen/2, 8*time.Hour
	case intakev1.Urgency_URGENCY_CRITICAL:
		frLen, resLen = frLen/4, 4*time.Hour
	}
	hasSLA := typ != intakev1.TicketType_TICKET_TYPE_SUGGESTION && r.Float64() < 0.95
	policy := "builtin:" + strings.ToLower(strings.TrimPrefix(typ.String(), "TICKET_TYPE_"))
	if hasSLA {
		add(&gEvent{at: received.Add(300 * time.Millisecond), kind: kApplied, dls: []*eventsv1.SlaDeadline{
			{Target: eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, DueTime: timestamppb.New(received.Add(frLen)), PolicyId: policy,
				Calendar: "always", Length: durationpb.New(frLen), Cycle: 1},
			{Target: eventsv1.SlaTarget_SLA_TARGET_RESOLUTION, DueTime: timestamppb.New(received.Add(resLen)), PolicyId: policy,
				Calendar: "always", Length: durationpb.New(resLen), Cycle: 1},
		}})
	}
	// Assignment: phone calls are taken at once, the rest wait in the queue.
	assignedAt := received.Add(time.Duration(2+r.IntN(20)) * time.Second)
	if t.channel != intakev1.Channel_CHANNEL_PHONE || r.Float64() < 0.3 {
		assignedAt = received.Add(exponential(r, 90*time.Second))
	}
	agent := g.agents[gi][r.IntN(agentsPerGroup)]
	add(&gEvent{at: assignedAt, kind: kAssigned, group: g.groups[gi], agent: agent, prev: intakev1.TicketStatus_TICKET_STATUS_NEW,
		status: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED})
	// First response.
	firstReply := assignedAt.Add(lognormal(r, frLen/6, 0.8))
	asks := r.Float64() < 0.25
	replied := intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS
	if asks {
		replied = intakev1.TicketStatus_TICKET_STATUS_PENDING_CUSTOMER
	}
	add(&gEvent{at: firstReply, kind: kReplied, flag: true, asks: asks, prev: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED, status: replied})
	last := firstReply
	if asks {
		msg := firstReply.Add(exponential(r, 30*time.Minute))
		add(&gEvent{at: msg, kind: kCustomerMessage, prev: replied, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
		last = msg.Add(exponential(r, 10*time.Minute))
		add(&gEvent{at: last, kind: kReplied, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
	}
	// Resolution (95%; the rest stay open).
	var resolvedAt time.Time
	if r.Float64() < 0.95 {
		resolvedAt = firstReply.Add(lognormal(r, resLen/6, 1.0))
		if !resolvedAt.After(last) {
			resolvedAt = last.Add(exponential(r, 20*time.Minute))
		}
	}
	// A transfer (8%) between the first reply and the resolution (or within a day).
	end := resolvedAt
	if end.IsZero() {
		end = firstReply.Add(24 * time.Hour)
	}
	if r.Float64() < 0.08 {
		at := firstReply.Add(time.Duration(float64(end.Sub(firstReply)) * (0.1 + 0.4*r.Float64())))
		to := (gi + 1 + r.IntN(groupCount-1)) % groupCount
		wait := exponential(r, 3*time.Minute)
		id := fixedUUID(0x200000000 + uint64(g.tickets))
		add(&gEvent{at: at, kind: kTransferRequested, ref: id, from: g.groups[gi], group: g.groups[to]})
		toAgent := g.agents[to][r.IntN(agentsPerGroup)]
		add(&gEvent{at: at.Add(wait), kind: kTransferAccepted, ref: id, group: g.groups[to], agent: toAgent, dur: wait})
		add(&gEvent{at: at.Add(wait).Add(200 * time.Millisecond), kind: kAssigned, group: g.groups[to], agent: toAgent, from: g.groups[gi],
			prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS, status: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED})
	}
	// An escalation (3%, a quarter of L1 complaints).
	if r.Float64() < 0.03 || class.Level == intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1 && r.Float64() < 0.25 {
		at := firstReply.Add(time.Duration(float64(end.Sub(firstReply)) * r.Float64()))
		add(&gEvent{at: at, kind: kEscalated, n: 1, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
	}
	if hasSLA {
		elapsed := func(d time.Duration) time.Duration {
			if !chat {
				return d * 11 / 20 // business hours only
			}
			return d
		}
		g.sla(add, eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, received, frLen, firstReply, policy, elapsed)
		g.sla(add, eventsv1.SlaTarget_SLA_TARGET_RESOLUTION, received, resLen, resolvedAt, policy, elapsed)
	}
	if resolvedAt.IsZero() {
		return g.finish(evs)
	}
	add(&gEvent{at: resolvedAt, kind: kResolved, n: 1, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS,
		status: intakev1.TicketStatus_TICKET_STATUS_RESOLVED})
	if r.Float64() < 0.4 {
		rating := pick(r, ratings)
		if resolvedAt.Sub(received) > resLen && r.Float64() < 0.4 {
			rating = intakev1.Satisfaction_SATISFACTION_UNSATISFIED
		}
		add(&gEvent{at: resolvedAt.Add(exponential(r, 2*time.Hour)), kind: kRated, rating: rating, n: 1})
	}
	closeAfter := resolvedAt
	if r.Float64() < 0.03 {
		reopened := resolvedAt.Add(exponential(r, 18*time.Hour))
		add(&gEvent{at: reopened, kind: kReopened, agent: agent, prev: intakev1.TicketStatus_TICKET_STATUS_RESOLVED,
			status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
		closeAfter = reopened.Add(exponential(r, 3*time.Hour))
		add(&gEvent{at: closeAfter, kind: kResolved, n: 2, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS,
			status: intakev1.TicketStatus_TICKET_STATUS_RESOLVED})
	}
	if r.Float64() < 0.5 {
		add(&gEvent{at: closeAfter.Add(72 * time.Hour), kind: kClosed, flag: true, prev: intakev1.TicketStatus_TICKET_STATUS_RESOLVED,
			status: intakev1.TicketStatus_TICKET_STATUS_CLOSED})
	}
	return g.finish(evs)
}

// sla adds what the SLA timers publish for one target of length started at start and met at done (zero:
// not yet): a warning at 75%, a breach at the due time, and the met event.
func (g *generator) sla(add func(*gEvent) *gEvent, target eventsv1.SlaTarget, start time.Time, length time.Duration, done time.Time,
	policy string, elapsed func(time.Duration) time.Duration) {
	due, warn := start.Add(length), start.Add(length*3/4)
	if !done.IsZero() && !done.After(warn) {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, dur: elapsed(done.Sub(start))})
		return
	}
	add(&gEvent{at: warn, kind: kWarning, target: target, due: due, ref: policy, n: 1, dur: length / 4})
	if !done.IsZero() && !done.After(due) {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, dur: elapsed(done.Sub(start))})
		return
	}
	add(&gEvent{at: due, kind: kBreached, target: target, due: due, ref: policy})
	if !done.IsZero() {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, flag: true, dur: elapsed(done.Sub(start))})
	}
}

// finish orders a ticket's events by time, numbers them per publishing service and drops those after now.
func (g *generator) finish(evs []*gEvent) []*gEvent {
	slices.SortStableFunc(evs, func(a, b *gEvent) int { return a.at.Compare(b.at) })
	seqs := map[string]int64{}
	out := evs[:0]
	for _, e := range evs {
		if e.at.After(g.now) {
			continue
		}
		e.at = e.at.Truncate(time.Millisecond)
		src := e.kind.source()
		seqs[src]++
		e.seq = seqs[src]
		out = append(out, e)
	}
	return out
}

type eventHeap []*gEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*gEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

var (
	actorAdapter = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_ADAPTER, Id: "web-form"}
	actorService = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SERVICE, Id: "routing"}
	actorSystem  = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "slatimer"}
)

// encode renders e as the publishing service's relay sends it.
func encode(e *gEvent) (*nats.Msg, error) {
	t := e.t
	var body proto.Message
	actor := actorService
	switch e.kind {
	case kCreated:
		body, actor = &eventsv1.TicketCreated{Number: t.number, Channel: t.channel, Classification: t.class, CustomerId: t.customer,
			ReceivedTime: timestamppb.New(t.received), ToStatus: e.status, HasContact: true, CustomerTier: "standard",
			Topics: t.topics}, actorAdapter
	case kQueued:
		body = &eventsv1.RoutingTicketQueued{GroupId: e.group, Priority: intakev1.Priority(1 + int(t.class.GetUrgency())%4), Depth: e.n}
	case kApplied:
		body, actor = &eventsv1.SlaApplied{TicketId: t.id, Deadlines: e.dls, PolicyIds: []string{e.dls[0].GetPolicyId()}}, actorSystem
	case kAssigned:
		body = &eventsv1.TicketAssigned{FromStatus: e.prev, ToStatus: e.status, GroupId: e.group, AssigneeId: e.agent, PreviousGroupId: e.from}
	case kReplied:
		body = &eventsv1.TicketReplied{EntryId: uuid.NewString(), Channel: t.channel, AsksCustomer: e.asks, FirstReply: e.flag,
			FromStatus: e.prev, ToStatus: e.status}
	case kCustomerMessage:
		body = &eventsv1.TicketCustomerMessageAdded{EntryId: uuid.NewString(), Channel: t.channel, FromStatus: e.prev, ToStatus: e.status}
	case kResolved:
		body = &eventsv1.TicketResolved{FromStatus: e.prev, ToStatus: e.status, ResolutionNumber: e.n}
	case kReopened:
		body = &eventsv1.TicketReopened{FromStatus: e.prev, ToStatus: e.status, AssigneeId: e.agent}
	case kClosed:
		body = &eventsv1.TicketClosed{FromStatus: e.prev, ToStatus: e.status, Automatic: e.flag}
	case kEscalated:
		body = &eventsv1.TicketEscalated{EscalationLevel: e.n, Status: e.status}
	case kRated:
		body, actor = &eventsv1.TicketRated{Rating: e.rating, ResolutionNumber: e.n}, actorAdapter
	case kWarning:
		body, actor = &eventsv1.SlaWarning{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), PolicyId: e.ref,
			Threshold: e.n, Remaining: durationpb.New(e.dur), Cycle: 1}, actorSystem
	case kBreached:
		body, actor = &eventsv1.SlaBreached{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), PolicyId: e.ref, Cycle: 1}, actorSystem
	case kMet:
		body, actor = &eventsv1.SlaMet{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), MetTime: timestamppb.New(e.at),
			Breached: e.flag, Cycle: 1, PolicyId: e.ref, Elapsed: durationpb.New(e.dur)}, actorSystem
	case kTransferRequested:
		body = &eventsv1.RoutingTransferRequested{TransferId: e.ref, FromGroupId: e.from, ToGroupId: e.group,
			AcceptDeadline: timestamppb.New(e.at.Add(15 * time.Minute))}
	case kTransferAccepted:
		body = &eventsv1.RoutingTransferAccepted{TransferId: e.ref, ToGroupId: e.group, AssigneeId: e.agent, Wait: durationpb.New(e.dur)}
	default:
		return nil, fmt.Errorf("unknown kind %d", e.kind)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m, err := outbox.NewEvent(subjects[e.kind], body, &eventsv1.EventMeta{EventId: id.String(), Source: e.kind.source(),
		AggregateId: t.id, AggregateSeq: e.seq, OccurredAt: timestamppb.New(e.at), Actor: actor})
	if err != nil {
		return nil, err
	}
	h := nats.Header{}
	h.Set(events.HeaderMsgID, m.EventID)
	h.Set(events.HeaderType, m.Type)
	h.Set(events.HeaderAggregateID, m.AggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(m.AggregateSeq, 10))
	return &nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload}, nil
}

// meanEvents estimates the events a ticket has (those after now dropped) from a sample.
func meanEvents(seed uint64, now time.Time, days int) float64 {
	g := newGenerator(seed^0x5eed, now, days, 50_000)
	n := 0
	for {
		at, ok := g.peekReceived()
		if !ok {
			break
		}
		g.nextTick++
		n += len(g.lifecycle(at))
	}
	return float64(n) / float64(g.tickets)
}

type published struct {
	took      time.Duration
	tickets   int
	created   int
	retried   int
	bySubject map[string]int
}

// publish generates o.events events and publishes them to the KEFU stream (created as the service
// configures it) with at most o.inflight unacknowledged.
func publish(ctx context.Context, o options, cfg analytics.Config, natsURL string, now time.Time) (published, error) {
	var out published
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return out, err
	}
	defer nc.Close()
	var mu sync.Mutex
	var failed []*nats.Msg
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(o.inflight),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, _ error) {
			mu.Lock()
			failed = append(failed, m)
			mu.Unlock()
		}))
	if err != nil {
		return out, err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{MaxAge: cfg.StreamMaxAge, Duplicates: cfg.StreamDuplicates}); err != nil {
		return out, err
	}
	mean := meanEvents(o.seed, now, o.days)
	// The stream stops at exactly o.events: the estimate's error cuts off, or adds, at most a few hours.
	tickets := int(math.Round(float64(o.events) / mean))
	g := newGenerator(o.seed, now, o.days, tickets)
	// The generator and encoder run beside the publisher, in batches.
	batches := make(chan []*nats.Msg, 16)
	gerr := make(chan error, 1)
	bySubject := map[string]int{}
	created := 0
	go func() {
		defer close(batches)
		n := 0
		for n < o.events {
			batch := make([]*nats.Msg, 0, 512)
			for len(batch) < cap(batch) && n < o.events {
				e := g.next()
				if e == nil {
					g.topUp = true // the estimate fell short: more tickets in the last hour
					continue
				}
				if e.kind == kCreated {
					created++
				}
				m, err := encode(e)
				if err != nil {
					gerr <- err
					return
				}
				bySubject[m.Subject]++
				batch = append(batch, m)
				n++
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return
			}
		}
		gerr <- nil
	}()
	began := time.Now()
	sent := 0
	for batch := range batches {
		for _, m := range batch {
			for {
				_, err := js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second))
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					return out, fmt.Errorf("publish: %w", err)
				}
			}
		}
		sent += len(batch)
		if sent%(o.events/10+1) < len(batch) {
			progress("published %s of %s events", benchkit.Thousands(sent), benchkit.Thousands(o.events))
		}
	}
	if err := <-gerr; err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		return out, errors.New("JetStream did not acknowledge the last publishes within 5 minutes")
	}
	// Publishes that failed (a timeout) are sent again; the stream's dedupe window keeps each once.
	mu.Lock()
	retry := failed
	mu.Unlock()
	for _, m := range retry {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return out, fmt.Errorf("publish again: %w", err)
		}
	}
	out.took, out.tickets, out.created, out.retried, out.bySubject = time.Since(began), created, created, len(retry), bySubject
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return out, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return out, err
	}
	if info.State.Msgs != uint64(o.events) {
		return out, fmt.Errorf("the stream holds %d events, %d were published", info.State.Msgs, o.events)
	}
	// Tickets whose created event was cut off at the end never appear.
	return out, nil
}
