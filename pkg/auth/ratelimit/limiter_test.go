package ratelimit_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// service names the test databases' schema and roles.
const service = "ratelimit_test"

func newDB(t *testing.T) *testkit.DB {
	t.Helper()
	return testkit.NewDB(t, service, ratelimit.Migrations())
}

// newLimiter returns a limiter (a replica) on db that tells the time by clk.
func newLimiter(db *testkit.DB, clk *clock.Fake, o ratelimit.Options) *ratelimit.Limiter {
	o.Now = clk.Now
	return ratelimit.New(db.Pool, o)
}

// allowN calls l.Allow n times and returns how many were allowed.
func allowN(t *testing.T, l *ratelimit.Limiter, key string, lim auth.Limit, n int) int {
	t.Helper()
	allowed := 0
	for range n {
		ok, _, err := l.Allow(t.Context(), key, lim)
		require.NoError(t, err)
		if ok {
			allowed++
		}
	}
	return allowed
}

// requireDenied calls l.Allow once and requires a refusal that asks to wait retry (to the millisecond).
func requireDenied(t *testing.T, l *ratelimit.Limiter, key string, lim auth.Limit, retry time.Duration) {
	t.Helper()
	ok, got, err := l.Allow(t.Context(), key, lim)
	require.NoError(t, err)
	require.False(t, ok, "over the limit")
	require.InDelta(t, float64(retry), float64(got), float64(time.Millisecond), "retry after %v, want %v", got, retry)
	require.GreaterOrEqual(t, got, time.Millisecond)
}

// storedTokens reads key's bucket behind the limiter's back.
func storedTokens(t *testing.T, db *testkit.DB, key string) float64 {
	t.Helper()
	var tokens float64
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT tokens FROM rate_buckets WHERE bucket_key = $1`, key).Scan(&tokens))
	return tokens
}

// bound is what a bucket can ever grant over elapsed: the burst plus the whole tokens accrued.
func bound(lim auth.Limit, elapsed time.Duration) int {
	return lim.Burst + int(math.Floor(lim.Rate*elapsed.Seconds()+1e-9))
}

func TestBurstThenOneTokenPerInterval(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		name string
		lim  auth.Limit
	}{
		{name: "one token a lease", lim: auth.Limit{Rate: 10, Burst: 5}},
		{name: "leases of ten tokens", lim: auth.Limit{Rate: 100, Burst: 30}},
		{name: "a lease as big as the burst", lim: auth.Limit{Rate: 1000, Burst: 20}},
		{name: "a token every two seconds", lim: auth.Limit{Rate: 0.5, Burst: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(t0)
			l := newLimiter(db, clk, ratelimit.Options{})
			interval := time.Duration(float64(time.Second) / tc.lim.Rate)

			require.Equal(t, tc.lim.Burst, allowN(t, l, tc.name, tc.lim, tc.lim.Burst), "the whole burst passes")
			requireDenied(t, l, tc.name, tc.lim, interval)

			clk.Advance(interval)
			require.Equal(t, 1, allowN(t, l, tc.name, tc.lim, 1), "one token has come")
			requireDenied(t, l, tc.name, tc.lim, interval)
		})
	}
}

// TestLeasesSaveTrips counts trips to Postgres: a fresh lease only when the last one is spent, of the size
// the rule (or the override, kept between 1 and the burst) says. The bucket row shows what was leased.
func TestLeasesSaveTrips(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		name      string
		lim       auth.Limit
		lease     func(auth.Limit) int
		calls     int
		wantTrips int64
		wantRow   float64 // tokens left in Postgres afterwards
	}{
		{name: "a tenth of a second's worth by default", lim: auth.Limit{Rate: 1000, Burst: 2000}, calls: 1000, wantTrips: 10, wantRow: 1000},
		{name: "a lease is at least one token", lim: auth.Limit{Rate: 5, Burst: 10}, calls: 10, wantTrips: 10, wantRow: 0},
		{name: "a lease is at most the burst", lim: auth.Limit{Rate: 1e6, Burst: 50}, calls: 50, wantTrips: 1, wantRow: 0},
		{
			name: "an override sets the size", lim: auth.Limit{Rate: 1000, Burst: 2000},
			lease: func(auth.Limit) int { return 7 }, calls: 1000, wantTrips: 143, wantRow: 2000 - 143*7,
		},
		{
			name: "an override of zero still takes one", lim: auth.Limit{Rate: 1000, Burst: 2000},
			lease: func(auth.Limit) int { return 0 }, calls: 20, wantTrips: 20, wantRow: 1980,
		},
		{
			name: "an override is capped at the burst", lim: auth.Limit{Rate: 1000, Burst: 40},
			lease: func(auth.Limit) int { return 500 }, calls: 40, wantTrips: 1, wantRow: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(db, clock.NewFake(t0), ratelimit.Options{Lease: tc.lease})
			require.Equal(t, tc.calls, allowN(t, l, tc.name, tc.lim, tc.calls))
			require.Equal(t, tc.wantTrips, l.Trips())
			require.InDelta(t, tc.wantRow, storedTokens(t, db, tc.name), 1e-9)
		})
	}
}

// TestRefusalsAreAnsweredLocally floods an exhausted key: one trip learns when the next token is due, and
// until then every call is refused without asking Postgres, with the remaining wait.
func TestRefusalsAreAnsweredLocally(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	clk := clock.NewFake(t0)
	l := newLimiter(db, clk, ratelimit.Options{})
	lim := auth.Limit{Rate: 1, Burst: 3}

	require.Equal(t, 3, allowN(t, l, "k", lim, 3))
	require.EqualValues(t, 3, l.Trips())
	for range 1000 {
		requireDenied(t, l, "k", lim, time.Second)
	}
	require.EqualValues(t, 4, l.Trips(), "one trip for the first refusal only")

	clk.Advance(400 * time.Millisecond)
	for range 100 {
		requireDenied(t, l, "k", lim, 600*time.Millisecond)
	}
	require.EqualValues(t, 4, l.Trips())

	clk.Advance(600 * time.Millisecond)
	require.Equal(t, 1, allowN(t, l, "k", lim, 1))
	requireDenied(t, l, "k", lim, time.Second)
	require.EqualValues(t, 6, l.Trips())
}

// TestReplicasShareTheBucket runs two limiters (two replicas) on one key through simulated time, each
// calling more often than the rate allows. Together they never exceed the bucket, and they lose at most
// what each may hold unspent.
func TestReplicasShareTheBucket(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		name  string
		lim   auth.Limit
		lease int // the default rule's lease for lim
		step  time.Duration
		steps int
		calls int // per replica per step
	}{
		{name: "leases of twenty", lim: auth.Limit{Rate: 200, Burst: 50}, lease: 20, step: 3 * time.Millisecond, steps: 500, calls: 2},
		{name: "leases of one", lim: auth.Limit{Rate: 5, Burst: 5}, lease: 1, step: 50 * time.Millisecond, steps: 200, calls: 1},
		{name: "leases as big as the burst", lim: auth.Limit{Rate: 1000, Burst: 30}, lease: 30, step: time.Millisecond, steps: 300, calls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(t0)
			a := newLimiter(db, clk, ratelimit.Options{})
			b := newLimiter(db, clk, ratelimit.Options{})
			allowed := 0
			for range tc.steps {
				allowed += allowN(t, a, tc.name, tc.lim, tc.calls)
				allowed += allowN(t, b, tc.name, tc.lim, tc.calls)
				clk.Advance(tc.step)
			}
			most := bound(tc.lim, time.Duration(tc.steps-1)*tc.step) // the last advance comes after the last call
			require.LessOrEqual(t, allowed, most)
			require.GreaterOrEqual(t, allowed, most-2*tc.lease)
			require.Positive(t, a.Trips())
			require.Positive(t, b.Trips())
		})
	}
}

// TestConcurrentCallersStayWithinTheBound runs 50 goroutines of 20 calls on one key, over one or two
// replicas, with the clock still or moving under them. One replica's callers share trips: a lease is
// asked for only when the last one is spent.
func TestConcurrentCallersStayWithinTheBound(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	const goroutines, calls = 50, 20
	lim := auth.Limit{Rate: 100, Burst: 200} // leases of 10
	const lease = 10
	tests := []struct {
		name     string
		replicas int
		tick     time.Duration // each call moves the clock by this much afterwards
	}{
		{name: "one replica, clock still", replicas: 1},
		{name: "two replicas, clock still", replicas: 2},
		{name: "one replica, clock moving", replicas: 1, tick: 200 * time.Microsecond},
		{name: "two replicas, clock moving", replicas: 2, tick: 200 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(t0)
			replicas := make([]*ratelimit.Limiter, tc.replicas)
			for i := range replicas {
				replicas[i] = newLimiter(db, clk, ratelimit.Options{})
			}
			var allowed atomic.Int64
			var wg sync.WaitGroup
			errs := make([]error, goroutines)
			for g := range goroutines {
				l := replicas[g%tc.replicas]
				wg.Go(func() {
					for range calls {
						ok, retry, err := l.Allow(t.Context(), tc.name, lim)
						if err != nil {
							errs[g] = err
							return
						}
						if ok {
							allowed.Add(1)
						} else if retry < time.Millisecond {
							errs[g] = fmt.Errorf("refused with retry after %v", retry)
							return
						}
						clk.Advance(tc.tick)
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			most := bound(lim, goroutines*calls*tc.tick)
			require.LessOrEqual(t, int(allowed.Load()), most)
			require.GreaterOrEqual(t, int(allowed.Load()), lim.Burst-2*lease)
			if tc.replicas == 1 && tc.tick == 0 {
				require.EqualValues(t, lim.Burst, allowed.Load())
				require.EqualValues(t, lim.Burst/lease+1, replicas[0].Trips(), "one trip per lease and one refusal")
			}
		})
	}
}

func TestKeysAreIndependent(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	clk := clock.NewFake(t0)
	l := newLimiter(db, clk, ratelimit.Options{})
	lim := auth.Limit{Rate: 1, Burst: 2}

	require.Equal(t, 2, allowN(t, l, "apikey:a", lim, 5))
	require.Equal(t, 2, allowN(t, l, "apikey:b", lim, 5), "a's refusal does not touch b")
	require.Equal(t, 3, allowN(t, l, "apikey:c", auth.Limit{Rate: 1, Burst: 3}, 5), "each key its own limit")
	for _, key := range []string{"apikey:a", "apikey:b"} {
		require.InDelta(t, 0, storedTokens(t, db, key), 1e-9)
	}
}

// TestUnspentLeaseExpires: tokens leased and not spent within LeaseTTL are dropped, so the next call leases
// afresh; the dropped ones are not handed out again.
func TestUnspentLeaseExpires(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	clk := clock.NewFake(t0)
	l := newLimiter(db, clk, ratelimit.Options{LeaseTTL: 500 * time.Millisecond, Lease: func(auth.Limit) int { return 10 }})
	lim := auth.Limit{Rate: 10, Burst: 30}

	require.Equal(t, 1, allowN(t, l, "k", lim, 1))
	require.EqualValues(t, 1, l.Trips())
	require.InDelta(t, 20, storedTokens(t, db, "k"), 1e-9)

	clk.Advance(499 * time.Millisecond)
	require.Equal(t, 1, allowN(t, l, "k", lim, 1))
	require.EqualValues(t, 1, l.Trips(), "spent from the lease")

	clk.Advance(time.Millisecond)
	require.Equal(t, 1, allowN(t, l, "k", lim, 1))
	require.EqualValues(t, 2, l.Trips(), "the lease expired: a new one")
	require.InDelta(t, 15, storedTokens(t, db, "k"), 1e-9, "20 + 5 refilled - 10 leased; the 8 dropped are gone")
}

// TestChangedLimitDropsTheLease: a lease or refusal taken under one limit does not answer for another.
func TestChangedLimitDropsTheLease(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	l := newLimiter(db, clock.NewFake(t0), ratelimit.Options{})
	before := auth.Limit{Rate: 1, Burst: 1}
	after := auth.Limit{Rate: 1, Burst: 3}

	require.Equal(t, 1, allowN(t, l, "k", before, 1))
	requireDenied(t, l, "k", before, time.Second)
	require.EqualValues(t, 2, l.Trips())
	// The stored bucket is empty; a bigger burst does not refill it, so the refusal stands, but Postgres
	// is asked again.
	requireDenied(t, l, "k", after, time.Second)
	require.EqualValues(t, 3, l.Trips())
}

// TestErrorsAreNotAllows: when Postgres cannot be asked, Allow says so instead of allowing.
func TestErrorsAreNotAllows(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	lim := auth.Limit{Rate: 10, Burst: 10}

	t.Run("a cancelled context", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(db, clock.NewFake(t0), ratelimit.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ok, _, err := l.Allow(ctx, "cancelled", lim)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, ok)

		require.Equal(t, 1, allowN(t, l, "cancelled", lim, 1), "a live context works afterwards")
	})
	t.Run("a closed pool", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxutil.Open(t.Context(), db.RuntimeURL, pgxutil.Options{Schema: service})
		require.NoError(t, err)
		pool.Close()
		l := ratelimit.New(pool, ratelimit.Options{Now: clock.NewFake(t0).Now})
		ok, _, err := l.Allow(t.Context(), "closed", lim)
		require.Error(t, err)
		require.True(t, pgxutil.IsUnavailable(err), "%v", err)
		require.False(t, ok)
	})
	t.Run("an invalid limit", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(db, clock.NewFake(t0), ratelimit.Options{})
		for _, bad := range []auth.Limit{{Rate: 0, Burst: 5}, {Rate: 5, Burst: 0}, {Rate: math.NaN(), Burst: 1}} {
			ok, _, err := l.Allow(t.Context(), "invalid", bad)
			require.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
			require.False(t, ok)
		}
		require.Zero(t, l.Trips())
	})
}

// TestWaitersShareTheTripAndCanGiveUp holds key's row lock in another transaction, so the first caller's
// trip blocks in Postgres. A second caller of that key waits for the trip rather than making its own, and
// leaves when its context ends; once the lock is released the trip completes.
func TestWaitersShareTheTripAndCanGiveUp(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	l := newLimiter(db, clock.NewFake(t0), ratelimit.Options{})
	lim := auth.Limit{Rate: 10, Burst: 10} // leases of one: every call is a trip
	require.Equal(t, 1, allowN(t, l, "k", lim, 1))

	tx, err := db.Pool.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.WithoutCancel(t.Context())) }()
	_, err = tx.Exec(t.Context(), `SELECT 1 FROM rate_buckets WHERE bucket_key = 'k' FOR UPDATE`)
	require.NoError(t, err)

	first := make(chan error, 1)
	go func() {
		ok, _, err := l.Allow(t.Context(), "k", lim)
		if err == nil && !ok {
			err = fmt.Errorf("refused")
		}
		first <- err
	}()
	testkit.Eventually(t, func() bool {
		var waiting int
		err := db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting == 1
	}, 10*time.Second, "the first caller waits for the row")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ok, _, err := l.Allow(ctx, "k", lim)
	require.ErrorIs(t, err, context.Canceled, "the waiter leaves")
	require.False(t, ok)
	require.EqualValues(t, 2, l.Trips(), "the waiter made no trip of its own")

	require.NoError(t, tx.Commit(t.Context()))
	require.NoError(t, <-first)
	require.InDelta(t, 8, storedTokens(t, db, "k"), 1e-9)
}

// TestIdleEntriesAreSwept: local state for keys whose lease has expired is dropped once the limiter holds
// enough entries, while live leases and refusals survive the sweep.
func TestIdleEntriesAreSwept(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	clk := clock.NewFake(t0)
	l := newLimiter(db, clk, ratelimit.Options{})
	ratelimit.SetSweepMin(l, 4)
	lim := auth.Limit{Rate: 100, Burst: 100} // leases of 10: each key keeps 9 after one call

	for i := range 100 {
		require.Equal(t, 1, allowN(t, l, fmt.Sprintf("old-%d", i), lim, 1))
	}
	require.Equal(t, 100, ratelimit.Entries(l), "live leases are kept")

	clk.Advance(ratelimit.DefaultLeaseTTL)
	require.Equal(t, 1, allowN(t, l, "hot", lim, 1))
	refused := auth.Limit{Rate: 0.01, Burst: 1}
	require.Equal(t, 1, allowN(t, l, "refused", refused, 2))
	for i := range 100 {
		require.Equal(t, 1, allowN(t, l, fmt.Sprintf("new-%d", i), lim, 1))
	}
	// Thresholds double from 4 and stand at 190 after the first round, so the 191st entry swept the 100
	// expired ones out.
	require.Equal(t, 102, ratelimit.Entries(l), "the new keys, hot and refused")

	trips := l.Trips()
	require.Equal(t, 1, allowN(t, l, "hot", lim, 1))
	requireDenied(t, l, "refused", refused, 100*time.Second)
	require.Equal(t, trips, l.Trips(), "the lease and the refusal survived the sweep")
}
