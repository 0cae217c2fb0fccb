package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/pkg/webhook"
	"kefu.dev/services/customer"
	"kefu.dev/services/intake"
	"kefu.dev/services/notify"
	"kefu.dev/services/slatimer"
)

// wait bounds every Eventually here: generous for a loaded two-core CI machine, never slept.
const wait = 30 * time.Second

// testStart is when the test tokens start to be valid: before every fake clock of these tests.
var testStart = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// shanghai is the business time zone.
var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Principals the tests act as.
const (
	adminP    = "staff:admin-1"
	agentP    = "staff:00000000-0000-4000-8000-0000000000a1"
	adapterP  = "adapter:web-form"
	intakeSvc = "service:intake"
	notifySvc = "service:notify"
)

func creds() *testkit.Credentials {
	return testkit.NewCredentials(testStart, adapterP, intakeSvc, notifySvc)
}

// as calls as principal p; staff get the roles given (admin when none).
func as(ctx context.Context, p string, roles ...string) context.Context {
	return creds().As(ctx, p, roles...)
}

var allChannels = []string{"web_chat", "phone", "email", "app", "sms", "store", "wechat", "social", "mini_program"}

// stack is intake (with the customer service), customer, slatimer and notify on real listeners, each
// with its own database, sharing one NATS server. Intake and notify run on fake clocks (the event's
// instant decides after-hours; notify's decides retries), slatimer on one that stands still, customer
// on the real one.
type stack struct {
	intake      intakev1.IntakeServiceClient
	incidents   intakev1.IncidentServiceClient
	customer    customerv1.CustomerServiceClient
	sla         slav1.SlaServiceClient
	notify      notifyv1.NotifyServiceClient
	nats        *natsembed.Server
	intakeClock *clock.Fake
	clock       *clock.Fake
	cfg         notify.Config
}

type option func(*notify.Config)

// start runs the four services; intake's clock starts at at.
func start(t *testing.T, at time.Time, opts ...option) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	s := &stack{nats: ns, intakeClock: clock.NewFake(at), clock: clock.NewFake(at)}

	customerDB := testkit.NewDB(t, "customer", customer.Migrations()...)
	creds().InsertKeys(t, customerDB, allChannels)
	ccfg := customer.DefaultConfig()
	ccfg.DatabaseURL, ccfg.NATSURL, ccfg.Migrate = customerDB.RuntimeURL, ns.ClientURL(), false
	ccfg.DBMaxConns, ccfg.ShutdownTimeout, ccfg.Auth = 8, 5*time.Second, creds().AuthConfig()
	ccfg.EncryptionKeys, ccfg.BlindIndexKey = "k1:"+random32(t), random32(t)
	customerLis := listen(t)
	runUntilCleanup(t, "customer", func(ctx context.Context) error { return customer.Serve(ctx, ccfg, logging.Discard(), customerLis) })
	s.customer = customerv1.NewCustomerServiceClient(dial(t, customerLis.Addr().String()))

	intakeDB := testkit.NewDB(t, "intake", intake.Migrations()...)
	creds().InsertKeys(t, intakeDB, allChannels)
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.NATSURL, icfg.Migrate, icfg.Clock = intakeDB.RuntimeURL, ns.ClientURL(), false, s.intakeClock
	icfg.DBMaxConns, icfg.ShutdownTimeout, icfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	icfg.CustomerAddr, icfg.CustomerAPIKey = customerLis.Addr().String(), creds().Key(intakeSvc)
	intakeLis := listen(t)
	runUntilCleanup(t, "intake", func(ctx context.Context) error { return intake.Serve(ctx, icfg, logging.Discard(), intakeLis) })
	intakeConn := dial(t, intakeLis.Addr().String())
	s.intake, s.incidents = intakev1.NewIntakeServiceClient(intakeConn), intakev1.NewIncidentServiceClient(intakeConn)

	slaDB := testkit.NewDB(t, "slatimer", slatimer.Migrations()...)
	creds().InsertKeys(t, slaDB, nil)
	scfg := slatimer.DefaultConfig()
	// slatimer's clock stands still at the tickets' fake received time: on the real one, every ticket
	// (received at a fixed past instant) would be long overdue, and its real progress reminders would
	// race the ones the tests publish.
	scfg.DatabaseURL, scfg.NATSURL, scfg.Migrate, scfg.Clock = slaDB.RuntimeURL, ns.ClientURL(), false, clock.NewFake(at)
	scfg.DBMaxConns, scfg.ShutdownTimeout, scfg.Auth = 8, 5*time.Second, creds().AuthConfig()
	slaLis := listen(t)
	runUntilCleanup(t, "slatimer", func(ctx context.Context) error { return slatimer.Serve(ctx, scfg, logging.Discard(), slaLis) })
	s.sla = slav1.NewSlaServiceClient(dial(t, slaLis.Addr().String()))

	notifyDB := testkit.NewDB(t, "notify", notify.Migrations()...)
	creds().InsertKeys(t, notifyDB, []string{"web_chat", "email", "sms"})
	cfg := notify.DefaultConfig()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Migrate, cfg.Clock = notifyDB.RuntimeURL, ns.ClientURL(), false, s.clock
	cfg.DBMaxConns, cfg.ShutdownTimeout, cfg.Auth = 12, 5*time.Second, creds().AuthConfig()
	cfg.IntakeAddr, cfg.CustomerAddr, cfg.SlatimerAddr = intakeLis.Addr().String(), customerLis.Addr().String(), slaLis.Addr().String()
	key := creds().Key(notifySvc)
	cfg.IntakeAPIKey, cfg.CustomerAPIKey, cfg.SlatimerAPIKey = key, key, key
	cfg.PublishInterval, cfg.WebhookPoll, cfg.WebhookTimeout = 50*time.Millisecond, 50*time.Millisecond, 500*time.Millisecond
	for _, o := range opts {
		o(&cfg)
	}
	s.cfg = cfg
	notifyLis := listen(t)
	runUntilCleanup(t, "notify", func(ctx context.Context) error { return notify.Serve(ctx, cfg, logging.Discard(), notifyLis) })
	s.notify = notifyv1.NewNotifyServiceClient(dial(t, notifyLis.Addr().String()))
	testkit.EventuallyNoError(t, func() error {
		_, err := s.notify.ListTemplates(as(t.Context(), adminP), &notifyv1.ListTemplatesRequest{})
		return err
	}, wait)
	testkit.EventuallyNoError(t, func() error {
		_, err := s.intake.ListSubcategories(as(t.Context(), adminP), &intakev1.ListSubcategoriesRequest{})
		return err
	}, wait)
	return s
}

func random32(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return lis
}

// runUntilCleanup runs serve until the test ends, then cancels it and waits for it to return.
func runUntilCleanup(t *testing.T, name string, serve func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s.Serve: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s.Serve did not stop within 30s", name)
		}
	})
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// submit submits a ticket as the adapter and returns it.
func (s *stack) submit(t *testing.T, req *intakev1.SubmitTicketRequest) *intakev1.Ticket {
	t.Helper()
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = uuid.NewString()
	}
	if req.ReceivedTime == nil {
		req.ReceivedTime = timestamppb.New(s.intakeClock.Now())
	}
	resp, err := s.intake.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	return resp.GetTicket()
}

// messages waits until the ticket has n messages and returns them, newest first.
func (s *stack) messages(t *testing.T, ticketID string, n int) []*notifyv1.OutboundMessage {
	t.Helper()
	var got []*notifyv1.OutboundMessage
	testkit.Eventually(t, func() bool {
		resp, err := s.notify.ListMessages(as(t.Context(), adminP), &notifyv1.ListMessagesRequest{TicketId: ticketID})
		require.NoError(t, err)
		got = resp.GetMessages()
		return len(got) >= n
	}, wait, "ticket %s: want %d messages", ticketID, n)
	require.Len(t, got, n)
	return got
}

// outbound reads the OUTBOUND stream's messages on subject (all of them so far, waiting until there are
// at least n) as an adapter would.
func (s *stack) outbound(t *testing.T, subject string, n int) []*notifyv1.OutboundEnvelope {
	t.Helper()
	var out []*notifyv1.OutboundEnvelope
	for _, m := range s.read(t, "OUTBOUND", subject, n) {
		var env notifyv1.OutboundEnvelope
		require.NoError(t, proto.Unmarshal(m.Data(), &env))
		out = append(out, &env)
	}
	return out
}

// read returns stream's messages on subject: all of them so far, waiting until there are at least n. It
// keeps one ordered consumer and fetches in batches, because every fetch of an ordered consumer creates a
// server-side consumer: a fetch per message, read again from the start on every look, took longer than
// the wait for a couple of thousand messages on a busy CI machine.
func (s *stack) read(t *testing.T, stream, subject string, n int) []jetstream.Msg {
	t.Helper()
	const batch = 500
	_, js := testkit.JetStream(t, s.nats.ClientURL(), logging.Discard())
	cons, err := js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	var out []jetstream.Msg
	testkit.Eventually(t, func() bool {
		got, err := cons.Fetch(batch, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return false
		}
		fetched := 0
		for m := range got.Messages() {
			out = append(out, m)
			fetched++
		}
		// Done once there are enough and this fetch came back short: the stream has nothing more for now.
		return got.Error() == nil && len(out) >= n && fetched < batch
	}, wait, "want %d messages on %s %s", n, stream, subject)
	return out
}

// receiver is a webhook receiver on loopback that verifies every signature with the secret it is given
// and answers as behave says (nil: 204).
type receiver struct {
	srv    *httptest.Server
	now    func() time.Time
	mu     sync.Mutex
	secret string
	behave func(n int) int // attempt number (1-based, over all requests) → status; 0 hangs until the client gives up
	n      int
	got    []delivered
	bad    int
}

// delivered is one request the receiver took (answered 2xx).
type delivered struct {
	DeliveryID, Subject string
	Body                map[string]any
	Raw                 []byte
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	t.Helper()
	r := &receiver{now: now}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.n++
	n, secret, behave := r.n, r.secret, r.behave
	if err := webhook.Verify(secret, req.Header.Get(webhook.SignatureHeader), body, r.now(), webhook.DefaultWindow); err != nil {
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Unlock()
	code := http.StatusNoContent
	if behave != nil {
		code = behave(n)
	}
	if code == 0 {
		<-req.Context().Done() // hang until the sender's timeout closes the connection
		return
	}
	if code/100 == 2 {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		r.mu.Lock()
		r.got = append(r.got, delivered{DeliveryID: req.Header.Get(webhook.DeliveryIDHeader),
			Subject: req.Header.Get(webhook.SubjectHeader), Body: m, Raw: body})
		r.mu.Unlock()
	}
	w.WriteHeader(code)
}

func (r *receiver) set(secret string, behave func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.behave = secret, behave
}

func (r *receiver) taken() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

func (r *receiver) requests() (n, badSignatures int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.bad
}

// subscribe creates a webhook to the receiver for subjects and gives the receiver its secret.
func (s *stack) subscribe(t *testing.T, r *receiver, behave func(n int) int, subjects ...string) *notifyv1.Webhook {
	t.Helper()
	resp, err := s.notify.CreateWebhook(as(t.Context(), adminP), &notifyv1.CreateWebhookRequest{
		IdempotencyKey: uuid.NewString(), Webhook: &notifyv1.Webhook{Url: r.srv.URL + "/hook", Subjects: subjects}})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetWebhook().GetSecret())
	r.set(resp.GetWebhook().GetSecret(), behave)
	return resp.GetWebhook()
}
