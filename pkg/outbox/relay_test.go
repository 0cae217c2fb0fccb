package outbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

// TestRelayWakesOnCommitWithoutPolling proves both wake-up paths with the poll fallback out of the way: an
// in-process Notify publishes at once, and a Notify in a replica that does not own the row's partition is
// announced with NOTIFY and wakes the owning replica.
func TestRelayWakesOnCommitWithoutPolling(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	owner, _ := e.relay(t, pool, outbox.RelayOptions{PollInterval: time.Hour, GapCheckInterval: time.Hour})

	local := mustEmit(t, pool, "a")
	owner.Notify()
	testkit.Eventually(t, func() bool { return e.streamHas(t, map[string]bool{local: true}) },
		waitLong, "event published after an in-process Notify")

	// The owner holds every partition now, so this second relay owns none and can only announce.
	other, _ := e.relay(t, pool, outbox.RelayOptions{PollInterval: time.Hour, GapCheckInterval: time.Hour})
	remote := mustEmit(t, pool, "b")
	other.Notify()
	testkit.Eventually(t, func() bool { return e.streamHas(t, map[string]bool{remote: true}) },
		waitLong, "event published by the owning replica after another replica's Notify")
}

// TestRelayPublishesCommittedEventsOnce proves a committed event is published exactly once with its
// headers and recorded with its stream sequence, and a rolled-back one never is.
func TestRelayPublishesCommittedEventsOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	e.relay(t, pool, outbox.RelayOptions{})

	rolledBack := uuid.NewString()
	tx, err := pool.Begin(t.Context())
	require.NoError(t, err)
	require.NoError(t, outbox.Add(t.Context(), tx, outbox.Message{
		EventID: rolledBack, Subject: "kefu.thing.changed", AggregateID: "a", AggregateSeq: 1, Type: "T", Payload: []byte("x"),
	}))
	require.NoError(t, tx.Rollback(t.Context()))

	first := mustEmit(t, pool, "a")
	second := mustEmit(t, pool, "a")
	want := map[string]bool{first: true, second: true}
	testkit.Eventually(t, func() bool { return e.streamHas(t, want) && unpublished(t, pool) == 0 },
		waitLong, "both committed events published")

	got := e.readStream(t)
	require.Len(t, got, 2, "only the committed events, once each")
	requireOrderedOnce(t, got, want)
	for _, m := range got {
		var seq int64
		require.NoError(t, pool.QueryRow(t.Context(), `SELECT stream_seq FROM outbox WHERE event_id = $1`, m.eventID).Scan(&seq))
		require.Equal(t, int64(m.seq), seq, "recorded stream sequence of %s", m.eventID)
	}
	require.Zero(t, count(t, pool, `SELECT count(*) FROM outbox WHERE event_id = $1`, rolledBack))

	s, err := e.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	raw, err := s.GetMsg(t.Context(), got[0].seq)
	require.NoError(t, err)
	require.Equal(t, "kefu.thing.changed", raw.Subject)
	require.Equal(t, "kefu.events.v1.ThingChanged", raw.Header.Get(events.HeaderType))
	require.Equal(t, "a", raw.Header.Get(events.HeaderAggregateID))
	require.Equal(t, "1", raw.Header.Get(events.HeaderSeq))
	require.Equal(t, "a#1", string(raw.Data))
}

// TestRelayDeliversEverythingAfterNATSReturns is the NATS-down fault test: while NATS is stopped, events
// still commit; when it restarts on the same port and store, every event arrives once, in per-aggregate
// order.
func TestRelayDeliversEverythingAfterNATSReturns(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	e.relay(t, pool, outbox.RelayOptions{GapCheckInterval: 100 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond})

	want := map[string]bool{}
	for i := range 10 {
		want[mustEmit(t, pool, fmt.Sprintf("agg-%d", i%5))] = true
	}
	testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 }, waitLong, "events before the outage published")

	e.srv.Shutdown()
	for i := range 100 {
		want[mustEmit(t, pool, fmt.Sprintf("agg-%d", i%5))] = true
	}
	require.Equal(t, int64(100), unpublished(t, pool), "events committed while NATS is down wait in the outbox")

	again, err := natsembed.Start(e.srv.Options())
	require.NoError(t, err)
	t.Cleanup(again.Shutdown)
	testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 && e.streamHas(t, want) },
		waitLong, "every event published after NATS returned")
	requireOrderedOnce(t, e.readStream(t), want)
}

// TestTwoRelaysKeepPerAggregateOrder proves that relays in two replicas, splitting the partitions and taking
// them over from each other while writers commit concurrently, never publish one aggregate's events out
// of order, and lose or duplicate none.
func TestTwoRelaysKeepPerAggregateOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := t.Context()
	poolA := e.db.Pool
	poolB, err := pgxutil.Open(ctx, e.db.RuntimeURL, pgxutil.Options{Schema: "outbox_test", AppName: "replica-b"})
	require.NoError(t, err)
	t.Cleanup(poolB.Close)

	const aggregates, writers, perWriter = 12, 4, 120
	aggs := make([]string, aggregates)
	halves := map[bool]int{}
	for i := range aggs {
		aggs[i] = fmt.Sprintf("ticket-%02d", i)
		halves[partitionOf(t, poolA, aggs[i]) < 8]++
	}
	require.Len(t, halves, 2, "the aggregates must span both halves of the partitions")

	// Start replica A with partitions 0-7 held elsewhere and no retries, so it owns exactly 8-15; replica B
	// then gets 0-7.
	hold := holdPartitions(t, poolA, 0, 1, 2, 3, 4, 5, 6, 7)
	_, stopA := e.relay(t, poolA, outbox.RelayOptions{ClaimInterval: time.Hour, BatchSize: 16})
	testkit.Eventually(t, func() bool { return partitionLocks(t, poolA) == 16 }, waitLong, "replica A owns partitions 8-15")
	_, stopB := e.relay(t, poolB, outbox.RelayOptions{BatchSize: 16})
	releasePartitions(t, hold)
	testkit.Eventually(t, func() bool { return partitionLocks(t, poolA) == 16 }, waitLong, "replica B owns partitions 0-7")

	ids := make(chan string, writers*perWriter)
	g, gctx := errgroup.WithContext(ctx)
	for w := range writers {
		rnd := rand.New(rand.NewPCG(uint64(w), 42))
		g.Go(func() error {
			for range perWriter {
				id, err := emit(gctx, poolA, aggs[rnd.IntN(aggregates)])
				if err != nil {
					return err
				}
				ids <- id
			}
			return nil
		})
	}
	published := func() int64 {
		return count(t, poolA, `SELECT count(*) FROM outbox WHERE published_at IS NOT NULL`)
	}

	// Replica A dies under load; B takes its partitions over. A comes back (owning nothing while B lives),
	// then B dies and A takes everything.
	testkit.Eventually(t, func() bool { return published() >= 120 }, waitLong, "publishing under way")
	stopA()
	_, _ = e.relay(t, poolA, outbox.RelayOptions{BatchSize: 16})
	testkit.Eventually(t, func() bool { return published() >= 300 }, waitLong, "publishing continues after A stopped")
	stopB()

	require.NoError(t, g.Wait())
	close(ids)
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	require.Len(t, want, writers*perWriter)
	testkit.Eventually(t, func() bool { return unpublished(t, poolA) == 0 && e.streamHas(t, want) },
		waitLong, "every event published")
	requireOrderedOnce(t, e.readStream(t), want)
}

// TestRelayRepairsALostTail is the NATS-crash fault test: when the stream lost events it had acknowledged,
// the relay notices by itself and re-publishes them in order.
func TestRelayRepairsALostTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// refill publishes unrelated messages after the loss, so the stream's last sequence is above the
		// outbox's again and only the event ids reveal the gap; the relay is stopped meanwhile.
		refill bool
	}{
		{name: "a stream that comes back empty is refilled while the relay runs"},
		{name: "lost sequences reused by other publishers are detected by event id", refill: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			pool := e.db.Pool
			opts := outbox.RelayOptions{GapCheckInterval: 50 * time.Millisecond}
			_, stop := e.relay(t, pool, opts)
			want := map[string]bool{}
			for i := range 20 {
				want[mustEmit(t, pool, fmt.Sprintf("agg-%d", i%4))] = true
			}
			testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 }, waitLong, "events published")
			if tc.refill {
				stop()
			}

			// The stream loses everything it acknowledged (and its dedupe memory with it), as after a
			// crash before any fsync.
			require.NoError(t, e.js.DeleteStream(t.Context(), events.StreamName))
			_, err := events.EnsureStream(t.Context(), e.js, events.StreamConfig{})
			require.NoError(t, err)
			if tc.refill {
				for i := range 50 {
					_, err := e.js.Publish(t.Context(), "kefu.noise.made", nil, jetstream.WithMsgID(fmt.Sprintf("noise-%d", i)))
					require.NoError(t, err)
				}
				e.relay(t, pool, opts)
			}

			testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 && e.streamHas(t, want) },
				waitLong, "lost events re-published")
			requireOrderedOnce(t, e.readStream(t), want)
		})
	}
}

// TestRepublishResendsEventsSince proves the admin re-publish: rows created at or after the given time are
// sent again (seen by a plain NATS subscriber; JetStream dedupes them), earlier ones are not.
func TestRepublishResendsEventsSince(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	msgs := make(chan *nats.Msg, 100)
	sub, err := e.nc.ChanSubscribe("kefu.>", msgs)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, e.nc.Flush())
	e.relay(t, pool, outbox.RelayOptions{})

	var ids []string
	for range 10 {
		ids = append(ids, mustEmit(t, pool, "a"))
	}
	testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 }, waitLong, "events published")

	var since, before time.Time
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT created_at FROM outbox WHERE event_id = $1`, ids[5]).Scan(&since))
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT created_at FROM outbox WHERE event_id = $1`, ids[4]).Scan(&before))
	require.True(t, before.Before(since))
	n, err := outbox.Republish(t.Context(), pool, since)
	require.NoError(t, err)
	require.Equal(t, int64(5), n)

	sent := map[string]int{}
	testkit.Eventually(t, func() bool {
		for {
			select {
			case m := <-msgs:
				sent[m.Header.Get(events.HeaderMsgID)]++
			default:
				return unpublished(t, pool) == 0 && sent[ids[9]] == 2
			}
		}
	}, waitLong, "re-sent events seen")
	for i, id := range ids {
		want := 1
		if i >= 5 {
			want = 2
		}
		require.Equal(t, want, sent[id], "event %d sent", i)
	}
	require.Len(t, e.readStream(t), 10, "JetStream stored the re-sent events once")
}

// TestRelayPurgesOnlyPublishedRowsPastTheWindow proves published rows are deleted after the replay window
// and unpublished rows never are, however old.
func TestRelayPurgesOnlyPublishedRowsPastTheWindow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	stuck, flowing := "agg-stuck", ""
	pStuck := partitionOf(t, pool, stuck)
	for i := 0; flowing == ""; i++ {
		if c := fmt.Sprintf("agg-%d", i); partitionOf(t, pool, c) != pStuck {
			flowing = c
		}
	}
	// The stuck aggregate's partition is held by another session, so its rows stay unpublished.
	hold := holdPartitions(t, pool, pStuck)
	t.Cleanup(func() { releasePartitions(t, hold) })

	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	e.relay(t, pool, outbox.RelayOptions{PurgeInterval: 10 * time.Millisecond, Now: func() time.Time { return *now.Load() }})

	for range 3 {
		mustEmit(t, pool, flowing)
		mustEmit(t, pool, stuck)
	}
	rows := func(agg string, published bool) int64 {
		return count(t, pool, `SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND (published_at IS NOT NULL) = $2`, agg, published)
	}
	testkit.Eventually(t, func() bool { return rows(flowing, true) == 3 }, waitLong, "flowing aggregate published")
	require.Equal(t, int64(3), rows(stuck, false))

	later := start.Add(outbox.DefaultReplayWindow + time.Hour)
	now.Store(&later)
	testkit.Eventually(t, func() bool { return rows(flowing, true) == 0 }, waitLong, "published rows purged after the window")
	require.Equal(t, int64(3), rows(stuck, false), "unpublished rows are never purged")
}

// TestRelayContinuesTheRequestTrace proves the trace context of the transaction that added an event reaches
// the message: the producer span is a child of the request span, and the message carries the producer span.
func TestRelayContinuesTheRequestTrace(t *testing.T) {
	// Not parallel: it sets the global propagator, which Add reads.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	e := setup(t)
	pool := e.db.Pool
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e.relay(t, pool, outbox.RelayOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})

	ctx, request := tp.Tracer("test").Start(t.Context(), "request")
	id, err := emit(ctx, pool, "traced")
	require.NoError(t, err)
	request.End()
	testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 }, waitLong, "event published")

	var producer sdktrace.ReadOnlySpan
	testkit.Eventually(t, func() bool {
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindProducer {
				producer = s
				return true
			}
		}
		return false
	}, waitLong, "producer span ended")
	require.Equal(t, request.SpanContext().TraceID(), producer.SpanContext().TraceID())
	require.Equal(t, request.SpanContext().SpanID(), producer.Parent().SpanID())
	require.Equal(t, "send kefu.thing.changed", producer.Name())

	s, err := e.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(t.Context(), "kefu.thing.changed")
	require.NoError(t, err)
	require.Equal(t, id, m.Header.Get(events.HeaderMsgID))
	carried := trace.SpanContextFromContext(events.ExtractTrace(t.Context(), propagation.TraceContext{}, m.Header))
	require.Equal(t, producer.SpanContext().SpanID(), carried.SpanID())
}

// partitionOf reads the partition Add assigns to an aggregate, by adding a row in a rolled-back transaction.
func partitionOf(t testing.TB, pool *pgxpool.Pool, agg string) int16 {
	t.Helper()
	var p int16
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		id := uuid.NewString()
		if err := outbox.Add(t.Context(), tx, outbox.Message{EventID: id, Subject: "kefu.x.y", AggregateID: agg, Type: "T"}); err != nil {
			return err
		}
		if err := tx.QueryRow(t.Context(), `SELECT partition FROM outbox WHERE event_id = $1`, id).Scan(&p); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	return p
}

var errRollback = fmt.Errorf("rollback")

// holdPartitions takes the relay's advisory locks on partitions from a separate session, standing in for
// another replica.
func holdPartitions(t testing.TB, pool *pgxpool.Pool, partitions ...int16) *pgx.Conn {
	t.Helper()
	c, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	conn := c.Hijack()
	_, err = conn.Exec(t.Context(),
		`SELECT pg_advisory_lock(hashtext('kefu.outbox.' || current_schema()), p) FROM unnest($1::int4[]) AS p`, partitions)
	require.NoError(t, err)
	return conn
}

func releasePartitions(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	if conn.IsClosed() {
		return
	}
	// Unlock explicitly: a closed session's locks are released only when its backend exits, a moment later.
	ctx := context.WithoutCancel(t.Context())
	_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
}

// partitionLocks counts granted two-key advisory locks in the test's database: the partition locks.
func partitionLocks(t testing.TB, pool *pgxpool.Pool) int64 {
	return count(t, pool, `
		SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND granted
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
}

// TestPrefetchingKeepsPerAggregateOrder drives the relay with batches that are always full (BatchSize 7
// against a backlog and writers that keep adding), so every round reads the next batch while the previous
// one's acks are awaited: each aggregate's events must still reach the stream once, in order.
func TestPrefetchingKeepsPerAggregateOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	want := map[string]bool{}
	var mu sync.Mutex
	for i := range 60 {
		want[mustEmit(t, pool, fmt.Sprintf("pf-%d", i%4))] = true
	}
	r, _ := e.relay(t, pool, outbox.RelayOptions{BatchSize: 7})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for w := range 3 {
		wg.Go(func() {
			for i := range 30 {
				id, err := emit(t.Context(), pool, fmt.Sprintf("pf-%d", (w+i)%4))
				if err != nil {
					errs[w] = err
					return
				}
				r.Notify()
				mu.Lock()
				want[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	testkit.Eventually(t, func() bool { return unpublished(t, pool) == 0 && e.streamHas(t, want) },
		waitLong, "every event published")
	requireOrderedOnce(t, e.readStream(t), want)
}

// TestRelayNeverLosesAWakeUp is the lost-wake-up regression: with the poll fallback out of the way, every
// commit followed by Notify must be published, however its wake-up interleaves with a batch read ahead of
// time. Writers commit and notify in bursts so wake-ups often arrive while a batch is in flight (which is
// when the relay reads ahead); a wake-up answered with a read made before the commit strands the row.
func TestRelayNeverLosesAWakeUp(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pool := e.db.Pool
	r, _ := e.relay(t, pool, outbox.RelayOptions{PollInterval: time.Hour, GapCheckInterval: time.Hour})

	const writers, bursts = 4, 60
	var g errgroup.Group
	for w := range writers {
		g.Go(func() error {
			for b := range bursts {
				for range 1 + (w+b)%3 {
					if _, err := emit(t.Context(), pool, fmt.Sprintf("w%d", w)); err != nil {
						return err
					}
					r.Notify()
				}
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				// Each writer waits for its burst, so the next commit lands just after a round ends.
				deadline := time.Now().Add(10 * time.Second)
				for unpublished(t, pool) > 0 {
					if time.Now().After(deadline) {
						return fmt.Errorf("writer %d burst %d: %d rows still unpublished after 10 s with no poll fallback",
							w, b, unpublished(t, pool))
					}
					time.Sleep(time.Millisecond)
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// TestRelayPublishesTheLastCommitsWhenStopping proves the final pass: an event committed while the relay is
// idle, with no wake-up and no poll due, is published by the time Run returns, and with the pass turned off
// it waits in the outbox.
func TestRelayPublishesTheLastCommitsWhenStopping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flush time.Duration
		sent  bool
	}{{"flush", 0, true}, {"no flush", -1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			pool := e.db.Pool
			r, stop := e.relay(t, pool, outbox.RelayOptions{PollInterval: time.Hour, GapCheckInterval: time.Hour, FlushTimeout: tc.flush})
			first := mustEmit(t, pool, "a")
			r.Notify()
			testkit.Eventually(t, func() bool { return e.streamHas(t, map[string]bool{first: true}) && unpublished(t, pool) == 0 },
				waitLong, "the relay publishes and owns its partitions")

			last := mustEmit(t, pool, "a") // committed without Notify: only a poll, an hour away, would find it
			stop()
			require.Equal(t, tc.sent, e.streamHas(t, map[string]bool{last: true}), "last event in the stream after Run returned")
			require.Equal(t, map[bool]int64{true: 0, false: 1}[tc.sent], unpublished(t, pool), "unpublished rows left in the outbox")
		})
	}
}
