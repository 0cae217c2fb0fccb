package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/events"
)

// Relay defaults.
const (
	DefaultPollInterval     = time.Second
	DefaultBatchSize        = 256
	DefaultReplayWindow     = 72 * time.Hour
	DefaultPurgeInterval    = time.Minute
	DefaultClaimInterval    = time.Second
	DefaultGapCheckInterval = 5 * time.Second
	DefaultPublishTimeout   = 5 * time.Second
	DefaultMaxRetryDelay    = 5 * time.Second
	DefaultAnnounceInterval = 2 * time.Millisecond
	DefaultFlushTimeout     = 5 * time.Second
)

const (
	// purgeBatch rows are deleted per statement, and at most purgeRounds statements per purge pass, so
	// purging a backlog never holds up publishing for long.
	purgeBatch  = 5000
	purgeRounds = 10
	// minRetryDelay is the first wait after a failure; it doubles up to MaxRetryDelay.
	minRetryDelay = 100 * time.Millisecond
	// closeTimeout bounds closing the relay's dedicated connections at shutdown.
	closeTimeout = 5 * time.Second
	tracerName   = "kefu.dev/pkg/outbox"
)

// RelayOptions configures a Relay; zero values take the defaults.
type RelayOptions struct {
	// Logger receives the relay's lines (claims, retries, gap repairs); nil discards them.
	Logger *slog.Logger
	// PollInterval is the fallback wake-up when no signal arrives; default 1 s. Commits wake the relay at
	// once through Notify and NOTIFY, so this only bounds the delay if a signal is lost.
	PollInterval time.Duration
	// BatchSize is how many rows are read, published and marked per round; default 256.
	BatchSize int
	// ReplayWindow is how long published rows are kept; default 72 h. It bounds gap repair and Republish.
	ReplayWindow time.Duration
	// PurgeInterval is how often published rows past the window are deleted; default 1 min.
	PurgeInterval time.Duration
	// StreamName is the stream every subject must land in (enforced per message); default events.StreamName.
	StreamName string
	// Now is the clock for published_at and the purge cutoff; default time.Now.
	Now func() time.Time
	// ClaimInterval is how often the relay tries to lock partitions it does not own, which is how it takes
	// over from a replica that died; default 1 s.
	ClaimInterval time.Duration
	// GapCheckInterval is how often the relay compares the stream with what it recorded as acknowledged;
	// default 5 s. It also checks on start, after claiming partitions and after NATS reconnects.
	GapCheckInterval time.Duration
	// PublishTimeout bounds the wait for one JetStream ack; default 5 s.
	PublishTimeout time.Duration
	// MaxRetryDelay caps the exponential backoff after failures (NATS or Postgres down); default 5 s. The
	// stream's duplicate window should be well above it.
	MaxRetryDelay time.Duration
	// AnnounceInterval is the least time between two NOTIFYs that tell other replicas about this process's
	// commits; default 2 ms. It bounds their extra publish latency and the NOTIFY rate (≤ 500/s).
	AnnounceInterval time.Duration
	// Propagator reads the stored trace context and writes the producer span's; nil uses the global one.
	Propagator propagation.TextMapPropagator
	// TracerProvider starts the producer spans; nil uses the global provider.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the relay's counter (kefu.outbox.published); nil uses the global provider.
	MeterProvider metric.MeterProvider
	// FlushTimeout bounds the last publish pass after Run's context ends; default 5 s, negative: none. A
	// service stops its relay after its last requests have committed, so this pass sends their events now
	// rather than leaving them for the next start or another replica's claim.
	FlushTimeout time.Duration
}

// Relay publishes committed outbox rows to JetStream: per partition in id order, each partition by one
// replica at a time, with Nats-Msg-Id = event id. It marks rows published only after JetStream acked them,
// retries with capped backoff while NATS or Postgres is unavailable, purges published rows after the replay
// window, and re-publishes rows a NATS crash lost from the stream.
//
// While it runs it takes two connections out of the pool for good (partition locks, LISTEN; the pool opens
// replacements), so count them in the database's connection budget. Publishes go to a JetStream context of its own on the same NATS connection, which should not
// buffer while reconnecting (events.Connect sets that up).
type Relay struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	o    RelayOptions
	log  *slog.Logger

	wake     chan struct{} // new rows may be waiting: Notify, NOTIFY
	announce chan struct{} // local commits to tell the other replicas about
	natsUp   chan struct{} // NATS (re)connected: cut a retry wait short
	running  atomic.Bool
	ownsAll  atomic.Bool // this relay holds every partition lock: no other replica needs waking

	// published counts events JetStream acknowledged (kefu.outbox.published).
	published metric.Int64Counter

	// State below is owned by the loop goroutine.
	pub        jetstream.JetStream
	tracer     trace.Tracer
	prop       propagation.TextMapPropagator
	conn       *pgx.Conn // dedicated: holds the partition locks; runs the partition's reads and marks
	partitions int
	lockClass  int32
	owned      []int16
	gapDue     bool
	reconnects uint64
	nextClaim  time.Time
	nextGap    time.Time
	nextPurge  time.Time
	waveSeen   map[string]struct{}
	// unmarked are published rows not yet recorded as published: while more work is waiting, their UPDATE
	// travels with the next batch's SELECT (one round trip a round instead of two). Rows published but
	// never marked (a crash) are sent again and deduplicated.
	unmarkedIDs, unmarkedSeqs []int64
	// prefetched is the next batch, read while the previous one's acknowledgements were awaited (so the
	// relay's Postgres and NATS round trips overlap). It is dropped whenever anything else happened in
	// between (a failure, a gap check, a claim), because it may then be stale.
	prefetched []row
}

// NewRelay returns a relay for the outbox in pool's schema, publishing through js. Call Run to start it.
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, o RelayOptions) *Relay {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.ReplayWindow <= 0 {
		o.ReplayWindow = DefaultReplayWindow
	}
	if o.PurgeInterval <= 0 {
		o.PurgeInterval = DefaultPurgeInterval
	}
	if o.StreamName == "" {
		o.StreamName = events.StreamName
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClaimInterval <= 0 {
		o.ClaimInterval = DefaultClaimInterval
	}
	if o.GapCheckInterval <= 0 {
		o.GapCheckInterval = DefaultGapCheckInterval
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if o.AnnounceInterval <= 0 {
		o.AnnounceInterval = DefaultAnnounceInterval
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	published, _ := o.MeterProvider.Meter(tracerName).Int64Counter("kefu.outbox.published",
		metric.WithDescription("Events the outbox relay published and JetStream acknowledged."), metric.WithUnit("{event}"))
	return &Relay{
		pool:      pool,
		js:        js,
		o:         o,
		log:       o.Logger.With("component", "outbox_relay"),
		wake:      make(chan struct{}, 1),
		announce:  make(chan struct{}, 1),
		natsUp:    make(chan struct{}, 1),
		waveSeen:  make(map[string]struct{}, o.BatchSize),
		published: published,
	}
}

// Notify wakes the relay to publish now. Call it after committing a transaction that called Add; it never
// blocks, and signals that arrive while the relay is busy collapse into one more round. When other replicas
// own some partitions, the relay also wakes them with one NOTIFY, sent outside the caller's transaction and
// at most once per AnnounceInterval however many commits arrive (see addSQL for why commits do not notify).
func (r *Relay) Notify() {
	signal(r.wake)
	signal(r.announce)
}

// wakeLocal wakes only this relay (a NOTIFY from another replica must not echo back).
func (r *Relay) wakeLocal() { signal(r.wake) }

// announceLoop turns local commits into NOTIFYs for the replicas that own the partitions this one does not.
func (r *Relay) announceLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.announce:
		}
		if r.ownsAll.Load() {
			continue
		}
		if _, err := r.pool.Exec(ctx, `SELECT pg_notify(`+channelSQL+`, '')`); err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "outbox announce failed; other replicas will poll", "err", err)
		}
		sleepCtx(ctx, r.o.AnnounceInterval)
	}
}

// drain takes a pending signal, if any.
func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run publishes until ctx is done, then releases its partitions and returns nil. Failures of NATS or
// Postgres are logged and retried, never returned; an error means the relay could not start (it is already
// running, or its JetStream context could not be made).
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("outbox relay: already running")
	}
	defer r.running.Store(false)
	pub, err := publisherFor(r.js, r.o)
	if err != nil {
		return err
	}
	r.pub = pub
	tp := r.o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	r.tracer = tp.Tracer(tracerName)
	r.prop = r.o.Propagator
	if r.prop == nil {
		r.prop = otel.GetTextMapPropagator()
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { r.listen(ctx); return nil })
	g.Go(func() error { r.announceLoop(ctx); return nil })
	g.Go(func() error { r.watchNATS(ctx); return nil })
	g.Go(func() error { r.loop(ctx); return nil })
	return g.Wait()
}

// publisherFor makes the relay's own JetStream context on js's connection: its ack timeout turns a lost ack
// into an error instead of a future that never resolves, and its pending-ack bookkeeping is not shared with
// the service's other publishers.
func publisherFor(js jetstream.JetStream, o RelayOptions) (jetstream.JetStream, error) {
	jo := js.Options()
	opts := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncTimeout(o.PublishTimeout),
		jetstream.WithPublishAsyncMaxPending(2 * o.BatchSize),
	}
	var (
		pub jetstream.JetStream
		err error
	)
	switch {
	case jo.Domain != "":
		pub, err = jetstream.NewWithDomain(js.Conn(), jo.Domain, opts...)
	case jo.APIPrefix != "":
		pub, err = jetstream.NewWithAPIPrefix(js.Conn(), jo.APIPrefix, opts...)
	default:
		pub, err = jetstream.New(js.Conn(), opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox relay: jetstream publisher: %w", err)
	}
	return pub, nil
}

// listen keeps a dedicated connection LISTENing on the outbox channel and turns each notification (a
// commit in any replica) into a wake-up. After (re)connecting it wakes the loop once, because commits
// made while it was not listening sent their NOTIFY to nobody.
func (r *Relay) listen(ctx context.Context) {
	for attempt := 0; ctx.Err() == nil; {
		listening, err := r.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listening {
			attempt = 0
		}
		attempt++
		d := r.retryDelay(attempt)
		r.log.WarnContext(ctx, "outbox listener failed; reconnecting", "err", err, "attempt", attempt, "retry_in", d)
		sleepCtx(ctx, d)
	}
}

func (r *Relay) listenOnce(ctx context.Context) (listening bool, err error) {
	conn, err := r.dedicatedConn(ctx)
	if err != nil {
		return false, err
	}
	defer closeConn(ctx, conn)
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&channel); err != nil {
		return false, fmt.Errorf("outbox channel name: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen %s: %w", channel, err)
	}
	r.wakeLocal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		r.wakeLocal()
	}
}

// watchNATS wakes a waiting retry as soon as the NATS connection is re-established.
func (r *Relay) watchNATS(ctx context.Context) {
	nc := r.pub.Conn()
	ch := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			signal(r.natsUp)
		}
	}
}

// loop is the relay's single worker: it owns the lock connection and every publish, so per-partition
// order needs no further coordination inside the process.
func (r *Relay) loop(ctx context.Context) {
	defer r.dropConn(ctx)
	r.gapDue = true
	failures := 0
	for ctx.Err() == nil {
		more, err := r.step(ctx)
		if err != nil {
			r.prefetched = nil
			if ctx.Err() != nil {
				break
			}
			if r.conn != nil && r.conn.IsClosed() {
				r.dropConn(ctx)
			}
			// After any failure the stream may have restarted; check it before publishing again.
			r.gapDue = true
			failures++
			d := r.retryDelay(failures)
			r.log.WarnContext(ctx, "outbox relay round failed; retrying", "err", err, "attempt", failures,
				"retry_in", d, "partitions", r.owned)
			select {
			case <-ctx.Done():
			case <-r.natsUp:
			case <-time.After(d):
			}
			continue
		}
		failures = 0
		if !more {
			r.waitForWork(ctx)
		}
	}
	r.finalFlush(ctx)
}

// finalFlush publishes, once ctx has ended, what is committed and unpublished in the partitions the relay
// still owns, for at most FlushTimeout. It is skipped when the relay is not in a state to publish in order
// (no lock connection, NATS away, a gap check due): those events wait in the outbox, as after a crash.
func (r *Relay) finalFlush(ctx context.Context) {
	if r.o.FlushTimeout < 0 || r.conn == nil || r.conn.IsClosed() || len(r.owned) == 0 || r.gapDue ||
		r.pub == nil || !r.pub.Conn().IsConnected() {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.FlushTimeout)
	defer cancel()
	r.prefetched = nil
	total := 0
	for {
		n, err := r.publishBatch(fctx)
		total += n
		if err != nil {
			r.log.WarnContext(ctx, "outbox relay's last pass stopped; the rest is published after the next start",
				"err", err, "published", total)
			return
		}
		if n < r.o.BatchSize && r.prefetched == nil {
			break
		}
	}
	if total > 0 {
		r.log.InfoContext(ctx, "outbox relay published the last events before stopping", "published", total)
	}
}

// errNATSDown stops a round while the connection is away; publishing then would only fail or, worse, be
// flushed after a reconnect before the gap check.
var errNATSDown = errors.New("nats is not connected")

// step does one round: (re)connect, claim partitions, check for a stream gap, publish one batch, purge.
// more reports a full batch or a batch read ahead, so the loop continues without waiting.
func (r *Relay) step(ctx context.Context) (more bool, err error) {
	if r.conn == nil {
		if err := r.connect(ctx); err != nil {
			return false, err
		}
	}
	now := time.Now()
	if len(r.owned) < r.partitions && !now.Before(r.nextClaim) {
		r.nextClaim = now.Add(r.o.ClaimInterval)
		r.prefetched = nil
		if err := r.claim(ctx); err != nil {
			return false, err
		}
	}
	if len(r.owned) == 0 {
		return false, nil
	}
	nc := r.pub.Conn()
	if !nc.IsConnected() {
		return false, errNATSDown
	}
	if rc := nc.Stats().Reconnects; rc != r.reconnects {
		r.reconnects, r.gapDue = rc, true
	}
	if r.gapDue || !now.Before(r.nextGap) {
		r.prefetched = nil // a repair may re-queue rows that must go before it
		// The gap check compares the stream with what is recorded: record everything first.
		if err := r.flushMarks(ctx); err != nil {
			return false, err
		}
		if err := r.repairGap(ctx); err != nil {
			return false, err
		}
		r.gapDue, r.nextGap = false, now.Add(r.o.GapCheckInterval)
	}
	n, err := r.publishBatch(ctx)
	if err != nil {
		return false, err
	}
	if !now.Before(r.nextPurge) {
		r.nextPurge = now.Add(r.o.PurgeInterval)
		if err := r.purge(ctx); err != nil {
			return false, err
		}
	}
	// A batch read ahead has taken its wake-up with it: run it without waiting.
	return n == r.o.BatchSize || r.prefetched != nil, nil
}

// waitForWork sleeps until a wake-up, the poll fallback, or the next claim or gap check is due.
func (r *Relay) waitForWork(ctx context.Context) {
	now := time.Now()
	d := r.o.PollInterval
	if r.conn != nil && len(r.owned) < r.partitions {
		d = min(d, r.nextClaim.Sub(now))
	}
	if len(r.owned) > 0 {
		d = min(d, r.nextGap.Sub(now))
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.wake:
	case <-t.C:
	}
}

// connect takes the lock connection out of the pool (so its session, which holds the advisory locks, is
// never handed to other code) and reads the partition count and lock class.
func (r *Relay) connect(ctx context.Context) error {
	conn, err := r.dedicatedConn(ctx)
	if err != nil {
		return err
	}
	// Every statement on this connection is planned for the table as it is at that moment. Under the
	// default plan cache mode a prepared statement switches to a generic plan after five runs and keeps it;
	// a relay that starts against a young outbox then keeps marking rows with a sequential scan chosen when
	// the table was a few pages (seen in the benchmark: the mark went from 0.5 to 4.7 ms a batch and the
	// delivery p99 from 36 to 123 ms). Planning these short statements each time costs microseconds.
	// Bitmap scans are off because the pending read must be a plain index scan: only that marks the index
	// entries of rows already published (dead to every snapshot) so later reads skip them; a bitmap scan
	// visits them all again on every read until vacuum (4.7 instead of 0.12 ms a read in the benchmark).
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_custom_plan; SET enable_bitmapscan = off`); err != nil {
		closeConn(ctx, conn)
		return fmt.Errorf("outbox relay session settings: %w", err)
	}
	// The lock class is per schema: services sharing one database must not contend for each other's
	// partitions.
	var partitions int16
	err = conn.QueryRow(ctx,
		`SELECT partitions, hashtext('kefu.outbox.' || current_schema()) FROM outbox_settings`,
	).Scan(&partitions, &r.lockClass)
	if err != nil {
		closeConn(ctx, conn)
		return fmt.Errorf("read outbox settings: %w", err)
	}
	r.conn, r.partitions, r.owned = conn, int(partitions), nil
	r.nextClaim = time.Time{}
	return nil
}

// dropConn closes the lock connection, which releases every partition lock it held.
func (r *Relay) dropConn(ctx context.Context) {
	if r.conn == nil {
		return
	}
	if !r.conn.IsClosed() {
		if err := r.flushMarks(ctx); err != nil {
			r.log.WarnContext(ctx, "outbox relay could not record its last published rows; they will be sent again", "err", err)
		}
	}
	r.unmarkedIDs, r.unmarkedSeqs, r.prefetched = r.unmarkedIDs[:0], r.unmarkedSeqs[:0], nil
	if len(r.owned) > 0 {
		r.log.InfoContext(ctx, "outbox relay released partitions", "partitions", r.owned)
	}
	closeConn(ctx, r.conn)
	r.conn, r.owned = nil, nil
	r.ownsAll.Store(false)
}

// claim tries to lock every partition the relay does not own. The locks are session-level: they last
// until the relay closes its connection or its session dies, and then another replica's next claim takes
// the partition over.
func (r *Relay) claim(ctx context.Context) error {
	want := make([]int32, 0, r.partitions-len(r.owned))
	for p := range r.partitions {
		if !slices.Contains(r.owned, int16(p)) {
			want = append(want, int32(p))
		}
	}
	rows, err := r.conn.Query(ctx,
		`SELECT p FROM unnest($2::int4[]) AS p WHERE pg_try_advisory_lock($1, p)`, r.lockClass, want)
	if err != nil {
		return fmt.Errorf("claim partitions: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int16])
	if err != nil {
		return fmt.Errorf("claim partitions: %w", err)
	}
	if len(got) == 0 {
		return nil
	}
	r.owned = append(r.owned, got...)
	slices.Sort(r.owned)
	r.ownsAll.Store(len(r.owned) == r.partitions)
	// The previous owner may have died between publishing and recording; check before publishing.
	r.gapDue = true
	r.log.InfoContext(ctx, "outbox relay claimed partitions", "claimed", got, "partitions", r.owned)
	return nil
}

// pendingSQL reads the first unpublished rows of the owned partitions in id order. The lateral join reads
// each partition through outbox_pending_idx, so the cost does not grow with the published rows kept for
// the replay window; each partition contributes a prefix of its queue, which is what ordering requires.
const pendingSQL = `
SELECT o.id, o.event_id::text, o.subject, o.aggregate_id, o.aggregate_seq, o.type, o.headers, o.payload
FROM unnest($1::int2[]) AS p(partition)
CROSS JOIN LATERAL (
	SELECT id, event_id, subject, aggregate_id, aggregate_seq, type, headers, payload
	FROM outbox
	WHERE outbox.partition = p.partition AND published_at IS NULL AND id <> ALL($3::int8[])
	ORDER BY id
	LIMIT $2
) AS o
ORDER BY o.id
LIMIT $2`

// markSQL records the acknowledged prefix of a batch in one statement.
const markSQL = `
UPDATE outbox SET published_at = $1, stream_seq = u.seq
FROM unnest($2::int8[], $3::int8[]) AS u(id, seq)
WHERE outbox.id = u.id`

// row is one outbox row on its way to NATS.
type row struct {
	id           int64
	eventID      string
	subject      string
	aggregateID  string
	aggregateSeq int64
	typ          string
	headers      map[string]string
	payload      []byte
}

// publishBatch publishes up to BatchSize pending rows and marks the acknowledged prefix published. It
// returns how many rows it read. On a failed publish it stops there, marks what was acknowledged before
// it, and reports the error, so the failed row and everything after it are retried in order.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	batch := r.prefetched
	r.prefetched = nil
	if batch == nil {
		var err error
		if batch, err = r.readBatch(ctx, nil); err != nil {
			return 0, err
		}
	}
	if len(batch) == 0 {
		return 0, nil
	}
	var (
		pubErr     error
		next       []row
		prefetchOK bool
	)
	for i := 0; i < len(batch); {
		j := r.waveEnd(batch, i)
		var during func()
		if j == len(batch) && (len(r.wake) > 0 || len(batch) == r.o.BatchSize) {
			// More work is waiting: read the next batch while this last wave's acks come back. The rows
			// in flight are excluded; nothing of them is published before these acks are in.
			exclude := make([]int64, len(batch))
			for k, b := range batch {
				exclude[k] = b.id
			}
			during = func() {
				// Take the pending wake-up now, before the read: every commit it announces is visible to
				// the read, and a wake-up that arrives after this point stays pending, so its commit gets
				// a fresh read. Answering a later wake-up with this read would strand that commit.
				drain(r.wake)
				var err error
				next, err = r.readBatch(ctx, exclude)
				prefetchOK = err == nil
			}
		}
		acked, err := r.publishWave(ctx, batch[i:j], during)
		r.published.Add(ctx, int64(len(acked)))
		for k, seq := range acked {
			r.unmarkedIDs = append(r.unmarkedIDs, batch[i+k].id)
			r.unmarkedSeqs = append(r.unmarkedSeqs, int64(seq))
		}
		if err != nil {
			pubErr = fmt.Errorf("publish event %s: %w", batch[i+len(acked)].eventID, err)
			break
		}
		i = j
	}
	// An empty read ahead means every commit its wake-up announced is in this batch: nothing to keep.
	if pubErr == nil && prefetchOK && len(next) > 0 {
		r.prefetched = next
	}
	// Defer the marks only when another round is sure to follow at once (a batch was read ahead, a wake-up
	// is pending, or the batch was full); otherwise, and after any failure, record them now.
	if pubErr != nil || (r.prefetched == nil && len(r.wake) == 0 && len(batch) < r.o.BatchSize) {
		if err := r.flushMarks(ctx); err != nil {
			return len(batch), err
		}
	}
	return len(batch), pubErr
}

// readBatch reads the next pending rows (see readPending).
func (r *Relay) readBatch(ctx context.Context, exclude []int64) ([]row, error) {
	rows, err := r.readPending(ctx, exclude)
	if err != nil {
		return nil, err
	}
	batch, err := pgx.CollectRows(rows, func(rs pgx.CollectableRow) (row, error) {
		var b row
		err := rs.Scan(&b.id, &b.eventID, &b.subject, &b.aggregateID, &b.aggregateSeq, &b.typ, &b.headers, &b.payload)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("read pending rows: %w", err)
	}
	return batch, nil
}

// readPending reads the next pending rows, sending the deferred marks of the previous round in the same
// round trip (the UPDATE runs first, so the SELECT does not return those rows again).
func (r *Relay) readPending(ctx context.Context, exclude []int64) (pgx.Rows, error) {
	if exclude == nil {
		exclude = []int64{}
	}
	if len(r.unmarkedIDs) == 0 {
		rows, err := r.conn.Query(ctx, pendingSQL, r.owned, r.o.BatchSize, exclude)
		if err != nil {
			return nil, fmt.Errorf("read pending rows: %w", err)
		}
		return rows, nil
	}
	b := &pgx.Batch{}
	b.Queue(markSQL, r.o.Now().UTC(), r.unmarkedIDs, r.unmarkedSeqs)
	b.Queue(pendingSQL, r.owned, r.o.BatchSize, exclude)
	br := r.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("mark %d rows published: %w", len(r.unmarkedIDs), err)
	}
	r.unmarkedIDs, r.unmarkedSeqs = r.unmarkedIDs[:0], r.unmarkedSeqs[:0]
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("read pending rows: %w", err)
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// batchRows closes the batch once its last result (the rows) is closed.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (b *batchRows) Close() {
	b.Rows.Close()
	_ = b.br.Close()
}

// flushMarks records the published rows not yet marked. It is detached from ctx: at shutdown the
// acknowledged prefix is still recorded, sparing a re-send. On failure the events are in the stream but not
// recorded; the next round re-sends them and JetStream's duplicate window answers with the original
// sequence.
func (r *Relay) flushMarks(ctx context.Context) error {
	if len(r.unmarkedIDs) == 0 || r.conn == nil {
		return nil
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if _, err := r.conn.Exec(mctx, markSQL, r.o.Now().UTC(), r.unmarkedIDs, r.unmarkedSeqs); err != nil {
		return fmt.Errorf("mark %d rows published: %w", len(r.unmarkedIDs), err)
	}
	r.unmarkedIDs, r.unmarkedSeqs = r.unmarkedIDs[:0], r.unmarkedSeqs[:0]
	return nil
}

// waveEnd returns the end of the longest run from i in which no aggregate repeats. A wave is published
// pipelined; the next wave starts only once every ack of the previous one is in. So an aggregate never has
// two events in flight, and a failed publish can never be overtaken by a later event of its aggregate:
// per-aggregate order holds in the stream even when single publishes fail.
func (r *Relay) waveEnd(batch []row, i int) int {
	clear(r.waveSeen)
	j := i
	for ; j < len(batch); j++ {
		if _, dup := r.waveSeen[batch[j].aggregateID]; dup {
			break
		}
		r.waveSeen[batch[j].aggregateID] = struct{}{}
	}
	return j
}

// publishWave sends rows asynchronously and collects their acks in order. It returns the stream sequences
// of the acknowledged prefix and the error that ended it, if any.
func (r *Relay) publishWave(ctx context.Context, rows []row, during func()) ([]uint64, error) {
	type inflight struct {
		f    jetstream.PubAckFuture
		span trace.Span
	}
	sent := make([]inflight, 0, len(rows))
	var sendErr error
	for _, b := range rows {
		msg, span := r.message(ctx, b)
		f, err := r.pub.PublishMsgAsync(msg)
		if err != nil {
			endSpan(span, err)
			sendErr = err
			break
		}
		sent = append(sent, inflight{f: f, span: span})
	}
	// during (if any) runs while the acks are awaited; the wave returns only after it has finished, so the
	// relay's connection is never used by two goroutines at once.
	done := make(chan struct{})
	if during != nil && sendErr == nil {
		go func() { defer close(done); during() }()
	} else {
		close(done)
	}
	defer func() { <-done }()
	acked := make([]uint64, 0, len(sent))
	var ackErr error
	for _, s := range sent {
		if ackErr != nil {
			endSpan(s.span, errors.New("not recorded: an earlier event of the wave failed"))
			continue
		}
		select {
		case ack := <-s.f.Ok():
			if ack.Stream != r.o.StreamName {
				ackErr = fmt.Errorf("acknowledged by stream %s, want %s", ack.Stream, r.o.StreamName)
				endSpan(s.span, ackErr)
				continue
			}
			s.span.SetAttributes(attribute.Int64("messaging.nats.stream_seq", int64(ack.Sequence)),
				attribute.Bool("messaging.nats.duplicate", ack.Duplicate))
			endSpan(s.span, nil)
			acked = append(acked, ack.Sequence)
		case err := <-s.f.Err():
			ackErr = err
			endSpan(s.span, err)
		case <-ctx.Done():
			ackErr = ctx.Err()
			endSpan(s.span, ackErr)
		}
	}
	if ackErr != nil {
		return acked, ackErr
	}
	return acked, sendErr
}

// message builds the NATS message of a row and starts its producer span, a child of the trace stored
// with the row (the request that caused the event); the span's context replaces it in the headers, so
// the consumer's span follows the publish.
func (r *Relay) message(ctx context.Context, b row) (*nats.Msg, trace.Span) {
	h := make(nats.Header, len(b.headers)+6)
	for k, v := range b.headers {
		h.Set(k, v)
	}
	parent := events.ExtractTrace(ctx, r.prop, h)
	sctx, span := r.tracer.Start(parent, "send "+b.subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", b.subject),
			attribute.String("messaging.message.id", b.eventID),
		))
	events.InjectTrace(sctx, r.prop, h)
	h.Set(events.HeaderMsgID, b.eventID)
	h.Set(events.HeaderType, b.typ)
	h.Set(events.HeaderAggregateID, b.aggregateID)
	h.Set(events.HeaderSeq, strconv.FormatInt(b.aggregateSeq, 10))
	// A subject outside the stream fails instead of landing in another stream (or none).
	h.Set(jetstream.ExpectedStreamHeader, r.o.StreamName)
	return &nats.Msg{Subject: b.subject, Header: h, Data: b.payload}, span
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	span.End()
}

// purge deletes published rows older than the replay window, in bounded batches. Unpublished rows are never
// deleted, however old. SKIP LOCKED lets replicas purge at the same time without waiting on each other.
func (r *Relay) purge(ctx context.Context) error {
	cutoff := r.o.Now().Add(-r.o.ReplayWindow)
	var total int64
	for range purgeRounds {
		tag, err := r.pool.Exec(ctx, `
			DELETE FROM outbox WHERE id IN (
				SELECT id FROM outbox
				WHERE published_at < $1
				ORDER BY published_at
				LIMIT $2
				FOR UPDATE SKIP LOCKED)`, cutoff, purgeBatch)
		if err != nil {
			return fmt.Errorf("purge published outbox rows: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			break
		}
	}
	if total > 0 {
		r.log.DebugContext(ctx, "outbox relay purged published rows", "rows", total, "before", cutoff)
	}
	if total == purgeRounds*purgeBatch {
		r.nextPurge = time.Time{} // more to do: continue next round
	}
	return nil
}

// retryDelay doubles from 100 ms up to MaxRetryDelay.
func (r *Relay) retryDelay(attempt int) time.Duration {
	return min(minRetryDelay<<min(attempt-1, 16), r.o.MaxRetryDelay)
}

// dedicatedConn takes a connection out of the pool for good: the relay's sessions carry state (advisory
// locks, LISTEN) that must not leak to other users of the pool.
func (r *Relay) dedicatedConn(ctx context.Context) (*pgx.Conn, error) {
	c, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire dedicated connection: %w", err)
	}
	return c.Hijack(), nil
}

func closeConn(ctx context.Context, conn *pgx.Conn) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	_ = conn.Close(cctx)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
