package grpcx_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
)

// echoIntake answers GetTicket and ListTickets with the caller it was given, so a test sees what reached
// the handler; every other method is unimplemented.
type echoIntake struct {
	intakev1.UnimplementedIntakeServiceServer
}

func (echoIntake) GetTicket(ctx context.Context, req *intakev1.GetTicketRequest) (*intakev1.GetTicketResponse, error) {
	p, _ := auth.FromContext(ctx)
	return &intakev1.GetTicketResponse{Ticket: &intakev1.Ticket{TicketId: req.GetTicketId(), Description: p.String()}}, nil
}

func (echoIntake) ListTickets(context.Context, *intakev1.ListTicketsRequest) (*intakev1.ListTicketsResponse, error) {
	return &intakev1.ListTicketsResponse{}, nil
}

type authServer struct {
	cc  *grpc.ClientConn
	iss *auth.DevIssuer
}

func startAuthServer(t *testing.T, reflection bool) *authServer {
	t.Helper()
	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	v, err := iss.Verifier()
	require.NoError(t, err)
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Staff: v})
	require.NoError(t, err)
	s, err := grpcx.NewServer(grpcx.ServerOptions{Logger: logging.Discard(), Auth: a, Reflection: reflection})
	require.NoError(t, err)
	intakev1.RegisterIntakeServiceServer(s, echoIntake{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- grpcx.ServeUntil(ctx, s, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return &authServer{cc: cc, iss: iss}
}

func (s *authServer) as(t *testing.T, roles ...string) context.Context {
	t.Helper()
	tok, err := s.iss.Mint(auth.StaffToken{Subject: "staff-1", Roles: roles})
	require.NoError(t, err)
	return metadata.AppendToOutgoingContext(t.Context(), auth.AuthorizationKey, "Bearer "+tok)
}

const someTicket = "0190b5a0-0000-7000-8000-000000000001"

// TestChecksRunInOrder: authentication, then the method's permission, then validation, then the handler.
func TestChecksRunInOrder(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t, false)
	c := intakev1.NewIntakeServiceClient(s.cc)
	tests := []struct {
		name string
		ctx  context.Context
		id   string
		code codes.Code
	}{
		{"no credentials, bad request: unauthenticated first", t.Context(), "not-a-uuid", codes.Unauthenticated},
		{"a garbled credential", metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer x.y.z"), someTicket, codes.Unauthenticated},
		{"two credentials", metadata.AppendToOutgoingContext(s.as(t, auth.RoleAgent), "authorization", "Bearer x"), someTicket, codes.Unauthenticated},
		{"no role, bad request: permission before validation", s.as(t), "not-a-uuid", codes.PermissionDenied},
		{"an unknown role grants nothing", s.as(t, "root"), someTicket, codes.PermissionDenied},
		{"permitted, bad request: validation", s.as(t, auth.RoleAgent), "not-a-uuid", codes.InvalidArgument},
		{"permitted and valid: the handler runs", s.as(t, auth.RoleAgent), someTicket, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.GetTicket(tc.ctx, &intakev1.GetTicketRequest{TicketId: tc.id})
			require.Equal(t, tc.code, status.Code(err), "got %v", err)
			if tc.code == codes.OK {
				require.Equal(t, "staff:staff-1", resp.GetTicket().GetDescription(), "the handler sees the principal")
			}
		})
	}
}

// TestPermissionComesFromTheTable: a role reaches exactly the methods its grants name.
func TestPermissionComesFromTheTable(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t, false)
	c := intakev1.NewIntakeServiceClient(s.cc)
	_, err := c.ListTickets(s.as(t, auth.RoleAuditor), &intakev1.ListTicketsRequest{})
	require.NoError(t, err, "auditors list tickets")
	_, err = c.AssignTicket(s.as(t, auth.RoleAgent), &intakev1.AssignTicketRequest{TicketId: someTicket})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "agents do not assign")
	_, err = c.AssignTicket(s.as(t, auth.RoleSupervisor), &intakev1.AssignTicketRequest{TicketId: someTicket})
	require.NotEqual(t, codes.PermissionDenied, status.Code(err), "supervisors do")
	require.NotEqual(t, codes.Unauthenticated, status.Code(err))
}

// TestHealthIsOpenAndReflectionIsDevOnly: probes need no credentials; reflection exists only when asked
// for (dev), and then needs none either.
func TestHealthIsOpenAndReflectionIsDevOnly(t *testing.T) {
	t.Parallel()
	for _, dev := range []bool{false, true} {
		s := startAuthServer(t, dev)
		_, err := healthpb.NewHealthClient(s.cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		stream, err := reflectionpb.NewServerReflectionClient(s.cc).ServerReflectionInfo(t.Context())
		require.NoError(t, err)
		// Send returns io.EOF when the server has already ended the stream (refused it); the status comes
		// from Recv either way.
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); !errors.Is(err, io.EOF) {
			require.NoError(t, err)
		}
		resp, err := stream.Recv()
		if !dev {
			require.Equal(t, codes.Unimplemented, status.Code(err), "no reflection outside dev mode")
			continue
		}
		require.NoError(t, err)
		require.NotEmpty(t, resp.GetListServicesResponse().GetService())
	}
}

// TestServeRefusesAMethodWithoutADecision: ServeUntil does not start a server on which a registered method
// has no entry in the policy table (health's own methods are open).
func TestServeRefusesAMethodWithoutADecision(t *testing.T) {
	t.Parallel()
	s, err := grpcx.NewServer(grpcx.ServerOptions{Logger: logging.Discard()})
	require.NoError(t, err)
	require.NoError(t, s.CheckPolicy())
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "kefu.test.v1.Undecided", HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "DoIt", Handler: nil}},
	}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = grpcx.ServeUntil(t.Context(), s, lis, time.Second)
	require.ErrorContains(t, err, "/kefu.test.v1.Undecided/DoIt")
	_ = lis.Close()
}

// TestAnonymousIsTheBenchmarkBaselineOnly: without an authenticator every call is refused, unless the
// server was built with an anonymous principal, whose permissions still apply.
func TestAnonymousIsTheBenchmarkBaselineOnly(t *testing.T) {
	t.Parallel()
	serve := func(o grpcx.ServerOptions) intakev1.IntakeServiceClient {
		o.Logger = logging.Discard()
		s, err := grpcx.NewServer(o)
		require.NoError(t, err)
		intakev1.RegisterIntakeServiceServer(s, echoIntake{})
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- grpcx.ServeUntil(ctx, s, lis, time.Second) }()
		t.Cleanup(func() { cancel(); <-done })
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = cc.Close() })
		return intakev1.NewIntakeServiceClient(cc)
	}
	_, err := serve(grpcx.ServerOptions{}).GetTicket(t.Context(), &intakev1.GetTicketRequest{TicketId: someTicket})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "no authenticator, no anonymous: nobody gets in")

	c := serve(grpcx.ServerOptions{Anonymous: &auth.Principal{Kind: auth.KindService, ID: "bench", Roles: []string{auth.RoleAuditor}}})
	resp, err := c.GetTicket(t.Context(), &intakev1.GetTicketRequest{TicketId: someTicket})
	require.NoError(t, err)
	require.Equal(t, "service:bench", resp.GetTicket().GetDescription())
	_, err = c.AssignTicket(t.Context(), &intakev1.AssignTicketRequest{TicketId: someTicket})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "the anonymous principal's roles still decide")
}

// TestForwardCallerForwardsStaffTokensOnly: a service's outgoing call carries the incoming request's
// staff token as the forwarded credential; an API key (only its issuer can verify it) is never forwarded.
func TestForwardCallerForwardsStaffTokensOnly(t *testing.T) {
	t.Parallel()
	got := make(chan metadata.MD, 2)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		got <- md
		return status.Error(codes.Unimplemented, "capture only")
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpcx.Dial(lis.Addr().String(), grpcx.Bearer("kefu_0123456789abcdef_"+strings.Repeat("ab", 32)),
		grpc.WithChainUnaryInterceptor(grpcx.ForwardCaller()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	c := intakev1.NewIntakeServiceClient(cc)

	staff := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer eyJ.staff.token"))
	_, _ = c.GetTicket(staff, &intakev1.GetTicketRequest{})
	md := <-got
	require.Equal(t, []string{"Bearer eyJ.staff.token"}, md.Get(auth.ForwardedAuthorizationKey))
	require.Len(t, md.Get("authorization"), 1, "the service authenticates as itself")
	require.True(t, strings.HasPrefix(md.Get("authorization")[0], "Bearer kefu_"))

	adapter := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer kefu_fedcba9876543210_"+strings.Repeat("cd", 32)))
	_, _ = c.GetTicket(adapter, &intakev1.GetTicketRequest{})
	md = <-got
	require.Empty(t, md.Get(auth.ForwardedAuthorizationKey), "API keys are not forwarded")
}
