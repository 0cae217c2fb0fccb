package intake_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
)

// customerAPIKey is the key intake presents to the fake customer service.
const customerAPIKey = "kefu_intake-test-key"

// fakeCustomers is a customer service that answers what a test tells it and records what intake asked.
// It is a real gRPC server that validates requests with the proto's rules as the real service does, so a
// request intake builds wrongly fails here too. The real service's behaviour is the lead's cross-service
// test; this one pins intake's side: when it calls, with what, and what it does with the answer.
type fakeCustomers struct {
	customerv1.UnimplementedCustomerServiceServer
	mu       sync.Mutex
	resolves []*customerv1.ResolveCustomerRequest
	verifies []*customerv1.VerifyIdentityRequest
	auth     []string
	resolve  func(*customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error)
	verify   func(*customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error)
}

func (f *fakeCustomers) ResolveCustomer(ctx context.Context, req *customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolves = append(f.resolves, req)
	f.auth = append(f.auth, metadata.ValueFromIncomingContext(ctx, "authorization")...)
	return f.resolve(req)
}

func (f *fakeCustomers) VerifyIdentity(ctx context.Context, req *customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifies = append(f.verifies, req)
	f.auth = append(f.auth, metadata.ValueFromIncomingContext(ctx, "authorization")...)
	return f.verify(req)
}

// requests returns what arrived so far.
func (f *fakeCustomers) requests() (resolves []*customerv1.ResolveCustomerRequest, verifies []*customerv1.VerifyIdentityRequest, auth []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(resolves, f.resolves...), append(verifies, f.verifies...), append(auth, f.auth...)
}

// calls returns how many resolves and verifies arrived.
func (f *fakeCustomers) calls() (resolves, verifies int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.resolves), len(f.verifies)
}

// startCustomers serves f on a fresh port until the test ends and returns its address.
func startCustomers(t *testing.T, f *fakeCustomers) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := protovalidate.Validate(req.(proto.Message)); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return h(ctx, req)
	}))
	customerv1.RegisterCustomerServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// withCustomers connects the stack to the customer service at addr.
func withCustomers(addr string) option {
	return func(c *intake.Config) { c.CustomerAddr, c.CustomerAPIKey = addr, customerAPIKey }
}

func answer(customerID, tier string) func(*customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error) {
	return func(*customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error) {
		return &customerv1.ResolveCustomerResponse{CustomerId: customerID, Tier: tier, Created: true}, nil
	}
}

func verified(ok bool) func(*customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error) {
	return func(r *customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error) {
		return &customerv1.VerifyIdentityResponse{Verified: ok, CustomerId: r.GetCustomerId()}, nil
	}
}

func failing[Req, Resp any](c codes.Code) func(Req) (Resp, error) {
	return func(Req) (Resp, error) {
		var zero Resp
		return zero, status.Error(c, "customer 13900001111 is having a bad day") // personal data in a message
	}
}

// TestSubmitResolvesTheCustomerAndChecksTheirIdentity submits without a customer id: intake asks the
// customer service who the customer is (with its own key, a derived idempotency key, the contact, the
// channel and the numbers that can be business keys), checks the identity fact against that customer,
// and stores and publishes the customer, their tier and the outcome. A retry returns the same ticket
// without asking again; the same key with another body is refused without asking either.
func TestSubmitResolvesTheCustomerAndChecksTheirIdentity(t *testing.T) {
	t.Parallel()
	customer := uuid.NewString()
	f := &fakeCustomers{resolve: answer(customer, "vip"), verify: verified(true)}
	s := start(t, withCustomers(startCustomers(t, f)))
	js := s.jetStream(t)

	req := s.submitReq("my kettle leaks")
	req.Contact = &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "+86 139 0000 1111", Consent: true,
		ConsentPurpose: "service_follow_up"}
	req.OrderNumber, req.MemberNumber = "SO20261123001", "会员 42" // the member number cannot be a business key
	req.Verification = &intakev1.IdentityFacts{Fact: &intakev1.IdentityFacts_PhoneLast4{PhoneLast4: "1111"}}
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	tk := resp.GetTicket()
	require.Equal(t, customer, tk.GetCustomerId())
	require.Equal(t, "vip", tk.GetCustomerTier())
	require.True(t, proto.Equal(&intakev1.IdentityVerification{Verified: true, Method: intakev1.VerificationMethod_VERIFICATION_METHOD_PHONE_LAST4,
		VerifyTime: timestamppb.New(testStart)}, tk.GetIdentityVerification()), "got %v", tk.GetIdentityVerification())
	require.True(t, proto.Equal(tk, s.ticket(t, tk.GetTicketId())), "what the submit answered is what was stored")

	resolves, verifies, auth := f.requests()
	require.Len(t, resolves, 1)
	r := resolves[0]
	require.Regexp(t, regexp.MustCompile(`^intake-submit:[0-9a-f]{64}$`), r.GetIdempotencyKey())
	require.True(t, proto.Equal(req.GetContact(), r.GetContact()))
	require.Equal(t, intakev1.Channel_CHANNEL_WEB_CHAT, r.GetChannel())
	require.Equal(t, "SO20261123001", r.GetOrderNumber())
	require.Empty(t, r.GetMemberNumber())
	require.Len(t, verifies, 1)
	require.Equal(t, customer, verifies[0].GetCustomerId())
	require.Equal(t, "1111", verifies[0].GetPhoneLast4())
	require.Equal(t, []string{"Bearer " + customerAPIKey, "Bearer " + customerAPIKey}, auth)

	created := s.events(t, js, 1)[0]
	var ev eventsv1.TicketCreated
	require.NoError(t, proto.Unmarshal(created.data, &ev))
	require.Equal(t, customer, ev.GetCustomerId())
	require.Equal(t, "vip", ev.GetCustomerTier())
	require.True(t, ev.GetIdentityVerified())

	again, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	require.Equal(t, tk.GetTicketId(), again.GetTicket().GetTicketId())
	other := proto.Clone(req).(*intakev1.SubmitTicketRequest)
	other.Description = "something else"
	_, err = s.client.SubmitTicket(as(t.Context(), adapterP), other)
	requireCode(t, err, codes.AlreadyExists)
	nResolves, nVerifies := f.calls()
	require.Equal(t, 1, nResolves, "a retry does not ask the customer service again")
	require.Equal(t, 1, nVerifies)
}

// TestSubmitWithACustomerIDChecksTheFactsOnly keeps the adapter's customer id (its tier stays unknown)
// and checks the identity fact against it; without facts the customer service is not called at all.
func TestSubmitWithACustomerIDChecksTheFactsOnly(t *testing.T) {
	t.Parallel()
	f := &fakeCustomers{resolve: answer(uuid.NewString(), "vip"), verify: verified(false)}
	s := start(t, withCustomers(startCustomers(t, f)))
	customer := uuid.NewString()

	req := s.submitReq("where is my parcel")
	req.CustomerId = customer
	req.Verification = &intakev1.IdentityFacts{Fact: &intakev1.IdentityFacts_OrderNumber{OrderNumber: "SO-1"}}
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	tk := resp.GetTicket()
	require.Equal(t, customer, tk.GetCustomerId())
	require.Empty(t, tk.GetCustomerTier())
	require.False(t, tk.GetIdentityVerification().GetVerified())
	require.Equal(t, intakev1.VerificationMethod_VERIFICATION_METHOD_ORDER_NUMBER, tk.GetIdentityVerification().GetMethod())
	require.NotNil(t, tk.GetIdentityVerification().GetVerifyTime(), "a failed check is an outcome too")
	_, asked, _ := f.requests()
	require.Len(t, asked, 1)
	require.Equal(t, customer, asked[0].GetCustomerId())
	require.Equal(t, "SO-1", asked[0].GetOrderNumber())

	plain := s.submitReq("where is my parcel")
	plain.CustomerId = customer
	resp, err = s.client.SubmitTicket(as(t.Context(), adapterP), plain)
	require.NoError(t, err)
	require.Nil(t, resp.GetTicket().GetIdentityVerification())
	resolves, verifies := f.calls()
	require.Zero(t, resolves)
	require.Equal(t, 1, verifies)
}

// TestSubmitNeverFailsWithTheCustomerService accepts every ticket whatever the customer service does:
// down, failing, rate-limiting the check, or finding no one. What it could not learn stays unset.
func TestSubmitNeverFailsWithTheCustomerService(t *testing.T) {
	t.Parallel()
	down := testkit.RefusedAddr(t) // an address nothing listens on

	customer := uuid.NewString()
	tests := []struct {
		name         string
		fake         *fakeCustomers // nil: the service is down
		wantCustomer string
		wantTier     string
	}{
		{"the service is down", nil, "", ""},
		{"resolving fails", &fakeCustomers{resolve: failing[*customerv1.ResolveCustomerRequest, *customerv1.ResolveCustomerResponse](codes.Internal),
			verify: verified(true)}, "", ""},
		{"the service is unavailable", &fakeCustomers{resolve: failing[*customerv1.ResolveCustomerRequest, *customerv1.ResolveCustomerResponse](codes.Unavailable),
			verify: verified(true)}, "", ""},
		{"the check is rate limited", &fakeCustomers{resolve: answer(customer, "standard"),
			verify: failing[*customerv1.VerifyIdentityRequest, *customerv1.VerifyIdentityResponse](codes.ResourceExhausted)}, customer, "standard"},
		{"nobody matches", &fakeCustomers{resolve: answer("", ""), verify: verified(true)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := down
			if tc.fake != nil {
				addr = startCustomers(t, tc.fake)
			}
			s := start(t, withCustomers(addr))
			req := s.submitReq("my kettle leaks")
			req.Verification = &intakev1.IdentityFacts{Fact: &intakev1.IdentityFacts_PhoneLast4{PhoneLast4: "1111"}}
			resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
			require.NoError(t, err)
			tk := resp.GetTicket()
			require.Equal(t, tc.wantCustomer, tk.GetCustomerId())
			require.Equal(t, tc.wantTier, tk.GetCustomerTier())
			require.Nil(t, tk.GetIdentityVerification(), "no outcome without a customer or an answer")
			if tc.fake != nil && tc.wantCustomer == "" {
				_, verifies := tc.fake.calls()
				require.Zero(t, verifies, "no customer, nothing to check against")
			}
		})
	}
}

// TestAnInvalidSubmitNeverReachesTheCustomerService refuses a bad submission before the customer service
// could record anything of it (a customer created from a ticket that does not exist).
func TestAnInvalidSubmitNeverReachesTheCustomerService(t *testing.T) {
	t.Parallel()
	f := &fakeCustomers{resolve: answer(uuid.NewString(), "vip"), verify: verified(true)}
	s := start(t, withCustomers(startCustomers(t, f)))
	tests := []struct {
		name   string
		change func(r *intakev1.SubmitTicketRequest)
		field  string
	}{
		{"a received time far in the future", func(r *intakev1.SubmitTicketRequest) {
			r.ReceivedTime = timestamppb.New(testStart.Add(time.Hour))
		}, "received_time"},
		{"phone digits that are not four", func(r *intakev1.SubmitTicketRequest) {
			r.Verification = &intakev1.IdentityFacts{Fact: &intakev1.IdentityFacts_PhoneLast4{PhoneLast4: "11a1"}}
		}, "verification.phone_last4"},
		{"identity facts without a fact", func(r *intakev1.SubmitTicketRequest) {
			r.Verification = &intakev1.IdentityFacts{}
		}, "verification.fact"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := s.submitReq("my kettle leaks")
			tc.change(req)
			_, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
			requireCode(t, err, codes.InvalidArgument)
			require.Contains(t, badFields(err), tc.field)
		})
	}
	resolves, verifies := f.calls()
	require.Zero(t, resolves)
	require.Zero(t, verifies)
}

// TestACustomerUnresolvedAtSubmitIsResolvedLater: a ticket submitted while the customer service is away
// is accepted without a customer and queued; the sweeper asks again with backoff (on the fake clock) and
// fills in the customer and tier once the service answers, under a key derived from the ticket.
func TestACustomerUnresolvedAtSubmitIsResolvedLater(t *testing.T) {
	t.Parallel()
	customer := uuid.NewString()
	var up atomic.Bool
	f := &fakeCustomers{verify: verified(true), resolve: func(*customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error) {
		if !up.Load() {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return &customerv1.ResolveCustomerResponse{CustomerId: customer, Tier: "vip"}, nil
	}}
	s := start(t, withCustomers(startCustomers(t, f)))
	req := s.submitReq("my kettle leaks")
	req.OrderNumber = "SO20261123001"
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	id := resp.GetTicket().GetTicketId()
	require.Empty(t, resp.GetTicket().GetCustomerId())
	// A ticket with nothing to resolve by is not queued.
	bare := s.submitReq("no contact, no numbers")
	_, err = s.client.SubmitTicket(as(t.Context(), adapterP), bare)
	require.NoError(t, err)

	// The sweeper's first try comes at once and fails too; the next waits 30 s.
	testkit.Eventually(t, func() bool { n, _ := f.calls(); return n >= 3 }, wait, "two submits and the first deferred attempt")
	up.Store(true)
	s.clock.Advance(31 * time.Second)
	testkit.EventuallyNoError(t, func() error {
		if got := s.ticket(t, id).GetCustomerId(); got != customer {
			return fmt.Errorf("customer %q", got)
		}
		return nil
	}, wait)
	tk := s.ticket(t, id)
	require.Equal(t, "vip", tk.GetCustomerTier())
	require.Equal(t, resp.GetTicket().GetEtag(), tk.GetEtag(), "bookkeeping, not a lifecycle change")
	resolves, _, _ := f.requests()
	last := resolves[len(resolves)-1]
	require.Equal(t, "intake-ticket:"+id, last.GetIdempotencyKey())
	require.Equal(t, "SO20261123001", last.GetOrderNumber())
	var pending int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM customer_resolutions`).Scan(&pending))
	require.Zero(t, pending)
}
