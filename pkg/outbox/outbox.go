// Package outbox stores events in the caller's Postgres transaction and relays them to NATS JetStream after
// commit, so a change and its event are never split (no dual write), and each aggregate's events reach the
// stream once, in order.
//
// Add (or Queue, for batched writers) inserts the rows; after commit the writer calls Relay.Notify, which
// wakes the local relay and, coalesced, the other replicas' relays (NOTIFY). The outbox is split into a fixed
// number of partitions, recorded in the outbox_settings table, by a hash of the aggregate id; each partition
// has one active publisher across replicas, guarded by a session-level Postgres advisory lock, so a
// partition's rows are published in id order, which within an aggregate is its sequence order. Published
// rows are kept for a replay window, which lets the relay repair a stream that lost acknowledged writes
// and lets an operator re-publish from a given time.
package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the "outbox" migration set (tables outbox and outbox_settings, 16 partitions). A
// publishing service lists it next to its own set; the tables land in the service's schema.
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// The embedded folder is fixed at build time; a missing one is a build defect.
		panic("outbox: embedded migrations missing: " + err.Error())
	}
	return pgxutil.MigrationSet{Name: "outbox", FS: sub}
}

// MaxPayload caps an event body. NATS refuses messages above its max_payload (1 MiB by default, headers
// included), and a row the stream refuses would stop its partition, so Add rejects it up front.
const MaxPayload = 900 << 10

// channelSQL is the NOTIFY channel of the outbox in the session's schema: every service's outbox lives in
// its own schema of possibly one shared database, and each relay wants only its own.
const channelSQL = `'kefu_outbox_' || current_schema()`

// Message is one event to publish.
type Message struct {
	// EventID is the event's UUIDv7; it becomes Nats-Msg-Id, so JetStream and consumers dedupe on it.
	EventID string
	// Subject is kefu.<aggregate>.<event>; it must belong to the relay's stream.
	Subject string
	// AggregateID identifies the aggregate; it picks the partition, so one aggregate's events keep their order.
	AggregateID string
	// AggregateSeq is the event's per-aggregate sequence number (Kefu-Seq), increasing in commit order.
	AggregateSeq int64
	// Type is the event's proto full name (Kefu-Type).
	Type string
	// Payload is the encoded event proto.
	Payload []byte
	// Headers are extra message headers. The relay sets Nats-Msg-Id, Kefu-Type, Kefu-Aggregate-Id and
	// Kefu-Seq itself, over any value given here.
	Headers map[string]string
}

// addSQL returns the statement that inserts n messages in one round trip (the hot path of every submit).
// It sends no NOTIFY: Postgres serialises the commits of every transaction that notified (they queue for
// one database-wide lock held across the commit's WAL flush), which measured 1,300 instead of 1,900
// submits/s at 32 callers. The relay announces local commits to other replicas instead (see Relay.Notify).
// The partition is computed here, from the count recorded in outbox_settings, so every writer agrees
// without configuration; hashtextextended is the hash Postgres keeps stable for hash partitioning.
//
// Postgres must be able to plan it once per connection and then reuse the plan: the messages are one
// VALUES row each (one statement per message count), and the partition count is read by a scalar subquery
// (one InitPlan). An earlier version passed one array per column through unnest and joined
// outbox_settings: both give row estimates (unnest's default, the never-analysed settings table's 2,630)
// under which the custom plan, with the aggregate's hash folded to a constant, always looked cheaper than
// the generic one, so the plan cache never settled and Postgres planned the insert on every submit. ORDER
// BY ord assigns ids in argument order, which is the order of several events of one aggregate in one call.
func addSQL(n int) string {
	if n <= len(addSQLs) {
		return addSQLs[n-1]
	}
	return buildAddSQL(n)
}

// addSQLs holds the statements for the common message counts, built once.
var addSQLs = func() []string {
	s := make([]string, 8)
	for i := range s {
		s[i] = buildAddSQL(i + 1)
	}
	return s
}()

// addColumns is how many parameters one message takes in addSQL, and maxPerStatement how many messages
// one statement carries: Postgres takes at most 65,535 parameters, so larger calls are split into several
// statements, in order (ids keep increasing across them: they run one after another in one transaction).
const (
	addColumns      = 7
	maxPerStatement = 1000
)

func buildAddSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO outbox (event_id, subject, aggregate_id, aggregate_seq, type, headers, payload, partition)
	SELECT m.event_id, m.subject, m.aggregate_id, m.aggregate_seq, m.type, m.headers, m.payload,
	       ((hashtextextended(m.aggregate_id, 0) % s.n) + s.n) % s.n
	FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		p := i * addColumns
		fmt.Fprintf(&b, "($%d::uuid, $%d::text, $%d::text, $%d::bigint, $%d::text, $%d::text::jsonb, $%d::bytea, %d)",
			p+1, p+2, p+3, p+4, p+5, p+6, p+7, i+1)
	}
	b.WriteString(`) AS m(event_id, subject, aggregate_id, aggregate_seq, type, headers, payload, ord)
	CROSS JOIN (SELECT (SELECT partitions FROM outbox_settings) AS n OFFSET 0) AS s
	ORDER BY m.ord`)
	return b.String()
}

// Add writes msgs to the outbox inside tx, the transaction of the change that caused them, with ctx's W3C
// trace context added to their headers. Nothing is published unless tx commits; after commit, call the
// local relay's Notify, which publishes at once from this process and wakes the other replicas' relays.
// Without a Notify the relays still find the rows within their poll interval.
//
// Several events of one aggregate must be passed in their sequence order, and concurrent writers of one
// aggregate must serialise on the aggregate's row lock, so that id order is sequence order.
func Add(ctx context.Context, tx pgx.Tx, msgs ...Message) error {
	args, err := addArgs(ctx, msgs)
	if err != nil {
		return err
	}
	for from := 0; from < len(msgs); from += maxPerStatement {
		n := min(maxPerStatement, len(msgs)-from)
		if _, err := tx.Exec(ctx, addSQL(n), args[from*addColumns:(from+n)*addColumns]...); err != nil {
			return fmt.Errorf("insert %d outbox rows: %w", n, err)
		}
	}
	return nil
}

// Queue is Add for a caller that sends its transaction's statements as one pgx batch (BEGIN ... COMMIT in
// a single round trip): it queues the insert into b instead of executing it. The same rules as Add apply;
// the insert's error, if any, comes back when the batch is read.
func Queue(ctx context.Context, b *pgx.Batch, msgs ...Message) error {
	args, err := addArgs(ctx, msgs)
	if err != nil {
		return err
	}
	for from := 0; from < len(msgs); from += maxPerStatement {
		n := min(maxPerStatement, len(msgs)-from)
		b.Queue(addSQL(n), args[from*addColumns:(from+n)*addColumns]...)
	}
	return nil
}

// addArgs validates msgs and returns addSQL's arguments, with ctx's trace context in every message's headers.
// Event ids go as binary uuids (pgtype.UUID), whatever type map the caller's connection has.
func addArgs(ctx context.Context, msgs []Message) ([]any, error) {
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)

	args := make([]any, 0, len(msgs)*addColumns)
	for i, m := range msgs {
		id, err := m.validate()
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", i, err)
		}
		h := make(map[string]string, len(m.Headers)+len(trace))
		for k, v := range m.Headers {
			h[k] = v
		}
		for k, v := range trace {
			h[k] = v
		}
		hj, err := json.Marshal(h)
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: encode headers: %w", i, err)
		}
		payload := m.Payload
		if payload == nil {
			payload = []byte{}
		}
		args = append(args, pgtype.UUID{Bytes: id, Valid: true}, m.Subject, m.AggregateID, m.AggregateSeq, m.Type,
			string(hj), payload)
	}
	return args, nil
}

// validate checks m and returns its parsed event id.
func (m Message) validate() (uuid.UUID, error) {
	id, err := uuid.Parse(m.EventID)
	if err != nil {
		return uuid.Nil, fmt.Errorf("event id %q is not a UUID", m.EventID)
	}
	switch {
	case m.Subject == "" || strings.ContainsAny(m.Subject, " \t\r\n*>"):
		return uuid.Nil, fmt.Errorf("event %s: subject %q is not a literal NATS subject", m.EventID, m.Subject)
	case m.AggregateID == "":
		return uuid.Nil, fmt.Errorf("event %s: aggregate id is empty", m.EventID)
	case m.Type == "":
		return uuid.Nil, fmt.Errorf("event %s: type is empty", m.EventID)
	case m.AggregateSeq < 0:
		return uuid.Nil, fmt.Errorf("event %s: negative aggregate seq", m.EventID)
	case len(m.Payload) > MaxPayload:
		return uuid.Nil, fmt.Errorf("event %s: payload of %d bytes exceeds %d", m.EventID, len(m.Payload), MaxPayload)
	}
	return id, nil
}
