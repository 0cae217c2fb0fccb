package customer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"sync"
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

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/customer"
	"kefu.dev/services/customer/internal/seal"
	"kefu.dev/services/customer/internal/store"
)

// wait bounds every Eventually here: generous for a loaded two-core CI machine, never slept.
const wait = 20 * time.Second

// testStart is the fake clock's start.
var testStart = time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)

// Principals the tests act as.
const (
	adminP   = "staff:admin-1"
	agentP   = "staff:agent-7"
	intakeP  = "service:intake"
	adapterP = "adapter:phone-ivr"
)

func creds() *testkit.Credentials { return testkit.NewCredentials(testStart, intakeP, adapterP) }

// as calls as principal p; staff get the roles given (admin when none).
func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

// stack is one customer service on a real gRPC listener with its own database and NATS server.
type stack struct {
	client customerv1.CustomerServiceClient
	db     *testkit.DB
	nats   *natsembed.Server
	clock  *clock.Fake
	cfg    customer.Config
	logs   *lockedBuffer // everything the service logged, at debug level
}

// lockedBuffer is a log sink safe for the service's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newKeySpec(t *testing.T, id string) string {
	t.Helper()
	spec, err := seal.GenerateKeySpec(id, rand.Reader)
	require.NoError(t, err)
	return spec
}

func newIndexKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// start runs customer.Serve against a fresh database and NATS server.
func start(t *testing.T, opts ...func(*customer.Config)) *stack {
	t.Helper()
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	ns := testkit.NATS(t)
	s := &stack{db: db, nats: ns, clock: clock.NewFake(testStart), logs: &lockedBuffer{}}
	cfg := customer.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate, cfg.Clock = db.RuntimeURL, ns.ClientURL(), false, s.clock
	cfg.DBMaxConns = 8
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.EncryptionKeys = newKeySpec(t, "k1")
	cfg.BlindIndexKey = newIndexKey(t)
	cfg.Auth = creds().AuthConfig()
	creds().InsertKeys(t, db, []string{"phone"})
	for _, o := range opts {
		o(&cfg)
	}
	s.cfg = cfg
	s.client = serveLogging(t, cfg, logging.New(s.logs, slog.LevelDebug, "customer"))
	testkit.EventuallyNoError(t, func() error {
		_, err := s.client.ListTiers(as(t.Context(), adminP), &customerv1.ListTiersRequest{})
		return err
	}, wait)
	return s
}

// serve runs one customer.Serve with cfg until the test ends and returns a client.
func serve(t *testing.T, cfg customer.Config) customerv1.CustomerServiceClient {
	t.Helper()
	return serveLogging(t, cfg, logging.Discard())
}

// serveLogging is serve with a logger.
func serveLogging(t *testing.T, cfg customer.Config, log *slog.Logger) customerv1.CustomerServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- customer.Serve(ctx, cfg, log, lis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("customer.Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("customer.Serve did not stop within 30s")
		}
	})
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return customerv1.NewCustomerServiceClient(cc)
}

func key(prefix string) string { return prefix + "-" + uuid.NewString() }

// consented is a consent to follow up on a ticket, given on the phone.
func consented() []*customerv1.Consent {
	return []*customerv1.Consent{{Purpose: "service_follow_up", Channel: intakev1.Channel_CHANNEL_PHONE}}
}

func provided() *customerv1.Provenance {
	return &customerv1.Provenance{Source: customerv1.Source_SOURCE_CUSTOMER_PROVIDED, Detail: "hotline call"}
}

// person is a valid individual: Zhang San, ID 11010519491231002X, phone 13812345678, email, WeChat id,
// order SO-1001.
func person() *customerv1.Customer {
	return &customerv1.Customer{
		Kind: customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL,
		Individual: &customerv1.Individual{Name: "张三", NationalId: "11010519491231002X", Gender: customerv1.Gender_GENDER_MALE,
			Occupation: "教师", Provenance: provided()},
		Contacts: []*customerv1.ContactPoint{
			{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13812345678", Provenance: provided(), Consents: consented()},
			{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "zhang.san@example.com", Provenance: provided(), Consents: consented()},
			{Kind: intakev1.ContactKind_CONTACT_KIND_WECHAT, Value: "wxid_zhangsan88", Provenance: provided(), Consents: consented()},
		},
		PreferredChannel: intakev1.Channel_CHANNEL_WECHAT,
		BusinessKeys: []*customerv1.BusinessKey{{Kind: customerv1.BusinessKeyKind_BUSINESS_KEY_KIND_ORDER_NUMBER, Value: "SO-1001",
			Provenance: &customerv1.Provenance{Source: customerv1.Source_SOURCE_BUSINESS_INTERACTION, Detail: "order"}}},
	}
}

func (s *stack) create(t *testing.T, c *customerv1.Customer) *customerv1.Customer {
	t.Helper()
	resp, err := s.client.CreateCustomer(as(t.Context(), agentP, "agent"), &customerv1.CreateCustomerRequest{IdempotencyKey: key("create"), Customer: c})
	require.NoError(t, err)
	return resp.GetCustomer()
}

func requireCode(t *testing.T, err error, c codes.Code) *status.Status {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, c, st.Code(), "message: %s", st.Message())
	return st
}

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
	data    []byte
	meta    *eventsv1.EventMeta
}

// events waits until the outbox is published and the stream holds at least want messages, and returns
// them in stream order.
func (s *stack) events(t *testing.T, want int) []streamed {
	t.Helper()
	nc, err := nats.Connect(s.nats.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
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
		out = append(out, streamed{subject: m.Subject, data: m.Data, meta: head.GetMeta()})
	}
	return out
}
