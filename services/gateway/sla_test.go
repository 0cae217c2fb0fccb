package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

const slaPolicyID = "0190f3a0-7c1e-7d2a-9b3c-4d5e6f7081e1"

// fakeSla is a peer fake of the SLA timer service: it answers ListPolicies, GetTicketSla and ReapplySla,
// and records the ticket ids asked for and the metadata of every call.
type fakeSla struct {
	slav1.UnimplementedSlaServiceServer

	mu      sync.Mutex
	calls   int
	md      metadata.MD
	tickets []string
}

func (f *fakeSla) record(ctx context.Context, ticketID string) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.md = md.Copy()
	if ticketID != "" {
		f.tickets = append(f.tickets, ticketID)
	}
}

func (f *fakeSla) ListPolicies(ctx context.Context, _ *slav1.ListPoliciesRequest) (*slav1.ListPoliciesResponse, error) {
	f.record(ctx, "")
	return &slav1.ListPoliciesResponse{Policies: []*slav1.Policy{{PolicyId: slaPolicyID, Code: "default", DisplayName: "默认", Enabled: true, Builtin: true}}}, nil
}

func (f *fakeSla) GetTicketSla(ctx context.Context, req *slav1.GetTicketSlaRequest) (*slav1.GetTicketSlaResponse, error) {
	f.record(ctx, req.GetTicketId())
	return &slav1.GetTicketSlaResponse{Sla: &slav1.TicketSla{TicketId: req.GetTicketId(), PolicyIds: []string{slaPolicyID}}}, nil
}

func (f *fakeSla) ReapplySla(ctx context.Context, req *slav1.ReapplySlaRequest) (*slav1.ReapplySlaResponse, error) {
	f.record(ctx, req.GetTicketId())
	return &slav1.ReapplySlaResponse{Sla: &slav1.TicketSla{TicketId: req.GetTicketId(), PolicyIds: []string{slaPolicyID}}}, nil
}

// startSlaBackend serves fake on 127.0.0.1:0 until the test ends and returns its address.
func startSlaBackend(t *testing.T, fake *fakeSla) string {
	t.Helper()
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	slav1.RegisterSlaServiceServer(srv, fake)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

// TestSlaRoutesReachTheSlatimerService: /v1/slaPolicies and /v1/tickets/{ticket_id}/sla go to the SLA
// timer service with the caller's credential, never to intake, while /v1/tickets/{ticket_id} still goes to
// intake; without a slatimer address the SLA routes are unknown (404).
func TestSlaRoutesReachTheSlatimerService(t *testing.T) {
	t.Parallel()
	in, sl := &fakeIntake{}, &fakeSla{}
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, in).addr, SlatimerAddr: startSlaBackend(t, sl)})
	auth := http.Header{"Authorization": {"Bearer staff-token"}, "Content-Type": {"application/json"}}

	resp := call(t, http.MethodGet, url+"/v1/slaPolicies", nil, auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"policies": [{"policyId": "`+slaPolicyID+`", "code": "default", "displayName": "默认", "enabled": true, "builtin": true}]}`, resp.body)

	resp = call(t, http.MethodGet, url+"/v1/tickets/"+ticketID+"/sla", nil, auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"sla": {"ticketId": "`+ticketID+`", "policyIds": ["`+slaPolicyID+`"]}}`, resp.body)

	resp = call(t, http.MethodPost, url+"/v1/tickets/"+ticketID+"/sla:reapply", strings.NewReader(`{}`), auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"sla": {"ticketId": "`+ticketID+`", "policyIds": ["`+slaPolicyID+`"]}}`, resp.body)

	sl.mu.Lock()
	require.Equal(t, 3, sl.calls)
	require.Equal(t, []string{"Bearer staff-token"}, sl.md.Get("authorization"))
	require.Equal(t, []string{ticketID, ticketID}, sl.tickets)
	sl.mu.Unlock()
	require.Zero(t, in.callCount(), "SLA routes must not reach intake")

	// The ticket itself is still intake's.
	resp = call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, sampleTicketJSON, resp.body)
	require.Equal(t, 1, in.callCount())
	require.Equal(t, []string{"Bearer staff-token"}, in.lastMetadata().Get("authorization"))
	sl.mu.Lock()
	require.Equal(t, 3, sl.calls, "the ticket route must not reach the SLA timer service")
	sl.mu.Unlock()
}

// TestSlaRoutesNeedASlatimerAddress: without an SLA timer service its routes are unknown (404), and
// intake's still work.
func TestSlaRoutesNeedASlatimerAddress(t *testing.T) {
	t.Parallel()
	url := startGateway(t, startBackend(t, &fakeIntake{}).addr)

	for _, p := range []string{"/v1/slaPolicies", "/v1/calendars", "/v1/sla/atRisk", "/v1/tickets/" + ticketID + "/sla"} {
		require.Equal(t, http.StatusNotFound, call(t, http.MethodGet, url+p, nil, nil).status, p)
	}
	require.Equal(t, http.StatusNotFound, call(t, http.MethodPost, url+"/v1/tickets/"+ticketID+"/sla:reapply", strings.NewReader(`{}`),
		http.Header{"Content-Type": {"application/json"}}).status)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, nil).status)
}

// TestASlatimerServiceThatIsDownIs503NamingIt: the transport error of the slatimer connection is hidden
// like intake's, and says which service is down.
func TestASlatimerServiceThatIsDownIs503NamingIt(t *testing.T) {
	t.Parallel()
	addr := testkit.RefusedAddr(t)
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, &fakeIntake{}).addr, SlatimerAddr: addr})

	resp := call(t, http.MethodGet, url+"/v1/sla/atRisk", nil, nil)

	require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
	require.True(t, strings.HasPrefix(e.Error.Message, "slatimer service unavailable (ref "), e.Error.Message)
	require.NotContains(t, resp.body, addr)
}
