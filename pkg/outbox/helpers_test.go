package outbox_test

import (
	"context"
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

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

const waitLong = 60 * time.Second

// aggregatesSet is the test's stand-in for a service's own table: the aggregate row whose lock orders its
// events, as store.UpdateTicket does.
var aggregatesSet = pgxutil.MigrationSet{Name: "aggregates", FS: fstest.MapFS{
	"00001_aggregates.sql": {Data: []byte(`-- +goose Up
CREATE TABLE aggregates (
    id  text   NOT NULL,
    seq bigint NOT NULL,
    CONSTRAINT aggregates_pkey PRIMARY KEY (id)
);
`)},
}}

// env is one test's database, NATS server and client.
type env struct {
	db  *testkit.DB
	srv *natsembed.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
}

func setup(t testing.TB) *env {
	t.Helper()
	return setupWithNATS(t, testkit.NATS(t))
}

// setupWithNATS is setup with a NATS server the caller started (and cleans up).
func setupWithNATS(t testing.TB, srv *natsembed.Server) *env {
	t.Helper()
	e := &env{
		db:  testkit.NewDB(t, "outbox_test", outbox.Migrations(), aggregatesSet),
		srv: srv,
		log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	e.nc, e.js = testkit.JetStream(t, e.srv.ClientURL(), e.log)
	return e
}

// relay runs a relay until the returned stop is called (also at cleanup); stop waits for Run to return nil.
func (e *env) relay(t testing.TB, pool *pgxpool.Pool, o outbox.RelayOptions) (r *outbox.Relay, stop func()) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = e.log
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.ClaimInterval == 0 {
		o.ClaimInterval = 50 * time.Millisecond
	}
	r = outbox.NewRelay(pool, e.js, o)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return r, stop
}

// emit commits one event for aggregate agg the way a store does: lock the aggregate row, take the next
// sequence number, add the outbox row, commit. It returns the event id.
func emit(ctx context.Context, pool *pgxpool.Pool, agg string) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	err := pgxutil.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		var seq int64
		err := tx.QueryRow(ctx, `
			INSERT INTO aggregates (id, seq) VALUES ($1, 1)
			ON CONFLICT ON CONSTRAINT aggregates_pkey DO UPDATE SET seq = aggregates.seq + 1
			RETURNING seq`, agg).Scan(&seq)
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, outbox.Message{
			EventID: id, Subject: events.Subject("thing", "changed"), AggregateID: agg, AggregateSeq: seq,
			Type: "kefu.events.v1.ThingChanged", Payload: []byte(fmt.Sprintf("%s#%d", agg, seq)),
		})
	})
	return id, err
}

func mustEmit(t testing.TB, pool *pgxpool.Pool, agg string) string {
	t.Helper()
	id, err := emit(t.Context(), pool, agg)
	require.NoError(t, err)
	return id
}

// streamed is one message read back from the stream.
type streamed struct {
	seq       uint64
	eventID   string
	aggregate string
	aggSeq    int64
}

// readStream returns every message in the stream, in stream order.
func (e *env) readStream(t testing.TB) []streamed {
	t.Helper()
	s, err := e.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	var out []streamed
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			continue // deleted
		}
		aggSeq, _ := strconv.ParseInt(m.Header.Get(events.HeaderSeq), 10, 64)
		out = append(out, streamed{
			seq: m.Sequence, eventID: m.Header.Get(events.HeaderMsgID),
			aggregate: m.Header.Get(events.HeaderAggregateID), aggSeq: aggSeq,
		})
	}
	return out
}

// requireOrderedOnce checks that the stream holds every event in want exactly once and that each
// aggregate's Kefu-Seq strictly increases in stream order. Messages not in want (noise) are ignored.
func requireOrderedOnce(t testing.TB, got []streamed, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	last := map[string]int64{}
	for _, m := range got {
		if !want[m.eventID] {
			continue
		}
		seen[m.eventID]++
		require.Greater(t, m.aggSeq, last[m.aggregate], "aggregate %s: seq %d after %d at stream seq %d", m.aggregate, m.aggSeq, last[m.aggregate], m.seq)
		last[m.aggregate] = m.aggSeq
	}
	for id := range want {
		require.Equal(t, 1, seen[id], "event %s in the stream", id)
	}
}

// streamHas reports whether the stream holds every event in want.
func (e *env) streamHas(t testing.TB, want map[string]bool) bool {
	t.Helper()
	n := 0
	for _, m := range e.readStream(t) {
		if want[m.eventID] {
			n++
		}
	}
	return n >= len(want)
}

func count(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

func unpublished(t testing.TB, pool *pgxpool.Pool) int64 {
	return count(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`)
}
