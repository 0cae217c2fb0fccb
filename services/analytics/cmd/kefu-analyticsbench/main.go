// Command kefu-analyticsbench measures the analytics service at scale (issue #8): it publishes --events
// events of a synthetic but plausible ticket stream (about 90 days of tickets, each with its lifecycle as
// intake, routing and the SLA timers publish it) to JetStream with the service stopped, then starts the
// service and measures how fast it ingests the backlog (overall and per tenth, for each --batch-size), and
// finally the latency of every report over the full data (p50, p99, max with --callers concurrent callers).
// It prints a block ready for docs/benchmarks.md. NATS runs in a child process (this binary again), as it is
// deployed; the service runs in this process on a fresh database of the cluster DATABASE_URL names.
// `make bench-analytics` runs it against a private cluster; it sends traffic only to loopback and stops by
// itself. With a cluster that preloads pg_stat_statements it also prints the top statements of ingestion.
package main

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/analytics"
)

const benchDB = "kefu_analyticsbench"

type options struct {
	adminURL    string
	events      int
	days        int
	seed        uint64
	batchSizes  []int
	concurrency int
	reportCalls int
	callers     int
	inflight    int
	vacuum      bool
	natsDir     string
	cpuprofile  string
	out         string
	logLevel    string
}

func main() {
	if dir := os.Getenv(natsChildEnv); dir != "" {
		if err := serveNATS(dir); err != nil {
			fmt.Fprintf(os.Stderr, "kefu-analyticsbench (nats): %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-analyticsbench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	analytics.TuneGC() // the service runs in this process, as the analytics binary runs it
	var o options
	fs := flag.NewFlagSet("kefu-analyticsbench", flag.ContinueOnError)
	fs.IntVar(&o.events, "events", 10_000_000, "events to publish and ingest")
	fs.IntVar(&o.days, "days", 90, "the tickets' received times span this many days before now")
	fs.Uint64Var(&o.seed, "seed", 8, "seed of the synthetic stream")
	fs.Func("batch-size", "events per ingesting transaction; a comma-separated list ingests the same stream once per size, "+
		"from scratch (default: the service's default)", func(s string) error {
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 10000 {
				return fmt.Errorf("%q is not a batch size between 1 and 10000", f)
			}
			o.batchSizes = append(o.batchSizes, n)
		}
		return nil
	})
	fs.IntVar(&o.concurrency, "ingest-concurrency", analytics.DefaultConfig().IngestConcurrency, "batches ingested at once (the service's --ingest-concurrency)")
	fs.IntVar(&o.reportCalls, "report-calls", 200, "measured calls of each report (after one warm-up call of each query)")
	fs.IntVar(&o.callers, "callers", 4, "concurrent callers of each report")
	fs.IntVar(&o.inflight, "publish-inflight", 4096, "asynchronous publishes awaiting JetStream's ack at most")
	fs.BoolVar(&o.vacuum, "vacuum", true, "VACUUM (ANALYZE) the schema after ingestion, before the reports (what autovacuum does in steady state)")
	fs.StringVar(&o.natsDir, "nats-dir", "", "parent folder of JetStream's file store (default the system temp folder); removed at the end")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process during ingestion (with several batch sizes, one file each: <file>.<size>)")
	fs.StringVar(&o.out, "out", "", "append the results to this markdown file (e.g. docs/benchmarks.md)")
	fs.StringVar(&o.logLevel, "log-level", "error", "log level of the service under test")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if o.events < 1000 || o.days < 7 || o.reportCalls < 1 || o.callers < 1 || o.inflight < 1 {
		return errors.New("--events must be at least 1000, --days at least 7, --report-calls, --callers and --publish-inflight positive")
	}
	if len(o.batchSizes) == 0 {
		o.batchSizes = []int{analytics.DefaultConfig().BatchSize}
	}
	o.adminURL = os.Getenv("DATABASE_URL")
	if o.adminURL == "" {
		return fmt.Errorf("DATABASE_URL is not set: run `make bench-analytics`, which starts a private cluster")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lines, err := bench(ctx, o, logging.New(os.Stderr, lv, "analytics"))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("### %s (analytics, issue #8), %s\n\n| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n%s",
		time.Now().UTC().Format("2006-01-02"), machine(), strings.Join(lines, "\n")+"\n")
	fmt.Print("\n" + text)
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

func progress(format string, args ...any) {
	fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
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
	roles, err := pgxutil.Provision(ctx, url, "analytics")
	if err != nil {
		return nil, err
	}
	cfg := analytics.DefaultConfig()
	cfg.IngestConcurrency = o.concurrency
	cfg.DatabaseURL, cfg.MigrateDatabaseURL = roles.RuntimeURL, roles.OwnerURL
	pepper := make([]byte, auth.MinPepperBytes)
	_, _ = rand.Read(pepper)
	iss, err := auth.NewDevIssuer("kefu-analyticsbench", "kefu")
	if err != nil {
		return nil, err
	}
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCAudience, cfg.Auth.StaffKeys = hex.EncodeToString(pepper), iss.Issuer, iss.Audience, iss
	// The supervisor's limit is far above what the machine can do, so the limiter runs without refusing.
	cfg.Auth.RateLimits = "supervisor=1000000:1000000"
	if err := analytics.Migrate(ctx, cfg); err != nil {
		return nil, err
	}
	cfg.Migrate = false
	token, err := iss.Mint(auth.StaffToken{Subject: "bench-supervisor", Roles: []string{auth.RoleSupervisor}, TTL: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	stats, err := pgx.Connect(ctx, o.adminURL)
	if err != nil {
		return nil, err
	}
	defer stats.Close(context.WithoutCancel(ctx))
	db, err := pgx.Connect(ctx, url) // the bench database as the superuser: counters, sizes, pg_stat_statements
	if err != nil {
		return nil, err
	}
	defer db.Close(context.WithoutCancel(ctx))
	statements := enableStatements(ctx, db)

	// 1 and 2. Generate the stream and publish it, the service stopped.
	parent := o.natsDir
	if parent == "" {
		parent = os.TempDir()
	}
	natsDir, err := os.MkdirTemp(parent, "kefu-analyticsbench-nats-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(natsDir)
	ns, err := startNATS(filepath.Join(natsDir, "js"))
	if err != nil {
		return nil, err
	}
	defer ns.stop()
	cfg.NATSURL = ns.url
	now := time.Now().UTC().Truncate(time.Second)
	pub, err := publish(ctx, o, cfg, ns.url, now)
	if err != nil {
		return nil, err
	}
	natsBytes := dirSize(natsDir)
	lines = append(lines,
		line(fmt.Sprintf("generate and publish %s events (%s tickets over %d days, %.1f events a ticket) to JetStream, async, ≤ %d in flight",
			thousands(o.events), thousands(pub.tickets), o.days, float64(o.events)/float64(pub.tickets), o.inflight),
			"1", float64(o.events)/pub.took.Seconds(), "events/s",
			fmt.Sprintf("%.1f s; file store %.0f MiB (%.0f bytes an event); %d publishes retried", pub.took.Seconds(),
				float64(natsBytes)/(1<<20), float64(natsBytes)/float64(o.events), pub.retried)))
	progress("published %s events in %.1f s (%.0f/s); %s tickets; file store %.0f MiB; NATS server RSS %s, this process %s",
		thousands(o.events), pub.took.Seconds(), float64(o.events)/pub.took.Seconds(), thousands(pub.tickets),
		float64(natsBytes)/(1<<20), rss(ns.cmd.Process.Pid), rss(os.Getpid()))
	fmt.Printf("    events by subject:")
	for _, s := range sortedCounts(pub.bySubject) {
		fmt.Printf(" %s %s,", s.k, thousands(s.n))
	}
	fmt.Println()

	// 3. Ingest the backlog, once per batch size.
	var client analyticsv1.AnalyticsServiceClient
	var stopService func() error
	best, bestSize := 0.0, 0
	for i, bs := range o.batchSizes {
		if i > 0 {
			if err := stopService(); err != nil {
				return nil, err
			}
			if err := analytics.Rebuild(ctx, cfg, log); err != nil {
				return nil, err
			}
		}
		if _, err := db.Exec(ctx, `CHECKPOINT`); err != nil {
			return nil, err
		}
		cfg.BatchSize = bs
		profile := o.cpuprofile
		if profile != "" && len(o.batchSizes) > 1 {
			profile = fmt.Sprintf("%s.%d", profile, bs)
		}
		res, c, stopFn, err := ingest(ctx, cfg, log, token, db, stats, ns.cpu, o.events, profile, statements)
		if stopFn != nil {
			stopService = stopFn
		}
		if err != nil {
			if stopService != nil {
				_ = stopService()
			}
			return nil, err
		}
		client = c
		rate := float64(o.events) / res.took.Seconds()
		if rate > best {
			best, bestSize = rate, bs
		}
		var slices []string
		for _, r := range res.slices {
			slices = append(slices, fmt.Sprintf("%.0f", r))
		}
		lines = append(lines, line(fmt.Sprintf("ingest a backlog of %s events (Serve called → GetIngestionStatus: all ingested, 0 behind), batch size %d, %d at once",
			thousands(o.events), bs, o.concurrency), "1 consumer", rate, "events/s",
			fmt.Sprintf("%.1f s; each tenth: %s events/s; CPU an event: service %.0f µs, Postgres %.0f µs, NATS %.0f µs, machine idle %.0f%%; WAL %.0f bytes an event; service GC percent %s, this process's peak RSS %s; target ≥ 20,000",
				res.took.Seconds(), strings.Join(slices, " "), perEvent(res.goCPU, o.events), perEvent(res.pgCPU, o.events),
				perEvent(res.natsCPU, o.events), res.idle*100, float64(res.wal)/float64(o.events), gcSetting(),
				procStatus(os.Getpid(), "VmHWM:"))))
		progress("batch size %d: %s events in %.1f s = %.0f events/s; tenths %s; CPU an event: service %.0f µs, Postgres %.0f µs, NATS %.0f µs, idle %.0f%%; WAL %.0f MiB",
			bs, thousands(o.events), res.took.Seconds(), rate, strings.Join(slices, " "), perEvent(res.goCPU, o.events),
			perEvent(res.pgCPU, o.events), perEvent(res.natsCPU, o.events), res.idle*100, float64(res.wal)/(1<<20))
		if len(res.statements) > 0 {
			fmt.Println("    pg_stat_statements during ingestion (top by total time):")
			for _, s := range res.statements {
				fmt.Println("     ", s)
			}
		}
	}
	defer func() { _ = stopService() }()
	if len(o.batchSizes) > 1 {
		progress("fastest batch size: %d (%.0f events/s)", bestSize, best)
	}

	// Sizes after ingestion.
	var dbSize int64
	if err := db.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&dbSize); err != nil {
		return nil, err
	}
	tables, err := tableStats(ctx, db)
	if err != nil {
		return nil, err
	}
	var tnotes []string
	for _, t := range tables {
		tnotes = append(tnotes, fmt.Sprintf("%s %s rows %.0f MiB", t.name, thousands(int(t.rows)), float64(t.bytes)/(1<<20)))
	}
	lines = append(lines, line(fmt.Sprintf("Postgres database size after ingesting %s events (pg_database_size)", thousands(o.events)), "-",
		float64(dbSize)/(1<<20), "MiB", strings.Join(tnotes, "; ")))
	progress("database %.0f MiB: %s", float64(dbSize)/(1<<20), strings.Join(tnotes, "; "))
	if o.vacuum {
		began := time.Now()
		if _, err := db.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
			return nil, err
		}
		progress("VACUUM (ANALYZE) took %.1f s", time.Since(began).Seconds())
	}

	// Sanity: the volume report over the whole range counts every ticket received.
	sctx, scancel := context.WithTimeout(ctx, 5*time.Minute)
	defer scancel()
	vol, err := client.GetVolumeReport(sctx, &analyticsv1.GetVolumeReportRequest{StartTime: timestamppb.New(now.AddDate(0, 0, -o.days-2)),
		EndTime: timestamppb.New(now.Add(24 * time.Hour)), Granularity: analyticsv1.Granularity_GRANULARITY_MONTH})
	if err != nil {
		return nil, fmt.Errorf("volume over the whole range: %w", err)
	}
	progress("volume report over the whole range: %s tickets (published kefu.ticket.created: %s)", thousands(int(vol.GetTotal())), thousands(pub.created))
	if vol.GetTotal() != int64(pub.created) {
		progress("WARNING: the volume report counts %d tickets, %d were created", vol.GetTotal(), pub.created)
		lines = append(lines, fmt.Sprintf("| WARNING: volume report over the whole range | 1 | %d | tickets | %d created |", vol.GetTotal(), pub.created))
	}

	// 4. Report latency.
	note := "after VACUUM (ANALYZE)"
	if !o.vacuum {
		note = "right after ingestion, no VACUUM"
	}
	lines = append(lines, fmt.Sprintf("| report queries: each report's calls cycle through them (all in Asia/Shanghai, ending now) | - | %d | queries | %s |",
		len(queries(now)), mixText))
	for _, r := range reportSpecs(now) {
		res, err := measure(ctx, client, r, o.reportCalls, o.callers)
		if err != nil {
			return nil, err
		}
		callers := strconv.Itoa(o.callers)
		what := fmt.Sprintf("%s over %s events", r.name, thousands(o.events))
		switch {
		case res.unimplemented:
			progress("%-40s unimplemented", r.name)
			lines = append(lines, fmt.Sprintf("| %s | %s | unimplemented | - | |", what, callers))
			continue
		case res.failed > 0:
			progress("%-40s %d of %d calls failed: %v", r.name, res.failed, o.reportCalls, res.firstErr)
		}
		p50, p99, top := pct(res.took, 0.50), pct(res.took, 0.99), pct(res.took, 1)
		progress("%-40s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (%.0f rows a call, %d failed)", r.name, p50, p99, top,
			float64(res.rows)/float64(max(len(res.took), 1)), res.failed)
		var variants []string
		for i, v := range res.byVariant {
			variants = append(variants, fmt.Sprintf("%s %.0f/%.0f", r.variant(now, i), pct(v, 0.5), pct(v, 1)))
		}
		fmt.Printf("    p50/max ms by query: %s\n", strings.Join(variants, "; "))
		lines = append(lines,
			line(what+" p50", callers, p50, "ms", fmt.Sprintf("%s; %d calls, %s", r.about, len(res.took), note)),
			line(what+" p99", callers, p99, "ms", fmt.Sprintf("max %s ms; target < 300 ms", format(top))))
	}
	if err := stopService(); err != nil {
		return nil, err
	}
	stopService = func() error { return nil }
	return lines, nil
}

// --- NATS in a process of its own ------------------------------------------------------------------------

// natsChildEnv, set to a store folder, makes this binary run only the embedded NATS server. The bench runs
// NATS in a child process, as it is deployed: in the service's process its index of the stream and its
// dedupe window (one entry per event for 2 h) would be garbage the service's GC scans.
const natsChildEnv = "KEFU_ANALYTICSBENCH_NATS_STORE"

// serveNATS runs the server on dir, prints its client URL, and stops when stdin closes or on a signal.
func serveNATS(dir string) error {
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir})
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	defer ns.Shutdown()
	fmt.Println(ns.ClientURL())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}

type natsChild struct {
	cmd  *exec.Cmd
	in   io.Closer
	url  string
	once sync.Once
}

// startNATS starts this binary as the NATS server on dir.
func startNATS(dir string) (*natsChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), natsChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	c := &natsChild{cmd: cmd, in: in}
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("start nats: %w", err)
	}
	c.url = strings.TrimSpace(url)
	return c, nil
}

// stop closes the server's stdin, which shuts it down, and waits for it.
func (c *natsChild) stop() {
	c.once.Do(func() {
		_ = c.in.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
}

// cpu is the server's CPU time so far.
func (c *natsChild) cpu() time.Duration {
	return procCPU(c.cmd.Process.Pid, false)
}

// --- the synthetic stream ---------------------------------------------------------------------------

// The suite's vocabulary: channels with their shares, the taxonomy (the 14 default subcategories plus 16
// an administrator would add), topics, urgencies and complaint levels.
var (
	channels = []weighted[intakev1.Channel]{
		{intakev1.Channel_CHANNEL_WEB_CHAT, 30}, {intakev1.Channel_CHANNEL_APP, 20}, {intakev1.Channel_CHANNEL_PHONE, 15},
		{intakev1.Channel_CHANNEL_WECHAT, 12}, {intakev1.Channel_CHANNEL_MINI_PROGRAM, 10}, {intakev1.Channel_CHANNEL_EMAIL, 6},
		{intakev1.Channel_CHANNEL_SOCIAL, 4}, {intakev1.Channel_CHANNEL_SMS, 3},
	}
	types = []weighted[intakev1.TicketType]{
		{intakev1.TicketType_TICKET_TYPE_INQUIRY, 45}, {intakev1.TicketType_TICKET_TYPE_COMPLAINT, 25},
		{intakev1.TicketType_TICKET_TYPE_REQUEST, 22}, {intakev1.TicketType_TICKET_TYPE_SUGGESTION, 8},
	}
	// subcategories by type, most frequent first (picked with Zipf-like weights).
	subcategories = map[intakev1.TicketType][]string{
		intakev1.TicketType_TICKET_TYPE_INQUIRY: {"order_status", "logistics_status", "product", "policy", "service", "payment",
			"promotion", "membership", "invoice", "account"},
		intakev1.TicketType_TICKET_TYPE_COMPLAINT: {"logistics", "product_quality", "service_attitude", "process", "wrong_item",
			"damaged_goods", "billing", "after_sales"},
		intakev1.TicketType_TICKET_TYPE_REQUEST: {"return_exchange", "refund", "information_change", "cancel_order",
			"invoice_request", "warranty_repair", "price_protection"},
		intakev1.TicketType_TICKET_TYPE_SUGGESTION: {"product_feature", "service_improvement", "website", "packaging",
			"delivery_option"},
	}
	// Topic ids of kefu.dev/pkg/topics, most frequent first.
	complaintTopics = []string{"delivery_delay", "damaged_item", "wrong_item", "quality", "staff_attitude", "missing_item",
		"no_response", "lost_parcel", "not_as_described", "price_charge", "refund_delay"}
	otherTopics = []string{"delivery_delay", "return_exchange", "refund_request", "invoice", "payment_failed", "account_login",
		"app_crash", "coupon_promotion", "membership", "cancellation", "price_protection"}
	urgencies = []weighted[intakev1.Urgency]{{intakev1.Urgency_URGENCY_NORMAL, 80}, {intakev1.Urgency_URGENCY_URGENT, 15},
		{intakev1.Urgency_URGENCY_CRITICAL, 5}}
	levels = []weighted[intakev1.ComplaintLevel]{{intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, 3},
		{intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2, 30}, {intakev1.ComplaintLevel_COMPLAINT_LEVEL_L3, 67}}
	ratings = []weighted[intakev1.Satisfaction]{{intakev1.Satisfaction_SATISFACTION_SATISFIED, 72},
		{intakev1.Satisfaction_SATISFACTION_NEUTRAL, 18}, {intakev1.Satisfaction_SATISFACTION_UNSATISFIED, 10}}
	// Tickets received per hour of the day (Asia/Shanghai) and per weekday (Sunday first), relative.
	hourShape = []float64{0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 1.0, 1.5, 1.8, 1.7, 1.3, 1.4, 1.7, 1.7, 1.6, 1.4,
		1.2, 1.3, 1.5, 1.4, 1.0, 0.5}
	dayShape = []float64{0.75, 1.15, 1.1, 1.05, 1.0, 1.0, 0.8}
)

const (
	groupCount     = 10
	agentsPerGroup = 5
)

type weighted[T any] struct {
	v T
	w float64
}

func pick[T any](r *mrand.Rand, ws []weighted[T]) T {
	var total float64
	for _, w := range ws {
		total += w.w
	}
	x := r.Float64() * total
	for _, w := range ws {
		if x < w.w {
			return w.v
		}
		x -= w.w
	}
	return ws[len(ws)-1].v
}

// zipf picks an index of n, the first the most likely (weights 1/(i+1)).
func zipf(r *mrand.Rand, n int) int {
	var total float64
	for i := range n {
		total += 1 / float64(i+1)
	}
	x := r.Float64() * total
	for i := range n {
		x -= 1 / float64(i+1)
		if x < 0 {
			return i
		}
	}
	return n - 1
}

func lognormal(r *mrand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}

func exponential(r *mrand.Rand, mean time.Duration) time.Duration {
	return time.Duration(float64(mean) * r.ExpFloat64())
}

// kind is what a generated event is.
type kind uint8

const (
	kCreated kind = iota
	kQueued
	kApplied
	kAssigned
	kReplied
	kCustomerMessage
	kResolved
	kReopened
	kClosed
	kEscalated
	kRated
	kWarning
	kBreached
	kMet
	kTransferRequested
	kTransferAccepted
)

var subjects = map[kind]string{
	kCreated: events.Subject("ticket", "created"), kQueued: events.Subject("routing", "ticket_queued"),
	kApplied: events.Subject("sla", "applied"), kAssigned: events.Subject("ticket", "assigned"),
	kReplied: events.Subject("ticket", "replied"), kCustomerMessage: events.Subject("ticket", "customer_message_added"),
	kResolved: events.Subject("ticket", "resolved"), kReopened: events.Subject("ticket", "reopened"),
	kClosed: events.Subject("ticket", "closed"), kEscalated: events.Subject("ticket", "escalated"),
	kRated: events.Subject("ticket", "rated"), kWarning: events.Subject("sla", "warning"),
	kBreached: events.Subject("sla", "breached"), kMet: events.Subject("sla", "met"),
	kTransferRequested: events.Subject("routing", "transfer_requested"),
	kTransferAccepted:  events.Subject("routing", "transfer_accepted"),
}

// source is the service that publishes k, whose per-ticket sequence the event carries.
func (k kind) source() string {
	switch k {
	case kApplied, kWarning, kBreached, kMet:
		return "slatimer"
	case kQueued, kTransferRequested, kTransferAccepted:
		return "routing"
	}
	return "intake"
}

// gTicket is a generated ticket.
type gTicket struct {
	id       string
	number   string
	channel  intakev1.Channel
	class    *eventsv1.TicketClassification
	topics   []string
	received time.Time
	customer string
}

// gEvent is one generated event, encoded when it is published.
type gEvent struct {
	at     time.Time
	order  uint64
	t      *gTicket
	kind   kind
	seq    int64
	target eventsv1.SlaTarget
	due    time.Time
	flag   bool // SlaMet.breached, TicketReplied.first_reply
	asks   bool // TicketReplied.asks_customer
	group  string
	agent  string
	from   string // previous group
	status intakev1.TicketStatus
	prev   intakev1.TicketStatus
	dur    time.Duration // SlaMet.elapsed, RoutingTransferAccepted.wait, SlaWarning.remaining
	rating intakev1.Satisfaction
	n      int32
	ref    string // transfer id
	dls    []*eventsv1.SlaDeadline
}

// generator produces the stream in time order: tickets in order of reception, each ticket's events
// merged with the others' by time (a heap), events after now dropped (the ticket is still open).
type generator struct {
	r        *mrand.Rand
	now      time.Time
	start    time.Time
	groups   []string
	agents   [][]string
	pending  eventHeap
	order    uint64
	tickets  int
	perHour  []int // tickets received in each hour from start
	hour     int
	inHour   []time.Time
	nextTick int
	topUp    bool
}

func newGenerator(seed uint64, now time.Time, days, tickets int) *generator {
	g := &generator{r: mrand.New(mrand.NewPCG(seed, 0x6b656675)), now: now, start: now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Hour)}
	for i := range groupCount {
		g.groups = append(g.groups, fixedUUID(0x9000+uint64(i)))
		var as []string
		for j := range agentsPerGroup {
			as = append(as, fixedUUID(0xa000+uint64(i*agentsPerGroup+j)))
		}
		g.agents = append(g.agents, as)
	}
	// Tickets per hour: the daily and weekly shape, a slow growth over the range and one promotion day at
	// 2.5 times, rounded so they add up to tickets exactly.
	hours := int(now.Sub(g.start) / time.Hour)
	shanghai := time.FixedZone("CST", 8*3600)
	promo := hours * 2 / 3 / 24
	weights := make([]float64, hours)
	var total float64
	for h := range hours {
		t := g.start.Add(time.Duration(h) * time.Hour).In(shanghai)
		w := hourShape[t.Hour()] * dayShape[t.Weekday()] * (0.9 + 0.2*float64(h)/float64(hours))
		if h/24 == promo {
			w *= 2.5
		}
		weights[h], total = w, total+w
	}
	var cum float64
	prev := 0
	for _, w := range weights {
		cum += w
		n := int(math.Round(cum / total * float64(tickets)))
		g.perHour = append(g.perHour, n-prev)
		prev = n
	}
	return g
}

// fixedUUID is a stable id for group or agent i.
func fixedUUID(i uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], i)
	b[6], b[8] = 0x40, 0x80|b[8]&0x3f
	return uuid.UUID(b).String()
}

// ticketID is a UUIDv7 of the reception time, as intake makes them.
func ticketID(r *mrand.Rand, at time.Time) string {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	binary.BigEndian.PutUint16(b[6:], uint16(r.Uint32()))
	b[6], b[8] = 0x70|b[6]&0x0f, 0x80|b[8]&0x3f
	return uuid.UUID(b).String()
}

// peekReceived returns the next ticket's reception time, or false when every ticket is out. After the
// planned tickets, with topUp set, more arrive in the last hour (when the estimate of events a ticket
// fell short of --events).
func (g *generator) peekReceived() (time.Time, bool) {
	for g.nextTick >= len(g.inHour) {
		g.inHour, g.nextTick = g.inHour[:0], 0
		switch {
		case g.hour < len(g.perHour):
			h0 := g.start.Add(time.Duration(g.hour) * time.Hour)
			for range g.perHour[g.hour] {
				g.inHour = append(g.inHour, h0.Add(time.Duration(g.r.Int64N(int64(time.Hour)))))
			}
			g.hour++
		case g.topUp:
			for range 100 {
				g.inHour = append(g.inHour, g.now.Add(-time.Duration(g.r.Int64N(int64(time.Hour)))))
			}
		default:
			return time.Time{}, false
		}
		for i, at := range g.inHour {
			if at.After(g.now) {
				at = g.now
			}
			g.inHour[i] = at.Truncate(time.Millisecond)
		}
		slices.SortFunc(g.inHour, func(a, b time.Time) int { return a.Compare(b) })
	}
	return g.inHour[g.nextTick], true
}

// next returns the next event in time order, or nil at the end of the stream.
func (g *generator) next() *gEvent {
	for {
		at, ok := g.peekReceived()
		if g.pending.Len() > 0 && (!ok || !g.pending[0].at.After(at)) {
			return heap.Pop(&g.pending).(*gEvent)
		}
		if !ok {
			return nil
		}
		g.nextTick++
		for _, e := range g.lifecycle(at) {
			g.order++
			e.order = g.order
			heap.Push(&g.pending, e)
		}
	}
}

// lifecycle generates one ticket received at received: its events in time order, with each publishing
// service's per-ticket sequence, those after now left out.
func (g *generator) lifecycle(received time.Time) []*gEvent {
	r := g.r
	g.tickets++
	typ := pick(r, types)
	subs := subcategories[typ]
	class := &eventsv1.TicketClassification{Type: typ, Subcategory: subs[zipf(r, len(subs))], Urgency: pick(r, urgencies),
		Source: intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE, RuleId: "rule-" + strconv.Itoa(r.IntN(40))}
	var topics []string
	pool, share := otherTopics, 0.15
	if typ == intakev1.TicketType_TICKET_TYPE_COMPLAINT {
		class.Level = pick(r, levels)
		pool, share = complaintTopics, 0.7
		if class.Level == intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1 && class.Urgency == intakev1.Urgency_URGENCY_NORMAL {
			class.Urgency = intakev1.Urgency_URGENCY_URGENT
		}
	}
	if r.Float64() < share {
		topics = append(topics, pool[zipf(r, len(pool))])
		if r.Float64() < 0.3 {
			if t := pool[r.IntN(len(pool))]; t != topics[0] {
				topics = append(topics, t)
			}
		}
		slices.Sort(topics)
	}
	t := &gTicket{id: ticketID(r, received), number: fmt.Sprintf("GD%08d", g.tickets), channel: pick(r, channels), class: class,
		topics: topics, received: received, customer: fixedUUID(0x100000 + uint64(r.IntN(2_000_000)))}
	var evs []*gEvent
	add := func(e *gEvent) *gEvent {
		e.t = t
		evs = append(evs, e)
		return e
	}
	add(&gEvent{at: received, kind: kCreated, status: intakev1.TicketStatus_TICKET_STATUS_NEW})
	// The group: mostly the one for the type and channel, sometimes another.
	gi := (int(typ)*3 + int(t.channel)) % groupCount
	if r.Float64() < 0.15 {
		gi = r.IntN(groupCount)
	}
	if r.Float64() < 0.3 {
		add(&gEvent{at: received.Add(150 * time.Millisecond), kind: kQueued, group: g.groups[gi], n: int32(1 + r.IntN(30))})
	}
	chat := t.channel != intakev1.Channel_CHANNEL_EMAIL && t.channel != intakev1.Channel_CHANNEL_SMS && t.channel != intakev1.Channel_CHANNEL_SOCIAL
	// Spam and duplicates (2%): closed without an agent.
	if r.Float64() < 0.02 {
		add(&gEvent{at: received.Add(exponential(r, 40*time.Minute)), kind: kClosed, prev: intakev1.TicketStatus_TICKET_STATUS_NEW,
			status: intakev1.TicketStatus_TICKET_STATUS_CLOSED})
		return g.finish(evs)
	}
	// SLA targets: by channel and urgency; suggestions have none.
	frLen, resLen := 10*time.Minute, 24*time.Hour
	if !chat {
		frLen = 4 * time.Hour
	}
	switch class.Urgency {
	case intakev1.Urgency_URGENCY_URGENT:
		frLen, resLen = frLen/2, 8*time.Hour
	case intakev1.Urgency_URGENCY_CRITICAL:
		frLen, resLen = frLen/4, 4*time.Hour
	}
	hasSLA := typ != intakev1.TicketType_TICKET_TYPE_SUGGESTION && r.Float64() < 0.95
	policy := "builtin:" + strings.ToLower(strings.TrimPrefix(typ.String(), "TICKET_TYPE_"))
	if hasSLA {
		add(&gEvent{at: received.Add(300 * time.Millisecond), kind: kApplied, dls: []*eventsv1.SlaDeadline{
			{Target: eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, DueTime: timestamppb.New(received.Add(frLen)), PolicyId: policy,
				Calendar: "always", Length: durationpb.New(frLen), Cycle: 1},
			{Target: eventsv1.SlaTarget_SLA_TARGET_RESOLUTION, DueTime: timestamppb.New(received.Add(resLen)), PolicyId: policy,
				Calendar: "always", Length: durationpb.New(resLen), Cycle: 1},
		}})
	}
	// Assignment: phone calls are taken at once, the rest wait in the queue.
	assignedAt := received.Add(time.Duration(2+r.IntN(20)) * time.Second)
	if t.channel != intakev1.Channel_CHANNEL_PHONE || r.Float64() < 0.3 {
		assignedAt = received.Add(exponential(r, 90*time.Second))
	}
	agent := g.agents[gi][r.IntN(agentsPerGroup)]
	add(&gEvent{at: assignedAt, kind: kAssigned, group: g.groups[gi], agent: agent, prev: intakev1.TicketStatus_TICKET_STATUS_NEW,
		status: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED})
	// First response.
	firstReply := assignedAt.Add(lognormal(r, frLen/6, 0.8))
	asks := r.Float64() < 0.25
	replied := intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS
	if asks {
		replied = intakev1.TicketStatus_TICKET_STATUS_PENDING_CUSTOMER
	}
	add(&gEvent{at: firstReply, kind: kReplied, flag: true, asks: asks, prev: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED, status: replied})
	last := firstReply
	if asks {
		msg := firstReply.Add(exponential(r, 30*time.Minute))
		add(&gEvent{at: msg, kind: kCustomerMessage, prev: replied, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
		last = msg.Add(exponential(r, 10*time.Minute))
		add(&gEvent{at: last, kind: kReplied, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
	}
	// Resolution (95%; the rest stay open).
	var resolvedAt time.Time
	if r.Float64() < 0.95 {
		resolvedAt = firstReply.Add(lognormal(r, resLen/6, 1.0))
		if !resolvedAt.After(last) {
			resolvedAt = last.Add(exponential(r, 20*time.Minute))
		}
	}
	// A transfer (8%) between the first reply and the resolution (or within a day).
	end := resolvedAt
	if end.IsZero() {
		end = firstReply.Add(24 * time.Hour)
	}
	if r.Float64() < 0.08 {
		at := firstReply.Add(time.Duration(float64(end.Sub(firstReply)) * (0.1 + 0.4*r.Float64())))
		to := (gi + 1 + r.IntN(groupCount-1)) % groupCount
		wait := exponential(r, 3*time.Minute)
		id := fixedUUID(0x200000000 + uint64(g.tickets))
		add(&gEvent{at: at, kind: kTransferRequested, ref: id, from: g.groups[gi], group: g.groups[to]})
		toAgent := g.agents[to][r.IntN(agentsPerGroup)]
		add(&gEvent{at: at.Add(wait), kind: kTransferAccepted, ref: id, group: g.groups[to], agent: toAgent, dur: wait})
		add(&gEvent{at: at.Add(wait).Add(200 * time.Millisecond), kind: kAssigned, group: g.groups[to], agent: toAgent, from: g.groups[gi],
			prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS, status: intakev1.TicketStatus_TICKET_STATUS_ASSIGNED})
	}
	// An escalation (3%, a quarter of L1 complaints).
	if r.Float64() < 0.03 || class.Level == intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1 && r.Float64() < 0.25 {
		at := firstReply.Add(time.Duration(float64(end.Sub(firstReply)) * r.Float64()))
		add(&gEvent{at: at, kind: kEscalated, n: 1, status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
	}
	if hasSLA {
		elapsed := func(d time.Duration) time.Duration {
			if !chat {
				return d * 11 / 20 // business hours only
			}
			return d
		}
		g.sla(add, eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, received, frLen, firstReply, policy, elapsed)
		g.sla(add, eventsv1.SlaTarget_SLA_TARGET_RESOLUTION, received, resLen, resolvedAt, policy, elapsed)
	}
	if resolvedAt.IsZero() {
		return g.finish(evs)
	}
	add(&gEvent{at: resolvedAt, kind: kResolved, n: 1, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS,
		status: intakev1.TicketStatus_TICKET_STATUS_RESOLVED})
	if r.Float64() < 0.4 {
		rating := pick(r, ratings)
		if resolvedAt.Sub(received) > resLen && r.Float64() < 0.4 {
			rating = intakev1.Satisfaction_SATISFACTION_UNSATISFIED
		}
		add(&gEvent{at: resolvedAt.Add(exponential(r, 2*time.Hour)), kind: kRated, rating: rating, n: 1})
	}
	closeAfter := resolvedAt
	if r.Float64() < 0.03 {
		reopened := resolvedAt.Add(exponential(r, 18*time.Hour))
		add(&gEvent{at: reopened, kind: kReopened, agent: agent, prev: intakev1.TicketStatus_TICKET_STATUS_RESOLVED,
			status: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS})
		closeAfter = reopened.Add(exponential(r, 3*time.Hour))
		add(&gEvent{at: closeAfter, kind: kResolved, n: 2, prev: intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS,
			status: intakev1.TicketStatus_TICKET_STATUS_RESOLVED})
	}
	if r.Float64() < 0.5 {
		add(&gEvent{at: closeAfter.Add(72 * time.Hour), kind: kClosed, flag: true, prev: intakev1.TicketStatus_TICKET_STATUS_RESOLVED,
			status: intakev1.TicketStatus_TICKET_STATUS_CLOSED})
	}
	return g.finish(evs)
}

// sla adds what the SLA timers publish for one target of length started at start and met at done (zero:
// not yet): a warning at 75%, a breach at the due time, and the met event.
func (g *generator) sla(add func(*gEvent) *gEvent, target eventsv1.SlaTarget, start time.Time, length time.Duration, done time.Time,
	policy string, elapsed func(time.Duration) time.Duration) {
	due, warn := start.Add(length), start.Add(length*3/4)
	if !done.IsZero() && !done.After(warn) {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, dur: elapsed(done.Sub(start))})
		return
	}
	add(&gEvent{at: warn, kind: kWarning, target: target, due: due, ref: policy, n: 1, dur: length / 4})
	if !done.IsZero() && !done.After(due) {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, dur: elapsed(done.Sub(start))})
		return
	}
	add(&gEvent{at: due, kind: kBreached, target: target, due: due, ref: policy})
	if !done.IsZero() {
		add(&gEvent{at: done, kind: kMet, target: target, due: due, ref: policy, flag: true, dur: elapsed(done.Sub(start))})
	}
}

// finish orders a ticket's events by time, numbers them per publishing service and drops those after now.
func (g *generator) finish(evs []*gEvent) []*gEvent {
	slices.SortStableFunc(evs, func(a, b *gEvent) int { return a.at.Compare(b.at) })
	seqs := map[string]int64{}
	out := evs[:0]
	for _, e := range evs {
		if e.at.After(g.now) {
			continue
		}
		e.at = e.at.Truncate(time.Millisecond)
		src := e.kind.source()
		seqs[src]++
		e.seq = seqs[src]
		out = append(out, e)
	}
	return out
}

type eventHeap []*gEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*gEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

var (
	actorAdapter = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_ADAPTER, Id: "web-form"}
	actorService = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SERVICE, Id: "routing"}
	actorSystem  = &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: "slatimer"}
)

// encode renders e as the publishing service's relay sends it.
func encode(e *gEvent) (*nats.Msg, error) {
	t := e.t
	var body proto.Message
	actor := actorService
	switch e.kind {
	case kCreated:
		body, actor = &eventsv1.TicketCreated{Number: t.number, Channel: t.channel, Classification: t.class, CustomerId: t.customer,
			ReceivedTime: timestamppb.New(t.received), ToStatus: e.status, HasContact: true, CustomerTier: "standard",
			Topics: t.topics}, actorAdapter
	case kQueued:
		body = &eventsv1.RoutingTicketQueued{GroupId: e.group, Priority: intakev1.Priority(1 + int(t.class.GetUrgency())%4), Depth: e.n}
	case kApplied:
		body, actor = &eventsv1.SlaApplied{TicketId: t.id, Deadlines: e.dls, PolicyIds: []string{e.dls[0].GetPolicyId()}}, actorSystem
	case kAssigned:
		body = &eventsv1.TicketAssigned{FromStatus: e.prev, ToStatus: e.status, GroupId: e.group, AssigneeId: e.agent, PreviousGroupId: e.from}
	case kReplied:
		body = &eventsv1.TicketReplied{EntryId: uuid.NewString(), Channel: t.channel, AsksCustomer: e.asks, FirstReply: e.flag,
			FromStatus: e.prev, ToStatus: e.status}
	case kCustomerMessage:
		body = &eventsv1.TicketCustomerMessageAdded{EntryId: uuid.NewString(), Channel: t.channel, FromStatus: e.prev, ToStatus: e.status}
	case kResolved:
		body = &eventsv1.TicketResolved{FromStatus: e.prev, ToStatus: e.status, ResolutionNumber: e.n}
	case kReopened:
		body = &eventsv1.TicketReopened{FromStatus: e.prev, ToStatus: e.status, AssigneeId: e.agent}
	case kClosed:
		body = &eventsv1.TicketClosed{FromStatus: e.prev, ToStatus: e.status, Automatic: e.flag}
	case kEscalated:
		body = &eventsv1.TicketEscalated{EscalationLevel: e.n, Status: e.status}
	case kRated:
		body, actor = &eventsv1.TicketRated{Rating: e.rating, ResolutionNumber: e.n}, actorAdapter
	case kWarning:
		body, actor = &eventsv1.SlaWarning{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), PolicyId: e.ref,
			Threshold: e.n, Remaining: durationpb.New(e.dur), Cycle: 1}, actorSystem
	case kBreached:
		body, actor = &eventsv1.SlaBreached{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), PolicyId: e.ref, Cycle: 1}, actorSystem
	case kMet:
		body, actor = &eventsv1.SlaMet{TicketId: t.id, Target: e.target, DueTime: timestamppb.New(e.due), MetTime: timestamppb.New(e.at),
			Breached: e.flag, Cycle: 1, PolicyId: e.ref, Elapsed: durationpb.New(e.dur)}, actorSystem
	case kTransferRequested:
		body = &eventsv1.RoutingTransferRequested{TransferId: e.ref, FromGroupId: e.from, ToGroupId: e.group,
			AcceptDeadline: timestamppb.New(e.at.Add(15 * time.Minute))}
	case kTransferAccepted:
		body = &eventsv1.RoutingTransferAccepted{TransferId: e.ref, ToGroupId: e.group, AssigneeId: e.agent, Wait: durationpb.New(e.dur)}
	default:
		return nil, fmt.Errorf("unknown kind %d", e.kind)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m, err := outbox.NewEvent(subjects[e.kind], body, &eventsv1.EventMeta{EventId: id.String(), Source: e.kind.source(),
		AggregateId: t.id, AggregateSeq: e.seq, OccurredAt: timestamppb.New(e.at), Actor: actor})
	if err != nil {
		return nil, err
	}
	h := nats.Header{}
	h.Set(events.HeaderMsgID, m.EventID)
	h.Set(events.HeaderType, m.Type)
	h.Set(events.HeaderAggregateID, m.AggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(m.AggregateSeq, 10))
	return &nats.Msg{Subject: m.Subject, Header: h, Data: m.Payload}, nil
}

// meanEvents estimates the events a ticket has (those after now dropped) from a sample.
func meanEvents(seed uint64, now time.Time, days int) float64 {
	g := newGenerator(seed^0x5eed, now, days, 50_000)
	n := 0
	for {
		at, ok := g.peekReceived()
		if !ok {
			break
		}
		g.nextTick++
		n += len(g.lifecycle(at))
	}
	return float64(n) / float64(g.tickets)
}

type published struct {
	took      time.Duration
	tickets   int
	created   int
	retried   int
	bySubject map[string]int
}

// publish generates o.events events and publishes them to the KEFU stream (created as the service
// configures it) with at most o.inflight unacknowledged.
func publish(ctx context.Context, o options, cfg analytics.Config, natsURL string, now time.Time) (published, error) {
	var out published
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return out, err
	}
	defer nc.Close()
	var mu sync.Mutex
	var failed []*nats.Msg
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(o.inflight),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, _ error) {
			mu.Lock()
			failed = append(failed, m)
			mu.Unlock()
		}))
	if err != nil {
		return out, err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{MaxAge: cfg.StreamMaxAge, Duplicates: cfg.StreamDuplicates}); err != nil {
		return out, err
	}
	mean := meanEvents(o.seed, now, o.days)
	// The stream stops at exactly o.events: the estimate's error cuts off, or adds, at most a few hours.
	tickets := int(math.Round(float64(o.events) / mean))
	g := newGenerator(o.seed, now, o.days, tickets)
	// The generator and encoder run beside the publisher, in batches.
	batches := make(chan []*nats.Msg, 16)
	gerr := make(chan error, 1)
	bySubject := map[string]int{}
	created := 0
	go func() {
		defer close(batches)
		n := 0
		for n < o.events {
			batch := make([]*nats.Msg, 0, 512)
			for len(batch) < cap(batch) && n < o.events {
				e := g.next()
				if e == nil {
					g.topUp = true // the estimate fell short: more tickets in the last hour
					continue
				}
				if e.kind == kCreated {
					created++
				}
				m, err := encode(e)
				if err != nil {
					gerr <- err
					return
				}
				bySubject[m.Subject]++
				batch = append(batch, m)
				n++
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return
			}
		}
		gerr <- nil
	}()
	began := time.Now()
	sent := 0
	for batch := range batches {
		for _, m := range batch {
			for {
				_, err := js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second))
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					return out, fmt.Errorf("publish: %w", err)
				}
			}
		}
		sent += len(batch)
		if sent%(o.events/10+1) < len(batch) {
			progress("published %s of %s events", thousands(sent), thousands(o.events))
		}
	}
	if err := <-gerr; err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		return out, errors.New("JetStream did not acknowledge the last publishes within 5 minutes")
	}
	// Publishes that failed (a timeout) are sent again; the stream's dedupe window keeps each once.
	mu.Lock()
	retry := failed
	mu.Unlock()
	for _, m := range retry {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return out, fmt.Errorf("publish again: %w", err)
		}
	}
	out.took, out.tickets, out.created, out.retried, out.bySubject = time.Since(began), created, created, len(retry), bySubject
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return out, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return out, err
	}
	if info.State.Msgs != uint64(o.events) {
		return out, fmt.Errorf("the stream holds %d events, %d were published", info.State.Msgs, o.events)
	}
	// Tickets whose created event was cut off at the end never appear.
	return out, nil
}

// --- ingestion ----------------------------------------------------------------------------------------

type ingested struct {
	took       time.Duration
	slices     []float64 // events/s over each tenth
	goCPU      time.Duration
	natsCPU    time.Duration
	pgCPU      time.Duration
	wal        int64 // bytes of WAL written
	idle       float64
	statements []string
}

// ingest starts the service on the backlog and waits until every event is ingested. It returns a client of
// the service and the function that stops it.
func ingest(ctx context.Context, cfg analytics.Config, log *slog.Logger, token string, db, admin *pgx.Conn, natsCPU func() time.Duration,
	n int, profile string, statements bool) (ingested, analyticsv1.AnalyticsServiceClient, func() error, error) {
	var res ingested
	if statements {
		if _, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
			statements = false
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, nil, nil, err
	}
	cc, err := grpcx.Dial(lis.Addr().String(), grpcx.Bearer(token))
	if err != nil {
		_ = lis.Close()
		return res, nil, nil, err
	}
	client := analyticsv1.NewAnalyticsServiceClient(cc)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return res, nil, nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, nil, nil, err
		}
		defer pprof.StopCPUProfile()
	}
	pgBefore, _ := postgresCPU(ctx, admin)
	var walBefore string
	_ = admin.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&walBefore)
	goBefore, natsBefore, cpuBefore := processCPU(), natsCPU(), machineCPU()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- analytics.Serve(sctx, cfg, log, lis) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
			_ = cc.Close()
		})
		return stopErr
	}
	// Progress from the counter the service keeps (one row, cheap to read), then the status RPC.
	type sample struct {
		at time.Duration
		n  int64
	}
	samples := []sample{{0, 0}}
	for {
		var got int64
		if err := db.QueryRow(ctx, `SELECT events FROM analytics.ingest_stats WHERE id = 1`).Scan(&got); err != nil {
			st, serr := client.GetIngestionStatus(ctx, &analyticsv1.GetIngestionStatusRequest{})
			if serr != nil && status.Code(serr) != codes.Unavailable {
				return res, nil, stop, fmt.Errorf("ingestion status: %w (counter: %v)", serr, err)
			}
			got = st.GetEventsIngested()
		}
		samples = append(samples, sample{time.Since(began), got})
		if got >= int64(n) {
			st, err := client.GetIngestionStatus(ctx, &analyticsv1.GetIngestionStatusRequest{})
			if err == nil && st.GetEventsIngested() == int64(n) && st.GetEventsBehind() == 0 {
				break
			}
			if err == nil && st.GetEventsIngested() > int64(n) {
				return res, nil, stop, fmt.Errorf("%d events ingested, %d published", st.GetEventsIngested(), n)
			}
		}
		select {
		case err := <-done:
			done <- err
			return res, nil, stop, fmt.Errorf("the service stopped during ingestion: %v", err)
		case <-ctx.Done():
			return res, nil, stop, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(began) > 2*time.Hour {
			return res, nil, stop, fmt.Errorf("%d of %d events ingested after 2 hours", got, n)
		}
	}
	res.took = time.Since(began)
	pprof.StopCPUProfile()
	res.goCPU, res.natsCPU = processCPU()-goBefore, natsCPU()-natsBefore
	cpuAfter := machineCPU()
	if pgAfter, err := postgresCPU(ctx, admin); err == nil {
		res.pgCPU = pgAfter - pgBefore
	}
	_ = admin.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`, walBefore).Scan(&res.wal)
	if total := cpuAfter.total - cpuBefore.total; total > 0 {
		res.idle = float64(cpuAfter.idle-cpuBefore.idle) / float64(total)
	}
	// The time each tenth was crossed, between samples by linear interpolation.
	prev := time.Duration(0)
	for k := 1; k <= 10; k++ {
		target := int64(n) * int64(k) / 10
		i := slices.IndexFunc(samples, func(s sample) bool { return s.n >= target })
		at := samples[i].at
		if i > 0 && samples[i].n > samples[i-1].n {
			a, b := samples[i-1], samples[i]
			at = a.at + time.Duration(float64(b.at-a.at)*float64(target-a.n)/float64(b.n-a.n))
		}
		res.slices = append(res.slices, float64(n)/10/(at-prev).Seconds())
		prev = at
	}
	if statements {
		res.statements = topStatements(ctx, db)
	}
	return res, client, stop, nil
}

// enableStatements creates pg_stat_statements in the bench database when the server preloads it.
func enableStatements(ctx context.Context, db *pgx.Conn) bool {
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return false
	}
	_, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`)
	if err != nil {
		progress("pg_stat_statements is not preloaded by this cluster: statement times not reported")
	}
	return err == nil
}

func topStatements(ctx context.Context, db *pgx.Conn) []string {
	rows, err := db.Query(ctx, `SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 10`)
	if err != nil {
		return []string{err.Error()}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var calls, nrows int64
		var total, mean float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &nrows, &q); err != nil {
			return append(out, err.Error())
		}
		if len(q) > 110 {
			q = q[:110] + "…"
		}
		out = append(out, fmt.Sprintf("%8.1f s %8d calls %8.2f ms each %10d rows  %s", total/1000, calls, mean, nrows, q))
	}
	return out
}

type table struct {
	name  string
	rows  int64
	bytes int64
}

// tableStats lists the service's tables with their exact row counts and sizes (indexes included).
func tableStats(ctx context.Context, db *pgx.Conn) ([]table, error) {
	rows, err := db.Query(ctx, `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
		WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'r' ORDER BY 2 DESC`)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.name, &t.bytes)
	})
	if err != nil {
		return nil, err
	}
	var out []table
	for _, t := range ts {
		if t.bytes < 64<<10 {
			continue // the small shared tables (keys, audit, outbox)
		}
		if err := db.QueryRow(ctx, `SELECT count(*) FROM analytics.`+pgx.Identifier{t.name}.Sanitize()).Scan(&t.rows); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// --- reports ------------------------------------------------------------------------------------------

// query is one of the realistic report queries.
type query struct {
	name    string
	start   time.Time
	end     time.Time
	gran    analyticsv1.Granularity
	groupBy analyticsv1.Dimension
	filter  *analyticsv1.ReportFilter
}

func queries(now time.Time) []query {
	day := 24 * time.Hour
	return []query{
		{"last 7 days by day", now.Add(-7 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0, nil},
		{"last 30 days by day and channel", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, analyticsv1.Dimension_DIMENSION_CHANNEL, nil},
		{"last 90 days by week", now.Add(-90 * day), now, analyticsv1.Granularity_GRANULARITY_WEEK, 0, nil},
		{"7 days by hour, one channel", now.Add(-7 * day), now, analyticsv1.Granularity_GRANULARITY_HOUR, 0,
			&analyticsv1.ReportFilter{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}}},
		{"30 days by day, one subcategory", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0,
			&analyticsv1.ReportFilter{Subcategories: []string{"logistics"}}},
		{"30 days by day, urgent", now.Add(-30 * day), now, analyticsv1.Granularity_GRANULARITY_DAY, 0,
			&analyticsv1.ReportFilter{Urgencies: []intakev1.Urgency{intakev1.Urgency_URGENCY_URGENT}}},
	}
}

const mixText = "last 7 days by day; last 30 days by day × channel; last 90 days by ISO week; last 7 days by hour, web_chat only; " +
	"last 30 days by day, subcategory logistics; last 30 days by day, urgent"

// reportSpec is one RPC under measure: call runs variant i and returns the rows it got.
type reportSpec struct {
	name  string
	about string
	n     int      // variants
	names []string // the variants' names; none: the report queries
	call  func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error)
}

func reportSpecs(now time.Time) []reportSpec {
	qs := queries(now)
	ts := timestamppb.New
	mix := "the report queries"
	same := func(name string, call func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error)) reportSpec {
		return reportSpec{name: name, about: mix, n: len(qs), call: func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
			return call(ctx, c, qs[i%len(qs)])
		}}
	}
	summary := func(p analyticsv1.SummaryPeriod, times []*timestamppb.Timestamp) func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
		return func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, i int) (int, error) {
			r, err := c.GetSummary(ctx, &analyticsv1.GetSummaryRequest{Period: p, PeriodTime: times[i%len(times)]})
			return len(r.GetVolumeByChannel()) + len(r.GetSlaByTarget()) + len(r.GetWorkloadByGroup()), err
		}
	}
	export := func(report string) reportSpec {
		return same("ExportReport "+report, func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.ExportReport(ctx, &analyticsv1.ExportReportRequest{Report: report, StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return strings.Count(string(r.GetData()), "\n"), err
		})
	}
	weeks := []*timestamppb.Timestamp{nil, ts(now.AddDate(0, 0, -14)), ts(now.AddDate(0, 0, -21)), ts(now.AddDate(0, 0, -35))}
	months := []*timestamppb.Timestamp{nil, ts(now.AddDate(0, -2, 0))}
	return []reportSpec{
		same("GetVolumeReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetVolumeReport(ctx, &analyticsv1.GetVolumeReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetTimelinessReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetTimelinessReport(ctx, &analyticsv1.GetTimelinessReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetSlaReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetSlaReport(ctx, &analyticsv1.GetSlaReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetSatisfactionReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetSatisfactionReport(ctx, &analyticsv1.GetSatisfactionReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetWorkloadReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			// Per agent (the default) unless the query breaks down by something else.
			r, err := c.GetWorkloadReport(ctx, &analyticsv1.GetWorkloadReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()), err
		}),
		same("GetTopIssuesReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetTopIssuesReport(ctx, &analyticsv1.GetTopIssuesReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Filter: q.filter, Limit: 10})
			return len(r.GetByVolume()) + len(r.GetByBreaches()) + len(r.GetTopics()), err
		}),
		same("GetCollaborationReport", func(ctx context.Context, c analyticsv1.AnalyticsServiceClient, q query) (int, error) {
			r, err := c.GetCollaborationReport(ctx, &analyticsv1.GetCollaborationReportRequest{StartTime: ts(q.start), EndTime: ts(q.end),
				Granularity: q.gran, GroupBy: q.groupBy, Filter: q.filter})
			return len(r.GetRows()) + len(r.GetGroupTimes()), err
		}),
		{name: "GetSummary WEEK", about: "the last complete week and weeks 2, 3 and 5 back", n: len(weeks),
			names: []string{"last week", "2 weeks back", "3 weeks back", "5 weeks back"},
			call:  summary(analyticsv1.SummaryPeriod_SUMMARY_PERIOD_WEEK, weeks)},
		{name: "GetSummary MONTH", about: "the last complete month and the one two months back", n: len(months),
			names: []string{"last month", "2 months back"},
			call:  summary(analyticsv1.SummaryPeriod_SUMMARY_PERIOD_MONTH, months)},
		export("volume"),
		export("timeliness"),
	}
}

// variant names variant i of r.
func (r reportSpec) variant(now time.Time, i int) string {
	if len(r.names) > 0 {
		return r.names[i]
	}
	return queries(now)[i].name
}

type measured struct {
	took          []time.Duration
	byVariant     [][]time.Duration
	rows          int
	failed        int
	firstErr      error
	unimplemented bool
}

// measure warms r up with one call of each variant, then makes calls calls with callers concurrent callers.
func measure(ctx context.Context, c analyticsv1.AnalyticsServiceClient, r reportSpec, calls, callers int) (measured, error) {
	var m measured
	for i := range r.n {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := r.call(cctx, c, i)
		cancel()
		if err != nil {
			if status.Code(err) == codes.Unimplemented {
				m.unimplemented = true
				return m, nil
			}
			if ctx.Err() != nil {
				return m, ctx.Err()
			}
		}
	}
	m.byVariant = make([][]time.Duration, r.n)
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls || ctx.Err() != nil {
					return
				}
				began := time.Now()
				cctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // slow reports are measured, not cut off
				rows, err := r.call(cctx, c, i)
				took := time.Since(began)
				cancel()
				mu.Lock()
				if err != nil {
					m.failed++
					if m.firstErr == nil {
						m.firstErr = err
					}
				} else {
					m.took, m.rows = append(m.took, took), m.rows+rows
					m.byVariant[i%r.n] = append(m.byVariant[i%r.n], took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(m.took)
	for _, v := range m.byVariant {
		slices.Sort(v)
	}
	return m, ctx.Err()
}

// pct is the p-quantile of sorted ds in ms (nearest rank).
func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	i := max(0, min(len(ds)-1, int(math.Ceil(p*float64(len(ds))))-1))
	return float64(ds[i].Microseconds()) / 1000
}

// --- machine -------------------------------------------------------------------------------------------

func perEvent(d time.Duration, n int) float64 { return d.Seconds() * 1e6 / float64(n) }

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type cpuTimes struct{ total, idle uint64 }

// machineCPU reads the machine's CPU ticks from /proc/stat (idle includes iowait).
func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	first, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(first)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		t.total += v
		if i == 3 || i == 4 {
			t.idle += v
		}
	}
	return t
}

// postgresCPU is the CPU time of the cluster's postmaster and every process it started (live ones, and
// the exited ones it has waited for), from /proc, at 100 ticks a second.
func postgresCPU(ctx context.Context, admin *pgx.Conn) (time.Duration, error) {
	var dir string
	if err := admin.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dir); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, err
	}
	total := procCPU(pm, true)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == pm {
			continue
		}
		if f := procStat(pid); len(f) > 1 && f[1] == strconv.Itoa(pm) {
			total += procCPU(pid, false)
		}
	}
	return total, nil
}

// procStat returns the fields of /proc/pid/stat after the command (f[0] state, f[1] ppid, f[11] utime,
// f[12] stime, f[13] cutime, f[14] cstime), or nil.
func procStat(pid int) []string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	_, rest, ok := strings.Cut(string(st), ") ")
	if !ok {
		return nil
	}
	if f := strings.Fields(rest); len(f) >= 15 {
		return f
	}
	return nil
}

// procCPU is pid's CPU time (with children the children it has waited for), at 100 ticks a second.
func procCPU(pid int, children bool) time.Duration {
	f := procStat(pid)
	if f == nil {
		return 0
	}
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	var ticks uint64
	for _, i := range idx {
		v, _ := strconv.ParseUint(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func rss(pid int) string { return procStatus(pid, "VmRSS:") }

// gcSetting is the GC percent this process runs with (analytics.TuneGC).
func gcSetting() string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v + " (GOGC)"
	}
	return strconv.Itoa(analytics.GCPercent)
}

// procStatus returns the value of one line of a process's /proc status ("VmHWM:" is its peak RSS).
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					model = strings.TrimSpace(v)
				}
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

type count struct {
	k string
	n int
}

func sortedCounts(m map[string]int) []count {
	var out []count
	for k, n := range m {
		out = append(out, count{k, n})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.k, b.k)) })
	return out
}
