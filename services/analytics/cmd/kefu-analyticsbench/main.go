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
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/logging"
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
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process during ingestion (with several batch sizes, one file each: <file>.<size>), and the NATS server's to <file>.nats (the last batch size's)")
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
		time.Now().UTC().Format("2006-01-02"), benchkit.Machine(), strings.Join(lines, "\n")+"\n")
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

func bench(ctx context.Context, o options, log *slog.Logger) (lines []string, err error) {
	// The host's speed varies from hour to hour on shared machines: a fixed single-core workload before
	// and after the run says how fast this one was, so figures of different runs can be compared.
	before := cpuReference()
	defer func() {
		after := cpuReference()
		lines = append(lines, line("machine reference: sort 4,194,304 random 64-bit integers on one core, before the run", "1", before,
			"M integers/s", fmt.Sprintf("%.1f after it; the host's speed varies from run to run", after)))
	}()
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
	natsProfile := ""
	if o.cpuprofile != "" {
		natsProfile = o.cpuprofile + ".nats"
	}
	ns, err := startNATS(filepath.Join(natsDir, "js"), natsProfile)
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
			benchkit.Thousands(o.events), benchkit.Thousands(pub.tickets), o.days, float64(o.events)/float64(pub.tickets), o.inflight),
			"1", float64(o.events)/pub.took.Seconds(), "events/s",
			fmt.Sprintf("%.1f s; file store %.0f MiB (%.0f bytes an event); %d publishes retried", pub.took.Seconds(),
				float64(natsBytes)/(1<<20), float64(natsBytes)/float64(o.events), pub.retried)))
	progress("published %s events in %.1f s (%.0f/s); %s tickets; file store %.0f MiB; NATS server RSS %s, this process %s",
		benchkit.Thousands(o.events), pub.took.Seconds(), float64(o.events)/pub.took.Seconds(), benchkit.Thousands(pub.tickets),
		float64(natsBytes)/(1<<20), rss(ns.cmd.Process.Pid), rss(os.Getpid()))
	fmt.Printf("    events by subject:")
	for _, s := range sortedCounts(pub.bySubject) {
		fmt.Printf(" %s %s,", s.k, benchkit.Thousands(s.n))
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
		if profile != "" {
			ns.profile(true)
		}
		res, c, stopFn, err := ingest(ctx, cfg, log, token, db, stats, ns.cpu, o.events, profile, statements)
		if profile != "" {
			ns.profile(false)
		}
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
			benchkit.Thousands(o.events), bs, o.concurrency), "1 consumer", rate, "events/s",
			fmt.Sprintf("%.1f s; each tenth: %s events/s; CPU an event: service %.0f µs, Postgres %.0f µs, NATS %.0f µs, machine idle %.0f%%; WAL %.0f bytes an event; service GC percent %s, this process's peak RSS %s; target ≥ 20,000",
				res.took.Seconds(), strings.Join(slices, " "), perEvent(res.goCPU, o.events), perEvent(res.pgCPU, o.events),
				perEvent(res.natsCPU, o.events), res.idle*100, float64(res.wal)/float64(o.events), gcSetting(),
				procStatus(os.Getpid(), "VmHWM:"))))
		progress("batch size %d: %s events in %.1f s = %.0f events/s; tenths %s; CPU an event: service %.0f µs, Postgres %.0f µs, NATS %.0f µs, idle %.0f%%; WAL %.0f MiB",
			bs, benchkit.Thousands(o.events), res.took.Seconds(), rate, strings.Join(slices, " "), perEvent(res.goCPU, o.events),
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
		note := fmt.Sprintf("%s %s rows %.0f MiB", t.name, benchkit.Thousands(int(t.rows)), float64(t.bytes)/(1<<20))
		if t.updates > 0 {
			note += fmt.Sprintf(" (%.0f%% of %s updates in place)", 100*float64(t.hot)/float64(t.updates), benchkit.Thousands(int(t.updates)))
		}
		tnotes = append(tnotes, note)
	}
	lines = append(lines, line(fmt.Sprintf("Postgres database size after ingesting %s events (pg_database_size)", benchkit.Thousands(o.events)), "-",
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
	progress("volume report over the whole range: %s tickets (published kefu.ticket.created: %s)", benchkit.Thousands(int(vol.GetTotal())), benchkit.Thousands(pub.created))
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
		what := fmt.Sprintf("%s over %s events", r.name, benchkit.Thousands(o.events))
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
