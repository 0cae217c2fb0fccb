package grpcx_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
)

// okCustomers answers the customer calls these tests make with empty responses, so the records show what
// the guard took from the requests alone.
type okCustomers struct {
	customerv1.UnimplementedCustomerServiceServer
}

func (okCustomers) RevealCustomer(context.Context, *customerv1.RevealCustomerRequest) (*customerv1.RevealCustomerResponse, error) {
	return &customerv1.RevealCustomerResponse{}, nil
}

func (okCustomers) UpdateCustomer(context.Context, *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	return &customerv1.UpdateCustomerResponse{}, nil
}

func (okCustomers) MergeCustomers(context.Context, *customerv1.MergeCustomersRequest) (*customerv1.MergeCustomersResponse, error) {
	return &customerv1.MergeCustomersResponse{}, nil
}

// auditedServer is a server that audits into a real audit log.
type auditedServer struct {
	*authServer
	store *audit.Store
}

func startAuditedServer(t *testing.T) *auditedServer {
	t.Helper()
	db := testkit.NewDB(t, "grpcx_test", audit.Migrations())
	w := audit.NewWriter(db.Pool, audit.WriterOptions{})
	wctx, stop := context.WithCancel(t.Context())
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(wctx) }()
	t.Cleanup(func() { stop(); require.NoError(t, <-wdone) })

	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	require.NoError(t, err)
	v, err := iss.Verifier()
	require.NoError(t, err)
	a, err := auth.NewAuthenticator(auth.AuthenticatorOptions{Staff: v})
	require.NoError(t, err)
	s, err := grpcx.NewServer(grpcx.ServerOptions{Logger: logging.Discard(), Auth: a, Audit: w})
	require.NoError(t, err)
	intakev1.RegisterIntakeServiceServer(s, echoIntake{})
	customerv1.RegisterCustomerServiceServer(s, okCustomers{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- grpcx.ServeUntil(ctx, s, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return &auditedServer{authServer: &authServer{cc: cc, iss: iss}, store: audit.New(db.Pool)}
}

// recordOf returns the one record of method on objectID.
func (s *auditedServer) recordOf(t *testing.T, method, objectID string) audit.Record {
	t.Helper()
	page, err := s.store.List(t.Context(), audit.Filter{Method: method, ObjectID: objectID}, 0, "")
	require.NoError(t, err)
	require.Len(t, page.Records, 1, "records of %s on %s", method, objectID)
	return page.Records[0]
}

// TestAuditRecordsSayWhyAndWhichFields: a call's record carries the reason its request gives and the
// fields it names (a reveal's field list, an update's mask), refused calls included, and no call without
// either gets any; customer calls name the customer as their object.
func TestAuditRecordsSayWhyAndWhichFields(t *testing.T) {
	t.Parallel()
	s := startAuditedServer(t)
	customers := customerv1.NewCustomerServiceClient(s.cc)
	const (
		revealed = "0190b5a0-0000-7000-8000-00000000c001"
		refused  = "0190b5a0-0000-7000-8000-00000000c002"
		updated  = "0190b5a0-0000-7000-8000-00000000c003"
		survivor = "0190b5a0-0000-7000-8000-00000000c004"
	)

	t.Run("a reveal records its reason and fields", func(t *testing.T) {
		t.Parallel()
		_, err := customers.RevealCustomer(s.as(t, auth.RoleAgent), &customerv1.RevealCustomerRequest{
			CustomerId: revealed,
			Fields:     []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID, customerv1.RevealField_REVEAL_FIELD_CONTACTS},
			Reason:     "ticket GD202611230001: courier needs the phone",
		})
		require.NoError(t, err)
		r := s.recordOf(t, customerv1.CustomerService_RevealCustomer_FullMethodName, revealed)
		require.Equal(t, "OK", r.Result)
		require.Equal(t, audit.KindPersonalDataRead, r.Kind)
		require.Equal(t, "staff:staff-1", r.Principal)
		require.Equal(t, "customer", r.ObjectType)
		require.Equal(t, "ticket GD202611230001: courier needs the phone", r.Reason)
		require.Equal(t, []string{"national_id", "contacts"}, r.Fields)
	})

	t.Run("a refused reveal records them too", func(t *testing.T) {
		t.Parallel()
		_, err := customers.RevealCustomer(s.as(t, auth.RoleAuditor), &customerv1.RevealCustomerRequest{
			CustomerId: refused,
			Fields:     []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NAME},
			Reason:     "curious",
		})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		r := s.recordOf(t, customerv1.CustomerService_RevealCustomer_FullMethodName, refused)
		require.Equal(t, "PERMISSION_DENIED", r.Result)
		require.Equal(t, "curious", r.Reason)
		require.Equal(t, []string{"name"}, r.Fields)
	})

	t.Run("an update records its mask's paths", func(t *testing.T) {
		t.Parallel()
		_, err := customers.UpdateCustomer(s.as(t, auth.RoleAgent), &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{CustomerId: updated, Etag: "e1", Tier: "vip"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tier", "preferred_channel"}},
		})
		require.NoError(t, err)
		r := s.recordOf(t, customerv1.CustomerService_UpdateCustomer_FullMethodName, updated)
		require.Equal(t, audit.KindChange, r.Kind)
		require.Equal(t, "customer", r.ObjectType, "one level down: customer.customer_id")
		require.Empty(t, r.Reason)
		require.Equal(t, []string{"tier", "preferred_channel"}, r.Fields)
	})

	t.Run("a merge records the survivor", func(t *testing.T) {
		t.Parallel()
		_, err := customers.MergeCustomers(s.as(t, auth.RoleSupervisor), &customerv1.MergeCustomersRequest{
			SurvivorId: survivor, DuplicateId: "0190b5a0-0000-7000-8000-00000000c005", SurvivorEtag: "a", DuplicateEtag: "b",
		})
		require.NoError(t, err)
		r := s.recordOf(t, customerv1.CustomerService_MergeCustomers_FullMethodName, survivor)
		require.Equal(t, "customer", r.ObjectType)
	})

	t.Run("a call with neither records neither", func(t *testing.T) {
		t.Parallel()
		_, err := intakev1.NewIntakeServiceClient(s.cc).GetTicket(s.as(t, auth.RoleAgent), &intakev1.GetTicketRequest{TicketId: someTicket})
		require.NoError(t, err)
		r := s.recordOf(t, intakev1.IntakeService_GetTicket_FullMethodName, someTicket)
		require.Equal(t, "ticket", r.ObjectType)
		require.Empty(t, r.Reason)
		require.Empty(t, r.Fields)
	})
}
