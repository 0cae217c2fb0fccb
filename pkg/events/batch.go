package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/pgxutil"
)

// BatchHandler applies deliveries inside tx. They are the batch's events not yet in the inbox (and those of
// self-deduplicated subjects, ConsumerConfig.SelfDeduplicated), in stream order; an error rolls the whole
// batch back.
type BatchHandler func(ctx context.Context, tx pgx.Tx, ds []Delivery) error

// BatchConfig configures ConsumeBatches: a ConsumerConfig (Workers is ignored: batches are fetched in
// stream order by one loop) and the batch's bounds.
type BatchConfig struct {
	ConsumerConfig
	// BatchSize is the most messages one transaction takes (default 1000).
	BatchSize int
	// MaxWait is how long a fetch waits to fill a batch before taking what arrived (default 50 ms).
	MaxWait time.Duration
	// Concurrency is how many batches' transactions run at once (default 1: one after another, in stream
	// order). Above 1, batch n+1 is applied while batch n writes and commits, so the handler's work in Go
	// overlaps the database's; the handler must then (1) take every row lock it needs in one global order
	// (table by table, each table's rows sorted), so that overlapping batches queue instead of deadlocking,
	// and (2) give the same result whichever of two overlapping batches commits first (an aggregate's events
	// can then be applied out of stream order, as a redelivery can anyway).
	Concurrency int
	// Shards splits each batch by aggregate id into up to that many transactions run at once (default 1:
	// the whole batch in one). An aggregate's events stay in one shard, in stream order, and every shard of
	// a batch has settled before the next batch is applied, so each aggregate's events are still applied
	// in order; a shard that fails falls back to one message at a time without touching the others. The
	// handler must take its row locks in one global order (see Concurrency), since shards run at once.
	Shards int
}

// Each turns a per-event Handler into a BatchHandler that applies the batch's events one after another, in
// stream order, in the batch's transaction: a Consume handler run by ConsumeBatches, which saves a commit
// (and a disk flush) per event. Its first error fails the batch, whose events are then applied alone.
func Each(h Handler) BatchHandler {
	return func(ctx context.Context, tx pgx.Tx, ds []Delivery) error {
		for _, d := range ds {
			if err := h(ctx, tx, d); err != nil {
				return fmt.Errorf("event %s (%s): %w", d.EventID, d.Subject, err)
			}
		}
		return nil
	}
}

// DecodeAll decodes every delivery of a batch with decode, in order, and names the event that failed.
func DecodeAll[T any](ds []Delivery, decode func(Delivery) (T, error)) ([]T, error) {
	out := make([]T, 0, len(ds))
	for _, d := range ds {
		v, err := decode(d)
		if err != nil {
			return nil, fmt.Errorf("event %s (%s): %w", d.EventID, d.Subject, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Batch defaults.
const (
	DefaultBatchSize    = 1000
	DefaultBatchMaxWait = 50 * time.Millisecond
)

// ConsumeBatches is Consume for a consumer whose throughput matters more than each event's latency (a
// projection): it fetches up to BatchSize messages and, in one transaction, records them all in the inbox
// and runs h on those the inbox had not seen, then commits and acks them all. Effects are applied once
// however often JetStream delivers, as with Consume.
//
// When a batch's transaction fails, each of its messages is applied alone, exactly as Consume would
// (retried with backoff, parked in dead_letters after MaxDeliver or at once for ErrPermanent), so one
// poison event costs its batch a slower pass, never the others' effects. Batches are fetched in stream
// order by one loop, the next while Concurrency batches are applied (so up to Concurrency+1 are
// unacknowledged: MaxAckPending is at least that many times BatchSize); with Concurrency 1 only a message
// that failed alone comes back out of order.
func ConsumeBatches(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, c BatchConfig, h BatchHandler) error {
	c.Workers = 1
	cc, err := c.withDefaults()
	if err != nil {
		return err
	}
	c.ConsumerConfig = cc
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultBatchMaxWait
	}
	if c.Concurrency < 0 || c.Shards < 0 {
		return fmt.Errorf("consumer %s: negative concurrency or shards", c.Durable)
	}
	c.Concurrency, c.Shards = max(c.Concurrency, 1), max(c.Shards, 1)
	// Concurrency batches are applied while the next is fetched, so that many and one more may be
	// unacknowledged at once.
	if c.MaxAckPending < (c.Concurrency+1)*c.BatchSize {
		c.MaxAckPending = (c.Concurrency + 1) * c.BatchSize
	}
	single := func(ctx context.Context, tx pgx.Tx, d Delivery) error { return h(ctx, tx, []Delivery{d}) }
	bc := &batchConsumer{cfg: c, h: h,
		one: &consumer{cfg: c.ConsumerConfig, pool: pool, h: single, tracer: c.TracerProvider.Tracer(tracerName)}}
	defer bc.one.replayRequested(ctx)()
	return keepRunning(ctx, c.Logger, func(ctx context.Context) (bool, error) { return bc.run(ctx, js) })
}

type batchConsumer struct {
	cfg BatchConfig
	h   BatchHandler
	// one applies a message alone (a failed batch's fallback), with Consume's retry and parking.
	one *consumer
}

// fetched is one fetch's messages, or what stopped it.
type fetched struct {
	msgs []jetstream.Msg
	err  error
}

func (bc *batchConsumer) run(ctx context.Context, js jetstream.JetStream) (received bool, err error) {
	c := bc.cfg
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, c.jetStreamConfig())
	if err != nil {
		return false, fmt.Errorf("create consumer %s: %w", c.Durable, err)
	}
	// The next batch is fetched while this one is applied: a backlog is ingested with the database and the
	// broker busy at once instead of in turns. Batches are still applied one at a time, in stream order.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan fetched, 1)
	go func() {
		defer close(batches)
		for fctx.Err() == nil {
			msgs, err := bc.fetch(cons)
			select {
			case batches <- fetched{msgs, err}:
			case <-fctx.Done():
				nakAll(msgs) // fetched but not started: another instance takes them now
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// At most Concurrency batches are applied at once, each in its own goroutine and transaction; all have
	// settled (committed and acked, or handed back) when run returns.
	// Batches being applied when ctx ends get the drain timeout to commit and ack (see consumer.run).
	hctx, stopHandlers := drainContext(ctx, drainTimeout(ctx, c.DrainTimeout))
	defer stopHandlers()
	slots := make(chan struct{}, c.Concurrency)
	var applying sync.WaitGroup
	defer applying.Wait()
	defer func() {
		for f := range batches { // the fetcher stops on cancel; whatever it had fetched goes back
			nakAll(f.msgs)
		}
	}()
	for f := range batches {
		if ctx.Err() != nil {
			nakAll(f.msgs)
			return received, nil
		}
		if f.err != nil {
			return received, f.err
		}
		if len(f.msgs) == 0 {
			continue
		}
		received = true
		slots <- struct{}{}
		applying.Go(func() {
			defer func() { <-slots }()
			bc.handle(hctx, f.msgs)
		})
	}
	return received, nil
}

// fetch takes the next batch: what arrives within MaxWait, up to BatchSize messages.
func (bc *batchConsumer) fetch(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	c := bc.cfg
	batch, err := cons.Fetch(c.BatchSize, jetstream.FetchMaxWait(c.MaxWait))
	if err != nil {
		return nil, fmt.Errorf("fetch on %s: %w", c.Durable, err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) &&
		len(msgs) == 0 {
		return nil, fmt.Errorf("fetch on %s: %w", c.Durable, err)
	}
	return msgs, nil
}

// handle applies a batch, split into Shards transactions by aggregate id, and returns once every part has
// settled.
func (bc *batchConsumer) handle(ctx context.Context, msgs []jetstream.Msg) {
	n := bc.cfg.Shards
	if n <= 1 || len(msgs) < 2 {
		bc.handlePart(ctx, msgs)
		return
	}
	parts := make([][]jetstream.Msg, n)
	for _, m := range msgs {
		k := shardOf(m.Headers().Get(HeaderAggregateID), m.Subject(), n)
		parts[k] = append(parts[k], m)
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		if len(p) > 0 {
			wg.Go(func() { bc.handlePart(ctx, p) })
		}
	}
	wg.Wait()
}

// handlePart applies messages in one transaction and acks them, or falls back to one message at a time.
func (bc *batchConsumer) handlePart(ctx context.Context, msgs []jetstream.Msg) {
	ds := make([]Delivery, 0, len(msgs))
	ok := true
	for _, m := range msgs {
		d := delivery(m)
		if _, err := uuid.Parse(d.EventID); err != nil {
			ok = false // cannot be deduplicated: the single path parks it
		}
		ds = append(ds, d)
	}
	if ok {
		err := bc.apply(ctx, ds)
		if err == nil {
			if bc.cfg.AfterCommit != nil {
				bc.cfg.AfterCommit()
			}
			for i, m := range msgs {
				if aerr := m.Ack(); aerr != nil {
					bc.cfg.Logger.WarnContext(ctx, "ack event", "event_id", ds[i].EventID, "err", aerr)
				}
			}
			return
		}
		if ctx.Err() != nil {
			for _, m := range msgs {
				_ = m.Nak()
			}
			return
		}
		bc.cfg.Logger.InfoContext(ctx, "event batch failed; applying its events one at a time", "events", len(msgs), "err", err)
	}
	for _, m := range msgs {
		bc.one.handle(ctx, m)
	}
}

// apply records the batch in the inbox and runs the handler on the events it had not seen, in one
// transaction. Events of self-deduplicated subjects skip the inbox and always reach the handler.
func (bc *batchConsumer) apply(ctx context.Context, ds []Delivery) error {
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		if bc.cfg.inboxed(d) {
			ids = append(ids, d.EventID)
		}
	}
	return pgxutil.InTx(ctx, bc.one.pool, func(ctx context.Context, tx pgx.Tx) error {
		fresh := map[string]bool{}
		if len(ids) > 0 {
			// In id order, so concurrent batches holding one event twice (a redelivery) queue, not deadlock.
			rows, err := tx.Query(ctx, `INSERT INTO inbox (consumer, event_id)
				SELECT $1, id FROM unnest($2::uuid[]) AS id ORDER BY id
				ON CONFLICT ON CONSTRAINT inbox_pkey DO NOTHING RETURNING event_id::text`, bc.cfg.Durable, ids)
			if err != nil {
				return fmt.Errorf("record %d events in inbox: %w", len(ids), err)
			}
			inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("record %d events in inbox: %w", len(ids), err)
			}
			for _, id := range inserted {
				fresh[id] = true
			}
		}
		todo := make([]Delivery, 0, len(ds))
		seen := make(map[string]bool, len(ds))
		for _, d := range ds {
			// A batch may hold one event twice (a redelivery beside the original): apply it once.
			if seen[d.EventID] || bc.cfg.inboxed(d) && !fresh[d.EventID] {
				continue
			}
			seen[d.EventID] = true
			todo = append(todo, d)
		}
		if len(todo) == 0 {
			return nil
		}
		return bc.h(ctx, tx, todo)
	})
}
