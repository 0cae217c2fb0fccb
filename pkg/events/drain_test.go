package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
)

// TestStoppingConsumersFinishTheEventInHand stops each kind of consumer while its handler is in the middle
// of an event, then lets the handler go on. Within the drain timeout the effect is committed and acked
// (nothing left pending on the server); past it (a drain of 1 ns) the handler's transaction is cancelled,
// nothing is applied and the message goes back for redelivery.
func TestStoppingConsumersFinishTheEventInHand(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"single", "workers", "batches"} {
		for _, drain := range []time.Duration{events.DefaultDrainTimeout, time.Nanosecond} {
			t.Run(fmt.Sprintf("%s/drain %s", kind, drain), func(t *testing.T) {
				t.Parallel()
				e := setup(t)
				durable := "test-drain-" + kind
				e.publish(t, uuid.NewString(), "agg", 1, nil)

				started, release := make(chan struct{}), make(chan struct{})
				hold := func(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
					if err := countEffect(ctx, tx, d); err != nil {
						return err
					}
					close(started)
					select {
					case <-release:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				cfg := events.ConsumerConfig{Durable: durable, FilterSubjects: []string{"kefu.thing.>"}, DrainTimeout: drain}
				var stop func()
				switch kind {
				case "single":
					stop = e.consume(t, cfg, hold)
				case "workers":
					cfg.Workers = 3
					stop = e.consume(t, cfg, hold)
				case "batches":
					stop = e.consumeBatches(t, events.BatchConfig{ConsumerConfig: cfg},
						func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
							require.Len(t, ds, 1)
							return hold(ctx, tx, ds[0])
						})
				}
				select {
				case <-started:
				case <-time.After(waitLong):
					t.Fatal("the handler never started")
				}
				stopped := make(chan struct{})
				go func() { stop(); close(stopped) }()
				time.Sleep(100 * time.Millisecond) // the consumer's context has ended; the handler still holds
				close(release)
				<-stopped

				applied := scalar[int64](t, e.pool, `SELECT count(*) FROM applied`)
				cons, err := e.js.Consumer(t.Context(), events.StreamName, durable)
				require.NoError(t, err)
				if drain == time.Nanosecond {
					require.Zero(t, applied, "a handler past the drain timeout is rolled back")
					info, err := cons.Info(t.Context())
					require.NoError(t, err)
					require.Equal(t, uint64(1), uint64(info.NumAckPending)+info.NumPending, "the message waits for redelivery")
					return
				}
				require.Equal(t, int64(1), applied, "the event in hand is applied")
				testkit.Eventually(t, func() bool {
					info, err := cons.Info(t.Context())
					require.NoError(t, err)
					return info.NumAckPending == 0 && info.NumPending == 0 && info.AckFloor.Consumer == 1
				}, waitLong, "the event in hand is acked")
			})
		}
	}
}

// TestStoppingConsumerHandsBackItsBuffer: a consumer holds up to 64 messages per worker in its client
// buffer, delivered but not started. When it stops they are nak'ed, so another instance takes them at
// once instead of after AckWait (here a minute, longer than the test waits).
func TestStoppingConsumerHandsBackItsBuffer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 200 {
		e.publish(t, uuid.NewString(), fmt.Sprintf("agg-%d", i), 1, nil)
	}
	cfg := events.ConsumerConfig{Durable: "test-hand-back", FilterSubjects: []string{"kefu.thing.>"}, AckWait: time.Minute}
	slow := func(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
		time.Sleep(20 * time.Millisecond)
		return countEffect(ctx, tx, d)
	}
	stop := e.consume(t, cfg, slow)
	testkit.Eventually(t, func() bool { return scalar[int64](t, e.pool, `SELECT count(*) FROM applied`) >= 5 }, waitLong, "the first consumer applies some")
	stop()
	e.consume(t, cfg, countEffect)
	testkit.Eventually(t, func() bool { return scalar[int64](t, e.pool, `SELECT count(*) FROM applied`) == 200 },
		20*time.Second, "the second consumer applies the rest well before the first one's AckWait")
}
