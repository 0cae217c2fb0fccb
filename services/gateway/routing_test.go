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

	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

// fakeRouting is a peer fake of the routing service: it answers ListGroups and records the metadata of
// every call.
type fakeRouting struct {
	routingv1.UnimplementedRoutingServiceServer

	mu    sync.Mutex
	calls int
	md    metadata.MD
}

func (f *fakeRouting) ListGroups(ctx context.Context, _ *routingv1.ListGroupsRequest) (*routingv1.ListGroupsResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.md = md.Copy()
	return &routingv1.ListGroupsResponse{Groups: []*routingv1.Group{{GroupId: "0190f3a0-7c1e-7d2a-9b3c-4d5e6f7081d1", Code: "logistics", DisplayName: "物流"}}}, nil
}

// startRoutingBackend serves fake on 127.0.0.1:0 until the test ends and returns its address.
func startRoutingBackend(t *testing.T, fake *fakeRouting) string {
	t.Helper()
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	routingv1.RegisterRoutingServiceServer(srv, fake)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

// TestRoutingRoutesReachTheRoutingService: /v1/groups goes to the routing service with the caller's
// credential, never to intake; without a routing address the route is unknown (404).
func TestRoutingRoutesReachTheRoutingService(t *testing.T) {
	t.Parallel()
	in, ro := &fakeIntake{}, &fakeRouting{}
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, in).addr, RoutingAddr: startRoutingBackend(t, ro)})
	auth := http.Header{"Authorization": {"Bearer staff-token"}}

	resp := call(t, http.MethodGet, url+"/v1/groups", nil, auth)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"groups": [{"groupId": "0190f3a0-7c1e-7d2a-9b3c-4d5e6f7081d1", "code": "logistics", "displayName": "物流"}]}`, resp.body)
	ro.mu.Lock()
	require.Equal(t, 1, ro.calls)
	require.Equal(t, []string{"Bearer staff-token"}, ro.md.Get("authorization"))
	ro.mu.Unlock()
	require.Zero(t, in.callCount(), "routing routes must not reach intake")

	without := startGateway(t, startBackend(t, &fakeIntake{}).addr)
	require.Equal(t, http.StatusNotFound, call(t, http.MethodGet, without+"/v1/groups", nil, nil).status)
}

// TestARoutingServiceThatIsDownIs503NamingIt: the transport error of the routing connection is hidden
// like intake's, and says which service is down.
func TestARoutingServiceThatIsDownIs503NamingIt(t *testing.T) {
	t.Parallel()
	addr := testkit.RefusedAddr(t)
	url := startGatewayWith(t, gateway.Config{IntakeAddr: startBackend(t, &fakeIntake{}).addr, RoutingAddr: addr})

	resp := call(t, http.MethodGet, url+"/v1/routingRules", nil, nil)

	require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
	require.True(t, strings.HasPrefix(e.Error.Message, "routing service unavailable (ref "), e.Error.Message)
	require.NotContains(t, resp.body, addr)
}
