// Command kefu-kbbench measures knowledge-base search (issue #9): the kb service runs in this process on a
// fresh database of the cluster DATABASE_URL names, with an embedded NATS server.
//
//  1. --articles synthetic articles (corpus.go: 60 % Chinese, 40 % English, topics of a retailer's help
//     centre, 4 to 9 paragraphs each; 90 % published) are loaded through the store's own code
//     (store.LoadArticles: the same vectors and term counts as CreateArticle) by COPY in batches, then
//     VACUUM ANALYZE (what autovacuum does after a bulk load).
//  2. SearchArticles over gRPC, authenticated as a staff agent like a console, with the query mix of
//     corpus.go (customers' and agents' questions, titles, tag pairs, a product and a topic word, single
//     common words; three in ten with a language filter), --searches calls from each caller count of
//     --callers after a warm-up, reporting p50, p99, max and throughput.
//
// It prints a block ready for docs/benchmarks.md. `make bench-kb` runs it against a private cluster.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/kb"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/store"
)

const benchDB = "kefu_kbbench"

type options struct {
	adminURL   string
	articles   int
	searches   int
	callers    []int
	batch      int
	out        string
	cpuprofile string
	logLevel   string
	seed       uint64
	keep       bool
	slowest    int
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-kbbench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	var callers string
	fs := flag.NewFlagSet("kefu-kbbench", flag.ContinueOnError)
	fs.IntVar(&o.articles, "articles", 100_000, "articles to load")
	fs.IntVar(&o.searches, "searches", 20_000, "searches measured at each caller count")
	fs.StringVar(&callers, "callers", "1,8", "concurrent callers, comma-separated")
	fs.IntVar(&o.batch, "batch", 2_000, "articles per COPY transaction")
	fs.StringVar(&o.out, "out", "", "also append the result block to this file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the searches to this file")
	fs.StringVar(&o.logLevel, "log-level", "warn", "the service's log level")
	fs.Uint64Var(&o.seed, "seed", 9, "corpus and query seed")
	fs.IntVar(&o.slowest, "slowest", 0, "print this many of the slowest queries (by their median time, one caller) to stderr")
	fs.BoolVar(&o.keep, "keep", false, "keep the database "+benchDB+" afterwards (to EXPLAIN queries on it)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	for _, c := range strings.Split(callers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("--callers: %q is not a positive count", c)
		}
		o.callers = append(o.callers, n)
	}
	if o.articles < 1 || o.searches < 1 || o.batch < 1 {
		return errors.New("--articles, --searches and --batch must be positive")
	}
	o.adminURL = os.Getenv("DATABASE_URL")
	if o.adminURL == "" {
		return errors.New("DATABASE_URL is not set: run `make bench-kb`, which starts a private cluster")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lines, err := bench(ctx, o, logging.New(os.Stderr, lv, "kb"))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("### %s (knowledge-base search, issue #9), %s\n\n| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n%s",
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

func line(what, callers string, value float64, unit, note string) string {
	return fmt.Sprintf("| %s | %s | %.1f | %s | %s |", what, callers, value, unit, note)
}

func bench(ctx context.Context, o options, log *slog.Logger) ([]string, error) {
	if err := pgxutil.RecreateDatabase(ctx, o.adminURL, benchDB); err != nil {
		return nil, err
	}
	if !o.keep {
		defer func() { _ = pgxutil.DropDatabase(context.WithoutCancel(ctx), o.adminURL, benchDB) }()
	}
	url, err := pgxutil.WithDatabase(o.adminURL, benchDB)
	if err != nil {
		return nil, err
	}
	roles, err := pgxutil.Provision(ctx, url, "kb")
	if err != nil {
		return nil, err
	}
	cfg := kb.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL = roles.RuntimeURL, roles.OwnerURL
	pepper := make([]byte, auth.MinPepperBytes)
	_, _ = rand.Read(pepper)
	iss, err := auth.NewDevIssuer("kefu-kbbench", "kefu")
	if err != nil {
		return nil, err
	}
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCAudience, cfg.Auth.StaffKeys = hex.EncodeToString(pepper), iss.Issuer, iss.Audience, iss
	cfg.Auth.RateLimits = "agent=1000000:1000000"
	// Intake is never called: searches name no ticket.
	cfg.IntakeAddr, cfg.IntakeAPIKey = "127.0.0.1:9", "unused"
	if err := kb.Migrate(ctx, cfg); err != nil {
		return nil, err
	}
	cfg.Migrate = false

	// 1. The corpus.
	pool, err := pgxutil.Open(ctx, roles.RuntimeURL, pgxutil.Options{Schema: store.Schema, MaxConns: 4, AppName: "kefu-kbbench"})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	st := store.New(pool)
	r := mrand.New(mrand.NewPCG(o.seed, 1))
	began := time.Now()
	var genTime time.Duration
	published, chars := 0, 0
	now := time.Now().UTC()
	for i := 0; i < o.articles; i += o.batch {
		g := time.Now()
		as := make([]*article.Article, 0, o.batch)
		for j := i; j < min(i+o.batch, o.articles); j++ {
			c := generate(r)
			content, err := article.Content{Title: c.title, Body: c.body, Tags: c.tags, Subcategories: c.subcategories,
				Language: c.language}.Normalize("article.")
			if err != nil {
				return nil, fmt.Errorf("generated article %d: %w", j, err)
			}
			a := article.New(uuid.Must(uuid.NewV7()), content, "staff:kbbench", now)
			switch c.status {
			case "published":
				a.Status, a.PublishedAt = article.Published, now
				published++
			case "archived":
				a.Status, a.ArchivedAt = article.Archived, now
			}
			chars += len([]rune(c.body))
			as = append(as, a)
		}
		genTime += time.Since(g)
		if err := st.LoadArticles(ctx, as); err != nil {
			return nil, err
		}
	}
	loaded := time.Since(began)
	vacuumBegan := time.Now()
	if err := vacuum(ctx, url); err != nil {
		return nil, err
	}
	vacuumed := time.Since(vacuumBegan)
	var size, terms string
	if err := pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_total_relation_size('articles')), (SELECT count(*) FROM search_terms)::text`).Scan(&size, &terms); err != nil {
		return nil, err
	}
	lines := []string{line(fmt.Sprintf("load: %d articles (%d published, %d characters of body on average) through store.LoadArticles, COPY in batches of %d",
		o.articles, published, chars/o.articles, o.batch), "1", float64(o.articles)/loaded.Seconds(), "articles/s",
		fmt.Sprintf("%.1f s, of which %.1f s generating and segmenting in Go; VACUUM ANALYZE %.1f s; articles table with indexes %s; %s distinct terms",
			loaded.Seconds(), genTime.Seconds(), vacuumed.Seconds(), size, terms))}

	// 2. The service and its callers.
	natsDir, err := os.MkdirTemp("", "kefu-kbbench-nats-")
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
	g.Go(func() error { return kb.Serve(gctx, cfg, log, lis) })
	if err := awaitServing(gctx, lis.Addr().String()); err != nil {
		cancel()
		return nil, errors.Join(err, g.Wait())
	}
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	client := kbv1.NewKbServiceClient(cc)
	tok, err := iss.Mint(auth.StaffToken{Subject: uuid.NewString(), Roles: []string{auth.RoleAgent}, TTL: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	callCtx := metadata.AppendToOutgoingContext(ctx, auth.AuthorizationKey, "Bearer "+tok)
	mix := requests(mrand.New(mrand.NewPCG(o.seed, 2)), 10_000)
	if _, err := searches(callCtx, client, mix, 2_000, 8); err != nil { // warm-up: caches and the token
		return nil, err
	}
	hitsSeen := 0
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	for _, n := range o.callers {
		cpu0 := cpuTime()
		began := time.Now()
		res, err := searches(callCtx, client, mix, o.searches, n)
		if err != nil {
			return nil, err
		}
		took := time.Since(began)
		cpu := cpuTime() - cpu0
		hitsSeen += res.hits
		if n == 1 && o.slowest > 0 {
			printSlowest(res.byQuery, o.slowest)
		}
		ls := res.latencies
		slices.Sort(ls)
		pct := func(p float64) float64 {
			return float64(ls[min(int(p*float64(len(ls))), len(ls)-1)].Microseconds()) / 1000
		}
		note := fmt.Sprintf("%d searches over %d articles, %.1f hits each on average, %d found nothing; gRPC with a staff token", o.searches,
			o.articles, float64(res.hits)/float64(o.searches), res.empty)
		lines = append(lines,
			line("SearchArticles latency p50", strconv.Itoa(n), pct(0.50), "ms", note),
			line("SearchArticles latency p99", strconv.Itoa(n), pct(0.99), "ms", "target < 50 ms"),
			line("SearchArticles latency max", strconv.Itoa(n), pct(1), "ms", ""),
			line("SearchArticles throughput", strconv.Itoa(n), float64(o.searches)/took.Seconds(), "searches/s",
				fmt.Sprintf("bench process CPU %.0f µs a search (client and server; Postgres runs apart)", float64(cpu.Microseconds())/float64(o.searches))))
	}
	if hitsSeen == 0 {
		return nil, errors.New("no search found anything: the corpus or the queries are broken")
	}
	runtime.GC()
	cancel()
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return lines, nil
}

type result struct {
	latencies  []time.Duration
	byQuery    map[string][]time.Duration
	hits       int
	empty      int
	mu         sync.Mutex
	firstError error
}

// searches runs n searches from mix over callers concurrent callers.
func searches(ctx context.Context, client kbv1.KbServiceClient, mix []*kbv1.SearchArticlesRequest, n, callers int) (*result, error) {
	res := &result{latencies: make([]time.Duration, 0, n), byQuery: map[string][]time.Duration{}}
	var next int
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				res.mu.Lock()
				i := next
				next++
				res.mu.Unlock()
				if i >= n || ctx.Err() != nil {
					return
				}
				began := time.Now()
				resp, err := client.SearchArticles(ctx, mix[i%len(mix)])
				took := time.Since(began)
				res.mu.Lock()
				if err != nil && res.firstError == nil {
					res.firstError = err
				}
				res.latencies = append(res.latencies, took)
				key := mix[i%len(mix)].GetQuery() + " [" + mix[i%len(mix)].GetLanguage() + "]"
				res.byQuery[key] = append(res.byQuery[key], took)
				res.hits += len(resp.GetHits())
				if len(resp.GetHits()) == 0 {
					res.empty++
				}
				res.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if res.firstError != nil {
		return nil, fmt.Errorf("search: %w", res.firstError)
	}
	return res, ctx.Err()
}

// printSlowest prints the n queries with the highest median time to stderr.
func printSlowest(byQuery map[string][]time.Duration, n int) {
	type q struct {
		text   string
		median time.Duration
		calls  int
	}
	var qs []q
	for text, ds := range byQuery {
		slices.Sort(ds)
		qs = append(qs, q{text, ds[len(ds)/2], len(ds)})
	}
	slices.SortFunc(qs, func(a, b q) int { return int(b.median - a.median) })
	for _, x := range qs[:min(n, len(qs))] {
		fmt.Fprintf(os.Stderr, "%8.2f ms  %4d calls  %s\n", float64(x.median.Microseconds())/1000, x.calls, x.text)
	}
}

// requests draws n searches from the query mix: three in ten filtered by the query's language.
func requests(r *mrand.Rand, n int) []*kbv1.SearchArticlesRequest {
	qs := queries()
	out := make([]*kbv1.SearchArticlesRequest, n)
	for i := range out {
		q := qs[r.IntN(len(qs))]
		req := &kbv1.SearchArticlesRequest{Query: q}
		if r.IntN(10) < 3 {
			req.Language = "en"
			for _, c := range q {
				if c > 0x2E80 {
					req.Language = "zh-CN"
					break
				}
			}
		}
		out[i] = req
	}
	return out
}

// vacuum runs VACUUM ANALYZE on the loaded tables as the superuser, as autovacuum would after a bulk
// load: statistics for the planner and the article count, GIN pending lists merged.
func vacuum(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, t := range []string{"kb.articles", "kb.article_versions", "kb.search_terms"} {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+t); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
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
	return errors.New("the service did not become ready within 2 minutes")
}

// cpuTime is the process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
