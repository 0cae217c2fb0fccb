package outbox_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/testkit"
)

// natsModes are the two JetStream durability settings whose cost docs/benchmarks.md records.
var natsModes = []struct {
	name string
	sync bool
}{
	{name: "sync=interval", sync: false},
	{name: "sync=always", sync: true},
}

func benchNATS(b *testing.B, sync bool) *natsembed.Server {
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: b.TempDir(), SyncAlways: sync})
	require.NoError(b, err)
	b.Cleanup(srv.Shutdown)
	return srv
}

// BenchmarkRelayDrain measures how fast one relay empties a backlog: each round bulk-inserts 5,000
// unpublished rows over 500 aggregates, wakes the relay and waits until all are published. The events/s
// metric must stay well above the 1,500 submits/s target.
func BenchmarkRelayDrain(b *testing.B) {
	for _, mode := range natsModes {
		b.Run(mode.name, func(b *testing.B) {
			e := setupWithNATS(b, benchNATS(b, mode.sync))
			pool := e.db.Pool
			r, _ := e.relay(b, pool, outbox.RelayOptions{})
			const rows = 5000
			var total int
			var busy time.Duration
			for b.Loop() {
				_, err := pool.Exec(b.Context(), `
					INSERT INTO outbox (event_id, subject, aggregate_id, aggregate_seq, type, payload, partition)
					SELECT gen_random_uuid(), 'kefu.thing.changed', 'agg-' || (i % 500), i, 'kefu.events.v1.ThingChanged',
					       '\x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20', (i % 500) % 16
					FROM generate_series(1, $1) AS i`, rows)
				require.NoError(b, err)
				start := time.Now()
				r.Notify()
				testkit.Eventually(b, func() bool { return unpublished(b, pool) == 0 }, time.Minute, "backlog drained")
				busy += time.Since(start)
				total += rows
			}
			b.ReportMetric(float64(total)/busy.Seconds(), "events/s")
		})
	}
}

// BenchmarkAddCommit measures transactions that each lock an aggregate row and Add one event, from 16
// concurrent writers, while the relay publishes: commits/s, and the backlog the relay had to drain after
// the writers stopped (near zero when it keeps up).
func BenchmarkAddCommit(b *testing.B) {
	for _, mode := range natsModes {
		b.Run(mode.name, func(b *testing.B) {
			e := setupWithNATS(b, benchNATS(b, mode.sync))
			pool := e.db.Pool
			r, _ := e.relay(b, pool, outbox.RelayOptions{})
			var n atomic.Int64
			b.SetParallelism(8) // 8 × GOMAXPROCS writers
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := b.Context()
				for pb.Next() {
					i := n.Add(1)
					if _, err := emit(ctx, pool, fmt.Sprintf("agg-%d", i%1000)); err != nil {
						b.Error(err)
						return
					}
					r.Notify()
				}
			})
			elapsed := time.Since(start)
			backlog := unpublished(b, pool)
			testkit.Eventually(b, func() bool { return unpublished(b, pool) == 0 }, time.Minute, "backlog drained")
			b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "commits/s")
			b.ReportMetric(float64(backlog), "backlog")
		})
	}
}
