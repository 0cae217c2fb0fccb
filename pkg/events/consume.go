package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"kefu.dev/pkg/pgxutil"
)

// Consumer defaults.
const (
	DefaultMaxDeliver    = 10
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 1000
	// DefaultDrainTimeout is how long a handler running when its consumer stops may take to finish.
	DefaultDrainTimeout = 10 * time.Second
)

// defaultBackoff is the nak delay by attempt when ConsumerConfig.Backoff is empty: the n-th failed delivery
// waits defaultBackoff[n-1], the last entry repeating.
var defaultBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}

// maxErrorText caps the handler error stored with a dead letter.
const maxErrorText = 4000

// tracerName identifies this package's spans.
const tracerName = "kefu.dev/pkg/events"

// ErrPermanent marks a handler error that no retry can fix (an undecodable body, an event the consumer can
// never apply). Wrap it (fmt.Errorf("decode: %w: %w", events.ErrPermanent, err)) and the message is parked in
// dead_letters at once instead of after MaxDeliver attempts.
var ErrPermanent = errors.New("permanent failure")

// Delivery is one event message as a handler sees it: the headers already parsed.
type Delivery struct {
	// EventID is the event's id (the Nats-Msg-Id header), a UUID.
	EventID string
	// Subject is the message subject, kefu.<aggregate>.<event>.
	Subject string
	// Type is the event's proto full name (Kefu-Type).
	Type string
	// AggregateID is the id of the aggregate the event belongs to (Kefu-Aggregate-Id).
	AggregateID string
	// Seq is the per-aggregate sequence number (Kefu-Seq); 0 when absent. A projection of an aggregate's
	// latest state ignores a Seq not above the one it stored, since a nak'ed event can arrive after later ones.
	Seq int64
	// Data is the message body, a kefu.events.v1 proto.
	Data []byte
	// Headers are all message headers, including the trace context.
	Headers nats.Header
	// NumDelivered counts deliveries of this message to the consumer, 1 on the first.
	NumDelivered uint64
	// StreamSeq is the message's sequence in the KEFU stream.
	StreamSeq uint64
}

// Handler applies one event inside tx, the transaction that also records the event id in the inbox. It must
// have no effects outside tx (it may run again if the transaction is retried or fails), and returns an error
// to roll back and have the message redelivered with backoff.
type Handler func(ctx context.Context, tx pgx.Tx, m Delivery) error

// ConsumerConfig describes a durable consumer on the KEFU stream.
type ConsumerConfig struct {
	// Durable names the consumer, <service>-<purpose> (routing-assign). It is also the inbox's consumer key.
	Durable string
	// FilterSubjects selects the events it receives (kefu.ticket.created, kefu.ticket.>). At least one.
	FilterSubjects []string
	// MaxDeliver is how many deliveries a message gets before it is parked in dead_letters; default 10. The
	// server-side consumer delivers without limit, so a message is parked by this code, never dropped by NATS.
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering; default 30 s. It must exceed the
	// slowest handler transaction.
	AckWait time.Duration
	// Backoff is the nak delay after the n-th failed delivery, the last entry repeating; default 1 s, 2 s,
	// 5 s, 10 s, 30 s, then 1 min.
	Backoff []time.Duration
	// Workers is how many messages are handled at once; default 1. Messages are assigned to workers by
	// aggregate id, so one aggregate's events are still handled one at a time, in delivery order.
	Workers int
	// MaxAckPending caps unacknowledged messages across all instances of the consumer; default 1000.
	MaxAckPending int
	// Logger receives parking and restart lines; required.
	Logger *slog.Logger
	// Propagator reads the trace context from headers; nil uses the global propagator at call time.
	Propagator propagation.TextMapPropagator
	// TracerProvider starts the consumer spans; nil uses the global provider at call time.
	TracerProvider trace.TracerProvider
	// SelfDeduplicated, when set, reports the subjects whose events the handler applies at most once by
	// itself (a projection that keeps each aggregate's applied sequences, so a redelivery or a republished
	// copy finds its sequence there). Those events get no inbox row, which saves a write per event; every
	// other event is deduplicated by the inbox as usual.
	SelfDeduplicated func(subject string) bool
	// AfterCommit, when set, is called after each transaction that applied events committed (before the
	// acks): the place to wake work that reads what the handler wrote, such as a publisher or a sender.
	AfterCommit func()
	// DrainTimeout is how long handlers already running when the consumer's context ends may take to
	// commit and ack; messages not yet started are handed back at once. Zero takes the context's drain
	// timeout (WithDrainTimeout), else DefaultDrainTimeout.
	DrainTimeout time.Duration
	// ReplayPoll is how often the consumer looks for dead letters an operator asked to replay
	// (RequestReplay); default 5 s.
	ReplayPoll time.Duration
}

// inboxed reports whether d's effect is guarded by an inbox row.
func (c ConsumerConfig) inboxed(d Delivery) bool {
	return c.SelfDeduplicated == nil || !c.SelfDeduplicated(d.Subject)
}

func (c ConsumerConfig) withDefaults() (ConsumerConfig, error) {
	switch {
	case c.Durable == "":
		return c, errors.New("consumer: Durable is required")
	case len(c.FilterSubjects) == 0:
		return c, fmt.Errorf("consumer %s: at least one filter subject is required", c.Durable)
	case c.Logger == nil:
		return c, fmt.Errorf("consumer %s: Logger is required", c.Durable)
	case c.MaxDeliver < 0, c.AckWait < 0, c.Workers < 0, c.MaxAckPending < 0, c.DrainTimeout < 0, c.ReplayPoll < 0:
		return c, fmt.Errorf("consumer %s: negative limit", c.Durable)
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if len(c.Backoff) == 0 {
		c.Backoff = defaultBackoff
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.ReplayPoll == 0 {
		c.ReplayPoll = DefaultReplayPoll
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	c.Propagator = propagator(c.Propagator)
	c.Logger = c.Logger.With("consumer", c.Durable)
	return c, nil
}

// Consume runs the durable pull consumer c on the KEFU stream until ctx is done, then returns nil. It
// creates or updates the consumer (explicit ack, deliver all) and, for each message, in one transaction:
// inserts (consumer, event id) into the inbox, skips h if the row was already there, otherwise runs h; then
// commits and acks. An effect is therefore applied once however often JetStream delivers the message.
//
// A failed message is nak'ed with backoff by delivery count; on its MaxDeliver-th delivery (or at once for
// ErrPermanent or a missing event id) it is written to dead_letters, logged, and terminated. If that write
// fails too, the message is nak'ed and retried: it is never dropped. While NATS or Postgres is unavailable
// Consume keeps retrying; only an invalid configuration returns an error.
func Consume(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, c ConsumerConfig, h Handler) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	cs := &consumer{cfg: c, pool: pool, h: h, tracer: c.TracerProvider.Tracer(tracerName)}
	defer cs.replayRequested(ctx)()
	return keepRunning(ctx, c.Logger, func(ctx context.Context) (bool, error) { return cs.run(ctx, js) })
}

// keepRunning runs run again after each interruption, with a backoff that resets once messages flowed,
// until ctx is done (then it returns nil).
func keepRunning(ctx context.Context, log *slog.Logger, run func(ctx context.Context) (received bool, err error)) error {
	for attempt := 0; ; {
		received, err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if received {
			attempt = 0
		}
		attempt++
		d := retryDelay(attempt)
		log.WarnContext(ctx, "event consumer interrupted; restarting", "err", err, "attempt", attempt, "retry_in", d)
		if !sleepCtx(ctx, d) {
			return nil
		}
	}
}

// jetStreamConfig is the durable consumer's server-side configuration: explicit acks, from the start of
// the stream. MaxDeliver is unlimited on the server: parking after MaxDeliver is done here, so a message
// whose handler crashed on its last attempt is still delivered once more and parked, not silently
// abandoned.
func (c ConsumerConfig) jetStreamConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        c.Durable,
		FilterSubjects: c.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckWait:        c.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  c.MaxAckPending,
	}
}

type consumer struct {
	cfg    ConsumerConfig
	pool   *pgxpool.Pool
	h      Handler
	tracer trace.Tracer
}

// run creates the consumer and handles messages until ctx is done (nil) or the subscription fails. received
// reports whether any message arrived, so the caller can reset its restart backoff.
func (cs *consumer) run(ctx context.Context, js jetstream.JetStream) (received bool, err error) {
	c := cs.cfg
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamName, c.jetStreamConfig())
	if err != nil {
		return false, fmt.Errorf("create consumer %s: %w", c.Durable, err)
	}
	// A modest client buffer: buffered messages are already delivered, so their AckWait is running.
	it, err := cons.Messages(jetstream.PullMaxMessages(64 * c.Workers))
	if err != nil {
		return false, fmt.Errorf("subscribe consumer %s: %w", c.Durable, err)
	}
	defer it.Stop()

	// Handlers run under hctx, which outlives ctx by the drain timeout: a message being handled when the
	// consumer stops is committed and acked rather than rolled back and redelivered. (Deferred first, so
	// it ends after the workers below have finished.)
	hctx, stopHandlers := drainContext(ctx, drainTimeout(ctx, c.DrainTimeout))
	defer stopHandlers()
	handle := func(m jetstream.Msg) {
		if ctx.Err() != nil {
			_ = m.Nak() // stopping: not started, so hand it back for another instance to take now
			return
		}
		cs.handle(hctx, m)
	}
	if c.Workers > 1 {
		queues := make([]chan jetstream.Msg, c.Workers)
		var wg sync.WaitGroup
		for i := range queues {
			q := make(chan jetstream.Msg, 1)
			queues[i] = q
			one := handle
			wg.Go(func() {
				for m := range q {
					one(m)
				}
			})
		}
		defer func() {
			for _, q := range queues {
				close(q)
			}
			wg.Wait()
		}()
		handle = func(m jetstream.Msg) {
			select {
			case queues[shardOf(m.Headers().Get(HeaderAggregateID), m.Subject(), len(queues))] <- m:
			case <-ctx.Done():
				_ = m.Nak() // shutting down: let another instance take it now
			}
		}
	}

	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				handBack(it)
				return received, nil
			}
			return received, fmt.Errorf("next message on %s: %w", c.Durable, err)
		}
		received = true
		handle(m)
	}
}

// shardOf is the worker (of n) that handles an aggregate's events, so that they are applied one at a time,
// in order; events without an aggregate id are spread by subject.
func shardOf(aggregateID, subject string, n int) int {
	key := aggregateID
	if key == "" {
		key = subject
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	return int(f.Sum32() % uint32(n))
}

// handBack stops the pull and naks the messages the client had buffered but not handed out: they are
// delivered already, so left alone they would wait out AckWait (30 s) before another replica got them.
func handBack(it jetstream.MessagesContext) {
	it.Drain()
	for {
		nctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			return // jetstream.ErrMsgIteratorClosed once the buffer is empty
		}
		_ = m.Nak()
	}
}

// handle applies one message effectively once and settles it with the server.
func (cs *consumer) handle(ctx context.Context, m jetstream.Msg) {
	c := cs.cfg
	d := delivery(m)
	ctx = ExtractTrace(ctx, c.Propagator, d.Headers)
	ctx, span := cs.tracer.Start(ctx, "process "+d.Subject,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", d.Subject),
			attribute.String("messaging.consumer.group.name", c.Durable),
			attribute.String("messaging.message.id", d.EventID),
			attribute.Int64("messaging.nats.delivery_count", int64(d.NumDelivered)),
		))
	defer span.End()

	err := cs.apply(ctx, d)
	if err == nil {
		if c.AfterCommit != nil {
			c.AfterCommit()
		}
		// A lost ack means one more delivery, which the inbox turns into a no-op; no need to wait for the
		// server's confirmation (DoubleAck) on the hot path.
		if aerr := m.Ack(); aerr != nil {
			c.Logger.WarnContext(ctx, "ack event", "event_id", d.EventID, "err", aerr)
		}
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "handler failed")
	if ctx.Err() != nil {
		// Stopping and the drain time is over: hand the message back at once so another instance takes it.
		_ = m.Nak()
		return
	}
	if errors.Is(err, ErrPermanent) || errors.Is(err, errNoEventID) || d.NumDelivered >= uint64(c.MaxDeliver) {
		cs.park(ctx, m, d, err)
		return
	}
	delay := c.Backoff[min(max(int(d.NumDelivered), 1), len(c.Backoff))-1]
	c.Logger.InfoContext(ctx, "event handler failed; will retry", "event_id", d.EventID, "subject", d.Subject,
		"num_delivered", d.NumDelivered, "retry_in", delay, "err", err)
	if nerr := m.NakWithDelay(delay); nerr != nil {
		c.Logger.WarnContext(ctx, "nak event", "event_id", d.EventID, "err", nerr)
	}
}

// errNoEventID means the message cannot be deduplicated, so it must not be applied.
var errNoEventID = errors.New("message has no valid Nats-Msg-Id event id")

// apply runs the inbox insert and the handler in one transaction.
func (cs *consumer) apply(ctx context.Context, d Delivery) error {
	if _, err := uuid.Parse(d.EventID); err != nil {
		return errNoEventID
	}
	return pgxutil.InTx(ctx, cs.pool, func(ctx context.Context, tx pgx.Tx) error { return cs.applyIn(ctx, tx, d) })
}

// applyIn records d in the inbox and runs the handler in tx, or does nothing if the inbox has it already.
func (cs *consumer) applyIn(ctx context.Context, tx pgx.Tx, d Delivery) error {
	if !cs.cfg.inboxed(d) {
		return cs.h(ctx, tx, d)
	}
	tag, err := tx.Exec(ctx,
		`INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT ON CONSTRAINT inbox_pkey DO NOTHING`,
		cs.cfg.Durable, d.EventID)
	if err != nil {
		return fmt.Errorf("record event %s in inbox: %w", d.EventID, err)
	}
	if tag.RowsAffected() == 0 {
		return nil // applied before: a redelivery
	}
	return cs.h(ctx, tx, d)
}

// park writes the message to dead_letters and terminates it; if the write fails the message is nak'ed so
// it comes back, because dropping it would lose the event.
func (cs *consumer) park(ctx context.Context, m jetstream.Msg, d Delivery, cause error) {
	c := cs.cfg
	text := cause.Error()
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
	headers := d.Headers
	if headers == nil {
		headers = nats.Header{}
	}
	hj, err := json.Marshal(headers)
	if err == nil {
		data := d.Data
		if data == nil {
			data = []byte{}
		}
		_, err = cs.pool.Exec(ctx, `
			INSERT INTO dead_letters (consumer, event_id, stream_seq, subject, headers, data, num_delivered, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT ON CONSTRAINT dead_letters_consumer_stream_seq_key DO UPDATE
			SET num_delivered = EXCLUDED.num_delivered, error = EXCLUDED.error, failed_at = now(),
				replay_requested_at = NULL, replayed_at = NULL`,
			c.Durable, d.EventID, int64(d.StreamSeq), d.Subject, hj, data, int64(d.NumDelivered), text)
	}
	if err != nil {
		delay := c.Backoff[len(c.Backoff)-1]
		c.Logger.ErrorContext(ctx, "park event in dead letters failed; will retry", "event_id", d.EventID,
			"subject", d.Subject, "num_delivered", d.NumDelivered, "retry_in", delay, "err", err, "cause", cause)
		if nerr := m.NakWithDelay(delay); nerr != nil {
			c.Logger.WarnContext(ctx, "nak event", "event_id", d.EventID, "err", nerr)
		}
		return
	}
	c.Logger.ErrorContext(ctx, "event parked in dead letters", "event_id", d.EventID, "subject", d.Subject,
		"stream_seq", d.StreamSeq, "num_delivered", d.NumDelivered, "err", cause)
	if terr := m.TermWithReason("parked in dead_letters"); terr != nil {
		c.Logger.WarnContext(ctx, "terminate parked event", "event_id", d.EventID, "err", terr)
	}
}

// delivery reads a message's headers and metadata into a Delivery.
func delivery(m jetstream.Msg) Delivery {
	d := deliveryOf(m.Subject(), m.Headers(), m.Data())
	if md, err := m.Metadata(); err == nil {
		d.NumDelivered = md.NumDelivered
		d.StreamSeq = md.Sequence.Stream
	}
	return d
}

// deliveryOf reads a message's subject, headers and body (from the stream, or a dead letter) into a
// Delivery without its delivery metadata.
func deliveryOf(subject string, h nats.Header, data []byte) Delivery {
	d := Delivery{
		EventID:     h.Get(HeaderMsgID),
		Subject:     subject,
		Type:        h.Get(HeaderType),
		AggregateID: h.Get(HeaderAggregateID),
		Data:        data,
		Headers:     h,
	}
	// The id is a UUID wherever it is kept (the inbox column is uuid, which answers in canonical form), so
	// it is written the canonical way here: an id spelt otherwise (capitals, braces) is still one event
	// to every map and comparison that keys on the string.
	if id, err := uuid.Parse(d.EventID); err == nil {
		d.EventID = id.String()
	}
	if s := h.Get(HeaderSeq); s != "" {
		d.Seq, _ = strconv.ParseInt(s, 10, 64)
	}
	return d
}

// retryDelay is a capped exponential backoff for restarting after infrastructure errors: 250 ms doubling to 10 s.
func retryDelay(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt-1, 6)
	return min(d, 10*time.Second)
}

// sleepCtx waits d or until ctx is done, reporting whether the full wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
