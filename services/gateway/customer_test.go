package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

const customerID = "0190f3a0-7c1e-7d2a-9b3c-4d5e6f7081c1"

// fakeCustomer is a peer fake of the customer service: it records CreateCustomer's request and the
// metadata of every call, and answers ListTiers and CreateCustomer.
type fakeCustomer struct {
	customerv1.UnimplementedCustomerServiceServer

	mu     sync.Mutex
	calls  int
	md     metadata.MD
	create *customerv1.CreateCustomerRequest
}

func (f *fakeCustomer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.md = md.Copy()
}

func (f *fakeCustomer) ListTiers(ctx context.Context, _ *customerv1.ListTiersRequest) (*customerv1.ListTiersResponse, error) {
	f.record(ctx)
	return &customerv1.ListTiersResponse{Tiers: []*customerv1.Tier{{Code: "vip", DisplayName: "VIP", Builtin: true}}}, nil
}

func (f *fakeCustomer) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	f.record(ctx)
	f.mu.Lock()
	f.create = req
	f.mu.Unlock()
	return &customerv1.CreateCustomerResponse{Customer: &customerv1.Customer{
		CustomerId: customerID, Kind: customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL, Tier: "vip",
		Individual: &customerv1.Individual{Name: "张*"}, Masked: true,
	}}, nil
}

// startCustomerBackend serves fake on 127.0.0.1:0 until the test ends and returns its address.
func startCustomerBackend(t *testing.T, fake *fakeCustomer) string {
	t.Helper()
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	customerv1.RegisterCustomerServiceServer(srv, fake)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

// startGatewayWith serves the gateway handler for cfg on an httptest server and returns its URL.
func startGatewayWith(t *testing.T, cfg gateway.Config) string {
	t.Helper()
	h, closeConns, err := gateway.NewHandler(t.Context(), cfg, logging.Discard())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, closeConns()) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCustomerRoutesReachTheCustomerService: /v1/customers and /v1/tiers go to the customer service with
// the caller's credential, never to intake.
func TestCustomerRoutesReachTheCustomerService(t *testing.T) {
	t.Parallel()
	in, cu := &fakeIntake{}, &fakeCustomer{}
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, in).addr, CustomerAddr: startCustomerBackend(t, cu)})
	auth := http.Header{"Authorization": {"Bearer staff-token"}, "Content-Type": {"application/json"}}

	resp := call(t, http.MethodGet, url+"/v1/tiers", nil, auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"tiers": [{"code": "vip", "displayName": "VIP", "builtin": true}]}`, resp.body)

	resp = call(t, http.MethodPost, url+"/v1/customers", strings.NewReader(`{"idempotencyKey": "c-1", "customer": {
		"kind": "CUSTOMER_KIND_INDIVIDUAL", "tier": "vip",
		"individual": {"name": "张三", "provenance": {"source": "SOURCE_CUSTOMER_PROVIDED"}}}}`), auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var out struct {
		Customer struct {
			CustomerID string `json:"customerId"`
			Masked     bool   `json:"masked"`
		} `json:"customer"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &out))
	require.Equal(t, customerID, out.Customer.CustomerID)
	require.True(t, out.Customer.Masked)

	cu.mu.Lock()
	defer cu.mu.Unlock()
	require.Equal(t, 2, cu.calls)
	require.Equal(t, []string{"Bearer staff-token"}, cu.md.Get("authorization"))
	require.Equal(t, "c-1", cu.create.GetIdempotencyKey())
	require.Equal(t, "张三", cu.create.GetCustomer().GetIndividual().GetName())
	require.Zero(t, in.callCount(), "customer routes must not reach intake")
}

// TestCustomerRoutesNeedACustomerAddress: without a customer service the routes are unknown (404), and
// intake's still work.
func TestCustomerRoutesNeedACustomerAddress(t *testing.T) {
	t.Parallel()
	url := startGateway(t, startBackend(t, &fakeIntake{}).addr)

	require.Equal(t, http.StatusNotFound, call(t, http.MethodGet, url+"/v1/tiers", nil, nil).status)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, nil).status)
}

// TestACustomerServiceThatIsDownIs503NamingIt: the transport error of the customer connection is hidden
// like intake's, and says which service is down.
func TestACustomerServiceThatIsDownIs503NamingIt(t *testing.T) {
	t.Parallel()
	addr := testkit.RefusedAddr(t)
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, &fakeIntake{}).addr, CustomerAddr: addr})

	resp := call(t, http.MethodGet, url+"/v1/tiers", nil, nil)

	require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
	require.True(t, strings.HasPrefix(e.Error.Message, "customer service unavailable (ref "), e.Error.Message)
	require.NotContains(t, resp.body, addr)
}
