package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/gateway"
	"kefu.dev/services/intake"
)

// stack is the suite under test, in this process, on loopback.
type stack struct {
	adminURL, benchURL string
	roles              pgxutil.Roles
	nats               *natsembed.Server
	natsDir            string
	natsPort           int
	grpcAddr, restURL  string
	noauthAddr         string // an intake replica without authentication, audit or rate limits: the baseline
	peerAddr           string // an intake replica like the first, placed like the baseline: what it is compared with
	key                string // the benchmark adapter's API key
	stop               func() error
	deliveries         *deliveries
}

// deliveries records when each ticket's created event reached a JetStream consumer.
type deliveries struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (d *deliveries) record(id string, at time.Time) {
	d.mu.Lock()
	if _, ok := d.seen[id]; !ok {
		d.seen[id] = at
	}
	d.mu.Unlock()
}

func (d *deliveries) get(id string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.seen[id]
	return t, ok
}

func bench(ctx context.Context, o options, log *slog.Logger, rep *report) error {
	s, err := startStack(ctx, o, log)
	if err != nil {
		return err
	}
	defer func() { _ = s.stop() }()
	want := func(m string) bool { return bytes.Contains([]byte(","+o.modes+","), []byte(","+m+",")) }
	maxCallers := o.callers[len(o.callers)-1]

	var noauthClient, peerClient intakev1.IntakeServiceClient
	if want("noauth") {
		cc, err := grpcx.Dial(s.noauthAddr)
		if err != nil {
			return err
		}
		defer cc.Close()
		noauthClient = intakev1.NewIntakeServiceClient(cc)
		pc, err := grpcx.Dial(s.peerAddr, grpcx.Bearer(s.key))
		if err != nil {
			return err
		}
		defer pc.Close()
		peerClient = intakev1.NewIntakeServiceClient(pc)
	}
	var client intakev1.IntakeServiceClient
	if want("grpc") {
		cc, err := grpcx.Dial(s.grpcAddr, grpcx.Bearer(s.key))
		if err != nil {
			return err
		}
		defer cc.Close()
		client = intakev1.NewIntakeServiceClient(cc)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	body, err := newRESTBody()
	if err != nil {
		return err
	}
	// Phases run caller count by caller count (floor, gRPC, REST at 1, then at 8, ...), so each ratio
	// compares phases a few seconds apart, and the whole sequence is repeated --rounds times: the report
	// gives each measure's median.
	// A short unreported warm-up first: the first seconds after start-up (connections, prepared
	// statements, caches, the Go heap) would otherwise count against whichever phase comes first.
	if want("noauth") {
		for _, c := range []intakev1.IntakeServiceClient{noauthClient, peerClient} {
			if _, err := runLoad(ctx, maxCallers, min(o.duration, 3*time.Second), grpcSubmit(c)); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	if want("grpc") || want("rest") {
		if _, err := runLoad(ctx, maxCallers, min(o.duration, 3*time.Second), func(ctx context.Context, key string) (string, error) {
			return restSubmit(ctx, hc, s.restURL, "Bearer "+s.key, body, key)
		}); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var all samples
	grpcRate := map[int]float64{} // the last round's, for the sync phase
	for round := 1; round <= o.rounds; round++ {
		for _, n := range o.callers {
			var floor float64
			if want("floor") {
				// A fresh database for each phase, dropped right after, so no floor phase pays for
				// another's rows and no floor autovacuum or checkpoint runs under kefu's phases.
				url, err := floorDB(ctx, o.adminURL)
				if err != nil {
					return fmt.Errorf("floor database: %w", err)
				}
				if err := s.quiesce(ctx); err != nil {
					return err
				}
				r, err := runFloor(ctx, url, n, o.duration)
				if err != nil {
					return fmt.Errorf("floor: %w", err)
				}
				floor = r.rate
				all.add("raw Postgres floor: same rows in one pgx transaction", n, r.rate, "tickets/s")
				all.add("raw Postgres floor p99", n, percentile(r.lat, 99), "ms")
				if err := dropDB(ctx, o.adminURL, floorDBName); err != nil {
					return err
				}
			}
			if want("noauth") {
				// The baseline and its peer with the security layer swap places every other round, so
				// the machine's drift within a round does not always count against the same one.
				var noauth, peer float64
				phase := func(c intakev1.IntakeServiceClient, into *float64) func() error {
					return func() error {
						if err := s.quiesce(ctx); err != nil {
							return err
						}
						r, err := runLoad(ctx, n, o.duration, grpcSubmit(c))
						if err != nil {
							return fmt.Errorf("noauth: %w", err)
						}
						*into = r.rate
						return nil
					}
				}
				first, second := phase(noauthClient, &noauth), phase(peerClient, &peer)
				if round%2 == 0 {
					first, second = second, first
				}
				if err := first(); err != nil {
					return err
				}
				if err := second(); err != nil {
					return err
				}
				all.add("SubmitTicket over gRPC, replica without authentication, audit or limits (baseline)", n, noauth, "tickets/s")
				all.add("SubmitTicket over gRPC, replica with API-key auth, audit and limits", n, peer, "tickets/s").
					ratio(100*peer/noauth, "of the baseline")
			}
			var grpcRun *result
			runGRPC := func() error {
				if !want("grpc") {
					return nil
				}
				if err := s.quiesce(ctx); err != nil {
					return err
				}
				stop, err := startProfile(o.cpuprof, n == maxCallers && round == o.rounds)
				if err != nil {
					return err
				}
				r, err := runLoad(ctx, n, o.duration, grpcSubmit(client))
				stop()
				if err != nil {
					return fmt.Errorf("grpc: %w", err)
				}
				grpcRun = &r
				return nil
			}
			if err := runGRPC(); err != nil {
				return err
			}
			if r := grpcRun; r != nil {
				grpcRate[n] = r.rate
				m := all.add("SubmitTicket over gRPC (outbox, relay, NATS)", n, r.rate, "tickets/s")
				if floor > 0 {
					m.ratio(100*r.rate/floor, "of the raw Postgres floor")
				}
				all.add("SubmitTicket over gRPC p50", n, percentile(r.lat, 50), "ms")
				all.add("SubmitTicket over gRPC p99", n, percentile(r.lat, 99), "ms")
				fromCall, fromCommit, missing := s.delivery(ctx, *r)
				all.add("submit call start to kefu.ticket.created at a JetStream consumer p50", n, percentile(fromCall, 50), "ms")
				all.add("submit call start to kefu.ticket.created at a JetStream consumer p99", n, percentile(fromCall, 99), "ms").count(len(fromCall), missing)
				all.add("submit response (commit) to kefu.ticket.created at a consumer p50", n, percentile(fromCommit, 50), "ms")
				all.add("submit response (commit) to kefu.ticket.created at a consumer p99", n, percentile(fromCommit, 99), "ms")
			}
			if want("rest") {
				if err := s.quiesce(ctx); err != nil {
					return err
				}
				stop, err := startProfile(o.cpuprof, n == maxCallers && round == o.rounds && !want("grpc"))
				if err != nil {
					return err
				}
				r, err := runLoad(ctx, n, o.duration, func(ctx context.Context, key string) (string, error) {
					return restSubmit(ctx, hc, s.restURL, "Bearer "+s.key, body, key)
				})
				stop()
				if err != nil {
					return fmt.Errorf("rest: %w", err)
				}
				m := all.add("SubmitTicket over REST (gateway → gRPC)", n, r.rate, "tickets/s")
				if g := grpcRate[n]; g > 0 && want("grpc") {
					m.ratio(100*r.rate/g, "of gRPC")
				}
				all.add("SubmitTicket over REST p50", n, percentile(r.lat, 50), "ms")
				all.add("SubmitTicket over REST p99", n, percentile(r.lat, 99), "ms")
			}
		}
	}
	all.report(rep)
	if want("sync") {
		if err := s.restartNATS(true); err != nil {
			return err
		}
		cc, err := grpcx.Dial(s.grpcAddr, grpcx.Bearer(s.key))
		if err != nil {
			return err
		}
		defer cc.Close()
		client := intakev1.NewIntakeServiceClient(cc)
		if err := s.quiesce(ctx); err != nil {
			return err
		}
		r, err := runLoad(ctx, maxCallers, o.duration, grpcSubmit(client))
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		note := ""
		if g := grpcRate[maxCallers]; g > 0 {
			note = fmt.Sprintf("%.0f%% of the default sync interval", 100*r.rate/g)
		}
		rep.add("SubmitTicket over gRPC, NATS fsync on every write", maxCallers, r.rate, "tickets/s", note)
		fromCall, fromCommit, missing := s.delivery(ctx, r)
		rep.add("submit call start to consumer p99, NATS fsync on every write", maxCallers, percentile(fromCall, 99), "ms", fmt.Sprintf("%d events, %d missing", len(fromCall), missing))
		rep.add("submit response (commit) to consumer p99, NATS fsync on every write", maxCallers, percentile(fromCommit, 99), "ms", "")
	}
	return nil
}

// startProfile starts a CPU profile into path when path is set and this is the phase to profile; the
// returned stop ends it (a no-op otherwise).
func startProfile(path string, thisPhase bool) (stop func(), err error) {
	if path == "" || !thisPhase {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

type result struct {
	rate  float64
	lat   []time.Duration
	ids   []string
	start map[string]time.Time // when the submit call began
	end   map[string]time.Time // when its response arrived (the ticket was committed)
}

// runLoad runs n callers for d, each submitting tickets one after another, and returns throughput and
// per-call latencies. Any call error fails the phase: a benchmark that hides errors measures nothing.
func runLoad(ctx context.Context, n int, d time.Duration, call func(ctx context.Context, key string) (string, error)) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type part struct {
		lat    []time.Duration
		ids    []string
		starts []time.Time
		ends   []time.Time
	}
	parts := make([]part, n)
	var seq atomic.Int64
	prefix := fmt.Sprintf("bench-%d-", time.Now().UnixNano())
	g, gctx := errgroup.WithContext(ctx)
	began := time.Now()
	for i := range n {
		g.Go(func() error {
			for gctx.Err() == nil {
				key := prefix + fmt.Sprint(seq.Add(1))
				t0 := time.Now()
				id, err := call(context.WithoutCancel(gctx), key)
				if err != nil {
					return err
				}
				t1 := time.Now()
				parts[i].lat = append(parts[i].lat, t1.Sub(t0))
				parts[i].ids = append(parts[i].ids, id)
				parts[i].starts = append(parts[i].starts, t0)
				parts[i].ends = append(parts[i].ends, t1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return result{}, err
	}
	elapsed := time.Since(began)
	r := result{start: map[string]time.Time{}, end: map[string]time.Time{}}
	for _, p := range parts {
		r.lat = append(r.lat, p.lat...)
		r.ids = append(r.ids, p.ids...)
		for j, id := range p.ids {
			r.start[id], r.end[id] = p.starts[j], p.ends[j]
		}
	}
	r.rate = float64(len(r.lat)) / elapsed.Seconds()
	return r, nil
}

// delivery waits (at most 30 s) for every submitted ticket's created event and returns two latencies per
// event: from the start of the submit call, and from its response (the commit; 0 when the event arrived
// first), plus how many events never arrived.
func (s *stack) delivery(ctx context.Context, r result) (fromCall, fromCommit []time.Duration, missing int) {
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		missing = 0
		for _, id := range r.ids {
			if _, ok := s.deliveries.get(id); !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			for _, id := range r.ids {
				if at, ok := s.deliveries.get(id); ok {
					fromCall = append(fromCall, at.Sub(r.start[id]))
					fromCommit = append(fromCommit, max(0, at.Sub(r.end[id])))
				}
			}
			return fromCall, fromCommit, missing
		}
		<-tick.C
	}
}

// grpcSubmit submits one ticket over gRPC and returns its id.
func grpcSubmit(client intakev1.IntakeServiceClient) func(ctx context.Context, key string) (string, error) {
	return func(ctx context.Context, key string) (string, error) {
		resp, err := client.SubmitTicket(ctx, submitRequest(key))
		if err != nil {
			return "", err
		}
		return resp.GetTicket().GetTicketId(), nil
	}
}

func submitRequest(key string) *intakev1.SubmitTicketRequest {
	return &intakev1.SubmitTicketRequest{
		IdempotencyKey: key,
		Channel:        intakev1.Channel_CHANNEL_WEB_CHAT,
		ReceivedTime:   timestamppb.Now(),
		Contact:        &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13800000000", Consent: true, ConsentPurpose: "service_follow_up"},
		CustomerId:     "0192f5a0-0000-7000-8000-00000000c001",
		OrderNumber:    "SO20261123001",
		Description:    "我的快递三天了还没到，订单号 SO20261123001，请帮忙查一下物流。",
	}
}

// restBody is the JSON body of a REST submit, encoded once: a load generator should spend the shared CPU on
// the server under test, not on encoding the same document 3,000 times a second. Each call splices in its
// idempotency key and the current time where the placeholders were.
type restBody struct{ parts [3][]byte }

const (
	keyMark  = "KEFU-BENCH-KEY"
	timeMark = "2001-02-03T04:05:06Z"
)

func newRESTBody() (*restBody, error) {
	req := submitRequest(keyMark)
	at, err := time.Parse(time.RFC3339, timeMark)
	if err != nil {
		return nil, err
	}
	req.ReceivedTime = timestamppb.New(at)
	doc, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	k, t := bytes.Index(doc, []byte(keyMark)), bytes.Index(doc, []byte(timeMark))
	if k < 0 || t < 0 || k > t {
		return nil, fmt.Errorf("rest body template: placeholders not found in order in %s", doc)
	}
	return &restBody{parts: [3][]byte{doc[:k], doc[k+len(keyMark) : t], doc[t+len(timeMark):]}}, nil
}

func (b *restBody) build(key string, at time.Time) []byte {
	out := make([]byte, 0, len(b.parts[0])+len(b.parts[1])+len(b.parts[2])+len(key)+32)
	out = append(out, b.parts[0]...)
	out = append(out, key...)
	out = append(out, b.parts[1]...)
	out = at.UTC().AppendFormat(out, time.RFC3339Nano)
	return append(out, b.parts[2]...)
}

func restSubmit(ctx context.Context, hc *http.Client, base, credential string, body *restBody, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/tickets", bytes.NewReader(body.build(key, time.Now())))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", credential)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /v1/tickets: %d %s", resp.StatusCode, buf.String())
	}
	id, ok := jsonStringField(buf.Bytes(), "ticketId")
	if !ok {
		return "", fmt.Errorf("POST /v1/tickets: no ticketId in %s", buf.String())
	}
	return id, nil
}

// jsonStringField returns the value of the first "name": "value" pair in doc, without decoding the rest (the
// ticket id holds no escapes).
func jsonStringField(doc []byte, name string) (string, bool) {
	i := bytes.Index(doc, []byte(`"`+name+`"`))
	if i < 0 {
		return "", false
	}
	rest := bytes.TrimLeft(doc[i+len(name)+2:], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return "", false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return "", false
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return "", false
	}
	return string(rest[1 : 1+end]), true
}

func startStack(ctx context.Context, o options, log *slog.Logger) (*stack, error) {
	s := &stack{adminURL: o.adminURL, deliveries: &deliveries{seen: map[string]time.Time{}}}
	dbName := "kefu_bench"
	if err := recreateDB(ctx, o.adminURL, dbName); err != nil {
		return nil, err
	}
	var err error
	if s.benchURL, err = pgxutil.WithDatabase(o.adminURL, dbName); err != nil {
		return nil, err
	}
	if s.roles, err = pgxutil.Provision(ctx, s.benchURL, "intake"); err != nil {
		return nil, err
	}
	if s.natsDir, err = os.MkdirTemp("", "kefu-bench-nats-"); err != nil {
		return nil, err
	}
	if err := s.restartNATS(false); err != nil {
		return nil, err
	}
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	nlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	plis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.grpcAddr, s.restURL = glis.Addr().String(), "http://"+hlis.Addr().String()
	s.noauthAddr, s.peerAddr = nlis.Addr().String(), plis.Addr().String()
	iss, err := auth.NewDevIssuer("kefu-bench", "kefu")
	if err != nil {
		return nil, err
	}
	pepper := make([]byte, auth.MinPepperBytes)
	if _, err := rand.Read(pepper); err != nil {
		return nil, err
	}
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.MigrateDatabaseURL, icfg.NATSURL = s.roles.RuntimeURL, s.roles.OwnerURL, s.nats.ClientURL()
	icfg.Auth.APIKeyPepper, icfg.Auth.OIDCIssuer, icfg.Auth.OIDCAudience, icfg.Auth.StaffKeys = hex.EncodeToString(pepper), iss.Issuer, iss.Audience, iss
	// The adapter's limit is far above what the machine can do, so the limiter runs (leasing tokens in
	// blocks, as in production) without ever refusing.
	icfg.Auth.RateLimits = "adapter=1000000:1000000,admin=100:100"
	if o.dbConns > 0 {
		icfg.DBMaxConns = o.dbConns
	}
	gcfg := gateway.DefaultConfig()
	gcfg.IntakeAddr = s.grpcAddr
	// Migrate once before either replica starts (the baseline replica must not race the schema).
	if err := intake.Migrate(ctx, icfg); err != nil {
		return nil, err
	}
	icfg.Migrate = false
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(sctx)
	g.Go(func() error { return intake.Serve(gctx, icfg, log.With("component", "intake"), glis) })
	g.Go(func() error { return gateway.Serve(gctx, hlis, gcfg, log.With("component", "gateway")) })

	nc, err := nats.Connect(s.nats.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		cancel()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		cancel()
		return nil, err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{}); err != nil {
		cancel()
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.Subject("ticket", "created")},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		s.deliveries.record(m.Headers().Get(events.HeaderAggregateID), time.Now())
	})
	if err != nil {
		cancel()
		return nil, err
	}
	s.stop = func() error {
		cc.Stop()
		nc.Close()
		cancel()
		err := g.Wait()
		s.nats.Shutdown()
		_ = os.RemoveAll(s.natsDir)
		return err
	}
	if err := waitReady(ctx, s.restURL); err != nil {
		return s, err
	}
	// The authentication share compares two more replicas on the same database and NATS, started once
	// the first replica's relay holds every partition, so both stand by alike and wake it the same way
	// (by NOTIFY): one with the security layer, one without (every call runs as the benchmark adapter,
	// no credentials, no audit, no rate limit). Compared with the first replica instead, the baseline
	// would win by where the relay runs, not by what authentication costs.
	if err := waitForRelay(ctx, s.benchURL); err != nil {
		return s, err
	}
	ncfg := icfg
	ncfg.Anonymous = &auth.Principal{Kind: auth.KindAdapter, ID: "bench", Roles: []string{auth.RoleAdapter}, Channels: []string{"web_chat"}}
	g.Go(func() error { return intake.Serve(gctx, ncfg, log.With("component", "intake-noauth"), nlis) })
	g.Go(func() error { return intake.Serve(gctx, icfg, log.With("component", "intake-peer"), plis) })
	s.key, err = adapterKey(ctx, s.grpcAddr, iss)
	return s, err
}

// waitForRelay waits until one relay holds every outbox partition (its session's advisory locks).
func waitForRelay(ctx context.Context, url string) error {
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var held, want int
		err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND classid = (hashtext('kefu.outbox.intake') & x'ffffffff'::bigint)::oid),
			(SELECT partitions FROM intake.outbox_settings)`).Scan(&held, &want)
		if err != nil {
			return fmt.Errorf("relay partitions: %w", err)
		}
		if held >= want {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the first replica's relay did not take the outbox partitions within 30 s")
}

// adapterKey creates the benchmark adapter's API key through KeyService, as an admin.
func adapterKey(ctx context.Context, addr string, iss *auth.DevIssuer) (string, error) {
	admin, err := iss.Mint(auth.StaffToken{Subject: "bench-admin", Roles: []string{auth.RoleAdmin}})
	if err != nil {
		return "", err
	}
	cc, err := grpcx.Dial(addr, grpcx.Bearer(admin))
	if err != nil {
		return "", err
	}
	defer cc.Close()
	resp, err := authv1.NewKeyServiceClient(cc).CreateApiKey(ctx, &authv1.CreateApiKeyRequest{
		RequestId: "bench", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER, PrincipalId: "bench",
		AllowedChannels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT},
	})
	if err != nil {
		return "", fmt.Errorf("create the benchmark's API key: %w", err)
	}
	return resp.GetSecret(), nil
}

// restartNATS (re)starts the embedded server on the same port and store, with or without fsync on every
// write; the services' connections reconnect by themselves.
func (s *stack) restartNATS(syncAlways bool) error {
	port := -1
	if s.nats != nil {
		port = s.natsPort
		s.nats.Shutdown()
	}
	ns, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: filepath.Join(s.natsDir, "js"), SyncAlways: syncAlways})
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	s.nats = ns
	if port == -1 {
		_, p, _ := net.SplitHostPort(ns.ClientURL()[len("nats://"):])
		fmt.Sscan(p, &s.natsPort)
	}
	return nil
}

func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("the stack did not become ready in 60 s")
}

// quiesce starts a phase from a quiet cluster: VACUUM (ANALYZE) in kefu's database does now the
// autovacuum work the earlier phases' rows would otherwise trigger during this one (it ran under whichever
// phase came next: REST after gRPC lost up to a third of its rate to it), and a CHECKPOINT writes out what
// they left dirty. So each phase pays only for its own writes.
func (s *stack) quiesce(ctx context.Context) error {
	db, err := pgx.Connect(ctx, s.benchURL)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func dropDB(ctx context.Context, adminURL, name string) error {
	return pgxutil.DropDatabase(ctx, adminURL, name)
}

func recreateDB(ctx context.Context, adminURL, name string) error {
	return pgxutil.RecreateDatabase(ctx, adminURL, name)
}
