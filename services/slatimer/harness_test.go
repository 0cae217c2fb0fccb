package slatimer_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
	"kefu.dev/services/slatimer"
	"kefu.dev/services/slatimer/internal/store"
)

// wait bounds every Eventually here: generous for a loaded two-core CI machine, never slept.
const wait = 30 * time.Second

// testStart is when the test tokens start to be valid: the services run on the real clock (timers race
// real time, which is the point of these tests).
var testStart = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)

// Principals the tests act as.
const (
	adminP   = "staff:admin-1"
	agentP   = "staff:00000000-0000-4000-8000-0000000000a1"
	adapterP = "adapter:web-form"
)

// testGroup is the group tickets are assigned to.
const testGroup = "00000000-0000-4000-8000-0000000000f1"

func creds() *testkit.Credentials { return testkit.NewCredentials(testStart, adapterP) }

// as calls as principal p; staff get the roles given (admin when none).
func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

// stack is intake and the SLA service (one or more replicas) on real listeners, each with its own
// database, sharing one NATS server.
type stack struct {
	intake intakev1.IntakeServiceClient
	sla    slav1.SlaServiceClient
	slaDB  *testkit.DB
	nats   *natsembed.Server
	cfg    slatimer.Config
	// stop stops the first replica (startStoppable only).
	stop func()
	// clock is the time of intake and every SLA replica (startAt only); nil: the real clock.
	clock *clock.Fake
}

// start runs intake and one SLA replica.
func start(t *testing.T) *stack { return startWith(t, false, nil) }

// startStoppable is start with a first replica the test can stop (s.stop).
func startStoppable(t *testing.T) *stack { return startWith(t, true, nil) }

// startAt is start with intake and every SLA replica on the fake clock clk: tests move time instead of
// waiting for it (hours-long progress reminders).
func startAt(t *testing.T, clk *clock.Fake) *stack { return startWith(t, false, clk) }

// startWith starts the stack; with stoppable, s.stop stops the first replica (tests then read the database
// and start another replica); with clk, intake and the SLA replicas tell time by it.
func startWith(t *testing.T, stoppable bool, clk *clock.Fake) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	s := &stack{nats: ns, clock: clk}
	intakeDB := testkit.NewDB(t, "intake", intake.Migrations()...)
	creds().InsertKeys(t, intakeDB, []string{"web_chat", "phone", "email", "app", "sms", "store", "wechat", "social", "mini_program"})
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.NATSURL, icfg.Migrate = intakeDB.RuntimeURL, ns.ClientURL(), false
	icfg.DBMaxConns, icfg.ShutdownTimeout, icfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	if clk != nil {
		icfg.Clock = clk
	}
	lis := listen(t)
	runUntilCleanup(t, "intake", func(ctx context.Context) error { return intake.Serve(ctx, icfg, logging.Discard(), lis) })
	s.intake = intakev1.NewIntakeServiceClient(dial(t, lis.Addr().String()))

	s.slaDB = testkit.NewDB(t, store.Schema, slatimer.Migrations()...)
	creds().InsertKeys(t, s.slaDB, nil)
	cfg := slatimer.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate = s.slaDB.RuntimeURL, ns.ClientURL(), false
	cfg.DBMaxConns, cfg.ShutdownTimeout, cfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	cfg.FireInterval = 100 * time.Millisecond
	if clk != nil {
		cfg.Clock = clk
	}
	s.cfg = cfg
	s.sla, s.stop = s.stoppableReplica(t)
	if !stoppable {
		s.stop = nil
	}
	testkit.EventuallyNoError(t, func() error {
		_, err := s.intake.ListSubcategories(as(t.Context(), adminP), &intakev1.ListSubcategoriesRequest{})
		return err
	}, wait)
	return s
}

// replica starts one more slatimer.Serve on the stack's database, until the test ends.
func (s *stack) replica(t *testing.T) slav1.SlaServiceClient {
	t.Helper()
	c, _ := s.stoppableReplica(t)
	return c
}

// stoppableReplica is replica with a function that stops it (and waits until it has).
func (s *stack) stoppableReplica(t *testing.T) (slav1.SlaServiceClient, func()) {
	t.Helper()
	lis := listen(t)
	cfg := s.cfg
	stop := runUntilCleanup(t, "slatimer", func(ctx context.Context) error { return slatimer.Serve(ctx, cfg, logging.Discard(), lis) })
	c := slav1.NewSlaServiceClient(dial(t, lis.Addr().String()))
	testkit.EventuallyNoError(t, func() error {
		_, err := c.ListPolicies(as(t.Context(), adminP), &slav1.ListPoliciesRequest{})
		return err
	}, wait)
	return c, stop
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return lis
}

// runUntilCleanup runs serve until the test ends or the returned stop is called, then cancels it and waits
// for it to return.
func runUntilCleanup(t *testing.T, name string, serve func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s.Serve: %v", name, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s.Serve did not stop within 30s", name)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// ticket describes a ticket to submit.
type ticket struct {
	channel intakev1.Channel
	typ     intakev1.TicketType
	level   intakev1.ComplaintLevel
	urgency intakev1.Urgency
}

// submit submits tk through the adapter and returns its id.
func (s *stack) submit(t *testing.T, tk ticket) string {
	t.Helper()
	if tk.channel == intakev1.Channel_CHANNEL_UNSPECIFIED {
		tk.channel = intakev1.Channel_CHANNEL_WEB_CHAT
	}
	sub := ""
	if tk.typ == intakev1.TicketType_TICKET_TYPE_COMPLAINT {
		sub = "service_attitude"
	}
	resp, err := s.intake.SubmitTicket(as(t.Context(), adapterP), &intakev1.SubmitTicketRequest{
		IdempotencyKey: "submit-" + uuid.NewString(), Channel: tk.channel, ReceivedTime: timestamppb.New(s.now()),
		Description: "请帮我看一下这个问题", TypeHint: tk.typ, SubcategoryHint: sub, LevelHint: tk.level, UrgencyHint: tk.urgency})
	require.NoError(t, err)
	return resp.GetTicket().GetTicketId()
}

// now is the stack's time: its fake clock's, else the real one.
func (s *stack) now() time.Time {
	if s.clock != nil {
		return s.clock.Now()
	}
	return time.Now()
}

// staff is the agent's context.
func staff(t *testing.T) context.Context { return as(t.Context(), agentP, "supervisor") }

// work assigns the ticket to the test agent and starts work on it.
func (s *stack) work(t *testing.T, id string) {
	t.Helper()
	_, err := s.intake.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: id, GroupId: testGroup,
		AssigneeId: agentP[len("staff:"):]})
	require.NoError(t, err)
	_, err = s.intake.StartWork(staff(t), &intakev1.StartWorkRequest{TicketId: id})
	require.NoError(t, err)
}

// reply adds an agent reply (asking the customer something when asks).
func (s *stack) reply(t *testing.T, id string, asks bool) {
	t.Helper()
	_, err := s.intake.AddReply(staff(t), &intakev1.AddReplyRequest{TicketId: id, RequestId: uuid.NewString(),
		Text: "您好，我们正在处理", AsksCustomer: asks})
	require.NoError(t, err)
}

// slaEvent is one kefu.sla.* event as written to the outbox.
type slaEvent struct {
	subject string
	ticket  string
	seq     int64
	payload []byte
}

// events returns the SLA events written for ticket (every ticket for ""), in sequence order.
func (s *stack) events(t *testing.T, ticket string) []slaEvent {
	t.Helper()
	rows, err := s.slaDB.Pool.Query(t.Context(), `SELECT subject, aggregate_id, aggregate_seq, payload FROM outbox
		WHERE subject LIKE 'kefu.sla.%' AND ($1 = '' OR aggregate_id = $1) ORDER BY aggregate_id, aggregate_seq`, ticket)
	require.NoError(t, err)
	defer rows.Close()
	var out []slaEvent
	for rows.Next() {
		var e slaEvent
		require.NoError(t, rows.Scan(&e.subject, &e.ticket, &e.seq, &e.payload))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

// subjects lists the events' subjects without the kefu.sla. prefix.
func subjects(es []slaEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.subject[len("kefu.sla."):]
	}
	return out
}

// awaitEvent waits until ticket has an SLA event on subject (kefu.sla.<event>) meeting match (nil: any)
// and decodes it into msg.
func (s *stack) awaitEvent(t *testing.T, ticket, event string, msg proto.Message, match func() bool) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		for _, e := range s.events(t, ticket) {
			if e.subject != "kefu.sla."+event {
				continue
			}
			require.NoError(t, proto.Unmarshal(e.payload, msg))
			if match == nil || match() {
				return nil
			}
		}
		return fmt.Errorf("ticket %s has no matching kefu.sla.%s yet: %v", ticket, event, subjects(s.events(t, ticket)))
	}, wait)
}

// ticketSLA reads a ticket's SLA, waiting until the service has seen the ticket.
func (s *stack) ticketSLA(t *testing.T, id string) *slav1.TicketSla {
	t.Helper()
	var out *slav1.TicketSla
	testkit.EventuallyNoError(t, func() error {
		resp, err := s.sla.GetTicketSla(as(t.Context(), adminP), &slav1.GetTicketSlaRequest{TicketId: id})
		if err != nil {
			return err
		}
		out = resp.GetSla()
		return nil
	}, wait)
	return out
}

// target returns the status of target in v.
func target(t *testing.T, v *slav1.TicketSla, target eventsv1.SlaTarget) *slav1.TargetStatus {
	t.Helper()
	for _, ts := range v.GetTargets() {
		if ts.GetTarget() == target {
			return ts
		}
	}
	t.Fatalf("ticket %s has no %s target: %v", v.GetTicketId(), target, v.GetTargets())
	return nil
}

// fastPolicy creates a policy for tickets of channel with second-level targets around the clock, so tests
// see warnings and breaches fire quickly.
func (s *stack) fastPolicy(t *testing.T, code string, channel intakev1.Channel, targets map[eventsv1.SlaTarget]time.Duration) *slav1.Policy {
	t.Helper()
	p := &slav1.Policy{Code: code, DisplayName: code, Enabled: true, Calendar: "24x7",
		Match:    &slav1.PolicyMatch{Channels: []intakev1.Channel{channel}},
		Warnings: []*slav1.Warning{{Point: &slav1.Warning_Percent{Percent: 50}}}}
	for _, tg := range []eventsv1.SlaTarget{eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, eventsv1.SlaTarget_SLA_TARGET_NEXT_RESPONSE,
		eventsv1.SlaTarget_SLA_TARGET_RESOLUTION, eventsv1.SlaTarget_SLA_TARGET_TRANSFER_ACCEPTANCE} {
		if d, ok := targets[tg]; ok {
			p.Targets = append(p.Targets, &slav1.PolicyTarget{Target: tg, Length: durationpb.New(d)})
		}
	}
	resp, err := s.sla.CreatePolicy(as(t.Context(), adminP), &slav1.CreatePolicyRequest{Policy: p})
	require.NoError(t, err)
	return resp.GetPolicy()
}

func requireCode(t *testing.T, err error, c codes.Code) *status.Status {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, c, st.Code(), "message: %s", st.Message())
	return st
}

// awaitApplied waits until the SLA service's consumer has taken event id (its inbox row).
func (s *stack) awaitApplied(t *testing.T, id string) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		var n int
		if err := s.slaDB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE event_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("event %s not applied yet", id)
		}
		return nil
	}, wait)
}
