package devstack_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/devstack"
	"kefu.dev/services/intake"
)

// startStack runs the whole dev stack on free loopback ports against a fresh, migrated database and an
// embedded NATS in a temp folder, and returns its addresses once everything listens.
func startStack(t *testing.T) devstack.Addresses {
	t.Helper()
	a, _ := startStackIn(t, t.TempDir())
	return a
}

// startStackIn is startStack with its data (the dev issuer's key, the pepper, JetStream) in dataDir.
func startStackIn(t *testing.T, dataDir string) (devstack.Addresses, devstack.Config) {
	t.Helper()
	db := startDB(t)
	return startStackWith(t, devstack.Config{
		DataDir: dataDir, DatabaseURL: db.AdminURL, NATSPort: -1, IssuerPort: 0, Host: "127.0.0.1",
	})
}

// startDB returns a fresh database with intake's schema.
func startDB(t *testing.T) *testkit.DB {
	t.Helper()
	return testkit.NewDB(t, "intake", intake.Migrations()...)
}

// startStackWith runs the dev stack with cfg (on free ports) until the test ends.
func startStackWith(t *testing.T, cfg devstack.Config) (devstack.Addresses, devstack.Config) {
	t.Helper()
	a, _ := runStack(t, cfg)
	return a, cfg
}

// runStack runs the dev stack with cfg until stop is called or the test ends, and returns its addresses
// once the gateway is ready. stop waits for the stack to end and checks that it stopped cleanly.
func runStack(t *testing.T, cfg devstack.Config) (devstack.Addresses, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	ready := make(chan devstack.Addresses, 1)
	done := make(chan error, 1)
	go func() { done <- devstack.Run(ctx, cfg, logging.Discard(), func(a devstack.Addresses) { ready <- a }) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	var a devstack.Addresses
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("dev stack stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("dev stack did not start")
	}
	testkit.Eventually(t, func() bool {
		resp, err := http.Get(a.REST + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, "gateway never became ready")
	return a, stop
}

// readmeScript returns the README's curl walkthrough (between the readme-test markers), pointed at base,
// with `go run` of kefu-dev replaced by kefuDev (a built binary and the stack's data folder).
func readmeScript(t *testing.T, base, kefuDev string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- readme-test:begin -->\\s*```bash\\n(.*?)```\\s*<!-- readme-test:end -->").FindSubmatch(b)
	require.NotNil(t, m, "README.md has no readme-test block")
	script := strings.ReplaceAll(string(m[1]), "http://localhost:8080", base)
	require.Contains(t, script, "go run ./services/devstack/cmd/kefu-dev", "the walkthrough mints its tokens with kefu-dev")
	return strings.ReplaceAll(script, "go run ./services/devstack/cmd/kefu-dev", kefuDev)
}

// TestReadmeWalkthroughWorksAsPrinted runs the README's curl examples (routing set-up, SLA policies and
// calendars, submit, queue, automatic assignment, the ticket's SLA, reply, resolve, rate, close, archive,
// reports and exports, customers, keys) against the real dev stack,
// so the quick start cannot rot.
func TestReadmeWalkthroughWorksAsPrinted(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by the README walkthrough (.ci/run installs it): %v", tool, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "kefu-dev")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "kefu.dev/services/devstack/cmd/kefu-dev")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build kefu-dev: %s", out)
	a, cfg := startStackIn(t, t.TempDir())
	cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", readmeScript(t, a.REST, bin+" --data-dir "+cfg.DataDir))
	cmd.Dir = t.TempDir()
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "README walkthrough failed:\n%s", out)
	if os.Getenv("KEFU_PRINT_README") != "" {
		t.Logf("walkthrough output:\n%s", out)
	}
	for _, want := range []string{`"TICKET_STATUS_ARCHIVED"`, "UNAUTHENTICATED\nPERMISSION_DENIED\n", `"revoked":true`,
		`{"method":"SubmitTicket","principal":"adapter:web-chat","result":"OK"}`, `{"method":"ArchiveTicket","principal":"staff:`,
		`{"name":"张*","nationalId":"110105********002X","phone":"139****5678","masked":true}`, "[true]\nvip\n13912345678\n",
		"CUSTOMER_STATE_ERASED",
		`["after_sales","general","logistics","senior_complaints","tech_support"]`,
		`{"displayName":"李静","seniority":"SENIORITY_LEAD"}`, `{"code":"logistics","headed":true}`, `{"heads":true}`,
		`{"displayName":"王芳","presence":"PRESENCE_OFFLINE","capacity":8}`, "15 快递投诉 → 物流组\n20 物流 → 物流组",
		"\nlogistics\n", `{"depth":1,"waiting":[true],"agents":[{"displayName":"王芳","presence":"PRESENCE_OFFLINE","eligible":false}]}`,
		`"inLogistics":true}`, "PRESENCE_ONLINE\n", `[{"mine":true,"state":"ROUTED_TICKET_STATE_ASSIGNED"}]`,
		"chat_first_response china_default\ncomplaint_l1 24x7\n",
		`{"code":"china_default","timeZone":"Asia/Shanghai","holidays":8,"workdays":["2026-09-27","2026-10-10"]}`,
		"\n2026-10-09T10:00:00+08:00\n", `{"code":"vip_first_response","warnings":[50,80]}`,
		`[{"target":"SLA_TARGET_FIRST_RESPONSE","state":"SLA_STATE_RUNNING","calendar":"china_default"},{"target":"SLA_TARGET_RESOLUTION","state":"SLA_STATE_RUNNING","calendar":"china_default"}]`,
		`[{"mine":true,"target":"SLA_TARGET_FIRST_RESPONSE"},{"mine":true,"target":"SLA_TARGET_RESOLUTION"}]`,
		`{"target":"SLA_TARGET_FIRST_RESPONSE","state":"SLA_STATE_MET"}`,
		`[{"kind":"MESSAGE_KIND_AGENT_REPLY","channel":"CHANNEL_WEB_CHAT","state":"DELIVERY_STATE_QUEUED","numbered":false},` +
			`{"kind":"MESSAGE_KIND_ACKNOWLEDGEMENT","channel":"CHANNEL_WEB_CHAT","state":"DELIVERY_STATE_QUEUED","numbered":true}]`,
		`{"subjects":["kefu.ticket.*"],"state":"WEBHOOK_STATE_ACTIVE","retryHours":25,"signed":true}`,
		"ARTICLE_STATUS_PUBLISHED\n",
		`{"title":"快递延误或包裹未送达怎么办","snippet":"<mark>包裹</mark>超过承诺时间未送达时：先查询物流轨迹，再联系快递站催派；超过 3 天可申请补偿。"}`,
		`[{"mine":true,"subcategoryMatch":true}]`, `[{"title":"快递延误或包裹未送达怎么办","insertedCount":"1"}]`, "\ntrue\n",
		`{"numbered":true,"status":"INCIDENT_STATUS_ACTIVE"}`, `{"linked":true,"urgency":"URGENCY_URGENT"}`,
		"受暴雨影响，部分地区快递延误，敬请谅解。\n", `{"tickets":"1"}`, `{"status":"INCIDENT_STATUS_CLOSED","keptOpen":"1"}`,
		"# Post-mortem INC…: 暴雨导致快递延误\n",
		`[{"channel":"web_chat","tickets":"1"}]`, `{"firstResponses":"1","businessFirstResponses":"1","resolutions":"1"}`,
		`[{"target":"SLA_TARGET_FIRST_RESPONSE","tickets":"1","breached":"0"},{"target":"SLA_TARGET_RESOLUTION","tickets":"1","breached":"0"}]`,
		`["物流延迟 1","服务态度差 1"]`, `[{"logistics":true,"stays":"1"}]`, `{"tickets":"1","slaTickets":"1","satisfied":"1"}`,
		"key,tickets\nweb_chat,1\n", `{"tickets":"1"}`} {
		require.Contains(t, string(out), want, "the walkthrough's output:\n%s", out)
	}
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(out)), "UNAUTHENTICATED"), "a revoked key must stop working:\n%s", out)
}

// TestEveryServiceServesHealthAndReflection checks the suite's topology: every service answers
// grpc.health.v1 SERVING and intake lists its API through server reflection (what grpcurl uses).
func TestEveryServiceServesHealthAndReflection(t *testing.T) {
	t.Parallel()
	a := startStack(t)
	for name, addr := range map[string]string{"intake": a.Intake, "customer": a.Customer, "routing": a.Routing, "slatimer": a.Slatimer,
		"analytics": a.Analytics, "notify": a.Notify, "kb": a.KB} {
		cc, err := grpcx.Dial(addr)
		require.NoError(t, err)
		defer cc.Close()
		resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err, name)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), name)
	}
	cc, err := grpcx.Dial(a.Intake)
	require.NoError(t, err)
	defer cc.Close()
	stream, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	require.Contains(t, names, "kefu.intake.v1.IntakeService")
	require.Contains(t, names, "grpc.health.v1.Health")
}

// TestTraceFollowsOneRequestToAConsumer proves one trace covers a REST submit end to end: the gateway's
// HTTP span, the gRPC call into intake, its Postgres queries, the relay's publish to NATS and a consumer's
// handling of the event. It installs a recording tracer provider for the whole process, so it does not run
// in parallel with the other tests of this package.
func TestTraceFollowsOneRequestToAConsumer(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	a, cfg := startStackIn(t, t.TempDir())
	key := adapterKey(t, a, cfg)

	consumerDB := testkit.NewDB(t, "tracecheck", events.Migrations())
	_, js := testkit.JetStream(t, a.NATS, logging.Discard())
	var mu sync.Mutex
	consumed := map[string]string{} // ticket id → trace id seen by the handler
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, js, consumerDB.Pool, events.ConsumerConfig{
			Durable: "test-trace", FilterSubjects: []string{events.Subject("ticket", "created")}, Logger: logging.Discard(),
		}, func(ctx context.Context, _ pgx.Tx, d events.Delivery) error {
			mu.Lock()
			consumed[d.AggregateID] = spanTraceID(ctx)
			mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	body := fmt.Sprintf(`{"idempotencyKey":"trace-1","channel":"CHANNEL_APP","receivedTime":"%s","description":"订单什么时候发货"}`,
		time.Now().UTC().Format(time.RFC3339))
	resp, err := post(t, a.REST+"/v1/tickets", key, body)
	require.NoError(t, err)
	var out struct {
		Ticket struct {
			TicketID string `json:"ticketId"`
		} `json:"ticket"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, decodeJSON(resp, &out))
	id := out.Ticket.TicketID
	require.NotEmpty(t, id)

	var traceID string
	testkit.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		traceID = consumed[id]
		return traceID != ""
	}, 30*time.Second, "the consumer never saw the ticket's created event")

	var httpSpan, grpcServer, pgSpan, publish bool
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() != traceID {
			continue
		}
		switch {
		case s.SpanKind().String() == "server" && strings.Contains(s.Name(), "/v1/tickets"):
			httpSpan = true
		case s.SpanKind().String() == "server" && s.Name() == "kefu.intake.v1.IntakeService/SubmitTicket":
			grpcServer = true
		case s.SpanKind().String() == "client" && strings.Contains(strings.ToLower(s.Name()), "insert"):
			pgSpan = true
		case s.SpanKind().String() == "producer":
			publish = true
		}
	}
	var names []string
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() == traceID {
			names = append(names, s.SpanKind().String()+" "+s.Name())
		}
	}
	require.True(t, httpSpan, "no gateway HTTP span in the trace: %v", names)
	require.True(t, grpcServer, "no intake gRPC server span in the trace: %v", names)
	require.True(t, pgSpan, "no Postgres span in the trace: %v", names)
	require.True(t, publish, "no NATS publish span in the trace: %v", names)
}

// adapterKey creates an adapter API key through the REST API, as an admin with a token from the stack's
// dev issuer, and returns its text.
func adapterKey(t *testing.T, a devstack.Addresses, cfg devstack.Config) string {
	t.Helper()
	iss, err := devstack.LoadIssuer(cfg.DataDir)
	require.NoError(t, err)
	admin, err := iss.Mint(auth.StaffToken{Subject: "admin-1", Roles: []string{auth.RoleAdmin}})
	require.NoError(t, err)
	resp, err := post(t, a.REST+"/v1/apiKeys", admin, `{"requestId": "k1", "principalKind": "PRINCIPAL_KIND_ADAPTER",
		"principalId": "app", "allowedChannels": ["CHANNEL_APP"]}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Secret string `json:"secret"`
	}
	require.NoError(t, decodeJSON(resp, &out))
	require.NotEmpty(t, out.Secret)
	return out.Secret
}

// post sends a JSON body with a bearer credential.
func post(t *testing.T, url, credential, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+credential)
	return http.DefaultClient.Do(req)
}
