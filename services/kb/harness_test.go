package kb_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
	"kefu.dev/services/kb"
)

// wait bounds every Eventually here: generous for a loaded two-core CI machine, never slept.
const wait = 30 * time.Second

// testStart is when the test tokens start to be valid: before every fake clock of these tests.
var testStart = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// t0 is when every stack's clocks start.
var t0 = time.Date(2026, 10, 12, 2, 0, 0, 0, time.UTC)

// Principals the tests act as.
const (
	adminP     = "staff:admin-1"
	supervisor = "staff:00000000-0000-4000-8000-0000000000b1"
	agentID    = "00000000-0000-4000-8000-0000000000a1"
	agentP     = "staff:" + agentID
	auditorP   = "staff:auditor-1"
	adapterP   = "adapter:web-form"
	kbSvc      = "service:kb"
)

func creds() *testkit.Credentials {
	return testkit.NewCredentials(testStart, adapterP, kbSvc)
}

// as calls as principal p; staff get the roles given (admin when none).
func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

// agentIn calls as the agent, member of groups.
func agentIn(ctx context.Context, groups ...string) context.Context {
	tok, err := creds().Issuer.Mint(auth.StaffToken{Subject: agentID, Roles: []string{auth.RoleAgent}, Groups: groups,
		Now: testStart, TTL: 365 * 24 * time.Hour})
	if err != nil {
		panic(err)
	}
	return metadata.AppendToOutgoingContext(ctx, auth.AuthorizationKey, "Bearer "+tok)
}

var allChannels = []string{"web_chat", "phone", "email", "app", "sms", "store", "wechat", "social", "mini_program"}

// stack is intake and kb on real listeners, each with its own database, sharing one NATS server, both on
// fake clocks starting at t0.
type stack struct {
	intake      intakev1.IntakeServiceClient
	kb          kbv1.KbServiceClient
	intakeClock *clock.Fake
	clock       *clock.Fake
}

// start runs intake (without the customer service: submits keep the adapter's customer id) and kb.
func start(t *testing.T) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	s := &stack{intakeClock: clock.NewFake(t0), clock: clock.NewFake(t0)}

	intakeDB := testkit.NewDB(t, "intake", intake.Migrations()...)
	creds().InsertKeys(t, intakeDB, allChannels)
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.NATSURL, icfg.Migrate, icfg.Clock = intakeDB.RuntimeURL, ns.ClientURL(), false, s.intakeClock
	icfg.DBMaxConns, icfg.ShutdownTimeout, icfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	intakeLis := listen(t)
	runUntilCleanup(t, "intake", func(ctx context.Context) error { return intake.Serve(ctx, icfg, logging.Discard(), intakeLis) })
	s.intake = intakev1.NewIntakeServiceClient(dial(t, intakeLis.Addr().String()))

	kbDB := testkit.NewDB(t, "kb", kb.Migrations()...)
	creds().InsertKeys(t, kbDB, nil)
	cfg := kb.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate, cfg.Clock = kbDB.RuntimeURL, ns.ClientURL(), false, s.clock
	cfg.DBMaxConns, cfg.ShutdownTimeout, cfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	cfg.IntakeAddr, cfg.IntakeAPIKey = intakeLis.Addr().String(), creds().Key(kbSvc)
	kbLis := listen(t)
	runUntilCleanup(t, "kb", func(ctx context.Context) error { return kb.Serve(ctx, cfg, logging.Discard(), kbLis) })
	s.kb = kbv1.NewKbServiceClient(dial(t, kbLis.Addr().String()))
	testkit.EventuallyNoError(t, func() error {
		_, err := s.kb.ListArticles(as(t.Context(), adminP), &kbv1.ListArticlesRequest{})
		return err
	}, wait)
	testkit.EventuallyNoError(t, func() error {
		_, err := s.intake.ListSubcategories(as(t.Context(), adminP), &intakev1.ListSubcategoriesRequest{})
		return err
	}, wait)
	return s
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

// submit submits a ticket as the adapter on web chat and returns it.
func (s *stack) submit(t *testing.T, typ intakev1.TicketType, subcategory, subject, description string) *intakev1.Ticket {
	t.Helper()
	resp, err := s.intake.SubmitTicket(as(t.Context(), adapterP), &intakev1.SubmitTicketRequest{
		IdempotencyKey: uuid.NewString(), Channel: intakev1.Channel_CHANNEL_WEB_CHAT,
		ReceivedTime: timestamppb.New(s.intakeClock.Now()), Subject: subject, Description: description,
		TypeHint: typ, SubcategoryHint: subcategory,
	})
	require.NoError(t, err)
	return resp.GetTicket()
}

// assign puts a ticket in a group (as an admin).
func (s *stack) assign(t *testing.T, ticketID, group string) {
	t.Helper()
	_, err := s.intake.AssignTicket(as(t.Context(), adminP), &intakev1.AssignTicketRequest{TicketId: ticketID, GroupId: group})
	require.NoError(t, err)
}

// article creates an article as the supervisor and publishes it unless draft.
func (s *stack) article(t *testing.T, a *kbv1.Article, draft bool) *kbv1.Article {
	t.Helper()
	ctx := as(t.Context(), supervisor, auth.RoleSupervisor)
	resp, err := s.kb.CreateArticle(ctx, &kbv1.CreateArticleRequest{IdempotencyKey: uuid.NewString(), Article: a})
	require.NoError(t, err)
	if draft {
		return resp.GetArticle()
	}
	pub, err := s.kb.PublishArticle(ctx, &kbv1.PublishArticleRequest{ArticleId: resp.GetArticle().GetArticleId()})
	require.NoError(t, err)
	return pub.GetArticle()
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// requireCode asserts err has code c.
func requireCode(t *testing.T, err error, c codes.Code) *status.Status {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, c, st.Code(), "message: %s", st.Message())
	return st
}

// badFields returns the BadRequest field violations of an error.
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

// errorInfo returns the ErrorInfo detail of an error, if any.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
