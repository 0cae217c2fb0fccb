package events_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
)

// TestDeadLettersReplayThroughTheRunningConsumer, for both consumers: an event parked because its handler
// failed is, on request, fed back through the running consumer. While the handler still fails it stays
// parked with the try counted; once the handler is fixed the replay applies it, once, and records when;
// a replay forced again finds it in the inbox and changes nothing.
func TestDeadLettersReplayThroughTheRunningConsumer(t *testing.T) {
	t.Parallel()
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "one", true: "batch"}[batch]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := t.Context()
			durable := "test-replay-" + name
			var fixed atomic.Bool
			h := func(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
				if d.AggregateID == "bad" && !fixed.Load() {
					return fmt.Errorf("cannot apply yet: %w", events.ErrPermanent)
				}
				return countEffect(ctx, tx, d)
			}
			cfg := events.ConsumerConfig{Durable: durable, FilterSubjects: []string{"kefu.thing.>"},
				Backoff: []time.Duration{time.Millisecond}, ReplayPoll: 50 * time.Millisecond}
			if batch {
				e.consumeBatches(t, events.BatchConfig{ConsumerConfig: cfg}, func(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
					for _, d := range ds {
						if err := h(ctx, tx, d); err != nil {
							return err
						}
					}
					return nil
				})
			} else {
				e.consume(t, cfg, h)
			}
			e.publish(t, uuid.NewString(), "bad", 1, nil)
			e.publish(t, uuid.NewString(), "good", 1, nil)
			testkit.Eventually(t, func() bool {
				return scalar[int64](t, e.pool, `SELECT count(*) FROM dead_letters WHERE consumer = $1`, durable) == 1 &&
					scalar[int64](t, e.pool, `SELECT count(*) FROM effects WHERE aggregate_id = 'good'`) == 1
			}, waitLong, "the failing event is parked, the other applied")
			badEffects := func() int64 {
				return scalar[int64](t, e.pool, `SELECT coalesce(sum(n), 0) FROM effects WHERE aggregate_id = 'bad'`)
			}
			only := func(all bool) events.DeadLetter {
				t.Helper()
				ls, err := events.ListDeadLetters(ctx, e.pool, durable, all)
				require.NoError(t, err)
				require.Len(t, ls, 1)
				return ls[0]
			}

			parkedCount := func() int64 {
				t.Helper()
				n, err := events.ParkedCount(ctx, e.pool)
				require.NoError(t, err)
				return n
			}
			require.Equal(t, int64(1), parkedCount())
			n, err := events.RequestReplay(ctx, e.pool, durable, nil)
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			testkit.Eventually(t, func() bool { d := only(true); return d.Replays == 1 && !d.ReplayRequested }, waitLong,
				"the replay is tried")
			d := only(false)
			require.Nil(t, d.ReplayedAt, "failed again: still parked")
			require.Contains(t, d.Error, "cannot apply yet")
			require.Equal(t, int64(1), parkedCount(), "a failed replay still counts")
			require.Equal(t, int64(0), badEffects())

			fixed.Store(true)
			n, err = events.RequestReplay(ctx, e.pool, durable, []int64{d.ID})
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			testkit.Eventually(t, func() bool { return only(true).ReplayedAt != nil }, waitLong, "the replay applies it")
			require.Equal(t, int64(1), badEffects())
			require.Equal(t, 2, only(true).Replays)
			parked, err := events.ListDeadLetters(ctx, e.pool, durable, false)
			require.NoError(t, err)
			require.Empty(t, parked, "a replayed event is no longer parked")
			require.Equal(t, int64(0), parkedCount(), "nor counted by the gauge")
			n, err = events.RequestReplay(ctx, e.pool, durable, nil)
			require.NoError(t, err)
			require.Equal(t, int64(0), n, "nothing parked is left to replay")

			_, err = e.pool.Exec(ctx, `UPDATE dead_letters SET replay_requested_at = now() WHERE consumer = $1`, durable)
			require.NoError(t, err)
			testkit.Eventually(t, func() bool { return only(true).Replays == 3 }, waitLong, "the forced replay is tried")
			require.Equal(t, int64(1), badEffects(), "the inbox keeps a forced replay from applying it twice")
		})
	}
}

// TestRequestReplayNeedsAConsumer: a replay names the consumer whose handler is to apply the events.
func TestRequestReplayNeedsAConsumer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, err := events.RequestReplay(t.Context(), e.pool, "", nil)
	require.ErrorContains(t, err, "a consumer is required")
}
