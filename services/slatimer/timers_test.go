package slatimer_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/slatimer/internal/domain/sla"
)

const (
	firstResponse = eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE
	nextResponse  = eventsv1.SlaTarget_SLA_TARGET_NEXT_RESPONSE
	resolution    = eventsv1.SlaTarget_SLA_TARGET_RESOLUTION
	transfer      = eventsv1.SlaTarget_SLA_TARGET_TRANSFER_ACCEPTANCE
)

func builtin(code string) string { return sla.BuiltinPolicyID(code).String() }

// TestDefaultsApplyPerUrgencyLevelAndChannel: the seeded policies set each ticket's targets by its urgency,
// complaint level and channel; the strictest wins, and the ticket records every policy that applied.
func TestDefaultsApplyPerUrgencyLevelAndChannel(t *testing.T) {
	t.Parallel()
	s := start(t)

	// A phone call is answered on the call: first response met at submission.
	phone := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_PHONE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	var met eventsv1.SlaMet
	s.awaitEvent(t, phone, "met", &met, nil)
	require.Equal(t, firstResponse, met.GetTarget())
	require.False(t, met.GetBreached())
	require.NotNil(t, met.GetElapsed(), "a met event says how long the clock ran")
	require.Zero(t, met.GetElapsed().AsDuration(), "met at once")
	v := s.ticketSLA(t, phone)
	fr := target(t, v, firstResponse)
	require.Equal(t, slav1.SlaState_SLA_STATE_MET, fr.GetState())
	require.Zero(t, fr.GetLength().AsDuration())
	require.Equal(t, builtin("phone"), fr.GetPolicyId())
	require.ElementsMatch(t, []string{builtin("phone"), builtin("urgency_normal")}, v.GetPolicyIds())

	// Email: acknowledged within a business hour, answered within 48 business hours.
	email := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_EMAIL, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	v = s.ticketSLA(t, email)
	fr = target(t, v, firstResponse)
	require.Equal(t, builtin("email"), fr.GetPolicyId(), "1 business hour beats urgency normal's 24")
	require.Equal(t, time.Hour, fr.GetLength().AsDuration())
	require.Equal(t, "china_default", fr.GetCalendar())
	nr := target(t, v, nextResponse)
	require.Equal(t, 48*time.Hour, nr.GetLength().AsDuration())
	require.Contains(t, []slav1.SlaState{slav1.SlaState_SLA_STATE_RUNNING}, nr.GetState())
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, email, "applied", &applied, nil)
	require.Len(t, applied.GetDeadlines(), 2)
	require.False(t, applied.GetRecomputed())

	// A critical email: 30 minutes around the clock is always stricter than one business hour.
	critical := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_EMAIL, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_CRITICAL})
	v = s.ticketSLA(t, critical)
	fr = target(t, v, firstResponse)
	require.Equal(t, builtin("urgency_critical"), fr.GetPolicyId())
	require.Equal(t, "24x7", fr.GetCalendar())
	require.Equal(t, 30*time.Minute, fr.GetDueTime().AsTime().Sub(fr.GetStartTime().AsTime()))
	require.ElementsMatch(t, []string{builtin("email"), builtin("urgency_critical")}, v.GetPolicyIds())

	// An L1 complaint: resolve in 2 hours around the clock; its breach escalates. Like every complaint it
	// gets progress reminders (long_case_progress), which the ticket records among its policies.
	l1 := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_COMPLAINT,
		level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, urgency: intakev1.Urgency_URGENCY_NORMAL})
	v = s.ticketSLA(t, l1)
	res := target(t, v, resolution)
	require.Equal(t, builtin("complaint_l1"), res.GetPolicyId())
	require.Equal(t, 2*time.Hour, res.GetDueTime().AsTime().Sub(res.GetStartTime().AsTime()))
	require.ElementsMatch(t, []string{builtin("chat_first_response"), builtin("complaint_l1"), builtin("long_case_progress"),
		builtin("urgency_normal")}, v.GetPolicyIds())
	p, err := s.sla.GetPolicy(as(t.Context(), adminP), &slav1.GetPolicyRequest{PolicyId: builtin("complaint_l1")})
	require.NoError(t, err)
	require.Equal(t, eventsv1.SlaBreachAction_SLA_BREACH_ACTION_ESCALATE, p.GetPolicy().GetBreachAction())
}

// count returns how many of ticket's events are on subject for target (and threshold, for warnings).
func count(t *testing.T, es []slaEvent, event string, tg eventsv1.SlaTarget, threshold int32) int {
	t.Helper()
	n := 0
	for _, e := range es {
		if e.subject != "kefu.sla."+event {
			continue
		}
		switch event {
		case "warning":
			var w eventsv1.SlaWarning
			require.NoError(t, proto.Unmarshal(e.payload, &w))
			if w.GetTarget() == tg && w.GetThreshold() == threshold {
				n++
			}
		case "breached":
			var b eventsv1.SlaBreached
			require.NoError(t, proto.Unmarshal(e.payload, &b))
			if b.GetTarget() == tg {
				n++
			}
		case "met":
			var m eventsv1.SlaMet
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			if m.GetTarget() == tg {
				n++
			}
		}
	}
	return n
}

// requireSequenced checks that each ticket's SLA events are numbered 1, 2, 3, ... without gap or repeat.
func requireSequenced(t *testing.T, es []slaEvent) {
	t.Helper()
	next := map[string]int64{}
	for _, e := range es {
		next[e.ticket]++
		require.Equal(t, next[e.ticket], e.seq, "ticket %s: event %s out of sequence", e.ticket, e.subject)
	}
}

// TestWarningThenBreachFireOnceAndAMetTargetNeverBreaches: an untouched ticket warns at 50% then breaches,
// each once per target; a ticket answered in time gets its met event and never warns nor breaches.
func TestWarningThenBreachFireOnceAndAMetTargetNeverBreaches(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.fastPolicy(t, "sms_fast", intakev1.Channel_CHANNEL_SMS, map[eventsv1.SlaTarget]time.Duration{
		firstResponse: 2 * time.Second, resolution: 3 * time.Second})
	s.fastPolicy(t, "store_fast", intakev1.Channel_CHANNEL_STORE, map[eventsv1.SlaTarget]time.Duration{firstResponse: 4 * time.Second})

	late := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_SMS, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	answered := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_STORE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	s.work(t, answered)
	s.reply(t, answered, false)
	var met eventsv1.SlaMet
	s.awaitEvent(t, answered, "met", &met, nil)
	// A sentinel due after the answered ticket's target: once it breaches, the timers have passed that
	// target's due instant.
	sentinel := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_STORE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})

	var b eventsv1.SlaBreached
	s.awaitEvent(t, late, "breached", &b, func() bool { return b.GetTarget() == resolution })
	s.awaitEvent(t, sentinel, "breached", &b, nil)

	es := s.events(t, late)
	for _, tg := range []eventsv1.SlaTarget{firstResponse, resolution} {
		require.Equal(t, 1, count(t, es, "warning", tg, 1), "%s: one warning", tg)
		require.Equal(t, 1, count(t, es, "breached", tg, 0), "%s: one breach", tg)
	}
	require.Equal(t, eventsv1.SlaBreachAction_SLA_BREACH_ACTION_NOTIFY, b.GetAction())
	v := s.ticketSLA(t, late)
	require.Equal(t, slav1.SlaState_SLA_STATE_BREACHED, target(t, v, resolution).GetState())
	require.Less(t, target(t, v, resolution).GetRemaining().AsDuration(), time.Duration(0))

	es = s.events(t, answered)
	require.Equal(t, []string{"applied", "met"}, subjects(es), "a target met in time never warns nor breaches")
	require.Equal(t, slav1.SlaState_SLA_STATE_MET, target(t, s.ticketSLA(t, answered), firstResponse).GetState())
	requireSequenced(t, s.events(t, ""))
}

// TestPauseKeepsTheTimeLeft: while the ticket waits on the customer its clocks stop; when the customer
// answers they run on with the time they had left, so the due time moves by the pause and the breach
// fires at the new instant.
func TestPauseKeepsTheTimeLeft(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.fastPolicy(t, "wechat_fast", intakev1.Channel_CHANNEL_WECHAT, map[eventsv1.SlaTarget]time.Duration{resolution: 4 * time.Second})
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WECHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, nil)
	due := deadlineOf(t, applied.GetDeadlines(), resolution).GetDueTime().AsTime()
	s.work(t, id)
	_, err := s.intake.SetPendingCustomer(staff(t), &intakev1.SetPendingCustomerRequest{TicketId: id})
	require.NoError(t, err)
	var paused eventsv1.SlaPaused
	s.awaitEvent(t, id, "paused", &paused, nil)
	// Urgency normal's first response (24 business hours) pauses too.
	require.Equal(t, []eventsv1.SlaTarget{firstResponse, resolution}, paused.GetTargets())
	v := s.ticketSLA(t, id)
	require.Equal(t, slav1.SlaState_SLA_STATE_PAUSED, target(t, v, resolution).GetState())
	require.Nil(t, target(t, v, resolution).GetDueTime(), "no due time while paused")
	time.Sleep(time.Second) // let time pass while paused

	_, err = s.intake.AppendCustomerMessage(as(t.Context(), adapterP), &intakev1.AppendCustomerMessageRequest{TicketId: id,
		RequestId: uuid.NewString(), Text: "我的订单号是 123"})
	require.NoError(t, err)
	var resumed eventsv1.SlaResumed
	s.awaitEvent(t, id, "resumed", &resumed, nil)
	pausedFor := resumed.GetMeta().GetOccurredAt().AsTime().Sub(paused.GetMeta().GetOccurredAt().AsTime())
	require.GreaterOrEqual(t, pausedFor, time.Second)
	newDue := deadlineOf(t, resumed.GetDeadlines(), resolution).GetDueTime().AsTime()
	require.Equal(t, due.Add(pausedFor), newDue, "the due time moved by exactly the pause")

	var b eventsv1.SlaBreached
	s.awaitEvent(t, id, "breached", &b, nil)
	require.Equal(t, resolution, b.GetTarget())
	require.True(t, newDue.Equal(b.GetDueTime().AsTime()))
	require.Equal(t, []string{"applied", "paused", "resumed", "warning", "breached"}, subjects(s.events(t, id)))
}

// deadlineOf returns target's deadline among ds.
func deadlineOf(t *testing.T, ds []*eventsv1.SlaDeadline, tg eventsv1.SlaTarget) *eventsv1.SlaDeadline {
	t.Helper()
	for _, d := range ds {
		if d.GetTarget() == tg {
			return d
		}
	}
	t.Fatalf("no %s deadline in %v", tg, ds)
	return nil
}

// TestReopenRestartsResolution: resolving meets resolution; reopening starts its next cycle from zero.
func TestReopenRestartsResolution(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.fastPolicy(t, "mini_slow", intakev1.Channel_CHANNEL_MINI_PROGRAM, map[eventsv1.SlaTarget]time.Duration{resolution: time.Hour})
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_MINI_PROGRAM, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	s.work(t, id)
	_, err := s.intake.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "已处理"})
	require.NoError(t, err)
	var met eventsv1.SlaMet
	s.awaitEvent(t, id, "met", &met, func() bool { return met.GetTarget() == resolution })
	require.EqualValues(t, 0, met.GetCycle())
	_, err = s.intake.ReopenTicket(staff(t), &intakev1.ReopenTicketRequest{TicketId: id, Reason: "问题未解决"})
	require.NoError(t, err)
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, func() bool { return len(applied.GetDeadlines()) == 1 && applied.GetDeadlines()[0].GetCycle() == 1 })
	res := target(t, s.ticketSLA(t, id), resolution)
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, res.GetState())
	require.EqualValues(t, 1, res.GetCycle())
	require.Equal(t, time.Hour, res.GetDueTime().AsTime().Sub(res.GetStartTime().AsTime()))
	require.Equal(t, applied.GetMeta().GetOccurredAt().AsTime(), res.GetStartTime().AsTime(), "the new cycle starts at the reopen")
}

// TestReclassificationRecomputesFromTheOriginalStart: raising a ticket's urgency to critical recomputes its
// first response from when it was received, not from the change.
func TestReclassificationRecomputesFromTheOriginalStart(t *testing.T) {
	t.Parallel()
	s := start(t)
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	before := target(t, s.ticketSLA(t, id), firstResponse)
	require.Equal(t, builtin("chat_first_response"), before.GetPolicyId())
	tk, err := s.intake.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
	require.NoError(t, err)
	_, err = s.intake.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
		Ticket:     &intakev1.Ticket{TicketId: id, Etag: tk.GetTicket().GetEtag(), Urgency: intakev1.Urgency_URGENCY_CRITICAL},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}}})
	require.NoError(t, err)
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, func() bool { return applied.GetRecomputed() })
	after := target(t, s.ticketSLA(t, id), firstResponse)
	require.Equal(t, before.GetStartTime().AsTime(), after.GetStartTime().AsTime(), "still counted from the original start")
	// Critical's 30 minutes around the clock, unless the chat's 5 business minutes fall due first (during
	// business hours): either way no later than start + 30 minutes, and critical applied.
	require.LessOrEqual(t, after.GetDueTime().AsTime(), after.GetStartTime().AsTime().Add(30*time.Minute))
	require.Contains(t, s.ticketSLA(t, id).GetPolicyIds(), builtin("urgency_critical"))
}

// TestBreachFiresOnceWithTwoReplicas: two replicas share the timers; every warning and breach of 30
// tickets fires exactly once, and each ticket's SLA events are numbered without gap.
func TestBreachFiresOnceWithTwoReplicas(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.replica(t)
	s.fastPolicy(t, "social_fast", intakev1.Channel_CHANNEL_SOCIAL, map[eventsv1.SlaTarget]time.Duration{
		firstResponse: time.Second, resolution: 2 * time.Second})
	var ids []string
	for range 30 {
		ids = append(ids, s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_SOCIAL, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY}))
	}
	testkit.EventuallyNoError(t, func() error {
		es := s.events(t, "")
		if n := countAll(t, es, "breached"); n < 2*len(ids) {
			per := map[string]int{}
			for _, e := range es {
				per[e.ticket]++
			}
			return fmt.Errorf("%d breaches, want %d; %d tickets have events: %v", n, 2*len(ids), len(per), per)
		}
		return nil
	}, wait)
	time.Sleep(500 * time.Millisecond) // a duplicate would come from a second claim right after the first
	for _, id := range ids {
		es := s.events(t, id)
		for _, tg := range []eventsv1.SlaTarget{firstResponse, resolution} {
			require.Equal(t, 1, count(t, es, "warning", tg, 1), "ticket %s %s: one warning", id, tg)
			require.Equal(t, 1, count(t, es, "breached", tg, 0), "ticket %s %s: one breach", id, tg)
		}
	}
	requireSequenced(t, s.events(t, ""))
}

func countAll(t *testing.T, es []slaEvent, event string) int {
	t.Helper()
	n := 0
	for _, e := range es {
		if e.subject == "kefu.sla."+event {
			n++
		}
	}
	return n
}

// TestRestartFiresMissedTimersLate: timers that came due while the service was down fire at its next
// start, marked late, each once.
func TestRestartFiresMissedTimersLate(t *testing.T) {
	t.Parallel()
	s := startStoppable(t)
	s.fastPolicy(t, "sms_restart", intakev1.Channel_CHANNEL_SMS, map[eventsv1.SlaTarget]time.Duration{firstResponse: 2 * time.Second})
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_SMS, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, nil)
	s.stop()
	due := applied.GetDeadlines()[0].GetDueTime().AsTime()
	time.Sleep(time.Until(due.Add(3 * time.Second))) // down past the due instant
	require.Empty(t, count(t, s.events(t, id), "breached", firstResponse, 0), "nothing fires while down")

	s.replica(t)
	var b eventsv1.SlaBreached
	s.awaitEvent(t, id, "breached", &b, nil)
	require.True(t, b.GetLate())
	var w eventsv1.SlaWarning
	s.awaitEvent(t, id, "warning", &w, nil)
	require.True(t, w.GetLate())
	require.Equal(t, []string{"applied", "warning", "breached"}, subjects(s.events(t, id)))
}

// publishRouting publishes a routing event about ticket as routing's relay would, with routing's seq.
func (s *stack) publishRouting(t *testing.T, event, ticket string, seq int64, body proto.Message) string {
	t.Helper()
	return s.publish(t, "routing", event, ticket, seq, body)
}

// publish publishes an event of aggregate kind about ticket as its service's relay would, and returns its
// event id.
func (s *stack) publish(t *testing.T, aggregate, event, ticket string, seq int64, body proto.Message) string {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	m, err := outbox.NewEvent(events.Subject(aggregate, event), body, &eventsv1.EventMeta{EventId: id.String(), Source: aggregate,
		AggregateId: ticket, AggregateSeq: seq, OccurredAt: timestamppb.Now(),
		Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "routing"}})
	require.NoError(t, err)
	nc, err := nats.Connect(s.nats.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	h := nats.Header{}
	h.Set(events.HeaderMsgID, m.EventID)
	h.Set(events.HeaderType, m.Type)
	h.Set(events.HeaderAggregateID, m.AggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(m.AggregateSeq, 10))
	_, err = js.PublishMsg(t.Context(), &nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload})
	require.NoError(t, err)
	return m.EventID
}

// TestTransferAcceptanceClock: each transfer starts an acceptance clock with routing's deadline; unaccepted
// it breaches, accepted it is met, and the next transfer runs in the next cycle.
func TestTransferAcceptanceClock(t *testing.T) {
	t.Parallel()
	s := start(t)
	id := s.submit(t, ticket{typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	s.ticketSLA(t, id)
	to := uuid.NewString()
	s.publishRouting(t, "transfer_requested", id, 1, &eventsv1.RoutingTransferRequested{TransferId: uuid.NewString(),
		ToGroupId: to, AcceptDeadline: timestamppb.New(time.Now().Add(1500 * time.Millisecond))})
	var b eventsv1.SlaBreached
	s.awaitEvent(t, id, "breached", &b, func() bool { return b.GetTarget() == transfer })
	require.EqualValues(t, 0, b.GetCycle())

	s.publishRouting(t, "transfer_requested", id, 2, &eventsv1.RoutingTransferRequested{TransferId: uuid.NewString(),
		ToGroupId: to, AcceptDeadline: timestamppb.New(time.Now().Add(time.Hour))})
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, func() bool {
		return len(applied.GetDeadlines()) == 1 && applied.GetDeadlines()[0].GetTarget() == transfer && applied.GetDeadlines()[0].GetCycle() == 1
	})
	s.publishRouting(t, "transfer_accepted", id, 3, &eventsv1.RoutingTransferAccepted{TransferId: uuid.NewString(), ToGroupId: to})
	var met eventsv1.SlaMet
	s.awaitEvent(t, id, "met", &met, func() bool { return met.GetTarget() == transfer })
	require.EqualValues(t, 1, met.GetCycle())
	require.False(t, met.GetBreached())
	// Postgres keeps the clock's start to the microsecond; the event's time has nanoseconds.
	require.InDelta(t, met.GetMetTime().AsTime().Sub(applied.GetMeta().GetOccurredAt().AsTime()), met.GetElapsed().AsDuration(),
		float64(time.Microsecond), "the acceptance clock counts around the clock from its cycle's start")
	// A replayed request (an old sequence) changes nothing.
	replay := s.publishRouting(t, "transfer_requested", id, 2, &eventsv1.RoutingTransferRequested{TransferId: uuid.NewString(),
		ToGroupId: to, AcceptDeadline: timestamppb.New(time.Now().Add(time.Second))})
	s.awaitApplied(t, replay)
	ta := target(t, s.ticketSLA(t, id), transfer)
	require.Equal(t, slav1.SlaState_SLA_STATE_MET, ta.GetState())
}

// TestReplayedTicketEventsChangeNothing: an intake event delivered again under a new id (a republish, an
// older sequence) is skipped, so a ticket's targets and events stay as they were.
func TestReplayedTicketEventsChangeNothing(t *testing.T) {
	t.Parallel()
	s := start(t)
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_EMAIL, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	before := s.ticketSLA(t, id)
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, id, "applied", &applied, nil)
	// The created event again (sequence 1), now claiming a critical phone call, and an old reply.
	replay := s.publish(t, "ticket", "created", id, 1, &eventsv1.TicketCreated{Channel: intakev1.Channel_CHANNEL_PHONE,
		ReceivedTime: timestamppb.Now(), Classification: &eventsv1.TicketClassification{Urgency: intakev1.Urgency_URGENCY_CRITICAL}})
	s.awaitApplied(t, replay)
	reply := s.publish(t, "ticket", "replied", id, 1, &eventsv1.TicketReplied{FirstReply: true})
	s.awaitApplied(t, reply)
	require.Equal(t, []string{"applied"}, subjects(s.events(t, id)))
	after := s.ticketSLA(t, id)
	require.Equal(t, before.GetPolicyIds(), after.GetPolicyIds())
	for _, tg := range []eventsv1.SlaTarget{firstResponse, nextResponse} {
		require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, target(t, after, tg).GetState())
		require.Equal(t, target(t, before, tg).GetDueTime().AsTime(), target(t, after, tg).GetDueTime().AsTime())
	}
}
