package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

const waitLong = 30 * time.Second

// effectsSet is the test's own "service" tables: the effects a handler applies.
var effectsSet = pgxutil.MigrationSet{Name: "effects", FS: fstest.MapFS{
	"00001_effects.sql": {Data: []byte(`-- +goose Up
CREATE TABLE effects (
    aggregate_id text   NOT NULL,
    n            bigint NOT NULL,
    last_seq     bigint NOT NULL,
    CONSTRAINT effects_pkey PRIMARY KEY (aggregate_id)
);
CREATE TABLE applied (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    aggregate_id text   NOT NULL,
    seq          bigint NOT NULL,
    CONSTRAINT applied_pkey PRIMARY KEY (id)
);
`)},
}}

type env struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	log  *slog.Logger
}

func setup(t *testing.T) env {
	t.Helper()
	db := testkit.NewDB(t, "events_test", events.Migrations(), effectsSet)
	srv := testkit.NATS(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, js := testkit.JetStream(t, srv.ClientURL(), log)
	return env{pool: db.Pool, js: js, log: log}
}

// publish sends one event the way the outbox relay does: headers carry the meta.
func (e env) publish(t *testing.T, eventID, aggregate string, seq int64, hdr nats.Header) {
	t.Helper()
	m := nats.NewMsg(events.Subject("thing", "changed"))
	for k, v := range hdr {
		m.Header[k] = v
	}
	if eventID != "" {
		m.Header.Set(events.HeaderMsgID, eventID)
	}
	m.Header.Set(events.HeaderType, "kefu.events.v1.ThingChanged")
	m.Header.Set(events.HeaderAggregateID, aggregate)
	m.Header.Set(events.HeaderSeq, strconv.FormatInt(seq, 10))
	m.Data = []byte("body-" + eventID)
	_, err := e.js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
}

// consume runs events.Consume until the returned stop function is called; stop waits for it and checks it
// returned nil.
func (e env) consume(t *testing.T, c events.ConsumerConfig, h events.Handler) (stop func()) {
	t.Helper()
	if c.Logger == nil {
		c.Logger = e.log
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- events.Consume(ctx, e.js, e.pool, c, h) }()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return stop
}

// countEffect is a handler whose effect is counting events per aggregate and logging the order applied.
func countEffect(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO effects (aggregate_id, n, last_seq) VALUES ($1, 1, $2)
		ON CONFLICT ON CONSTRAINT effects_pkey DO UPDATE SET n = effects.n + 1, last_seq = EXCLUDED.last_seq`,
		d.AggregateID, d.Seq); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO applied (aggregate_id, seq) VALUES ($1, $2)`, d.AggregateID, d.Seq)
	return err
}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, pool.QueryRow(t.Context(), sql, args...).Scan(&v))
	return v
}

// TestConsumeAppliesRedeliveredEventsOnce proves the inbox: when JetStream delivers every event again (the
// durable consumer is deleted and recreated, so it starts over from the first message), the effects are
// unchanged.
func TestConsumeAppliesRedeliveredEventsOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const durable = "test-count"
	cfg := events.ConsumerConfig{Durable: durable, FilterSubjects: []string{"kefu.thing.>"}}
	for i := range 30 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i%3), int64(i/3+1), nil)
	}
	stop := e.consume(t, cfg, countEffect)
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == 30
	}, waitLong, "30 events applied")
	stop()

	require.NoError(t, e.js.DeleteConsumer(t.Context(), events.StreamName, durable))
	last := uuid.NewString()
	e.publish(t, last, "agg-last", 1, nil)
	e.consume(t, cfg, countEffect)
	// One worker handles messages in stream order, so once the newest event is applied every redelivered
	// one has been handled.
	testkit.Eventually(t, func() bool {
		return scalar[bool](t, e.pool, `SELECT EXISTS (SELECT 1 FROM effects WHERE aggregate_id = 'agg-last')`)
	}, waitLong, "the event published after the reset is applied")

	require.Equal(t, int64(31), scalar[int64](t, e.pool, `SELECT sum(n) FROM effects`))
	require.Equal(t, int64(31), scalar[int64](t, e.pool, `SELECT count(*) FROM inbox WHERE consumer = $1`, durable))
	for _, agg := range []string{"agg-0", "agg-1", "agg-2"} {
		require.Equal(t, int64(10), scalar[int64](t, e.pool, `SELECT n FROM effects WHERE aggregate_id = $1`, agg), agg)
	}
}

// TestConsumeParksFailingEvents proves that a failing event is retried with backoff up to MaxDeliver and
// then parked in dead_letters (not dropped), that permanent failures and unidentifiable messages are parked
// at once, and that other events keep flowing meanwhile.
func TestConsumeParksFailingEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		fail          error // returned by the handler for the bad event
		noEventID     bool
		wantDelivered int64
		wantError     string
	}{
		{name: "a transient failure is retried until max deliver then parked", fail: errors.New("database said no"), wantDelivered: 3, wantError: "database said no"},
		{name: "a permanent failure is parked on its first delivery", fail: fmt.Errorf("decode body: %w", events.ErrPermanent), wantDelivered: 1, wantError: "decode body: permanent failure"},
		{name: "a message without an event id is parked without running the handler", noEventID: true, wantDelivered: 1, wantError: "no valid Nats-Msg-Id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			const durable = "test-park"
			var calls atomic.Int64
			h := func(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
				if d.AggregateID == "bad" {
					calls.Add(1)
					// The effect must roll back with the failure.
					if err := countEffect(ctx, tx, d); err != nil {
						return err
					}
					return tc.fail
				}
				return countEffect(ctx, tx, d)
			}
			badID := uuid.NewString()
			if tc.noEventID {
				badID = ""
			}
			e.publish(t, badID, "bad", 1, nil)
			e.publish(t, uuid.NewString(), "good", 1, nil)
			e.consume(t, events.ConsumerConfig{
				Durable: durable, FilterSubjects: []string{"kefu.thing.changed"},
				MaxDeliver: 3, Backoff: []time.Duration{time.Millisecond},
			}, h)

			testkit.Eventually(t, func() bool {
				return scalar[int64](t, e.pool, `SELECT count(*) FROM dead_letters WHERE consumer = $1`, durable) == 1
			}, waitLong, "the bad event is parked")
			var (
				eventID, subject, errText string
				delivered                 int64
				data                      []byte
			)
			require.NoError(t, e.pool.QueryRow(t.Context(), `
				SELECT event_id, subject, num_delivered, error, data FROM dead_letters WHERE consumer = $1`, durable,
			).Scan(&eventID, &subject, &delivered, &errText, &data))
			require.Equal(t, badID, eventID)
			require.Equal(t, "kefu.thing.changed", subject)
			require.Equal(t, tc.wantDelivered, delivered)
			require.Contains(t, errText, tc.wantError)
			require.Equal(t, "body-"+badID, string(data))
			if tc.noEventID {
				require.Zero(t, calls.Load(), "handler must not run without an event id")
			} else {
				require.Equal(t, tc.wantDelivered, calls.Load())
			}

			testkit.Eventually(t, func() bool {
				return scalar[int64](t, e.pool, `SELECT count(*) FROM effects WHERE aggregate_id = 'good'`) == 1
			}, waitLong, "the good event is applied")
			require.Zero(t, scalar[int64](t, e.pool, `SELECT count(*) FROM effects WHERE aggregate_id = 'bad'`))
			// Terminated: the server stops redelivering, nothing is left pending.
			testkit.Eventually(t, func() bool {
				c, err := e.js.Consumer(t.Context(), events.StreamName, durable)
				if err != nil {
					return false
				}
				ci := c.CachedInfo()
				return ci.NumAckPending == 0 && ci.NumPending == 0 && ci.NumRedelivered == 0
			}, waitLong, "no message left pending on the consumer")
		})
	}
}

// TestConsumeWorkersKeepPerAggregateOrder proves that with several workers one aggregate's events are still
// applied one at a time in stream order.
func TestConsumeWorkersKeepPerAggregateOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const aggregates, perAggregate = 6, 40
	for seq := 1; seq <= perAggregate; seq++ {
		for a := range aggregates {
			e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", a), int64(seq), nil)
		}
	}
	e.consume(t, events.ConsumerConfig{Durable: "test-workers", FilterSubjects: []string{"kefu.thing.>"}, Workers: 4}, countEffect)
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == aggregates*perAggregate
	}, waitLong, "every event applied")
	rows, err := e.pool.Query(t.Context(), `SELECT aggregate_id, seq FROM applied ORDER BY id`)
	require.NoError(t, err)
	last := map[string]int64{}
	for rows.Next() {
		var agg string
		var seq int64
		require.NoError(t, rows.Scan(&agg, &seq))
		require.Equal(t, last[agg]+1, seq, "aggregate %s applied out of order", agg)
		last[agg] = seq
	}
	require.NoError(t, rows.Err())
}

// TestConsumeContinuesTheProducersTrace proves the consumer span is a child of the trace context carried in
// the message headers.
func TestConsumeContinuesTheProducersTrace(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prop := propagation.TraceContext{}

	ctx, producer := tp.Tracer("test").Start(t.Context(), "produce")
	hdr := nats.Header{}
	events.InjectTrace(ctx, prop, hdr)
	producer.End()
	require.NotEmpty(t, hdr.Get(events.HeaderTraceparent))

	var seen atomic.Value
	e.publish(t, uuid.NewString(), "traced", 1, hdr)
	e.consume(t, events.ConsumerConfig{
		Durable: "test-trace", FilterSubjects: []string{"kefu.thing.>"}, Propagator: prop, TracerProvider: tp,
	}, func(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
		seen.Store(trace.SpanContextFromContext(ctx))
		return countEffect(ctx, tx, d)
	})
	testkit.Eventually(t, func() bool { return seen.Load() != nil }, waitLong, "handler ran")
	sc := seen.Load().(trace.SpanContext)
	require.Equal(t, producer.SpanContext().TraceID(), sc.TraceID())
	testkit.Eventually(t, func() bool { return len(rec.Ended()) >= 2 }, waitLong, "consumer span ended")
	var consumerSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindConsumer {
			consumerSpan = s
		}
	}
	require.NotNil(t, consumerSpan)
	require.Equal(t, producer.SpanContext().SpanID(), consumerSpan.Parent().SpanID())
	require.Equal(t, "process kefu.thing.changed", consumerSpan.Name())
}

func TestConsumeRejectsIncompleteConfig(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		cfg  events.ConsumerConfig
		want string
	}{
		{name: "a consumer without a durable name is refused", cfg: events.ConsumerConfig{FilterSubjects: []string{"kefu.>"}, Logger: log}, want: "Durable is required"},
		{name: "a consumer without a filter subject is refused", cfg: events.ConsumerConfig{Durable: "x-y", Logger: log}, want: "filter subject"},
		{name: "a consumer without a logger is refused", cfg: events.ConsumerConfig{Durable: "x-y", FilterSubjects: []string{"kefu.>"}}, want: "Logger is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := events.Consume(t.Context(), nil, nil, tc.cfg, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestAfterCommitSeesTheCommittedEffect: the AfterCommit hook of both consumers runs after the
// transaction that applied events committed, so what it wakes (a publisher, a sender) can read the effect
// from another connection; a handler that fails never calls it.
func TestAfterCommitSeesTheCommittedEffect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 10 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i), 1, nil)
	}
	var calls, unseen atomic.Int64
	hook := func() {
		calls.Add(1)
		// Another connection: it sees only committed rows.
		if scalar[int64](t, e.pool, `SELECT count(*) FROM applied`) == 0 {
			unseen.Add(1)
		}
	}
	stop := e.consume(t, events.ConsumerConfig{Durable: "test-after-commit", FilterSubjects: []string{"kefu.thing.>"},
		AfterCommit: hook}, countEffect)
	testkit.Eventually(t, func() bool { return calls.Load() >= 10 }, waitLong, "the hook ran after each event")
	stop()
	require.Zero(t, unseen.Load(), "the hook ran before the effect was visible")

	var batchCalls atomic.Int64
	e.consumeBatches(t, events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: "test-after-commit-batches",
		FilterSubjects: []string{"kefu.thing.>"}, AfterCommit: func() { batchCalls.Add(1) }}, BatchSize: 100},
		func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
			for _, d := range ds {
				if err := countEffect(ctx, tx, d); err != nil {
					return err
				}
			}
			return nil
		})
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT count(*) FROM applied`) == 20
	}, waitLong, "the batch consumer applied every event")
	testkit.Eventually(t, func() bool { return batchCalls.Load() >= 1 }, waitLong, "the batch consumer called the hook")

	var failed atomic.Int64
	e.publish(t, uuid.NewString(), "agg-fail", 1, nil)
	e.consume(t, events.ConsumerConfig{Durable: "test-after-commit-fail", FilterSubjects: []string{"kefu.thing.>"},
		MaxDeliver: 1, AfterCommit: func() { failed.Add(1) }},
		func(context.Context, pgx.Tx, events.Delivery) error {
			return fmt.Errorf("always: %w", events.ErrPermanent)
		})
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT count(*) FROM dead_letters WHERE consumer = 'test-after-commit-fail'`) == 11
	}, waitLong, "every event parked")
	require.Zero(t, failed.Load(), "a failed handler never reaches the hook")
}
