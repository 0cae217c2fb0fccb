package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake"
	"kefu.dev/services/routing"
)

// The routing-assign mode (issue #6: from ticket submitted to ticket assigned, p99 under 100 ms at a
// sustained 200 tickets/s with 50 agents) runs intake and routing in this process, each on a fresh
// database of its own, with authentication on: the benchmark adapter submits with an API key, routing
// calls intake's AssignTicket with its own service key (principal service:routing, issued through
// intake's KeyService), and the setup calls routing as a staff admin.
//
// Each round (and an unreported warm-up before them) gets a fresh least-loaded group of --route-agents
// online agents, capacity 200 each, and the benchmark's catch-all rule (position 1, ahead of the seeded
// rules) is pointed at it; so every round starts with idle agents and never runs out of slots. An open-loop
// generator then submits --route-rate tickets a second for --duration over gRPC: a ticket is sent every
// 1/rate seconds whatever the earlier calls are doing, so slow answers do not lower the rate. A ticket's
// latency runs from just before its SubmitTicket is sent to the moment its kefu.ticket.assigned event
// (with an agent) reaches a JetStream consumer of the benchmark's; every ticket must be assigned.
const (
	routeIntakeDB  = "kefu_bench_route_intake"
	routeRoutingDB = "kefu_bench_route_routing"
	// agentCapacity is each agent's capacity: the most routing allows.
	agentCapacity = 200
	// assignWait bounds the wait for the last assignments after the load stops.
	assignWait = 30 * time.Second
	// routingSchema is routing's schema (store.Schema, which is internal to the routing module).
	routingSchema = "routing"
)

// routeStack is intake and routing under test, with the benchmark's clients and consumer.
type routeStack struct {
	intake     intakev1.IntakeServiceClient   // as the benchmark adapter
	routing    routingv1.RoutingServiceClient // as a staff admin
	intakeURL  string                         // the intake database as the cluster's admin
	routingURL string                         // the routing database as the cluster's admin
	rule       *routingv1.RoutingRule         // the catch-all rule, pointed at each round's group
	seen       *assignments
	stop       func() error
}

// assignments records when each ticket's kefu.ticket.assigned event with an agent reached the consumer.
type assignments struct {
	mu       sync.Mutex
	byTicket map[string]assignment
	bad      int // events that did not decode
}

type assignment struct {
	at    time.Time
	agent string
}

func (a *assignments) record(m jetstream.Msg) {
	at := time.Now()
	var ev eventsv1.TicketAssigned
	err := proto.Unmarshal(m.Data(), &ev)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.bad++
		return
	}
	id := ev.GetMeta().GetAggregateId()
	if _, ok := a.byTicket[id]; !ok && ev.GetAssigneeId() != "" {
		a.byTicket[id] = assignment{at: at, agent: ev.GetAssigneeId()}
	}
}

// undecodable returns how many events did not decode.
func (a *assignments) undecodable() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bad
}

func (a *assignments) get(id string) (assignment, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.byTicket[id]
	return v, ok
}

// routeSend is one submit of the open-loop load.
type routeSend struct {
	id     string
	t0, t1 time.Time // just before the call was sent; its response
}

func benchRoute(ctx context.Context, o options, log *slog.Logger, rep *report) error {
	s, err := startRoute(ctx, o, log)
	if s != nil && s.stop != nil {
		defer func() { _ = s.stop() }()
	}
	if err != nil {
		return err
	}
	load := fmt.Sprintf("%d/s", o.routeRate)
	profileRoute := !o.want("grpc") && !o.want("rest") && !o.want("customer-find")

	// An unreported warm-up on a group of its own: connections, prepared statements, the Go heap.
	if err := s.freshGroup(ctx, "bench_warmup", o.routeAgents); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	sends, err := openLoop(ctx, s.intake, o.routeRate, min(o.duration, 3*time.Second))
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := s.awaitAssigned(ctx, sends); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Printf("routing-assign: load average before the phases: %s\n", loadavg())
	defer func() { fmt.Printf("routing-assign: load average after the phases: %s\n", loadavg()) }()

	var all samples
	for round := 1; round <= o.rounds; round++ {
		if err := s.round(ctx, o, &all, load, round, profileRoute && round == o.rounds); err != nil {
			return err
		}
	}
	all.report(rep)
	return nil
}

// round runs one measured round on a fresh group and adds its measures; profile says whether this is the
// round --cpuprofile covers.
func (s *routeStack) round(ctx context.Context, o options, all *samples, load string, round int, profile bool) error {
	if err := s.freshGroup(ctx, fmt.Sprintf("bench_round_%d", round), o.routeAgents); err != nil {
		return err
	}
	if err := quiesceDBs(ctx, s.intakeURL, s.routingURL); err != nil {
		return err
	}
	stopProfile, err := startProfile(o.cpuprof, profile)
	if err != nil {
		return err
	}
	var waits *waitSampler
	if profile && o.cpuprof != "" {
		waits = sampleWaits(ctx, o.adminURL, routeIntakeDB, routeRoutingDB)
	}
	sends, err := openLoop(ctx, s.intake, o.routeRate, o.duration)
	var (
		lat    []time.Duration
		agents map[string]int
	)
	if err == nil {
		lat, agents, err = s.awaitAssigned(ctx, sends)
	}
	stopProfile()
	if waits != nil {
		waits.stop()
	}
	if err != nil {
		return err
	}
	s.record(all, load, o, sends, lat, agents)
	return s.breakdown(ctx, all, load, sends)
}

// record adds one round's measures.
func (s *routeStack) record(all *samples, load string, o options, sends []routeSend, lat []time.Duration, agents map[string]int) {
	first, last := sends[0].t0, sends[0].t0
	calls := make([]time.Duration, 0, len(sends))
	for _, sd := range sends {
		first, last = minTime(first, sd.t0), maxTime(last, sd.t0)
		calls = append(calls, sd.t1.Sub(sd.t0))
	}
	rate := float64(len(sends)-1) / last.Sub(first).Seconds()
	all.addOpen(fmt.Sprintf("routing: tickets submitted over gRPC, open loop, %d agents online in one least-loaded group", o.routeAgents),
		load, rate, "tickets/s")
	all.addOpen("submit call start to kefu.ticket.assigned (with an agent) at a JetStream consumer p50", load, percentile(lat, 50), "ms")
	all.addOpen("submit to assigned p90", load, percentile(lat, 90), "ms")
	all.addOpen("submit to assigned p99", load, percentile(lat, 99), "ms").list().count(len(lat), len(sends)-len(lat))
	all.addOpen("submit to assigned max", load, percentile(lat, 100), "ms")
	all.addOpen("SubmitTicket call alone (same load) p50", load, percentile(calls, 50), "ms")
	all.addOpen("SubmitTicket call alone (same load) p99", load, percentile(calls, 99), "ms")
	lo, hi := len(sends), 0
	for _, n := range agents {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(agents) < o.routeAgents {
		lo = 0
	}
	fmt.Printf("    tickets per agent: %d to %d over %d agents (least loaded)\n", lo, hi, len(agents))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// openLoop submits rate tickets a second for d: the i-th is sent at start + i/rate, each on its own
// goroutine, so a slow answer delays nothing after it. Any error fails the phase.
func openLoop(ctx context.Context, client intakev1.IntakeServiceClient, rate int, d time.Duration) ([]routeSend, error) {
	n := int(float64(rate) * d.Seconds())
	if n < 2 {
		return nil, fmt.Errorf("--route-rate %d for %s sends fewer than two tickets", rate, d)
	}
	interval := time.Second / time.Duration(rate)
	sends := make([]routeSend, n)
	prefix := fmt.Sprintf("bench-route-%d-", time.Now().UnixNano())
	g, gctx := errgroup.WithContext(ctx)
	began := time.Now()
	for i := range n {
		if wait := time.Until(began.Add(time.Duration(i) * interval)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-gctx.Done():
				t.Stop()
				return nil, errors.Join(gctx.Err(), g.Wait())
			case <-t.C:
			}
		}
		g.Go(func() error {
			t0 := time.Now()
			resp, err := client.SubmitTicket(gctx, submitRequest(fmt.Sprint(prefix, i)))
			if err != nil {
				return fmt.Errorf("submit: %w", err)
			}
			sends[i] = routeSend{id: resp.GetTicket().GetTicketId(), t0: t0, t1: time.Now()}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sends, nil
}

// awaitAssigned waits (at most assignWait) until every submitted ticket's assignment was seen and returns
// each one's latency from the start of its submit call, and how many tickets each agent got. A ticket
// never assigned is an error.
func (s *routeStack) awaitAssigned(ctx context.Context, sends []routeSend) ([]time.Duration, map[string]int, error) {
	deadline := time.Now().Add(assignWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := 0
		for _, sd := range sends {
			if _, ok := s.seen.get(sd.id); !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("%d of %d tickets were not assigned within %s of the last submit", missing, len(sends), assignWait)
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-tick.C:
		}
	}
	if n := s.seen.undecodable(); n > 0 {
		return nil, nil, fmt.Errorf("%d kefu.ticket.assigned events did not decode", n)
	}
	lat := make([]time.Duration, 0, len(sends))
	agents := map[string]int{}
	for _, sd := range sends {
		a, _ := s.seen.get(sd.id)
		lat = append(lat, a.at.Sub(sd.t0))
		agents[a.agent]++
	}
	return lat, agents, nil
}

// breakdown splits each ticket's way into its stages, from the timestamps the services left in their
// databases (transaction start times, all from this machine's clock), and adds each stage's p50 and p99:
//
//   - submit + relay: the submit call's start to intake's relay publishing kefu.ticket.created (the
//     outbox row's published_at);
//   - to routing's consumer: published to the start of the routing transaction that applied it (its inbox
//     row's processed_at): JetStream delivery and the wait for a consumer worker;
//   - routing decision + dispatch: that start to the start of intake's AssignTicket transaction (the
//     assigned event's outbox row's created_at): the engine's transaction (locks on the group and its
//     agents, the pick, the dispatch row, commit), the dispatcher's wake-up and claim, and the gRPC call;
//   - assign + relay: that start to the relay publishing kefu.ticket.assigned.
//
// The last hop, published to seen by the benchmark, is printed only: under a millisecond, and the relay
// records published_at after JetStream's acknowledgement, so the consumer may see the event first.
func (s *routeStack) breakdown(ctx context.Context, all *samples, load string, sends []routeSend) error {
	ids := make([]string, len(sends))
	start := make(map[string]time.Time, len(sends))
	for i, sd := range sends {
		ids[i], start[sd.id] = sd.id, sd.t0
	}
	type stamps struct {
		createdEvent                 string
		createdPub, assignTx, assPub time.Time
	}
	byID := make(map[string]*stamps, len(ids))
	idb, err := pgx.Connect(ctx, s.intakeURL)
	if err != nil {
		return err
	}
	defer idb.Close(context.WithoutCancel(ctx))
	rows, err := idb.Query(ctx, `SELECT aggregate_id, subject, event_id::text, created_at, published_at FROM intake.outbox
		WHERE aggregate_id = ANY($1) AND subject IN ('kefu.ticket.created', 'kefu.ticket.assigned') AND published_at IS NOT NULL`, ids)
	if err != nil {
		return fmt.Errorf("breakdown: intake outbox: %w", err)
	}
	for rows.Next() {
		var (
			id, subject, event string
			created, published time.Time
		)
		if err := rows.Scan(&id, &subject, &event, &created, &published); err != nil {
			rows.Close()
			return fmt.Errorf("breakdown: %w", err)
		}
		st := byID[id]
		if st == nil {
			st = &stamps{}
			byID[id] = st
		}
		if subject == "kefu.ticket.created" {
			st.createdEvent, st.createdPub = event, published
		} else if st.assignTx.IsZero() || created.Before(st.assignTx) {
			st.assignTx, st.assPub = created, published
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("breakdown: %w", err)
	}
	events := make([]string, 0, len(byID))
	for _, st := range byID {
		if st.createdEvent != "" {
			events = append(events, st.createdEvent)
		}
	}
	rdb, err := pgx.Connect(ctx, s.routingURL)
	if err != nil {
		return err
	}
	defer rdb.Close(context.WithoutCancel(ctx))
	applied := map[string]time.Time{}
	rows, err = rdb.Query(ctx, `SELECT event_id::text, processed_at FROM routing.inbox
		WHERE consumer = 'routing-tickets' AND event_id = ANY($1::uuid[])`, events)
	if err != nil {
		return fmt.Errorf("breakdown: routing inbox: %w", err)
	}
	for rows.Next() {
		var (
			ev string
			at time.Time
		)
		if err := rows.Scan(&ev, &at); err != nil {
			rows.Close()
			return fmt.Errorf("breakdown: %w", err)
		}
		applied[ev] = at
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("breakdown: %w", err)
	}
	var submitRelay, toRouting, decide, assignRelay, toBench []time.Duration
	incomplete := 0
	for _, id := range ids {
		st := byID[id]
		a, seen := s.seen.get(id)
		if st == nil || st.createdEvent == "" || st.assignTx.IsZero() || !seen {
			incomplete++
			continue
		}
		routed, ok := applied[st.createdEvent]
		if !ok {
			incomplete++
			continue
		}
		submitRelay = append(submitRelay, st.createdPub.Sub(start[id]))
		toRouting = append(toRouting, routed.Sub(st.createdPub))
		decide = append(decide, st.assignTx.Sub(routed))
		assignRelay = append(assignRelay, st.assPub.Sub(st.assignTx))
		toBench = append(toBench, a.at.Sub(st.assPub))
	}
	if incomplete > 0 {
		fmt.Printf("    breakdown: %d of %d tickets without every timestamp, left out\n", incomplete, len(ids))
	}
	// The last hop is not reported: the relay records published_at after JetStream's ack, so a consumer
	// may see the event first; it is under a millisecond either way.
	fmt.Printf("    breakdown: kefu.ticket.assigned published (acknowledged) to the benchmark's consumer p50 %.2f ms, p99 %.2f ms\n",
		percentile(toBench, 50), percentile(toBench, 99))
	for _, stage := range []struct {
		name string
		ds   []time.Duration
	}{
		{"stage 1: submit call start → kefu.ticket.created published (intake's transaction, relay)", submitRelay},
		{"stage 2: → routing's consuming transaction begins (JetStream, waiting for a consumer worker)", toRouting},
		{"stage 3: → intake's AssignTicket transaction begins (routing's engine transaction with its group lock, dispatcher, gRPC)", decide},
		{"stage 4: → kefu.ticket.assigned published (intake's transaction, relay)", assignRelay},
	} {
		all.addOpen(stage.name+" p50", load, percentile(stage.ds, 50), "ms")
		all.addOpen(stage.name+" p99", load, percentile(stage.ds, 99), "ms")
	}
	return nil
}

// startRoute creates the two databases and NATS, starts intake and routing, issues the keys and opens
// the consumer of assigned events.
func startRoute(ctx context.Context, o options, log *slog.Logger) (*routeStack, error) {
	s := &routeStack{seen: &assignments{byTicket: map[string]assignment{}}}
	var roles [2]pgxutil.Roles
	for i, db := range []struct{ name, schema string }{{routeIntakeDB, "intake"}, {routeRoutingDB, routingSchema}} {
		if err := recreateDB(ctx, o.adminURL, db.name); err != nil {
			return nil, err
		}
		url, err := pgxutil.WithDatabase(o.adminURL, db.name)
		if err != nil {
			return nil, err
		}
		if roles[i], err = pgxutil.Provision(ctx, url, db.schema); err != nil {
			return nil, err
		}
		if i == 0 {
			s.intakeURL = url
		} else {
			s.routingURL = url
		}
	}
	iss, err := auth.NewDevIssuer("kefu-bench", "kefu")
	if err != nil {
		return nil, err
	}
	pepper := func() string {
		b := make([]byte, auth.MinPepperBytes)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}

	natsDir, err := os.MkdirTemp("", "kefu-bench-route-nats-")
	if err != nil {
		return nil, err
	}
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: filepath.Join(natsDir, "js")})
	if err != nil {
		_ = os.RemoveAll(natsDir)
		return nil, fmt.Errorf("start nats: %w", err)
	}
	ilis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ns.Shutdown()
		_ = os.RemoveAll(natsDir)
		return nil, err
	}
	rlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ilis.Close()
		ns.Shutdown()
		_ = os.RemoveAll(natsDir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(sctx)
	var (
		closers []func()
		nc      *nats.Conn
	)
	s.stop = func() error {
		for _, c := range slices.Backward(closers) {
			c()
		}
		if nc != nil {
			nc.Close()
		}
		cancel()
		err := g.Wait()
		_, _ = ilis.Close(), rlis.Close() // closed already by a Serve that ran
		ns.Shutdown()
		_ = os.RemoveAll(natsDir)
		for _, db := range []string{routeIntakeDB, routeRoutingDB} {
			if derr := dropDB(context.WithoutCancel(ctx), o.adminURL, db); derr != nil && err == nil {
				err = derr
			}
		}
		return err
	}

	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.MigrateDatabaseURL, icfg.NATSURL = roles[0].RuntimeURL, roles[0].OwnerURL, ns.ClientURL()
	icfg.Auth.APIKeyPepper, icfg.Auth.OIDCIssuer, icfg.Auth.OIDCAudience, icfg.Auth.StaffKeys = pepper(), iss.Issuer, iss.Audience, iss
	// The adapter's limit is far above the load, so the limiter runs without refusing; routing's service
	// key keeps the production limit (500 a second), above the 200 AssignTicket calls a second it makes.
	icfg.Auth.RateLimits = "adapter=1000000:1000000,service=500:1000,admin=100:100"
	if o.dbConns > 0 {
		icfg.DBMaxConns = o.dbConns
	}
	if err := intake.Migrate(ctx, icfg); err != nil {
		return s, err
	}
	icfg.Migrate = false
	g.Go(func() error { return intake.Serve(gctx, icfg, log.With("component", "intake"), ilis) })

	admin, err := iss.Mint(auth.StaffToken{Subject: "bench-admin", Roles: []string{auth.RoleAdmin}, TTL: 24 * time.Hour})
	if err != nil {
		return s, err
	}
	icc, err := grpcx.Dial(ilis.Addr().String(), grpcx.Bearer(admin))
	if err != nil {
		return s, err
	}
	closers = append(closers, func() { _ = icc.Close() })
	keys := authv1.NewKeyServiceClient(icc)
	if err := await(ctx, "intake", func(ctx context.Context) error {
		_, err := keys.ListApiKeys(ctx, &authv1.ListApiKeysRequest{})
		return err
	}); err != nil {
		return s, err
	}
	adapter, err := keys.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{
		RequestId: "bench-adapter", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER, PrincipalId: "bench",
		AllowedChannels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}})
	if err != nil {
		return s, fmt.Errorf("create the benchmark adapter's API key: %w", err)
	}
	service, err := keys.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{
		RequestId: "bench-routing", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, PrincipalId: "routing"})
	if err != nil {
		return s, fmt.Errorf("create routing's API key at intake: %w", err)
	}
	acc, err := grpcx.Dial(ilis.Addr().String(), grpcx.Bearer(adapter.GetSecret()))
	if err != nil {
		return s, err
	}
	closers = append(closers, func() { _ = acc.Close() })
	s.intake = intakev1.NewIntakeServiceClient(acc)

	rcfg := routing.DefaultConfig()
	rcfg.DatabaseURL, rcfg.MigrateDatabaseURL, rcfg.NATSURL = roles[1].RuntimeURL, roles[1].OwnerURL, ns.ClientURL()
	rcfg.IntakeAddr, rcfg.IntakeAPIKey = ilis.Addr().String(), service.GetSecret()
	rcfg.Auth.APIKeyPepper, rcfg.Auth.OIDCIssuer, rcfg.Auth.OIDCAudience, rcfg.Auth.StaffKeys = pepper(), iss.Issuer, iss.Audience, iss
	// The setup makes a hundred admin calls a round.
	rcfg.Auth.RateLimits = "admin=10000:10000"
	if err := routing.Migrate(ctx, rcfg); err != nil {
		return s, err
	}
	rcfg.Migrate = false
	g.Go(func() error { return routing.Serve(gctx, rcfg, log.With("component", "routing"), rlis) })
	rcc, err := grpcx.Dial(rlis.Addr().String(), grpcx.Bearer(admin))
	if err != nil {
		return s, err
	}
	closers = append(closers, func() { _ = rcc.Close() })
	s.routing = routingv1.NewRoutingServiceClient(rcc)
	if err := await(ctx, "routing", func(ctx context.Context) error {
		_, err := s.routing.ListGroups(ctx, &routingv1.ListGroupsRequest{})
		return err
	}); err != nil {
		return s, err
	}

	// The benchmark's consumer of assigned events, from now on.
	if nc, err = nats.Connect(ns.ClientURL()); err != nil {
		return s, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return s, err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{}); err != nil {
		return s, err
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.Subject("ticket", "assigned")},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return s, err
	}
	cc, err := cons.Consume(s.seen.record)
	if err != nil {
		return s, err
	}
	closers = append(closers, cc.Stop)
	return s, nil
}

// freshGroup creates a least-loaded group of n online agents, capacity agentCapacity each, and points the
// benchmark's catch-all rule at it (creating the rule the first time).
func (s *routeStack) freshGroup(ctx context.Context, code string, n int) error {
	g, err := s.routing.CreateGroup(ctx, &routingv1.CreateGroupRequest{Group: &routingv1.Group{
		Code: code, DisplayName: code, Strategy: routingv1.Strategy_STRATEGY_LEAST_LOADED}})
	if err != nil {
		return fmt.Errorf("create group %s: %w", code, err)
	}
	group := g.GetGroup().GetGroupId()
	for i := range n {
		id := uuid.NewString()
		if _, err := s.routing.CreateAgent(ctx, &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{
			AgentId: id, DisplayName: fmt.Sprintf("%s agent %d", code, i+1), GroupIds: []string{group},
			Capacity: agentCapacity}}); err != nil {
			return fmt.Errorf("create agent: %w", err)
		}
		if _, err := s.routing.SetPresence(ctx, &routingv1.SetPresenceRequest{AgentId: id,
			Presence: routingv1.Presence_PRESENCE_ONLINE}); err != nil {
			return fmt.Errorf("set presence: %w", err)
		}
	}
	if s.rule == nil {
		r, err := s.routing.CreateRoutingRule(ctx, &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
			Position: 1, DisplayName: "bench: every ticket", Condition: &routingv1.RuleCondition{},
			TargetGroupId: group, Enabled: true}})
		if err != nil {
			return fmt.Errorf("create the catch-all rule: %w", err)
		}
		s.rule = r.GetRule()
		return nil
	}
	r, err := s.routing.UpdateRoutingRule(ctx, &routingv1.UpdateRoutingRuleRequest{
		Rule:       &routingv1.RoutingRule{RuleId: s.rule.GetRuleId(), Etag: s.rule.GetEtag(), TargetGroupId: group},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"target_group_id"}}})
	if err != nil {
		return fmt.Errorf("point the catch-all rule at %s: %w", code, err)
	}
	s.rule = r.GetRule()
	return nil
}

// quiesceDBs runs VACUUM (ANALYZE) and a CHECKPOINT on each database (see stack.quiesce).
func quiesceDBs(ctx context.Context, urls ...string) error {
	for _, url := range urls {
		db, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		_, err = db.Exec(ctx, "VACUUM (ANALYZE)")
		if err == nil {
			_, err = db.Exec(ctx, "CHECKPOINT")
		}
		db.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("quiesce: %w", err)
		}
	}
	return nil
}

// await retries try (at most 60 s) until it succeeds.
func await(ctx context.Context, what string, try func(context.Context) error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within 60 s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitSampler samples pg_stat_activity every 10 ms during a profiled phase: what the services' sessions
// were doing (running, or waiting, and on what), counted per database and application.
type waitSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func sampleWaits(ctx context.Context, adminURL string, dbs ...string) *waitSampler {
	ctx, cancel := context.WithCancel(ctx)
	w := &waitSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		db, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			fmt.Printf("    wait sampler: %v\n", err)
			return
		}
		defer db.Close(context.WithoutCancel(ctx))
		counts := map[string]int{}
		samples := 0
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			rows, err := db.Query(ctx, `SELECT datname, application_name, coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running'),
				left(regexp_replace(query, '\s+', ' ', 'g'), 60)
				FROM pg_stat_activity WHERE datname = ANY($1) AND state = 'active' AND pid <> pg_backend_pid()`, dbs)
			if err != nil {
				break
			}
			samples++
			for rows.Next() {
				var dbName, app, wait, query string
				if rows.Scan(&dbName, &app, &wait, &query) == nil {
					counts[strings.TrimPrefix(dbName, "kefu_bench_route_")+" "+app+" "+wait+" | "+query]++
				}
			}
			rows.Close()
		}
		type kv struct {
			k string
			n int
		}
		var top []kv
		for k, n := range counts {
			top = append(top, kv{k, n})
		}
		slices.SortFunc(top, func(a, b kv) int { return b.n - a.n })
		fmt.Printf("    pg_stat_activity over %d samples (10 ms apart), active sessions by database, application, wait and query:\n", samples)
		for _, e := range top[:min(len(top), 40)] {
			fmt.Printf("      %6.3f  %s\n", float64(e.n)/float64(max(samples, 1)), e.k)
		}
	}()
	return w
}

func (w *waitSampler) stop() {
	w.cancel()
	<-w.done
}
