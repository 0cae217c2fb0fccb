// Command kefu-slabench measures the SLA timers at scale (issue #7): it creates --timers open timers in a
// fresh database (each a ticket with one clock, bulk-loaded with COPY from what the domain computes),
// starts the service on them and reports its start-up time and memory, then makes --rate timers a second
// come due for --duration and reports the firing lateness (fire time minus due time) p50/p99/max and the
// rate achieved. `make bench` runs it against a private cluster; it sends traffic only to loopback and
// stops by itself.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/slatimer"
	"kefu.dev/services/slatimer/internal/domain/sla"
)

const benchDB = "kefu_slabench"

type options struct {
	adminURL string
	timers   int
	consume  int
	rate     int
	duration time.Duration
	out      string
	logLevel string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-slabench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	fs := flag.NewFlagSet("kefu-slabench", flag.ContinueOnError)
	fs.IntVar(&o.timers, "timers", 1_000_000, "open timers to create")
	fs.IntVar(&o.consume, "consume", 20_000, "tickets created through the event consumer (kefu.ticket.created on JetStream), after the firing phase")
	fs.IntVar(&o.rate, "rate", 5000, "timers coming due per second during the firing phase")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long timers keep coming due at --rate")
	fs.StringVar(&o.out, "out", "", "append the results to this markdown file (e.g. docs/benchmarks.md)")
	fs.StringVar(&o.logLevel, "log-level", "error", "log level of the service under test")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if due := float64(o.rate) * o.duration.Seconds(); o.timers < 1 || due > float64(o.timers) {
		return fmt.Errorf("--rate × --duration (%.0f) must not exceed --timers (%d)", due, o.timers)
	}
	o.adminURL = os.Getenv("DATABASE_URL")
	if o.adminURL == "" {
		return fmt.Errorf("DATABASE_URL is not set: run `make bench`, which starts a private cluster")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lines, err := bench(ctx, o, logging.New(os.Stderr, lv, "slatimer"))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("### %s (SLA timers, issue #7), %s\n\n| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n%s",
		time.Now().UTC().Format("2006-01-02"), benchkit.Machine(), strings.Join(lines, "\n")+"\n")
	fmt.Print(text)
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.WriteString("\n" + text); err != nil {
			return err
		}
	}
	return nil
}

// line renders one measure as a table row.
func line(what, callers string, value float64, unit, note string) string {
	return fmt.Sprintf("| %s | %s | %s | %s | %s |", what, callers, format(value), unit, note)
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func bench(ctx context.Context, o options, log *slog.Logger) ([]string, error) {
	var lines []string
	if err := pgxutil.RecreateDatabase(ctx, o.adminURL, benchDB); err != nil {
		return nil, err
	}
	defer func() { _ = pgxutil.DropDatabase(context.WithoutCancel(ctx), o.adminURL, benchDB) }()
	url, err := pgxutil.WithDatabase(o.adminURL, benchDB)
	if err != nil {
		return nil, err
	}
	roles, err := pgxutil.Provision(ctx, url, "slatimer")
	if err != nil {
		return nil, err
	}
	cfg := slatimer.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL = roles.RuntimeURL, roles.OwnerURL
	pepper := make([]byte, auth.MinPepperBytes)
	_, _ = rand.Read(pepper)
	iss, err := auth.NewDevIssuer("kefu-slabench", "kefu")
	if err != nil {
		return nil, err
	}
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCAudience, cfg.Auth.StaffKeys = hex.EncodeToString(pepper), iss.Issuer, iss.Audience, iss
	if err := slatimer.Migrate(ctx, cfg); err != nil {
		return nil, err
	}
	cfg.Migrate = false

	// 1. Create the timers: far in the future, so none fires before the firing phase.
	far := time.Now().Add(30 * 24 * time.Hour)
	began := time.Now()
	if err := load(ctx, roles.OwnerURL, o.timers, far); err != nil {
		return nil, err
	}
	took := time.Since(began)
	lines = append(lines,
		line(fmt.Sprintf("create %d open timers (ticket row + clock with its due and next instants, COPY in 10,000-row batches)", o.timers),
			"1", took.Seconds(), "s", fmt.Sprintf("%.0f timers/s", float64(o.timers)/took.Seconds())))
	size, err := tableSize(ctx, roles.OwnerURL)
	if err != nil {
		return nil, err
	}
	lines = append(lines, line("Postgres size of tickets + clocks with their indexes", "-", float64(size)/(1<<20), "MiB",
		fmt.Sprintf("%.0f bytes a timer", float64(size)/float64(o.timers))))

	// 2. Start the service on them.
	natsDir, err := os.MkdirTemp("", "kefu-slabench-nats-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(natsDir)
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: filepath.Join(natsDir, "js")})
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	defer ns.Shutdown()
	cfg.NATSURL = ns.ClientURL()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	g, gctx := errgroup.WithContext(sctx)
	started := time.Now()
	g.Go(func() error { return slatimer.Serve(gctx, cfg, log, lis) })
	if err := awaitServing(gctx, lis.Addr().String()); err != nil {
		cancel()
		if serr := g.Wait(); serr != nil {
			return nil, fmt.Errorf("serve: %w", serr)
		}
		return nil, err
	}
	startup := time.Since(started)
	lines = append(lines, line(fmt.Sprintf("start-up with %d open timers (Serve called → gRPC health SERVING)", o.timers), "-",
		float64(startup.Milliseconds()), "ms", "timers stay in Postgres: nothing is loaded at start"))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	lines = append(lines, line(fmt.Sprintf("service memory with %d open timers: Go heap in use after GC", o.timers), "-",
		float64(ms.HeapInuse)/(1<<20), "MiB", fmt.Sprintf("process RSS %s", rss())))

	// 3. Make --rate timers a second come due for --duration, starting 3 s from now.
	n := int(float64(o.rate) * o.duration.Seconds())
	t0 := time.Now().Add(3 * time.Second).Truncate(time.Second)
	if err := schedule(ctx, roles.OwnerURL, n, t0, o.rate); err != nil {
		return nil, err
	}
	deadline := t0.Add(o.duration).Add(60 * time.Second)
	fired, err := awaitFired(ctx, roles.OwnerURL, n, deadline)
	if err != nil {
		return nil, err
	}
	late, published, first, last, err := lateness(ctx, roles.OwnerURL)
	if err != nil {
		return nil, err
	}
	// 4. Timers created the way the service creates them: kefu.ticket.created events through its consumer.
	if o.consume > 0 {
		took, err := consume(ctx, ns.ClientURL(), roles.OwnerURL, o.timers, o.consume, cfg.ConsumerWorkers)
		if err != nil {
			return nil, err
		}
		lines = append(lines, line(fmt.Sprintf("create timers through the event consumer: %d kefu.ticket.created published, until every clock is stored", o.consume),
			fmt.Sprintf("%d workers", cfg.ConsumerWorkers), float64(o.consume)/took.Seconds(), "tickets/s",
			fmt.Sprintf("%.1f s; each ticket gets its policies' clocks (2 to 3) and a kefu.sla.applied", took.Seconds())))
	}
	cancel()
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(late) != n || fired != n {
		return nil, fmt.Errorf("%d breaches fired for %d timers due (%d counted)", len(late), n, fired)
	}
	slices.Sort(late)
	slices.Sort(published)
	pct := func(ds []time.Duration, p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	rate := fmt.Sprintf("%d/s", o.rate)
	lines = append(lines,
		line("timers fired (kefu.sla.breached written) while coming due", rate, float64(n)/last.Sub(first).Seconds(), "timers/s",
			fmt.Sprintf("%d timers over %s, each once", n, o.duration)),
		line("firing lateness (fire time, the firing transaction's clock reading, − due time) p50", rate, pct(late, 0.50), "ms", ""),
		line("firing lateness p99", rate, pct(late, 0.99), "ms", "target < 1000 ms"),
		line("firing lateness max", rate, pct(late, 1), "ms", ""),
		line("due time → kefu.sla.breached acknowledged by JetStream (commit + relay) p50", rate, pct(published, 0.50), "ms", ""),
		line("due time → acknowledged by JetStream p99", rate, pct(published, 0.99), "ms", ""))
	return lines, nil
}

// ticketID is timer i's ticket (sortable by i).
func ticketID(i int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
}

// load creates n tickets, each with a running resolution clock of 1 h around the clock, due after far.
func load(ctx context.Context, url string, n int, far time.Time) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path = slatimer`); err != nil {
		return err
	}
	const length = time.Hour
	policy := sla.BuiltinPolicyID("complaint_l1")
	due := far.Add(length) // around the clock: start + length
	now := time.Now()
	for from := 0; from < n; from += 10_000 {
		to := min(from+10_000, n)
		tickets := make([][]any, 0, to-from)
		clocks := make([][]any, 0, to-from)
		for i := from; i < to; i++ {
			id := ticketID(i)
			tickets = append(tickets, []any{id, "complaint", "l1", "normal", "web_chat", far, now})
			clocks = append(clocks, []any{id, string(sla.Resolution), policy, sla.CalendarAlways, length.Milliseconds(),
				[]byte("[]"), string(sla.BreachNotify), far, []byte("[]"), string(sla.StateRunning), due, due, now})
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tickets"}, []string{"id", "type", "level", "urgency", "channel", "received_at", "updated_at"},
			pgx.CopyFromRows(tickets)); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("copy tickets: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"clocks"}, []string{"ticket_id", "target", "policy_id", "calendar", "length_ms",
			"warnings", "breach", "start_at", "pauses", "state", "due_at", "next_at", "updated_at"}, pgx.CopyFromRows(clocks)); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("copy clocks: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, `ANALYZE tickets; ANALYZE clocks`)
	return err
}

// schedule makes the first n timers come due at rate a second from t0: the k-th at t0 + k/rate (its
// clock restarted so that start + length is that instant, as the domain derives it).
func schedule(ctx context.Context, url string, n int, t0 time.Time, rate int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `UPDATE slatimer.clocks c SET
			start_at = d.due - make_interval(secs => c.length_ms / 1000.0), due_at = d.due, next_at = d.due
		FROM (SELECT ticket_id, $2::timestamptz + make_interval(secs => (row_number() OVER (ORDER BY ticket_id) - 1) / $3::float8) AS due
			FROM slatimer.clocks ORDER BY ticket_id LIMIT $1) d
		WHERE c.ticket_id = d.ticket_id`, n, t0, rate)
	if err != nil {
		return fmt.Errorf("schedule the firing phase: %w", err)
	}
	if time.Now().After(t0) {
		return fmt.Errorf("scheduling took past the first due instant: raise the lead time")
	}
	return nil
}

// awaitFired waits until n breaches were written and published or deadline passes, and returns how many
// were.
func awaitFired(ctx context.Context, url string, n int, deadline time.Time) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	for {
		var got int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM slatimer.outbox WHERE subject = 'kefu.sla.breached'
			AND published_at IS NOT NULL`).Scan(&got); err != nil {
			return 0, err
		}
		if got >= n || time.Now().After(deadline) {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// lateness reads every breach's fire time minus due time and publish time minus due time, and the first and
// last fire times.
func lateness(ctx context.Context, url string) (fired, published []time.Duration, first, last time.Time, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, nil, first, last, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT payload, published_at FROM slatimer.outbox WHERE subject = 'kefu.sla.breached'`)
	if err != nil {
		return nil, nil, first, last, err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		var pub time.Time
		if err := rows.Scan(&b, &pub); err != nil {
			return nil, nil, first, last, err
		}
		var ev eventsv1.SlaBreached
		if err := proto.Unmarshal(b, &ev); err != nil {
			return nil, nil, first, last, err
		}
		at, due := ev.GetMeta().GetOccurredAt().AsTime(), ev.GetDueTime().AsTime()
		fired, published = append(fired, at.Sub(due)), append(published, pub.Sub(due))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return fired, published, first, last, rows.Err()
}

func tableSize(ctx context.Context, url string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT pg_total_relation_size('slatimer.tickets') + pg_total_relation_size('slatimer.clocks')`).Scan(&n)
	return n, err
}

func awaitServing(ctx context.Context, addr string) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("the service did not become ready within 2 minutes")
}

func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// consume publishes n kefu.ticket.created events (tickets numbered from base) as intake's relay would and
// returns the time until the service stored every one of them.
func consume(ctx context.Context, natsURL, dbURL string, base, n, workers int) (time.Duration, error) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var before int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM slatimer.tickets`).Scan(&before); err != nil {
		return 0, err
	}
	began := time.Now()
	for i := range n {
		id := ticketID(base + i)
		evID, err := uuid.NewV7()
		if err != nil {
			return 0, err
		}
		now := time.Now()
		m, err := outbox.NewEvent(events.Subject("ticket", "created"), &eventsv1.TicketCreated{
			Number: fmt.Sprintf("GD%d", i), Channel: intakev1.Channel_CHANNEL_WEB_CHAT, ReceivedTime: timestamppb.New(now),
			Classification: &eventsv1.TicketClassification{Type: intakev1.TicketType_TICKET_TYPE_COMPLAINT,
				Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2, Urgency: intakev1.Urgency_URGENCY_NORMAL}},
			&eventsv1.EventMeta{EventId: evID.String(), Source: "intake", AggregateId: id.String(), AggregateSeq: 1,
				OccurredAt: timestamppb.New(now), Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "bench"}})
		if err != nil {
			return 0, err
		}
		h := nats.Header{}
		h.Set(events.HeaderMsgID, m.EventID)
		h.Set(events.HeaderType, m.Type)
		h.Set(events.HeaderAggregateID, m.AggregateID)
		h.Set(events.HeaderSeq, "1")
		if _, err := js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload}); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return 0, fmt.Errorf("publishing %d events took over a minute", n)
	}
	for deadline := time.Now().Add(10 * time.Minute); ; {
		var got int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM slatimer.tickets`).Scan(&got); err != nil {
			return 0, err
		}
		if got-before >= n {
			return time.Since(began), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d tickets stored after 10 minutes", got-before, n)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
