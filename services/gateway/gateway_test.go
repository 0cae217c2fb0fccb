package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

// testMaxBody is the body limit the tests configure, small so that "too large" bodies stay small.
const testMaxBody = 1024

const ticketID = "0190f3a0-7c1e-7d2a-9b3c-4d5e6f708192"

// fakeIntake is a peer fake of the intake service: every RPC it implements records the call and answers
// with err when set, else with sampleTicket.
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	err    error
	header metadata.MD // sent as response header metadata when set

	mu     sync.Mutex
	calls  int
	md     metadata.MD
	submit *intakev1.SubmitTicketRequest
}

func (f *fakeIntake) record(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.calls++
	f.md = md.Copy()
	f.mu.Unlock()
	if f.header != nil {
		if err := grpc.SetHeader(ctx, f.header); err != nil {
			return err
		}
	}
	return f.err
}

func (f *fakeIntake) SubmitTicket(ctx context.Context, req *intakev1.SubmitTicketRequest) (*intakev1.SubmitTicketResponse, error) {
	f.mu.Lock()
	f.submit = req
	f.mu.Unlock()
	if err := f.record(ctx); err != nil {
		return nil, err
	}
	return &intakev1.SubmitTicketResponse{Ticket: sampleTicket()}, nil
}

func (f *fakeIntake) GetTicket(ctx context.Context, _ *intakev1.GetTicketRequest) (*intakev1.GetTicketResponse, error) {
	if err := f.record(ctx); err != nil {
		return nil, err
	}
	return &intakev1.GetTicketResponse{Ticket: sampleTicket()}, nil
}

func (f *fakeIntake) ArchiveTicket(ctx context.Context, _ *intakev1.ArchiveTicketRequest) (*intakev1.ArchiveTicketResponse, error) {
	if err := f.record(ctx); err != nil {
		return nil, err
	}
	return &intakev1.ArchiveTicketResponse{Ticket: sampleTicket()}, nil
}

func (f *fakeIntake) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeIntake) lastMetadata() metadata.MD {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.md
}

func sampleTicket() *intakev1.Ticket {
	return &intakev1.Ticket{
		TicketId:             ticketID,
		Number:               "GD202310260001",
		Status:               intakev1.TicketStatus_TICKET_STATUS_NEW,
		Channel:              intakev1.Channel_CHANNEL_WEB_CHAT,
		Subcategory:          "refund",
		ClassificationSource: intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE,
		ClassificationRuleId: "rule-1",
		OrderNumber:          "A1",
		CreateTime:           timestamppb.New(time.Date(2023, 10, 26, 2, 0, 0, 0, time.UTC)),
	}
}

const sampleTicketJSON = `{"ticket": {
	"ticketId": "` + ticketID + `",
	"number": "GD202310260001",
	"status": "TICKET_STATUS_NEW",
	"channel": "CHANNEL_WEB_CHAT",
	"subcategory": "refund",
	"classificationSource": "CLASSIFICATION_SOURCE_RULE",
	"classificationRuleId": "rule-1",
	"orderNumber": "A1",
	"createTime": "2023-10-26T02:00:00Z"
}}`

// backend is a real gRPC server on 127.0.0.1:0 serving the fake and grpc.health.v1.
type backend struct {
	addr   string
	health *health.Server
	stop   func()
}

func startBackend(t *testing.T, fake *fakeIntake) *backend {
	t.Helper()
	return startBackendFor(t, fake)
}

func startBackendFor(t *testing.T, fake intakev1.IntakeServiceServer) *backend {
	t.Helper()
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(srv, fake)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Stop()
			<-done
		})
	}
	t.Cleanup(stop)
	return &backend{addr: lis.Addr().String(), health: hs, stop: stop}
}

// startGateway serves the gateway handler for intakeAddr on an httptest server and returns its URL.
func startGateway(t *testing.T, intakeAddr string) string {
	t.Helper()
	h, closeConns, err := gateway.NewHandler(t.Context(), gateway.Config{IntakeAddr: intakeAddr, MaxBodyBytes: testMaxBody}, logging.Discard())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, closeConns()) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

type response struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, method, url string, body io.Reader, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func mustDetails(t *testing.T, code codes.Code, msg string, ds ...protoadapt.MessageV1) error {
	t.Helper()
	st, err := status.New(code, msg).WithDetails(ds...)
	require.NoError(t, err)
	return st.Err()
}

func TestBackendErrorsBecomeAIP193Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        func(t *testing.T) error
		method     string
		path       string
		body       string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{
			name: "an illegal transition is 400 with its error info and every missing item",
			err: func(t *testing.T) error {
				return mustDetails(t, codes.FailedPrecondition, "ticket is incomplete",
					&errdetails.ErrorInfo{Reason: "TICKET_ARCHIVE_INCOMPLETE", Domain: "kefu", Metadata: map[string]string{"current_state": "closed"}},
					&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{
						{Type: "ARCHIVE", Subject: "resolution_summary", Description: "a resolution summary is required"},
						{Type: "ARCHIVE", Subject: "satisfaction", Description: "a satisfaction score or an unreachable waiver is required"},
					}},
				)
			},
			method:     http.MethodPost,
			path:       "/v1/tickets/" + ticketID + ":archive",
			body:       `{}`,
			wantStatus: http.StatusBadRequest,
			wantBody: `{"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "ticket is incomplete", "details": [
				{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "TICKET_ARCHIVE_INCOMPLETE", "domain": "kefu", "metadata": {"current_state": "closed"}},
				{"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": [
					{"type": "ARCHIVE", "subject": "resolution_summary", "description": "a resolution summary is required"},
					{"type": "ARCHIVE", "subject": "satisfaction", "description": "a satisfaction score or an unreachable waiver is required"}
				]}
			]}}`,
		},
		{
			name: "a bad field is 400 naming the field",
			err: func(t *testing.T) error {
				return mustDetails(t, codes.InvalidArgument, "description: value length must be at least 1 characters",
					&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
						{Field: "description", Description: "value length must be at least 1 characters"},
					}},
				)
			},
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       `{"idempotencyKey": "k1"}`,
			wantStatus: http.StatusBadRequest,
			wantBody: `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "description: value length must be at least 1 characters", "details": [
				{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "description", "description": "value length must be at least 1 characters"}]}
			]}}`,
		},
		{
			name: "an unknown id is 404 with its resource info",
			err: func(t *testing.T) error {
				return mustDetails(t, codes.NotFound, "ticket not found",
					&errdetails.ResourceInfo{ResourceType: "kefu.intake.v1.Ticket", ResourceName: ticketID})
			},
			method:     http.MethodGet,
			path:       "/v1/tickets/" + ticketID,
			wantStatus: http.StatusNotFound,
			wantBody: `{"error": {"code": 404, "status": "NOT_FOUND", "message": "ticket not found", "details": [
				{"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "kefu.intake.v1.Ticket", "resourceName": "` + ticketID + `"}
			]}}`,
		},
		{
			name: "a reused idempotency key is 409",
			err: func(*testing.T) error {
				return status.Error(codes.AlreadyExists, "idempotency key reused with a different body")
			},
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       `{}`,
			wantStatus: http.StatusConflict,
			wantBody:   `{"error": {"code": 409, "status": "ALREADY_EXISTS", "message": "idempotency key reused with a different body"}}`,
		},
		{
			name:       "a stale etag is 409",
			err:        func(*testing.T) error { return status.Error(codes.Aborted, "etag mismatch") },
			method:     http.MethodGet,
			path:       "/v1/tickets/" + ticketID,
			wantStatus: http.StatusConflict,
			wantBody:   `{"error": {"code": 409, "status": "ABORTED", "message": "etag mismatch"}}`,
		},
		{
			name: "a rate limit is 429 with Retry-After rounded up to whole seconds",
			err: func(t *testing.T) error {
				return mustDetails(t, codes.ResourceExhausted, "rate limit exceeded",
					&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
			},
			method:     http.MethodGet,
			path:       "/v1/tickets/" + ticketID,
			wantStatus: http.StatusTooManyRequests,
			wantBody: `{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "rate limit exceeded", "details": [
				{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"}
			]}}`,
			wantHeader: map[string]string{"Retry-After": "2"},
		},
		{
			name: "no or bad credentials is 401 saying how to authenticate",
			err: func(t *testing.T) error {
				return status.Error(codes.Unauthenticated, "invalid credentials")
			},
			method:     http.MethodGet,
			path:       "/v1/tickets/" + ticketID,
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "invalid credentials"}}`,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="kefu"`},
		},
		{
			name:       "an internal error keeps only its reference",
			err:        func(*testing.T) error { return status.Error(codes.Internal, "internal error (ref 1234)") },
			method:     http.MethodGet,
			path:       "/v1/tickets/" + ticketID,
			wantStatus: http.StatusInternalServerError,
			wantBody:   `{"error": {"code": 500, "status": "INTERNAL", "message": "internal error (ref 1234)"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeIntake{err: tc.err(t)}
			url := startGateway(t, startBackend(t, fake).addr)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			resp := call(t, tc.method, url+tc.path, body, nil)
			require.Equal(t, tc.wantStatus, resp.status, resp.body)
			require.Equal(t, "application/json", resp.header.Get("Content-Type"))
			require.JSONEq(t, tc.wantBody, resp.body)
			for k, v := range tc.wantHeader {
				require.Equal(t, v, resp.header.Get(k), k)
			}
			require.Equal(t, 1, fake.callCount())
		})
	}
}

func TestGatewayRejectsBadRequestsItself(t *testing.T) {
	t.Parallel()
	tooLarge := `{"description": "` + strings.Repeat("x", 2*testMaxBody) + `"}`
	tests := []struct {
		name       string
		method     string
		path       string
		body       func() io.Reader
		wantStatus int
		wantBody   string
	}{
		{
			name:       "malformed JSON is 400",
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       func() io.Reader { return strings.NewReader(`{"description": `) },
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "request body is not valid JSON: unexpected end of JSON input (at byte 16)"}}`,
		},
		{
			name:       "data after the JSON object is 400",
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       func() io.Reader { return strings.NewReader(`{} {}`) },
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "request body is not valid JSON: invalid character '{' after top-level value (at byte 4)"}}`,
		},
		{
			name:       "an unknown field is 400 naming the field",
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       func() io.Reader { return strings.NewReader(`{"description": "hi", "descripton": "typo"}`) },
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "unknown field \"descripton\" in request body"}}`,
		},
		{
			name:       "an unknown nested field in a partial body is 400 naming the field",
			method:     http.MethodPatch,
			path:       "/v1/tickets/" + ticketID,
			body:       func() io.Reader { return strings.NewReader(`{"urgencyy": "URGENCY_URGENT"}`) },
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "unknown field \"urgencyy\" in request body"}}`,
		},
		{
			name:   "a field of the wrong type is 400 naming the field",
			method: http.MethodPost,
			path:   "/v1/tickets",
			body:   func() io.Reader { return strings.NewReader(`{"description": 5}`) },
			// protojson's wording, after "invalid request body: ", is checked loosely below.
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "an unknown route is 404",
			method:     http.MethodGet,
			path:       "/v1/widgets",
			wantStatus: http.StatusNotFound,
			wantBody:   `{"error": {"code": 404, "status": "NOT_FOUND", "message": "no route for GET /v1/widgets"}}`,
		},
		{
			name:       "a wrong method on a known path is 405",
			method:     http.MethodDelete,
			path:       "/v1/tickets",
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   `{"error": {"code": 405, "status": "UNIMPLEMENTED", "message": "method DELETE is not allowed on /v1/tickets"}}`,
		},
		{
			name:       "a body declared larger than the limit is 413",
			method:     http.MethodPost,
			path:       "/v1/tickets",
			body:       func() io.Reader { return strings.NewReader(tooLarge) },
			wantStatus: http.StatusRequestEntityTooLarge,
			wantBody: `{"error": {"code": 413, "status": "RESOURCE_EXHAUSTED", "message": "request body is larger than 1024 bytes", "details": [
				{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "REQUEST_BODY_TOO_LARGE", "domain": "kefu", "metadata": {"max_bytes": "1024"}}
			]}}`,
		},
		{
			name:   "a chunked body that grows past the limit is 413",
			method: http.MethodPost,
			path:   "/v1/tickets",
			// MultiReader hides the length, so the client sends Transfer-Encoding: chunked.
			body:       func() io.Reader { return io.MultiReader(strings.NewReader(tooLarge)) },
			wantStatus: http.StatusRequestEntityTooLarge,
			wantBody: `{"error": {"code": 413, "status": "RESOURCE_EXHAUSTED", "message": "request body is larger than 1024 bytes", "details": [
				{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "REQUEST_BODY_TOO_LARGE", "domain": "kefu", "metadata": {"max_bytes": "1024"}}
			]}}`,
		},
		{
			name:       "a body too large for an unknown route is still 413",
			method:     http.MethodPost,
			path:       "/v1/widgets",
			body:       func() io.Reader { return io.MultiReader(strings.NewReader(tooLarge)) },
			wantStatus: http.StatusRequestEntityTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeIntake{}
			url := startGateway(t, startBackend(t, fake).addr)
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			resp := call(t, tc.method, url+tc.path, body, http.Header{"Content-Type": {"application/json"}})
			require.Equal(t, tc.wantStatus, resp.status, resp.body)
			require.Equal(t, "application/json", resp.header.Get("Content-Type"))
			if tc.wantBody != "" {
				require.JSONEq(t, tc.wantBody, resp.body)
			} else {
				var e struct {
					Error struct {
						Code    int    `json:"code"`
						Status  string `json:"status"`
						Message string `json:"message"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal([]byte(resp.body), &e), resp.body)
				require.Equal(t, tc.wantStatus, e.Error.Code)
				if tc.wantStatus == http.StatusBadRequest {
					require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
					require.Contains(t, e.Error.Message, "invalid request body: ")
					require.Contains(t, e.Error.Message, "description")
				}
			}
			require.Zero(t, fake.callCount(), "the backend must not be called")
		})
	}
}

func TestABodyOfExactlyTheLimitIsAccepted(t *testing.T) {
	t.Parallel()
	fake := &fakeIntake{}
	url := startGateway(t, startBackend(t, fake).addr)
	body := `{"description": "hi"}`
	body += strings.Repeat(" ", testMaxBody-len(body))

	resp := call(t, http.MethodPost, url+"/v1/tickets", strings.NewReader(body), nil)

	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Equal(t, 1, fake.callCount())
}

func TestSubmitReturnsTheTicketInLowerCamelCase(t *testing.T) {
	t.Parallel()
	fake := &fakeIntake{}
	url := startGateway(t, startBackend(t, fake).addr)

	resp := call(t, http.MethodPost, url+"/v1/tickets", strings.NewReader(`{
		"idempotencyKey": "key-1",
		"channel": "CHANNEL_WEB_CHAT",
		"receivedTime": "2023-10-26T01:59:58Z",
		"description": "我要退款",
		"orderNumber": "A1"
	}`), http.Header{"Content-Type": {"application/json"}})

	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))
	require.JSONEq(t, sampleTicketJSON, resp.body)
	fake.mu.Lock()
	got := fake.submit
	fake.mu.Unlock()
	require.Equal(t, "key-1", got.GetIdempotencyKey())
	require.Equal(t, intakev1.Channel_CHANNEL_WEB_CHAT, got.GetChannel())
	require.Equal(t, "我要退款", got.GetDescription())
	require.Equal(t, "A1", got.GetOrderNumber())
	require.Equal(t, time.Date(2023, 10, 26, 1, 59, 58, 0, time.UTC), got.GetReceivedTime().AsTime())
}

// TestClientHeadersDoNotBecomeMetadata: only the Authorization header reaches the backend (as authorization
// metadata, which the backend verifies); Grpc-Metadata-* and other headers cannot set metadata.
func TestClientHeadersDoNotBecomeMetadata(t *testing.T) {
	t.Parallel()
	fake := &fakeIntake{header: metadata.Pairs("x-internal", "secret")}
	url := startGateway(t, startBackend(t, fake).addr)

	resp := call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, http.Header{
		"Authorization":                {"Bearer the-callers-own"},
		"Grpc-Metadata-Authorization":  {"Bearer someone-elses"},
		"Grpc-Metadata-Foo":            {"bar"},
		"Grpc-Metadata-Kefu-Principal": {"service:root"},
		"Grpc-Timeout":                 {"1000H"},
		"X-Custom":                     {"1"},
		"Accept-Language":              {"zh-CN"},
	})

	require.Equal(t, http.StatusOK, resp.status, resp.body)
	md := fake.lastMetadata()
	require.Equal(t, []string{"Bearer the-callers-own"}, md.Get("authorization"),
		"the caller's credential is forwarded once; a second one cannot ride in as metadata")
	require.Empty(t, md.Get("foo"))
	require.Empty(t, md.Get("kefu-principal"))
	for key := range md {
		require.NotContains(t, key, "grpcgateway-", "permanent HTTP headers are not forwarded either")
		require.NotEqual(t, "x-custom", key)
	}
	for key := range resp.header {
		require.False(t, strings.HasPrefix(key, "Grpc-"), "backend metadata leaked as %s", key)
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	url := startGateway(t, startBackend(t, &fakeIntake{}).addr)

	resp := call(t, http.MethodGet, url+"/openapi.json", nil, nil)

	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))
	var doc struct {
		Swagger string                     `json:"swagger"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &doc))
	require.Equal(t, "2.0", doc.Swagger)
	for _, p := range []string{"/v1/tickets", "/v1/apiKeys", "/v1/auditRecords", "/v1/customers", "/v1/customers/{customerId}", "/v1/tiers",
		"/v1/slaPolicies", "/v1/tickets/{ticketId}/sla"} {
		require.Contains(t, doc.Paths, p)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	be := startBackend(t, &fakeIntake{})
	url := startGateway(t, be.addr)

	resp := call(t, http.MethodGet, url+"/healthz", nil, nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"status": "SERVING"}`, resp.body)

	resp = call(t, http.MethodGet, url+"/readyz", nil, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"status": "SERVING"}`, resp.body)

	be.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	resp = call(t, http.MethodGet, url+"/readyz", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
	require.JSONEq(t, `{"error": {"code": 503, "status": "UNAVAILABLE", "message": "intake service is not ready"}}`, resp.body)

	be.stop()
	resp = call(t, http.MethodGet, url+"/readyz", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
	require.JSONEq(t, `{"error": {"code": 503, "status": "UNAVAILABLE", "message": "intake service is not ready"}}`, resp.body)

	resp = call(t, http.MethodGet, url+"/healthz", nil, nil)
	require.Equal(t, http.StatusOK, resp.status, "liveness does not depend on the backend")
}

func TestABackendThatIsDownIs503(t *testing.T) {
	t.Parallel()
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}

	t.Run("never started", func(t *testing.T) {
		t.Parallel()
		addr := testkit.RefusedAddr(t)
		url := startGateway(t, addr)

		resp := call(t, http.MethodPost, url+"/v1/tickets", strings.NewReader(`{}`), nil)

		require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
		e := e
		require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
		require.Equal(t, 503, e.Error.Code)
		require.Equal(t, "UNAVAILABLE", e.Error.Status)
		require.True(t, strings.HasPrefix(e.Error.Message, "intake service unavailable (ref "), e.Error.Message)
		require.NotContains(t, resp.body, "127.0.0.1", "internal addresses must not reach the client")
	})

	t.Run("reported by the backend", func(t *testing.T) {
		t.Parallel()
		fake := &fakeIntake{err: status.Error(codes.Unavailable, "database unavailable (ref abc)")}
		url := startGateway(t, startBackend(t, fake).addr)

		resp := call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, nil)

		require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
		e := e
		require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
		require.Equal(t, 503, e.Error.Code)
		require.Equal(t, "UNAVAILABLE", e.Error.Status)
		require.True(t, strings.HasPrefix(e.Error.Message, "intake service unavailable (ref "), e.Error.Message)
		require.Equal(t, 1, fake.callCount())
	})

	t.Run("stopped after serving", func(t *testing.T) {
		t.Parallel()
		fake := &fakeIntake{}
		be := startBackend(t, fake)
		url := startGateway(t, be.addr)
		require.Equal(t, http.StatusOK, call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, nil).status)

		be.stop()
		resp := call(t, http.MethodGet, url+"/v1/tickets/"+ticketID, nil, nil)

		require.Equal(t, http.StatusServiceUnavailable, resp.status, resp.body)
		e := e
		require.NoError(t, json.Unmarshal([]byte(resp.body), &e))
		require.Equal(t, 503, e.Error.Code)
		require.Equal(t, "UNAVAILABLE", e.Error.Status)
		require.NotContains(t, resp.body, be.addr)
	})
}
