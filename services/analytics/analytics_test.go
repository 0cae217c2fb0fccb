package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/analytics"
	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

const wait = 30 * time.Second

var testStart = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)

const supervisorP = "staff:00000000-0000-4000-8000-0000000000b1"

func creds() *testkit.Credentials { return testkit.NewCredentials(testStart) }

func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

// stack is the analytics service on a real Postgres and NATS, fed by events the test publishes as the
// other services' relays would.
type stack struct {
	nats   *natsembed.Server
	js     jetstream.JetStream
	cfg    analytics.Config
	client analyticsv1.AnalyticsServiceClient
	stop   func()
}

func start(t *testing.T, configure ...func(*analytics.Config)) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	db := testkit.NewDB(t, store.Schema, analytics.Migrations()...)
	creds().InsertKeys(t, db, nil)
	cfg := analytics.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL, cfg.NATSURL, cfg.Migrate = db.RuntimeURL, db.OwnerURL, ns.ClientURL(), false
	cfg.ShutdownTimeout, cfg.Auth, cfg.BatchSize = 5*time.Second, creds().AuthConfig(), 7 // small batches: many per script
	for _, f := range configure {
		f(&cfg)
	}
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	s := &stack{nats: ns, js: js, cfg: cfg}
	s.serve(t)
	return s
}

// serve starts the service (again) and waits until it answers.
func (s *stack) serve(t *testing.T) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	cfg := s.cfg
	go func() { done <- analytics.Serve(ctx, cfg, logging.Discard(), lis) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("analytics.Serve did not stop within 30s")
			}
		})
	}
	t.Cleanup(s.stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	s.client = analyticsv1.NewAnalyticsServiceClient(cc)
	testkit.EventuallyNoError(t, func() error {
		_, err := s.client.GetIngestionStatus(as(t.Context(), supervisorP, "supervisor"), &analyticsv1.GetIngestionStatusRequest{})
		return err
	}, wait)
}

// event is one scripted event: its subject, the ticket and its sequence in its source, when, and its body.
type event struct {
	id      string
	subject string
	ticket  string
	seq     int64
	at      time.Time
	body    proto.Message
}

func (s *stack) publish(t *testing.T, e event) {
	t.Helper()
	m, err := outbox.NewEvent(e.subject, e.body, &eventsv1.EventMeta{EventId: e.id, Source: "test", AggregateId: e.ticket,
		AggregateSeq: e.seq, OccurredAt: timestamppb.New(e.at), Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "test"}})
	require.NoError(t, err)
	h := nats.Header{}
	h.Set(events.HeaderMsgID, m.EventID)
	h.Set(events.HeaderType, m.Type)
	h.Set(events.HeaderAggregateID, m.AggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(m.AggregateSeq, 10))
	_, err = s.js.PublishMsg(t.Context(), &nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload})
	require.NoError(t, err)
}

// shanghai is the reports' default zone; the script's day is Monday 23 November 2026 there.
var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, shanghai) }

// Scripted tickets and staff.
var (
	t1, t2, t3, t4, t5 = uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	g1, g2             = uuid.NewString(), uuid.NewString()
	a1, a2             = uuid.NewString(), uuid.NewString()
)

func class(typ intakev1.TicketType, sub string, u intakev1.Urgency, l intakev1.ComplaintLevel) *eventsv1.TicketClassification {
	return &eventsv1.TicketClassification{Type: typ, Subcategory: sub, Urgency: u, Level: l}
}

const (
	fr  = eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE
	res = eventsv1.SlaTarget_SLA_TARGET_RESOLUTION
)

// day is the script: five tickets on one day (expected figures in TestAScriptedDayGivesTheExpectedNumbers).
func day() []event {
	complaint, inquiry := intakev1.TicketType_TICKET_TYPE_COMPLAINT, intakev1.TicketType_TICKET_TYPE_INQUIRY
	normal, urgent := intakev1.Urgency_URGENCY_NORMAL, intakev1.Urgency_URGENCY_URGENT
	l1, l2 := intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2
	chat, email, phone := intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_EMAIL, intakev1.Channel_CHANNEL_PHONE
	created := func(id string, ch intakev1.Channel, c *eventsv1.TicketClassification, h, m int, topics ...string) event {
		return event{subject: "kefu.ticket.created", ticket: id, seq: 1, at: at(h, m), body: &eventsv1.TicketCreated{Channel: ch,
			Classification: c, ReceivedTime: timestamppb.New(at(h, m)), ToStatus: intakev1.TicketStatus_TICKET_STATUS_NEW, Topics: topics}}
	}
	met := func(target eventsv1.SlaTarget, elapsed time.Duration, breached bool) *eventsv1.SlaMet {
		return &eventsv1.SlaMet{Target: target, Elapsed: durationpb.New(elapsed), Breached: breached}
	}
	assigned := func(id string, seq int64, g, a string, h, m int) event {
		return event{subject: "kefu.ticket.assigned", ticket: id, seq: seq, at: at(h, m), body: &eventsv1.TicketAssigned{
			GroupId: g, AssigneeId: a, ToStatus: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED}}
	}
	replied := func(id string, seq int64, h, m int) event {
		return event{subject: "kefu.ticket.replied", ticket: id, seq: seq, at: at(h, m), body: &eventsv1.TicketReplied{
			FirstReply: true, ToStatus: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS}}
	}
	resolved := func(id string, seq int64, h, m int) event {
		return event{subject: "kefu.ticket.resolved", ticket: id, seq: seq, at: at(h, m), body: &eventsv1.TicketResolved{
			ToStatus: intakev1.TicketStatus_TICKET_STATUS_RESOLVED}}
	}
	rated := func(id string, seq int64, r intakev1.Satisfaction, h, m int) event {
		return event{subject: "kefu.ticket.rated", ticket: id, seq: seq, at: at(h, m), body: &eventsv1.TicketRated{Rating: r}}
	}
	sla := func(name, id string, seq int64, h, m int, body proto.Message) event {
		return event{subject: "kefu.sla." + name, ticket: id, seq: seq, at: at(h, m), body: body}
	}
	applied := func(targets ...eventsv1.SlaTarget) *eventsv1.SlaApplied {
		a := &eventsv1.SlaApplied{}
		for _, tg := range targets {
			a.Deadlines = append(a.Deadlines, &eventsv1.SlaDeadline{Target: tg})
		}
		return a
	}
	evs := []event{
		// T1: chat complaint (logistics, urgent, L2) at 09:10 about a late delivery; a1 (g1) at 09:12;
		// answered 09:20 after a warning (10 business minutes); resolved 11:10 (2 business hours); satisfied.
		created(t1, chat, class(complaint, "logistics", urgent, l2), 9, 10, "delivery_delay"),
		sla("applied", t1, 1, 9, 10, applied(fr, res)),
		assigned(t1, 2, g1, a1, 9, 12),
		sla("warning", t1, 2, 9, 15, &eventsv1.SlaWarning{Target: fr, Threshold: 1}),
		replied(t1, 3, 9, 20),
		sla("met", t1, 3, 9, 20, met(fr, 10*time.Minute, false)),
		resolved(t1, 4, 11, 10),
		sla("met", t1, 4, 11, 10, met(res, 2*time.Hour, false)),
		rated(t1, 5, intakev1.Satisfaction_SATISFACTION_SATISFIED, 11, 30),
		// T2: chat complaint (logistics, normal, L2) at 09:40 about a late delivery and a rude courier; a1
		// (g1); warned, breached, answered 10:40 (an hour); still open.
		created(t2, chat, class(complaint, "logistics", normal, l2), 9, 40, "delivery_delay", "staff_attitude"),
		sla("applied", t2, 1, 9, 40, applied(fr, res)),
		assigned(t2, 2, g1, a1, 9, 41),
		sla("warning", t2, 2, 9, 43, &eventsv1.SlaWarning{Target: fr, Threshold: 1}),
		sla("breached", t2, 3, 9, 45, &eventsv1.SlaBreached{Target: fr}),
		replied(t2, 3, 10, 40),
		sla("met", t2, 4, 10, 40, met(fr, time.Hour, true)),
		// T3: email inquiry (order status) at 14:05, nobody answering; a2 (g2) at 14:10; answered 14:35;
		// transferred to g1 (5 min wait, a1 takes it at 15:05) and escalated; resolved 18:05; unsatisfied.
		created(t3, email, class(inquiry, "order_status", normal, 0), 14, 5, "no_response"),
		assigned(t3, 2, g2, a2, 14, 10),
		replied(t3, 3, 14, 35),
		{subject: "kefu.routing.transfer_requested", ticket: t3, seq: 1, at: at(15, 0), body: &eventsv1.RoutingTransferRequested{}},
		{subject: "kefu.routing.transfer_accepted", ticket: t3, seq: 2, at: at(15, 5), body: &eventsv1.RoutingTransferAccepted{Wait: durationpb.New(5 * time.Minute)}},
		assigned(t3, 4, g1, a1, 15, 5),
		{subject: "kefu.ticket.escalated", ticket: t3, seq: 5, at: at(15, 10), body: &eventsv1.TicketEscalated{EscalationLevel: 1}},
		resolved(t3, 6, 18, 5),
		rated(t3, 7, intakev1.Satisfaction_SATISFACTION_UNSATISFIED, 18, 30),
		// T4: a phone call at 20:00, answered on the call; nobody assigned.
		created(t4, phone, class(inquiry, "order_status", normal, 0), 20, 0),
		sla("applied", t4, 1, 20, 0, applied(fr)),
		sla("met", t4, 2, 20, 0, met(fr, 0, false)),
		// T5: chat request (return/exchange) at 10:00, raised to L1 urgent; a2 at 10:01; answered 10:05;
		// resolved 10:35, rated neutral, reopened, resolved again 12:00 (the first resolution counts).
		created(t5, chat, class(intakev1.TicketType_TICKET_TYPE_REQUEST, "return_exchange", normal, 0), 10, 0),
		assigned(t5, 2, g2, a2, 10, 1),
		{subject: "kefu.ticket.updated", ticket: t5, seq: 3, at: at(10, 2), body: &eventsv1.TicketUpdated{
			Current: class(intakev1.TicketType_TICKET_TYPE_REQUEST, "return_exchange", urgent, l1)}},
		replied(t5, 4, 10, 5),
		resolved(t5, 5, 10, 35),
		rated(t5, 6, intakev1.Satisfaction_SATISFACTION_NEUTRAL, 10, 40),
		{subject: "kefu.ticket.reopened", ticket: t5, seq: 7, at: at(11, 0), body: &eventsv1.TicketReopened{ToStatus: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS}},
		resolved(t5, 8, 12, 0),
		// Events the projection does not read are counted and skipped.
		{subject: "kefu.routing.group_changed", ticket: g1, seq: 1, at: at(8, 0), body: &eventsv1.RoutingGroupChanged{GroupId: g1}},
	}
	for i := range evs {
		evs[i].id = uuid.NewString()
	}
	return evs
}

// publishDay publishes the day's events in a shuffled order (late and reordered events), and returns them.
func (s *stack) publishDay(t *testing.T) []event {
	t.Helper()
	evs := day()
	shuffled := append([]event(nil), evs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, e := range shuffled {
		s.publish(t, e)
	}
	return evs
}

// awaitIngested waits until n events are ingested and nothing is behind.
func (s *stack) awaitIngested(t *testing.T, n int64) {
	t.Helper()
	s.awaitStatus(t, "events ingested", n, (*analyticsv1.GetIngestionStatusResponse).GetEventsIngested)
}

// awaitStatus waits until the ingestion status's figure (what) is want and nothing is behind.
func (s *stack) awaitStatus(t *testing.T, what string, want int64, figure func(*analyticsv1.GetIngestionStatusResponse) int64) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		st, err := s.client.GetIngestionStatus(as(t.Context(), supervisorP, "supervisor"), &analyticsv1.GetIngestionStatusRequest{})
		if err != nil {
			return err
		}
		if figure(st) != want || st.GetEventsBehind() != 0 {
			return fmt.Errorf("%s %d of %d, %d behind", what, figure(st), want, st.GetEventsBehind())
		}
		return nil
	}, wait)
}

// reports reads every report of the day, broken down as the expected figures are.
type reports struct {
	volume, volumeByChannel *analyticsv1.GetVolumeReportResponse
	timeliness              *analyticsv1.GetTimelinessReportResponse
	sla                     *analyticsv1.GetSlaReportResponse
	satisfaction            *analyticsv1.GetSatisfactionReportResponse
	workload                *analyticsv1.GetWorkloadReportResponse
	topIssues               *analyticsv1.GetTopIssuesReportResponse
	collaboration           *analyticsv1.GetCollaborationReportResponse
	summary                 *analyticsv1.GetSummaryResponse
}

func (s *stack) reports(t *testing.T) reports {
	t.Helper()
	ctx := as(t.Context(), supervisorP, "supervisor")
	from, to := timestamppb.New(at(0, 0)), timestamppb.New(at(0, 0).AddDate(0, 0, 1))
	day := analyticsv1.Granularity_GRANULARITY_DAY
	var r reports
	var err error
	r.volume, err = s.client.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	r.volumeByChannel, err = s.client.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: from, EndTime: to,
		Granularity: day, GroupBy: analyticsv1.Dimension_DIMENSION_CHANNEL})
	require.NoError(t, err)
	r.timeliness, err = s.client.GetTimelinessReport(ctx, &analyticsv1.GetTimelinessReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	r.sla, err = s.client.GetSlaReport(ctx, &analyticsv1.GetSlaReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	r.satisfaction, err = s.client.GetSatisfactionReport(ctx, &analyticsv1.GetSatisfactionReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	r.workload, err = s.client.GetWorkloadReport(ctx, &analyticsv1.GetWorkloadReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	r.topIssues, err = s.client.GetTopIssuesReport(ctx, &analyticsv1.GetTopIssuesReportRequest{StartTime: from, EndTime: to})
	require.NoError(t, err)
	r.collaboration, err = s.client.GetCollaborationReport(ctx, &analyticsv1.GetCollaborationReportRequest{StartTime: from, EndTime: to,
		Granularity: day})
	require.NoError(t, err)
	r.summary, err = s.client.GetSummary(ctx, &analyticsv1.GetSummaryRequest{Period: analyticsv1.SummaryPeriod_SUMMARY_PERIOD_WEEK,
		PeriodTime: timestamppb.New(at(12, 0))})
	require.NoError(t, err)
	return r
}

// TestAScriptedDayGivesTheExpectedNumbers: a day of five tickets, published shuffled, gives exactly the
// hand-computed figures in every report; delivering every event again changes nothing; and a rebuild from
// the stream gives the same reports.
func TestAScriptedDayGivesTheExpectedNumbers(t *testing.T) {
	t.Parallel()
	s := start(t)
	evs := s.publishDay(t)
	s.awaitIngested(t, int64(len(evs)))
	r := s.reports(t)
	midnight := at(0, 0)

	require.EqualValues(t, 5, r.volume.GetTotal())
	require.Len(t, r.volume.GetRows(), 1)
	require.True(t, midnight.Equal(r.volume.GetRows()[0].GetRow().GetPeriodStart().AsTime()), "a Shanghai day")
	byChannel := map[string]int64{}
	for _, row := range r.volumeByChannel.GetRows() {
		byChannel[row.GetRow().GetKey()] = row.GetTickets()
	}
	require.Equal(t, map[string]int64{"web_chat": 3, "email": 1, "phone": 1}, byChannel)

	require.Len(t, r.timeliness.GetRows(), 1)
	frt, rt := r.timeliness.GetRows()[0].GetFirstResponse(), r.timeliness.GetRows()[0].GetResolution()
	// First responses: 10, 60, 30 and 5 minutes; resolutions (first): 2 h, 4 h, 35 min.
	require.EqualValues(t, 4, frt.GetCount())
	require.Equal(t, 26*time.Minute+15*time.Second, frt.GetMean().AsDuration())
	require.InEpsilon(t, (10 * time.Minute).Seconds(), frt.GetP50().AsDuration().Seconds(), 0.025)
	require.InEpsilon(t, (60 * time.Minute).Seconds(), frt.GetP99().AsDuration().Seconds(), 0.025)
	require.EqualValues(t, 3, rt.GetCount())
	require.Equal(t, (120*time.Minute+240*time.Minute+35*time.Minute)/3, rt.GetMean().AsDuration())
	require.InEpsilon(t, (2 * time.Hour).Seconds(), rt.GetP50().AsDuration().Seconds(), 0.025)

	type slaFig struct{ tickets, breached, recovered, warnedBreached int64 }
	slaRows := map[eventsv1.SlaTarget]slaFig{}
	for _, row := range r.sla.GetRows() {
		slaRows[row.GetTarget()] = slaFig{row.GetTickets(), row.GetBreached(), row.GetWarnedRecovered(), row.GetWarnedBreached()}
	}
	require.Equal(t, map[eventsv1.SlaTarget]slaFig{fr: {3, 1, 1, 1}, res: {2, 0, 0, 0}}, slaRows)

	require.Len(t, r.satisfaction.GetRows(), 1)
	sat := r.satisfaction.GetRows()[0]
	require.Equal(t, []int64{1, 1, 1}, []int64{sat.GetSatisfied(), sat.GetNeutral(), sat.GetUnsatisfied()})
	require.InDelta(t, 1.0/3, sat.GetSatisfiedShare(), 1e-9)

	type load struct {
		assigned, resolved, open int64
		aht                      time.Duration
	}
	work := map[string]load{}
	for _, row := range r.workload.GetRows() {
		work[row.GetRow().GetKey()] = load{row.GetAssigned(), row.GetResolved(), row.GetOpen(), row.GetAverageHandlingTime().AsDuration()}
	}
	// T3 moved to a1, who now holds it; handling runs from its first assignment (to a2).
	require.Equal(t, map[string]load{
		a1: {3, 2, 1, (time.Hour + 58*time.Minute + 3*time.Hour + 55*time.Minute) / 2},
		a2: {1, 1, 0, 34 * time.Minute},
	}, work)

	// Business time: what the SLA clocks counted (10 min, 1 h and 0 for first responses; 2 h for T1's
	// resolution); tickets without those targets are not counted.
	frb, rb := r.timeliness.GetRows()[0].GetFirstResponseBusiness(), r.timeliness.GetRows()[0].GetResolutionBusiness()
	require.EqualValues(t, 3, frb.GetCount())
	require.Equal(t, (10*time.Minute+time.Hour)/3, frb.GetMean().AsDuration())
	require.EqualValues(t, 1, rb.GetCount())
	require.Equal(t, 2*time.Hour, rb.GetMean().AsDuration())

	requireTopIssues(t, r.topIssues)
	requireGrainsAgree(t, s, r)

	// Collaboration: T3's transfer (accepted after 5 minutes) and escalation, T5's reopen; the time in each
	// group of the resolved tickets (T2's stay in g1 still runs).
	require.Len(t, r.collaboration.GetRows(), 1)
	c := r.collaboration.GetRows()[0]
	require.Equal(t, []int64{5, 1, 1, 1, 1, 1, 1}, []int64{c.GetTickets(), c.GetTransfers(), c.GetTransferredTickets(),
		c.GetTransfersAccepted(), c.GetEscalations(), c.GetEscalatedTickets(), c.GetReopens()})
	require.Equal(t, 5*time.Minute, c.GetAverageAcceptanceWait().AsDuration())
	type stay struct {
		stays      int64
		avg, total time.Duration
	}
	stays := map[string]stay{}
	for _, g := range r.collaboration.GetGroupTimes() {
		stays[g.GetRow().GetKey()] = stay{g.GetStays(), g.GetAverageTime().AsDuration(), g.GetTotalTime().AsDuration()}
	}
	require.Equal(t, map[string]stay{
		g1: {2, (time.Hour + 58*time.Minute + 3*time.Hour) / 2, time.Hour + 58*time.Minute + 3*time.Hour}, // T1, T3 after its transfer
		g2: {2, (55*time.Minute + 34*time.Minute) / 2, 55*time.Minute + 34*time.Minute},                   // T3 before it, T5
	}, stays)

	// The week's summary: Monday 23 November to Monday 30 November in Shanghai, the week before empty.
	sum := r.summary
	require.True(t, at(0, 0).Equal(sum.GetCurrent().GetStartTime().AsTime()))
	require.True(t, at(0, 0).AddDate(0, 0, 7).Equal(sum.GetCurrent().GetEndTime().AsTime()))
	require.True(t, at(0, 0).AddDate(0, 0, -7).Equal(sum.GetPrevious().GetStartTime().AsTime()))
	require.Equal(t, []int64{5, 3, 1, 1, 1, 1, 1, 1, 1}, []int64{sum.GetCurrent().GetTickets(), sum.GetCurrent().GetSlaTickets(),
		sum.GetCurrent().GetBreachedTickets(), sum.GetCurrent().GetSatisfied(), sum.GetCurrent().GetNeutral(),
		sum.GetCurrent().GetUnsatisfied(), sum.GetCurrent().GetTransfers(), sum.GetCurrent().GetEscalations(), sum.GetCurrent().GetReopens()})
	require.InDelta(t, 1.0/3, sum.GetCurrent().GetBreachRate(), 1e-9)
	require.True(t, proto.Equal(frt, sum.GetCurrent().GetFirstResponse()), "the summary's timeliness is the report's")
	require.Zero(t, sum.GetPrevious().GetTickets())
	require.Len(t, sum.GetVolumeByChannel(), 3)
	require.True(t, proto.Equal(r.topIssues, sum.GetTopIssues()))
	groups := map[string]int64{}
	for _, w := range sum.GetWorkloadByGroup() {
		groups[w.GetRow().GetKey()] = w.GetAssigned()
	}
	require.Equal(t, map[string]int64{g1: 3, g2: 1}, groups)

	requireExports(t, s)

	// Every event delivered again (the consumer reset to the start of the stream), and one published again
	// under another id (as a relay would after JetStream's duplicate window): none is counted twice, the
	// ticket events by their sequences, the others by the inbox.
	require.NoError(t, s.js.DeleteConsumer(t.Context(), events.StreamName, "analytics-events"))
	marker := event{id: uuid.NewString(), subject: "kefu.routing.group_changed", ticket: g2, seq: 1, at: at(8, 0),
		body: &eventsv1.RoutingGroupChanged{GroupId: g2}}
	var escalation event
	for _, e := range evs {
		if e.subject == "kefu.ticket.escalated" {
			escalation = e
		}
	}
	escalation.id = uuid.NewString()
	s.stop()
	s.serve(t)
	s.publish(t, escalation)
	s.publish(t, marker)
	s.awaitIngested(t, int64(len(evs))+1)
	requireSameReports(t, r, s.reports(t))

	// Rebuild: the projections dropped, the stream replayed from its start, the same numbers.
	s.stop()
	require.NoError(t, analytics.Rebuild(t.Context(), s.cfg, logging.Discard()))
	s.serve(t)
	s.awaitIngested(t, int64(len(evs))+1)
	requireSameReports(t, r, s.reports(t))

	// Projections of an older version (an upgrade): the service rebuilds them from the stream by itself.
	s.stop()
	conn, err := pgx.Connect(t.Context(), s.cfg.MigrateDatabaseURL)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `UPDATE analytics.ingest_stats SET projection_version = 1, events = events + 1000`)
	require.NoError(t, err)
	s.serve(t)
	s.awaitIngested(t, int64(len(evs))+1)
	requireSameReports(t, r, s.reports(t))
	var version int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT projection_version FROM analytics.ingest_stats`).Scan(&version))
	require.Equal(t, facts.ProjectionVersion, version)
	require.NoError(t, conn.Close(t.Context()))
}

// TestReplicasAndConcurrentBatchesGiveTheSameNumbers: the scripted day ingested by two replicas at once,
// each applying three batches of three events at a time (so a ticket's events are planned on states
// other batches have not committed yet, and replanned when another replica wrote first), gives exactly the
// reports of one replica applying one batch at a time.
func TestReplicasAndConcurrentBatchesGiveTheSameNumbers(t *testing.T) {
	t.Parallel()
	one := start(t, func(c *analytics.Config) { c.IngestConcurrency = 1 })
	evs := one.publishDay(t)
	one.awaitIngested(t, int64(len(evs)))
	want := one.reports(t)

	two := start(t, func(c *analytics.Config) { c.BatchSize, c.IngestConcurrency = 3, 3 })
	(&stack{nats: two.nats, js: two.js, cfg: two.cfg}).serve(t)
	two.publishDay(t)
	two.awaitIngested(t, int64(len(evs)))
	requireSameReports(t, want, two.reports(t))
}

func requireSameReports(t *testing.T, want, got reports) {
	t.Helper()
	for _, pair := range [][2]proto.Message{{want.volume, got.volume}, {want.volumeByChannel, got.volumeByChannel},
		{want.timeliness, got.timeliness}, {want.sla, got.sla}, {want.satisfaction, got.satisfaction}, {want.workload, got.workload},
		{want.topIssues, got.topIssues}, {want.collaboration, got.collaboration}, {want.summary, got.summary}} {
		require.True(t, proto.Equal(pair[0], pair[1]), "want %v\ngot  %v", pair[0], pair[1])
	}
}

// TestReportRequestsAreValidated: bad ranges, zones and breakdowns are InvalidArgument naming the field;
// agents cannot read reports.
func TestReportRequestsAreValidated(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), supervisorP, "supervisor")
	now := time.Now()
	for _, tc := range []struct {
		req   *analyticsv1.GetVolumeReportRequest
		field string
	}{
		{&analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))}, "end_time"},
		{&analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now.AddDate(-2, 0, 0)), EndTime: timestamppb.New(now)}, "end_time"},
		{&analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now.AddDate(0, 0, -7).Add(-time.Hour)), EndTime: timestamppb.New(now),
			Granularity: analyticsv1.Granularity_GRANULARITY_HOUR}, "end_time"},
		{&analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(time.Hour)), TimeZone: "Mars/Olympus"}, "time_zone"},
		{&analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(time.Hour)), GroupBy: analyticsv1.Dimension_DIMENSION_AGENT}, "group_by"},
	} {
		_, err := s.client.GetVolumeReport(ctx, tc.req)
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.Contains(t, status.Convert(err).Message(), tc.field)
	}
	_, err := s.client.GetVolumeReport(as(t.Context(), "staff:agent-1", "agent"), &analyticsv1.GetVolumeReportRequest{
		StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(time.Hour))})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

// requireTopIssues checks the day's rankings: subcategories by tickets (ties by code) and by breaches, and
// the complaint topics with their labels.
func requireTopIssues(t *testing.T, top *analyticsv1.GetTopIssuesReportResponse) {
	t.Helper()
	require.EqualValues(t, 5, top.GetTickets())
	type issue struct {
		typ               intakev1.TicketType
		sub               string
		tickets, breached int64
	}
	issues := func(cs []*analyticsv1.IssueCount) []issue {
		var out []issue
		for _, c := range cs {
			out = append(out, issue{c.GetType(), c.GetSubcategory(), c.GetTickets(), c.GetBreached()})
		}
		return out
	}
	complaint, inquiry := intakev1.TicketType_TICKET_TYPE_COMPLAINT, intakev1.TicketType_TICKET_TYPE_INQUIRY
	require.Equal(t, []issue{{complaint, "logistics", 2, 1}, {inquiry, "order_status", 2, 0},
		{intakev1.TicketType_TICKET_TYPE_REQUEST, "return_exchange", 1, 0}}, issues(top.GetByVolume()))
	require.Equal(t, []issue{{complaint, "logistics", 2, 1}}, issues(top.GetByBreaches()))
	require.InDelta(t, 0.5, top.GetByBreaches()[0].GetBreachRate(), 1e-9)
	var topics []string
	for _, c := range top.GetTopics() {
		topics = append(topics, fmt.Sprintf("%s:%d", c.GetTopic(), c.GetTickets()))
		require.NotEmpty(t, c.GetLabelZh(), c.GetTopic())
		require.NotEmpty(t, c.GetLabelEn(), c.GetTopic())
	}
	require.Equal(t, []string{"delivery_delay:2", "no_response:1", "staff_attitude:1"}, topics)
	require.InDelta(t, 0.4, top.GetTopics()[0].GetShare(), 1e-9)
}

// requireExports checks the CSV exports: a byte-order mark, a header and the report's figures.
func requireExports(t *testing.T, s *stack) {
	t.Helper()
	ctx := as(t.Context(), supervisorP, "supervisor")
	from, to := timestamppb.New(at(0, 0)), timestamppb.New(at(0, 0).AddDate(0, 0, 1))
	body, err := s.client.ExportReport(ctx, &analyticsv1.ExportReportRequest{Report: "volume", StartTime: from, EndTime: to,
		GroupBy: analyticsv1.Dimension_DIMENSION_CHANNEL})
	require.NoError(t, err)
	require.Equal(t, "text/csv; charset=utf-8", body.GetContentType())
	require.Equal(t, "\ufeffperiod_start,key,tickets\n2026-11-23T00:00:00+08:00,email,1\n"+
		"2026-11-23T00:00:00+08:00,phone,1\n2026-11-23T00:00:00+08:00,web_chat,3\n", string(body.GetData()))

	body, err = s.client.ExportReport(ctx, &analyticsv1.ExportReportRequest{Report: "top_issues", StartTime: from, EndTime: to, Limit: 1})
	require.NoError(t, err)
	lines := strings.Split(string(body.GetData()), "\n")
	require.Len(t, lines, 5, "a header, one line of each ranking and the final newline")
	require.Equal(t, []string{"\ufeffranking,rank,type,code,label_zh,label_en,tickets,breached,rate",
		"by_volume,1,complaint,logistics,,,2,1,0.5000", "by_breaches,1,complaint,logistics,,,2,1,0.5000"}, lines[:3])
	require.Regexp(t, `^topics,1,,delivery_delay,[^,]+,[^,]+,2,,0\.4000$`, lines[3])

	body, err = s.client.ExportReport(ctx, &analyticsv1.ExportReportRequest{Report: "summary",
		Period: analyticsv1.SummaryPeriod_SUMMARY_PERIOD_WEEK, PeriodTime: timestamppb.New(at(12, 0))})
	require.NoError(t, err)
	require.Contains(t, string(body.GetData()), "figures,,tickets,5,0\n")
	require.Contains(t, string(body.GetData()), "figures,,breach_rate,0.3333,0.0000\n")

	for _, tc := range []struct {
		req   *analyticsv1.ExportReportRequest
		field string
	}{
		{&analyticsv1.ExportReportRequest{Report: "volume", EndTime: to}, "start_time"},
		{&analyticsv1.ExportReportRequest{Report: "summary"}, "period"},
		{&analyticsv1.ExportReportRequest{Report: "everything", StartTime: from, EndTime: to}, "report"},
	} {
		_, err := s.client.ExportReport(ctx, tc.req)
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.Contains(t, status.Convert(err).Message(), tc.field)
	}
}

// requireGrainsAgree reads the day again in ways the day rollups cannot answer alone — a range that starts
// and ends mid-day (hours at both ends), another time zone, hour periods, a filter and a breakdown on two
// dimensions — and finds the same figures as the reports read from the day rollups.
func requireGrainsAgree(t *testing.T, s *stack, r reports) {
	t.Helper()
	ctx := as(t.Context(), supervisorP, "supervisor")
	day := analyticsv1.Granularity_GRANULARITY_DAY
	from, to := timestamppb.New(at(0, 0).Add(-90*time.Minute)), timestamppb.New(at(0, 0).AddDate(0, 0, 1).Add(90*time.Minute))
	tl, err := s.client.GetTimelinessReport(ctx, &analyticsv1.GetTimelinessReportRequest{StartTime: from, EndTime: to, Granularity: day})
	require.NoError(t, err)
	require.True(t, proto.Equal(r.timeliness, tl), "want %v\ngot  %v", r.timeliness, tl)
	utc, err := s.client.GetTimelinessReport(ctx, &analyticsv1.GetTimelinessReportRequest{StartTime: from, EndTime: to, Granularity: day,
		TimeZone: "UTC"})
	require.NoError(t, err)
	require.Len(t, utc.GetRows(), 1, "the day's tickets fall on one UTC day too")
	want := proto.Clone(r.timeliness.GetRows()[0]).(*analyticsv1.TimelinessRow)
	want.Row = utc.GetRows()[0].GetRow()
	require.True(t, proto.Equal(want, utc.GetRows()[0]), "want %v\ngot  %v", want, utc.GetRows()[0])
	hours, err := s.client.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: from, EndTime: to,
		Granularity: analyticsv1.Granularity_GRANULARITY_HOUR})
	require.NoError(t, err)
	require.EqualValues(t, 5, hours.GetTotal())
	require.Len(t, hours.GetRows(), 4, "09:00 has two tickets; 10:00, 14:00 and 20:00 one each")
	chat, err := s.client.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: from, EndTime: to, Granularity: day,
		Filter:  &analyticsv1.ReportFilter{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}},
		GroupBy: analyticsv1.Dimension_DIMENSION_SUBCATEGORY})
	require.NoError(t, err)
	bySub := map[string]int64{}
	for _, row := range chat.GetRows() {
		bySub[row.GetRow().GetKey()] = row.GetTickets()
	}
	require.Equal(t, map[string]int64{"logistics": 2, "return_exchange": 1}, bySub, "a pair the day rollups keep")
	byUrgency, err := s.client.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: from, EndTime: to, Granularity: day,
		Filter:  &analyticsv1.ReportFilter{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}},
		GroupBy: analyticsv1.Dimension_DIMENSION_URGENCY})
	require.NoError(t, err)
	urg := map[string]int64{}
	for _, row := range byUrgency.GetRows() {
		urg[row.GetRow().GetKey()] = row.GetTickets()
	}
	require.Equal(t, map[string]int64{"urgent": 2, "normal": 1}, urg, "T5 raised to urgent; a pair only the hourly rows of every dimension answer")

	// Workload by subcategory and time in groups under a filter, read from the day rollups in the business
	// zone and from the hourly rows in UTC, agree; so do the top issues under a filter with the script.
	sub := &analyticsv1.ReportFilter{Subcategories: []string{"logistics"}}
	norm := &analyticsv1.ReportFilter{Urgencies: []intakev1.Urgency{intakev1.Urgency_URGENCY_NORMAL}}
	for _, zone := range []string{"", "UTC"} {
		w, err := s.client.GetWorkloadReport(ctx, &analyticsv1.GetWorkloadReportRequest{StartTime: from, EndTime: to, Granularity: day,
			TimeZone: zone, Filter: sub})
		require.NoError(t, err)
		require.Len(t, w.GetRows(), 1, zone)
		require.Equal(t, a1, w.GetRows()[0].GetRow().GetKey(), zone)
		require.Equal(t, []int64{2, 1, 1}, []int64{w.GetRows()[0].GetAssigned(), w.GetRows()[0].GetResolved(), w.GetRows()[0].GetOpen()}, zone)
		c, err := s.client.GetCollaborationReport(ctx, &analyticsv1.GetCollaborationReportRequest{StartTime: from, EndTime: to,
			Granularity: day, TimeZone: zone, Filter: norm})
		require.NoError(t, err)
		stays := map[string][2]int64{}
		for _, g := range c.GetGroupTimes() {
			stays[g.GetRow().GetKey()] = [2]int64{g.GetStays(), int64(g.GetTotalTime().AsDuration() / time.Minute)}
		}
		// Normal now: T3 (g2 55 min, then g1 3 h) and T2 (still in g1); T5 was raised to urgent.
		require.Equal(t, map[string][2]int64{g1: {1, 180}, g2: {1, 55}}, stays, zone)
	}
	top, err := s.client.GetTopIssuesReport(ctx, &analyticsv1.GetTopIssuesReportRequest{StartTime: from, EndTime: to,
		Filter: &analyticsv1.ReportFilter{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}}})
	require.NoError(t, err)
	require.Len(t, top.GetByVolume(), 2)
	require.Equal(t, []any{"logistics", int64(2), int64(1)}, []any{top.GetByVolume()[0].GetSubcategory(), top.GetByVolume()[0].GetTickets(),
		top.GetByVolume()[0].GetBreached()})
	require.Equal(t, []any{"return_exchange", int64(1)}, []any{top.GetByVolume()[1].GetSubcategory(), top.GetByVolume()[1].GetTickets()})
}
