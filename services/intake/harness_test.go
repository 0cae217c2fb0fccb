package intake_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
	"kefu.dev/services/intake/internal/store"
)

// wait bounds every Eventually in these tests: generous for a loaded two-core CI machine, never slept.
const wait = 20 * time.Second

// testStart is the fake clock's start: a Thursday morning in Shanghai (02:00 UTC is 10:00 there).
var testStart = time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)

// Principals the tests act as.
const (
	adapterP = "adapter:web-form"
	staffP   = "staff:agent-7"
)

// testKeyHolders are the principals with an API key in every stack's database.
var testKeyHolders = []string{"adapter:web-form", "adapter:phone-ivr", "service:routing"}

// creds are the test principals' credentials, made once per test binary: every stack trusts the one
// staff-token issuer and holds the same adapter keys (same pepper, ids and hashes), so as() needs no stack.
func creds() *testkit.Credentials { return testkit.NewCredentials(testStart, testKeyHolders...) }

// authConfig is what every test stack authenticates with (rate limits out of the way).
func authConfig() auth.Config { return creds().AuthConfig() }

// insertKeys stores the test principals' keys in db: adapters allowed on every channel, services with
// the service role.
func insertKeys(t *testing.T, db *testkit.DB) {
	t.Helper()
	creds().InsertKeys(t, db, allChannels())
}

func allChannels() []string {
	var out []string
	for n, v := range intakev1.Channel_value {
		if v != 0 {
			out = append(out, strings.ToLower(strings.TrimPrefix(n, "CHANNEL_")))
		}
	}
	return out
}

// stack is one intake service on a real gRPC listener, with its own database and embedded NATS server.
type stack struct {
	client intakev1.IntakeServiceClient
	db     *testkit.DB
	nats   *natsembed.Server
	clock  *clock.Fake
	cfg    intake.Config
	addr   string
}

// grpcAddr is the service's gRPC address.
func (s *stack) grpcAddr() string { return s.addr }

type option func(*intake.Config)

// start runs intake.Serve against a fresh database and NATS server and returns a client for it. Cleanup
// stops the service (and waits for it) before the database and NATS go away.
func start(t *testing.T, opts ...option) *stack {
	t.Helper()
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	ns := testkit.NATS(t)
	s := &stack{db: db, nats: ns, clock: clock.NewFake(testStart)}
	cfg := intake.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate, cfg.Clock = db.RuntimeURL, ns.ClientURL(), false, s.clock
	cfg.DBMaxConns = 12
	cfg.SweepInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Auth = authConfig()
	insertKeys(t, db)
	for _, o := range opts {
		o(&cfg)
	}
	s.cfg = cfg

	s.client, s.addr = serve(t, cfg)
	// Serve seeds the defaults before it serves, so the first successful call means ready.
	testkit.EventuallyNoError(t, func() error {
		_, err := s.client.ListClassificationRules(as(t.Context(), staffP), &intakev1.ListClassificationRulesRequest{})
		return err
	}, wait)
	return s
}

// serve runs one intake.Serve with cfg on a fresh listener until the test ends, and returns a client and
// the address.
func serve(t *testing.T, cfg intake.Config) (intakev1.IntakeServiceClient, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- intake.Serve(ctx, cfg, logging.Discard(), lis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("intake.Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("intake.Serve did not stop within 30s")
		}
	})
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return intakev1.NewIntakeServiceClient(cc), lis.Addr().String()
}

// replica starts a second intake on the stack's database and NATS server, as another replica would run.
func (s *stack) replica(t *testing.T) intakev1.IntakeServiceClient {
	t.Helper()
	c, _ := serve(t, s.cfg)
	return c
}

// as returns ctx calling as principal p, "<kind>:<id>": an adapter or service with its API key, a staff
// member with an admin token (object scope has its own tests).
func as(ctx context.Context, p string) context.Context { return creds().As(ctx, p) }

// key returns a fresh idempotency key or request id.
func key(prefix string) string {
	return prefix + "-" + uuid.NewString()
}

// submitReq is a valid submission; tests change what they test.
func (s *stack) submitReq(description string) *intakev1.SubmitTicketRequest {
	return &intakev1.SubmitTicketRequest{
		IdempotencyKey: key("submit"),
		Channel:        intakev1.Channel_CHANNEL_WEB_CHAT,
		ReceivedTime:   timestamppb.New(s.clock.Now().Add(-time.Minute)),
		Description:    description,
	}
}

// submit creates a ticket as the web-form adapter.
func (s *stack) submit(t *testing.T, description string) *intakev1.Ticket {
	t.Helper()
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), s.submitReq(description))
	require.NoError(t, err)
	return resp.GetTicket()
}

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

// streamed is one event read back from the KEFU stream.
type streamed struct {
	subject string
	headers nats.Header
	data    []byte
	meta    *eventsv1.EventMeta
}

// jetStream connects a test client to the stack's NATS server.
func (s *stack) jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.nats.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// events waits until every outbox row is published and the stream holds at least want messages, then
// returns every ticket event in stream order.
func (s *stack) events(t *testing.T, js jetstream.JetStream, want int) []streamed {
	t.Helper()
	var n uint64
	testkit.EventuallyNoError(t, func() error {
		var pending int
		if err := s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return errors.New("outbox rows still unpublished")
		}
		st, err := js.Stream(t.Context(), events.StreamName)
		if err != nil {
			return err
		}
		info, err := st.Info(t.Context())
		if err != nil {
			return err
		}
		if n = info.State.Msgs; n < uint64(want) {
			return errors.New("stream has too few events")
		}
		return nil
	}, wait)
	st, err := js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	var out []streamed
	for seq := uint64(1); uint64(len(out)) < n; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		var head eventsv1.EventHead
		require.NoError(t, proto.Unmarshal(m.Data, &head))
		out = append(out, streamed{subject: m.Subject, headers: m.Header, data: m.Data, meta: head.GetMeta()})
	}
	return out
}
