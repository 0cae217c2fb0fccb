// Command kefu-notifybench measures webhook delivery (issue #9): the notify service runs in this process
// on a fresh database of the cluster DATABASE_URL names, with an embedded NATS server, and delivers to a
// receiver on loopback that checks every signature as a real one must.
//
//  1. --messages outbound messages are queued in batches (as an announcement queues them) with a webhook
//     subscribed to outbound.>; measured until the receiver has taken every one (and notify marked it sent).
//  2. --events ticket events (kefu.ticket.updated) are published to JetStream as intake's relay would, with
//     a webhook subscribed to them; measured until the receiver has taken every one (fan-out and delivery).
//
// It prints a block ready for docs/benchmarks.md. `make bench-notify` runs it against a private cluster; it
// sends traffic only to loopback and stops by itself.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/webhook"
	"kefu.dev/services/notify"
	"kefu.dev/services/notify/internal/app"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

const benchDB = "kefu_notifybench"

type options struct {
	adminURL string
	messages int
	events   int
	workers  int
	out      string
	logLevel string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-notifybench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	fs := flag.NewFlagSet("kefu-notifybench", flag.ContinueOnError)
	fs.IntVar(&o.messages, "messages", 100_000, "outbound messages to queue and deliver")
	fs.IntVar(&o.events, "events", 100_000, "ticket events to publish and deliver")
	fs.IntVar(&o.workers, "workers", notify.DefaultConfig().WebhookWorkers, "webhook posts at once (--webhook-workers)")
	fs.StringVar(&o.out, "out", "", "also append the result block to this file")
	fs.StringVar(&o.logLevel, "log-level", "warn", "the service's log level")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if o.messages < 1 || o.events < 0 || o.workers < 1 {
		return errors.New("--messages and --workers must be positive, --events not negative")
	}
	o.adminURL = os.Getenv("DATABASE_URL")
	if o.adminURL == "" {
		return errors.New("DATABASE_URL is not set: run `make bench-notify`, which starts a private cluster")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lines, err := bench(ctx, o, logging.New(os.Stderr, lv, "notify"))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("### %s (notify webhooks, issue #9), %s\n\n| measure | callers | value | unit | note |\n|---|---:|---:|---|---|\n%s",
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
	return fmt.Sprintf("| %s | %s | %.0f | %s | %s |", what, callers, value, unit, note)
}

// receiver takes deliveries on loopback, checks each signature and counts distinct deliveries by subject
// prefix.
type receiver struct {
	secret string
	mu     sync.Mutex
	seen   map[string]bool
	counts map[string]int
	bad    int
	last   time.Time
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(r.secret, req.Header.Get(webhook.SignatureHeader), body, time.Now(), webhook.DefaultWindow); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "signature", http.StatusUnauthorized)
		return
	}
	id, subject := req.Header.Get(webhook.DeliveryIDHeader), req.Header.Get(webhook.SubjectHeader)
	prefix, _, _ := strings.Cut(subject, ".")
	r.mu.Lock()
	if !r.seen[id] {
		r.seen[id] = true
		r.counts[prefix]++
		r.last = time.Now()
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) count(prefix string) (int, time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[prefix], r.last, r.bad
}

func bench(ctx context.Context, o options, log *slog.Logger) ([]string, error) {
	if err := pgxutil.RecreateDatabase(ctx, o.adminURL, benchDB); err != nil {
		return nil, err
	}
	defer func() { _ = pgxutil.DropDatabase(context.WithoutCancel(ctx), o.adminURL, benchDB) }()
	url, err := pgxutil.WithDatabase(o.adminURL, benchDB)
	if err != nil {
		return nil, err
	}
	roles, err := pgxutil.Provision(ctx, url, "notify")
	if err != nil {
		return nil, err
	}
	cfg := notify.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL = roles.RuntimeURL, roles.OwnerURL
	pepper := make([]byte, auth.MinPepperBytes)
	_, _ = rand.Read(pepper)
	iss, err := auth.NewDevIssuer("kefu-notifybench", "kefu")
	if err != nil {
		return nil, err
	}
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCAudience, cfg.Auth.StaffKeys = hex.EncodeToString(pepper), iss.Issuer, iss.Audience, iss
	// The peers are never called: the bench sends no event that becomes a message through them.
	cfg.IntakeAddr, cfg.CustomerAddr, cfg.SlatimerAddr = "127.0.0.1:9", "127.0.0.1:9", "127.0.0.1:9"
	cfg.IntakeAPIKey, cfg.CustomerAPIKey, cfg.SlatimerAPIKey = "unused", "unused", "unused"
	cfg.WebhookWorkers, cfg.WebhookPoll, cfg.PublishInterval = o.workers, 50*time.Millisecond, 50*time.Millisecond
	if err := notify.Migrate(ctx, cfg); err != nil {
		return nil, err
	}
	cfg.Migrate = false

	natsDir, err := os.MkdirTemp("", "kefu-notifybench-nats-")
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

	// The receiver and its subscriptions.
	secret, err := webhook.NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	recv := &receiver{secret: secret, seen: map[string]bool{}, counts: map[string]int{}}
	rlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hsrv := &http.Server{Handler: recv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hsrv.Serve(rlis) }()
	defer hsrv.Close()
	pool, err := pgxutil.Open(ctx, roles.RuntimeURL, pgxutil.Options{Schema: store.Schema, MaxConns: 4, AppName: "kefu-notifybench"})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	st := store.New(pool)
	now := time.Now().UTC()
	for _, subjects := range [][]string{{"outbound.>"}, {"kefu.ticket.updated"}} {
		err := st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			return tx.CreateWebhook(ctx, store.WebhookRow{ID: uuid.Must(uuid.NewV7()), Webhook: delivery.Webhook{
				URL: "http://" + rlis.Addr().String() + "/hook", Subjects: subjects, State: delivery.Active,
				RetryHours: delivery.DefaultRetryHours}, Secret: secret, CreateActor: "bench", CreatedAt: now})
		})
		if err != nil {
			return nil, err
		}
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	g, gctx := errgroup.WithContext(sctx)
	g.Go(func() error { return notify.Serve(gctx, cfg, log, lis) })
	if err := awaitServing(gctx, lis.Addr().String()); err != nil {
		cancel()
		return nil, errors.Join(err, g.Wait())
	}
	var lines []string
	cpu0 := cpuTime()

	// 1. Outbound messages, queued as an announcement queues them.
	queuer := app.New(st, clock.Real{}, nil, app.Config{}, log, nil, nil)
	began := time.Now()
	const batch = 1000
	for i := 0; i < o.messages; i += batch {
		ms := make([]store.Message, 0, batch)
		for j := i; j < min(i+batch, o.messages); j++ {
			id := uuid.Must(uuid.NewV7())
			ms = append(ms, store.Message{ID: id, DedupeKey: "bench:" + id.String(), Kind: message.KindAnnouncement,
				TicketID: uuid.Must(uuid.NewV7()), TicketNumber: fmt.Sprintf("GD20261207%06d", j), Channel: message.ChannelWebChat,
				Language: message.LangZh, Body: "系统故障已修复，给您带来不便，深表歉意。", Status: delivery.Status{State: delivery.Queued},
				CreatedAt: time.Now().UTC()})
		}
		if _, err := queuer.QueueMessages(ctx, ms); err != nil {
			return nil, err
		}
	}
	queued := time.Since(began)
	took, err := await(ctx, recv, "outbound", o.messages, began)
	if err != nil {
		return nil, err
	}
	counts, err := st.MessageCounts(ctx, uuid.Nil)
	if err != nil {
		return nil, err
	}
	cpu := cpuTime() - cpu0
	lines = append(lines,
		line(fmt.Sprintf("outbound messages delivered by webhook to a local receiver: %d queued in batches of %d → POST answered 204, signature checked", o.messages, batch),
			fmt.Sprintf("%d posts at once", o.workers), float64(o.messages)/took.Seconds(), "messages/s",
			fmt.Sprintf("%.1f s; queueing alone %.0f messages/s; %d marked sent; process CPU %.0f µs a message (receiver included)",
				took.Seconds(), float64(o.messages)/queued.Seconds(), counts[delivery.Sent], float64(cpu.Microseconds())/float64(o.messages))))

	// 2. Ticket events, published as intake's relay publishes them.
	if o.events > 0 {
		cpu0 = cpuTime()
		began = time.Now()
		if err := publish(ctx, ns.ClientURL(), o.events); err != nil {
			return nil, err
		}
		took, err := await(ctx, recv, "kefu", o.events, began)
		if err != nil {
			return nil, err
		}
		cpu := cpuTime() - cpu0
		lines = append(lines, line(fmt.Sprintf("ticket events delivered by webhook to a local receiver: %d kefu.ticket.updated published → fanned out → POST answered 204", o.events),
			fmt.Sprintf("%d posts at once", o.workers), float64(o.events)/took.Seconds(), "events/s",
			fmt.Sprintf("%.1f s; process CPU %.0f µs an event (receiver and NATS included)", took.Seconds(), float64(cpu.Microseconds())/float64(o.events))))
	}
	if _, _, bad := recv.count(""); bad > 0 {
		return nil, fmt.Errorf("%d deliveries failed the signature check", bad)
	}
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	lines = append(lines, line("bench process memory after the run: Go heap in use after GC", "-", float64(mem.HeapInuse)/(1<<20), "MiB",
		"service, receiver and NATS in one process"))
	cancel()
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return lines, nil
}

// await waits until the receiver took n deliveries of subjects starting with prefix and returns the time
// from began to the last one.
func await(ctx context.Context, r *receiver, prefix string, n int, began time.Time) (time.Duration, error) {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		got, last, bad := r.count(prefix)
		if bad > 0 {
			return 0, fmt.Errorf("%d deliveries failed the signature check", bad)
		}
		if got >= n {
			return last.Sub(began), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	got, _, _ := r.count(prefix)
	return 0, fmt.Errorf("only %d of %d %s deliveries arrived within 30 minutes", got, n, prefix)
}

// publish sends n kefu.ticket.updated events to the KEFU stream with the headers intake's relay sets.
func publish(ctx context.Context, url string, n int) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{}); err != nil {
		return err
	}
	typ := string((&eventsv1.TicketUpdated{}).ProtoReflect().Descriptor().FullName())
	futures := make([]jetstream.PubAckFuture, 0, 1024)
	for i := range n {
		id, ticket := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		data, err := proto.Marshal(&eventsv1.TicketUpdated{Meta: &eventsv1.EventMeta{EventId: id.String(), Type: typ,
			Source: "intake", AggregateId: ticket.String(), AggregateSeq: 2, OccurredAt: timestamppb.Now()},
			ChangedFields: []string{"urgency"}})
		if err != nil {
			return err
		}
		m := nats.NewMsg(events.Subject("ticket", "updated"))
		m.Data = data
		m.Header.Set(events.HeaderMsgID, id.String())
		m.Header.Set(events.HeaderType, typ)
		m.Header.Set(events.HeaderAggregateID, ticket.String())
		m.Header.Set(events.HeaderSeq, "2")
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures) == cap(futures) || i == n-1 {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					return err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			futures = futures[:0]
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
