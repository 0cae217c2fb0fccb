package routing_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
	"kefu.dev/services/routing"
	"kefu.dev/services/routing/internal/store"
)

// wait bounds every Eventually here: generous for a loaded two-core CI machine, never slept.
const wait = 30 * time.Second

// testStart is when the test tokens start to be valid: both services run on the real clock (routing's
// decisions race real time, which is the point of these tests).
var testStart = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)

// Principals the tests act as.
const (
	adminP   = "staff:admin-1"
	adapterP = "adapter:web-form"
	routingP = "service:routing"
	intakeP  = "service:intake"
)

func creds() *testkit.Credentials {
	return testkit.NewCredentials(testStart, adapterP, "adapter:phone-ivr", routingP, intakeP)
}

// as calls as principal p; staff get the roles given (admin when none).
func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

// stack is intake and routing (one or more replicas) on real listeners, each service with its own
// database, sharing one NATS server.
type stack struct {
	intake    intakev1.IntakeServiceClient
	incidents intakev1.IncidentServiceClient
	routing   routingv1.RoutingServiceClient
	intakeDB  *testkit.DB
	routingDB *testkit.DB
	nats      *natsembed.Server
	cfg       routing.Config
	// batchFailures counts the replicas' "event batch failed" lines: batches that fell back to one event
	// at a time.
	batchFailures *lineCounter
}

// lineCounter is a slog handler that drops every record and counts those with message msg.
type lineCounter struct {
	msg string
	n   atomic.Int64
}

func (c *lineCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (c *lineCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == c.msg {
		c.n.Add(1)
	}
	return nil
}
func (c *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *lineCounter) WithGroup(string) slog.Handler      { return c }

// start runs intake and one routing replica. Intake takes staff members' groups from routing, as the dev
// stack and compose run it.
func start(t *testing.T, opts ...func(*routing.Config)) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	s := &stack{nats: ns, batchFailures: &lineCounter{msg: "event batch failed; applying its events one at a time"}}
	s.intakeDB = testkit.NewDB(t, "intake", intake.Migrations()...)
	creds().InsertKeys(t, s.intakeDB, []string{"web_chat", "phone", "email", "app"})
	routingLis := listen(t)
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.NATSURL, icfg.Migrate = s.intakeDB.RuntimeURL, ns.ClientURL(), false
	icfg.DBMaxConns, icfg.ShutdownTimeout, icfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	icfg.RoutingAddr, icfg.RoutingAPIKey = routingLis.Addr().String(), creds().Key(intakeP)
	lis := listen(t)
	runUntilCleanup(t, "intake", func(ctx context.Context) error { return intake.Serve(ctx, icfg, logging.Discard(), lis) })
	intakeConn := dial(t, lis.Addr().String())
	s.intake, s.incidents = intakev1.NewIntakeServiceClient(intakeConn), intakev1.NewIncidentServiceClient(intakeConn)

	s.routingDB = testkit.NewDB(t, store.Schema, routing.Migrations()...)
	creds().InsertKeys(t, s.routingDB, nil)
	cfg := routing.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate = s.routingDB.RuntimeURL, ns.ClientURL(), false
	cfg.IntakeAddr, cfg.IntakeAPIKey = lis.Addr().String(), creds().Key(routingP)
	cfg.DBMaxConns, cfg.ShutdownTimeout, cfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s.cfg = cfg
	s.routing = s.replicaOn(t, routingLis)
	testkit.EventuallyNoError(t, func() error {
		_, err := s.intake.ListSubcategories(as(t.Context(), adminP), &intakev1.ListSubcategoriesRequest{})
		return err
	}, wait)
	return s
}

// replica starts one more routing.Serve on the stack's database and returns its client.
func (s *stack) replica(t *testing.T) routingv1.RoutingServiceClient {
	t.Helper()
	return s.replicaOn(t, listen(t))
}

// replicaOn is replica on lis.
func (s *stack) replicaOn(t *testing.T, lis net.Listener) routingv1.RoutingServiceClient {
	t.Helper()
	cfg := s.cfg
	runUntilCleanup(t, "routing", func(ctx context.Context) error { return routing.Serve(ctx, cfg, slog.New(s.batchFailures), lis) })
	c := routingv1.NewRoutingServiceClient(dial(t, lis.Addr().String()))
	testkit.EventuallyNoError(t, func() error {
		_, err := c.ListGroups(as(t.Context(), adminP), &routingv1.ListGroupsRequest{})
		return err
	}, wait)
	return c
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return lis
}

// runUntilCleanup runs serve until the test ends, then cancels it and waits for it to return.
func runUntilCleanup(t *testing.T, name string, serve func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	t.Cleanup(func() {
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

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// group returns the group with code.
func (s *stack) group(t *testing.T, code string) *routingv1.Group {
	t.Helper()
	resp, err := s.routing.ListGroups(as(t.Context(), adminP), &routingv1.ListGroupsRequest{})
	require.NoError(t, err)
	for _, g := range resp.GetGroups() {
		if g.GetCode() == code {
			return g
		}
	}
	t.Fatalf("no group %s", code)
	return nil
}

// newGroup creates a group with strategy.
func (s *stack) newGroup(t *testing.T, code string, strategy routingv1.Strategy) *routingv1.Group {
	t.Helper()
	resp, err := s.routing.CreateGroup(as(t.Context(), adminP), &routingv1.CreateGroupRequest{
		Group: &routingv1.Group{Code: code, DisplayName: code, Strategy: strategy}})
	require.NoError(t, err)
	return resp.GetGroup()
}

// updateGroup reads group id's current etag and changes the fields in paths to those of change.
func (s *stack) updateGroup(t *testing.T, id string, change *routingv1.Group, paths ...string) *routingv1.Group {
	t.Helper()
	cur, err := s.routing.GetGroup(as(t.Context(), adminP), &routingv1.GetGroupRequest{GroupId: id})
	require.NoError(t, err)
	change.GroupId, change.Etag = id, cur.GetGroup().GetEtag()
	resp, err := s.routing.UpdateGroup(as(t.Context(), adminP), &routingv1.UpdateGroupRequest{Group: change, UpdateMask: mask(paths...)})
	require.NoError(t, err)
	return resp.GetGroup()
}

// agentSpec describes an agent to create.
type agentSpec struct {
	groups    []*routingv1.Group
	capacity  int32
	seniority routingv1.Seniority
	skills    []string
	offline   bool
}

// newAgent creates an agent (online unless spec.offline) and returns their id.
func (s *stack) newAgent(t *testing.T, name string, spec agentSpec) string {
	t.Helper()
	a := &routingv1.Agent{AgentId: uuid.NewString(), DisplayName: name, Capacity: spec.capacity, Seniority: spec.seniority,
		Skills: spec.skills}
	for _, g := range spec.groups {
		a.GroupIds = append(a.GroupIds, g.GetGroupId())
	}
	_, err := s.routing.CreateAgent(as(t.Context(), adminP), &routingv1.CreateAgentRequest{Agent: a})
	require.NoError(t, err)
	if !spec.offline {
		s.presence(t, a.GetAgentId(), routingv1.Presence_PRESENCE_ONLINE)
	}
	return a.GetAgentId()
}

func (s *stack) presence(t *testing.T, agent string, p routingv1.Presence) {
	t.Helper()
	_, err := s.routing.SetPresence(as(t.Context(), adminP), &routingv1.SetPresenceRequest{AgentId: agent, Presence: p})
	require.NoError(t, err)
}

// ticket describes a ticket to submit.
type ticket struct {
	typ         intakev1.TicketType
	subcategory string
	level       intakev1.ComplaintLevel
	urgency     intakev1.Urgency
	text        string
}

// request is the web form's submission of tk.
func (tk ticket) request() *intakev1.SubmitTicketRequest {
	text := tk.text
	if text == "" {
		text = "请帮我看一下这个问题"
	}
	return &intakev1.SubmitTicketRequest{
		IdempotencyKey: "submit-" + uuid.NewString(), Channel: intakev1.Channel_CHANNEL_WEB_CHAT,
		ReceivedTime: timestamppb.Now(), Description: text, TypeHint: tk.typ, SubcategoryHint: tk.subcategory,
		LevelHint: tk.level, UrgencyHint: tk.urgency}
}

// submit submits a ticket through the web form adapter and returns its id.
func (s *stack) submit(t *testing.T, tk ticket) string {
	t.Helper()
	resp, err := s.intake.SubmitTicket(as(t.Context(), adapterP), tk.request())
	require.NoError(t, err)
	return resp.GetTicket().GetTicketId()
}

// get reads a ticket at intake.
func (s *stack) get(t *testing.T, id string) *intakev1.Ticket {
	t.Helper()
	resp, err := s.intake.GetTicket(as(t.Context(), adminP), &intakev1.GetTicketRequest{TicketId: id})
	require.NoError(t, err)
	return resp.GetTicket()
}

// awaitAssigned waits until intake shows the ticket assigned to an agent and returns the ticket.
func (s *stack) awaitAssigned(t *testing.T, id string) *intakev1.Ticket {
	t.Helper()
	var tk *intakev1.Ticket
	testkit.EventuallyNoError(t, func() error {
		tk = s.get(t, id)
		if tk.GetAssigneeId() == "" {
			return fmt.Errorf("ticket %s is not assigned yet (group %q)", id, tk.GetGroupId())
		}
		return nil
	}, wait)
	return tk
}

// awaitQueued waits until routing has the ticket queued in group.
func (s *stack) awaitQueued(t *testing.T, id, group string) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		var state, g string
		err := s.routingDB.Pool.QueryRow(t.Context(), `SELECT state, coalesce(group_id::text, '') FROM routed_tickets
			WHERE ticket_id = $1`, id).Scan(&state, &g)
		if err != nil {
			return err
		}
		if state != store.StateQueued || g != group {
			return fmt.Errorf("ticket %s is %s in %q", id, state, g)
		}
		return nil
	}, wait)
}

// settle waits until routing has applied every ticket event and told intake every decision: no
// dispatch pending and the consumer has nothing outstanding.
func (s *stack) settle(t *testing.T) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		var pending, unpublished int
		if err := s.routingDB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM dispatches`).Scan(&pending); err != nil {
			return err
		}
		if err := s.intakeDB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unpublished); err != nil {
			return err
		}
		if pending > 0 || unpublished > 0 {
			return fmt.Errorf("%d dispatches pending, %d intake events unpublished", pending, unpublished)
		}
		return nil
	}, wait)
}

func requireCode(t *testing.T, err error, c codes.Code) *status.Status {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, c, st.Code(), "message: %s", st.Message())
	return st
}

func badFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
