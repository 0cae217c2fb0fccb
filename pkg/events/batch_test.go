package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
)

// consumeBatches runs events.ConsumeBatches until the returned stop function is called.
func (e env) consumeBatches(t *testing.T, c events.BatchConfig, h events.BatchHandler) (stop func()) {
	t.Helper()
	if c.Logger == nil {
		c.Logger = e.log
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- events.ConsumeBatches(ctx, e.js, e.pool, c, h) }()
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

// countBatch applies countEffect to each delivery and records the batch sizes.
func countBatch(sizes *atomic.Int64, batches *atomic.Int64) events.BatchHandler {
	return func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
		batches.Add(1)
		sizes.Add(int64(len(ds)))
		for _, d := range ds {
			if err := countEffect(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestConsumeBatchesAppliesEachEventOnceInOrder: 300 events go through in batches (fewer transactions than
// events), each applied once and each aggregate in sequence order; after the durable consumer is reset
// and every event delivered again, nothing changes.
func TestConsumeBatchesAppliesEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const durable = "test-batches"
	for i := range 300 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i%7), int64(i/7+1), nil)
	}
	cfg := events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: durable, FilterSubjects: []string{"kefu.thing.>"}},
		BatchSize: 100}
	var sizes, batches atomic.Int64
	stop := e.consumeBatches(t, cfg, countBatch(&sizes, &batches))
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == 300
	}, waitLong, "300 events applied")
	stop()
	require.Less(t, batches.Load(), int64(300), "events were applied in batches")
	require.Equal(t, int64(0), scalar[int64](t, e.pool, `SELECT count(*) FROM (
		SELECT seq < lag(seq) OVER (PARTITION BY aggregate_id ORDER BY id) AS back FROM applied) a WHERE back`),
		"each aggregate's events applied in sequence order")

	require.NoError(t, e.js.DeleteConsumer(t.Context(), events.StreamName, durable))
	last := uuid.NewString()
	e.publish(t, last, "agg-last", 1, nil)
	e.consumeBatches(t, cfg, countBatch(&sizes, &batches))
	testkit.Eventually(t, func() bool {
		return scalar[bool](t, e.pool, `SELECT EXISTS (SELECT 1 FROM effects WHERE aggregate_id = 'agg-last')`)
	}, waitLong, "the event published after the reset is applied")
	require.Equal(t, int64(301), scalar[int64](t, e.pool, `SELECT sum(n) FROM effects`))
	require.Equal(t, int64(301), sizes.Load(), "a redelivered batch runs the handler on nothing")
}

// TestConsumeBatchesAppliesSeveralAtOnce: with Concurrency 3, batches are applied in overlapping
// transactions (never more than three), and still each event once. The handler locks its rows in key
// order, as ConsumeBatches asks of a concurrent handler.
func TestConsumeBatchesAppliesSeveralAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 300 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i%7), int64(i/7+1), nil)
	}
	var inFlight, most atomic.Int64
	overlapped := make(chan struct{})
	var once sync.Once
	h := func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n > 1 {
			once.Do(func() { close(overlapped) })
		}
		// Each batch waits (a bounded while) for another to be in flight with it.
		select {
		case <-overlapped:
		case <-time.After(5 * time.Second):
		}
		ds = slices.Clone(ds)
		slices.SortStableFunc(ds, func(a, b events.Delivery) int { return strings.Compare(a.AggregateID, b.AggregateID) })
		for _, d := range ds {
			if err := countEffect(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	}
	stop := e.consumeBatches(t, events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: "test-concurrent",
		FilterSubjects: []string{"kefu.thing.>"}}, BatchSize: 20, Concurrency: 3}, h)
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == 300
	}, waitLong, "300 events applied")
	stop()
	require.Equal(t, int64(300), scalar[int64](t, e.pool, `SELECT count(*) FROM applied`), "each event applied once")
	require.GreaterOrEqual(t, most.Load(), int64(2), "batches were applied at once")
	require.LessOrEqual(t, most.Load(), int64(3), "never more than Concurrency at once")
}

// TestConsumeBatchesShardsKeepEachAggregateInOrder: with Shards 4 a batch is applied in up to four
// transactions at once, each holding whole aggregates, so every event is still applied once and each
// aggregate's events in sequence order. The per-event handler runs through events.Each.
func TestConsumeBatchesShardsKeepEachAggregateInOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 400 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i%13), int64(i/13+1), nil)
	}
	var inFlight, most atomic.Int64
	var mu sync.Mutex
	holder := map[string]int64{} // aggregate → the transaction (numbered) applying it now
	var txs atomic.Int64
	each := events.Each(countEffect)
	h := func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		me := txs.Add(1)
		mu.Lock()
		for _, d := range ds {
			if other, ok := holder[d.AggregateID]; ok && other != me {
				mu.Unlock()
				return fmt.Errorf("aggregate %s is in transactions %d and %d at once", d.AggregateID, other, me)
			}
			holder[d.AggregateID] = me
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			for _, d := range ds {
				delete(holder, d.AggregateID)
			}
			mu.Unlock()
		}()
		time.Sleep(20 * time.Millisecond) // long enough for the batch's other shards to be in flight too
		return each(ctx, tx, ds)
	}
	stop := e.consumeBatches(t, events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: "test-shards",
		FilterSubjects: []string{"kefu.thing.>"}}, BatchSize: 100, Shards: 4}, h)
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == 400
	}, waitLong, "400 events applied")
	stop()
	require.Equal(t, int64(400), scalar[int64](t, e.pool, `SELECT count(*) FROM applied`), "each event applied once")
	require.Equal(t, int64(0), scalar[int64](t, e.pool, `SELECT count(*) FROM (
		SELECT seq < lag(seq) OVER (PARTITION BY aggregate_id ORDER BY id) AS back FROM applied) a WHERE back`),
		"each aggregate's events applied in sequence order")
	require.GreaterOrEqual(t, most.Load(), int64(2), "a batch's shards were applied at once")
	require.LessOrEqual(t, most.Load(), int64(4), "never more than Shards at once")
}

// TestEachNamesTheEventThatFailed: Each stops at the first failing event and says which it was.
func TestEachNamesTheEventThatFailed(t *testing.T) {
	t.Parallel()
	var seen []string
	h := events.Each(func(_ context.Context, _ pgx.Tx, d events.Delivery) error {
		seen = append(seen, d.EventID)
		if d.EventID == "b" {
			return errors.New("boom")
		}
		return nil
	})
	err := h(t.Context(), nil, []events.Delivery{{EventID: "a"}, {EventID: "b", Subject: "kefu.thing.made"}, {EventID: "c"}})
	require.ErrorContains(t, err, "event b (kefu.thing.made): boom")
	require.Equal(t, []string{"a", "b"}, seen, "nothing after the failing event runs")
}

// TestConsumeBatchesLeavesSelfDeduplicatedEventsToTheHandler: events of a subject the handler
// deduplicates itself get no inbox row, so a redelivery reaches the handler again.
func TestConsumeBatchesLeavesSelfDeduplicatedEventsToTheHandler(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const durable = "test-self"
	for i := range 50 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i%5), int64(i/5+1), nil)
	}
	var sizes, batches atomic.Int64
	cfg := events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: durable, FilterSubjects: []string{"kefu.thing.>"},
		SelfDeduplicated: func(subject string) bool { return subject == events.Subject("thing", "changed") }}, BatchSize: 20}
	stop := e.consumeBatches(t, cfg, countBatch(&sizes, &batches))
	testkit.Eventually(t, func() bool { return sizes.Load() == 50 }, waitLong, "50 events handled")
	stop()
	require.Zero(t, scalar[int64](t, e.pool, `SELECT count(*) FROM inbox WHERE consumer = $1`, durable))

	require.NoError(t, e.js.DeleteConsumer(t.Context(), events.StreamName, durable))
	e.consumeBatches(t, cfg, countBatch(&sizes, &batches))
	testkit.Eventually(t, func() bool { return sizes.Load() == 100 }, waitLong, "every event handed to the handler again")
	require.Zero(t, scalar[int64](t, e.pool, `SELECT count(*) FROM inbox WHERE consumer = $1`, durable))
}

// TestConsumeBatchesIsolatesAPoisonEvent: a batch holding an event that always fails is applied one event at
// a time: the others take effect, and the poison event is parked in dead_letters.
func TestConsumeBatchesIsolatesAPoisonEvent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 20 {
		agg := fmt.Sprintf("agg-%d", i)
		if i == 7 {
			agg = "bad"
		}
		e.publish(t, uuid.NewString(), agg, 1, nil)
	}
	h := func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
		for _, d := range ds {
			if d.AggregateID == "bad" {
				return fmt.Errorf("cannot apply: %w", events.ErrPermanent)
			}
			if err := countEffect(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	}
	e.consumeBatches(t, events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: "test-poison",
		FilterSubjects: []string{"kefu.thing.>"}, Backoff: []time.Duration{time.Millisecond}}}, h)
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT count(*) FROM dead_letters WHERE consumer = 'test-poison'`) == 1
	}, waitLong, "the poison event is parked")
	testkit.Eventually(t, func() bool {
		return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`) == 19
	}, waitLong, "the 19 others are applied")
	require.Equal(t, int64(0), scalar[int64](t, e.pool, `SELECT count(*) FROM effects WHERE aggregate_id = 'bad'`))
}

// TestConsumersKnowAnEventIDHoweverItIsSpelt: an event id is a UUID, whatever its spelling in the
// Nats-Msg-Id header. An id in capitals is applied (the batch consumer once looked it up as not fresh,
// because the inbox returns ids in canonical form, and dropped it), and the same id spelt the canonical
// way, which the stream's dedupe window takes for a new message, is not applied again. Both consumers.
func TestConsumersKnowAnEventIDHoweverItIsSpelt(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	for i, id := range ids {
		e.publish(t, strings.ToUpper(id), fmt.Sprintf("agg-%d", i), 1, nil)
	}
	e.publish(t, uuid.NewString(), "agg-mid", 1, nil)
	stop := e.consumeBatches(t, events.BatchConfig{ConsumerConfig: events.ConsumerConfig{Durable: "test-spelling-batch",
		FilterSubjects: []string{"kefu.thing.>"}}, BatchSize: 10}, func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
		for _, d := range ds {
			if err := countEffect(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	testkit.Eventually(t, func() bool {
		return scalar[bool](t, e.pool, `SELECT EXISTS (SELECT 1 FROM effects WHERE aggregate_id = 'agg-mid')`)
	}, waitLong, "the batch consumer reached the event after the capitals")
	// The canonical spellings come in later batches than the capitals.
	for i, id := range ids {
		e.publish(t, id, fmt.Sprintf("agg-%d", i), 1, nil)
	}
	e.publish(t, uuid.NewString(), "agg-last", 1, nil)
	testkit.Eventually(t, func() bool {
		return scalar[bool](t, e.pool, `SELECT EXISTS (SELECT 1 FROM effects WHERE aggregate_id = 'agg-last')`)
	}, waitLong, "the batch consumer reached the last event")
	stop()
	require.Equal(t, int64(5), scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`),
		"the batch consumer applied each event once")

	_, err := e.pool.Exec(t.Context(), `DELETE FROM effects; DELETE FROM applied`)
	require.NoError(t, err)
	e.consume(t, events.ConsumerConfig{Durable: "test-spelling-one", FilterSubjects: []string{"kefu.thing.>"}}, countEffect)
	testkit.Eventually(t, func() bool {
		return scalar[bool](t, e.pool, `SELECT EXISTS (SELECT 1 FROM effects WHERE aggregate_id = 'agg-last')`)
	}, waitLong, "the consumer reached the last event")
	require.Equal(t, int64(5), scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects`),
		"the consumer applied each event once")
}
