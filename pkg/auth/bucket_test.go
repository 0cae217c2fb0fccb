package auth_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	l := auth.Limit{Rate: 10, Burst: 20} // 10 a second, bursts of 20
	tests := []struct {
		name        string
		start       auth.Bucket
		at          time.Time
		want        int
		wantGranted int
		wantLeft    float64
		wantRetry   time.Duration
	}{
		{name: "a new bucket starts full", start: auth.Bucket{}, at: t0, want: 5, wantGranted: 5, wantLeft: 15},
		{name: "a burst is capped", start: auth.Bucket{}, at: t0, want: 25, wantGranted: 20, wantLeft: 0, wantRetry: 100 * time.Millisecond},
		{name: "empty: wait for one token", start: auth.Bucket{Tokens: 0, At: t0}, at: t0, want: 1, wantGranted: 0, wantRetry: 100 * time.Millisecond},
		{name: "refills at the rate", start: auth.Bucket{Tokens: 0, At: t0}, at: t0.Add(350 * time.Millisecond), want: 5, wantGranted: 3, wantLeft: 0.5, wantRetry: 50 * time.Millisecond},
		{name: "refill is capped at the burst", start: auth.Bucket{Tokens: 0, At: t0}, at: t0.Add(time.Hour), want: 1, wantGranted: 1, wantLeft: 19},
		{name: "a clock that went back accrues nothing", start: auth.Bucket{Tokens: 2, At: t0}, at: t0.Add(-time.Minute), want: 3, wantGranted: 2, wantLeft: 0, wantRetry: 100 * time.Millisecond},
		{name: "asking for nothing takes nothing", start: auth.Bucket{Tokens: 2, At: t0}, at: t0, want: 0, wantGranted: 0, wantLeft: 2},
		{name: "a negative ask takes nothing", start: auth.Bucket{Tokens: 2, At: t0}, at: t0, want: -4, wantGranted: 0, wantLeft: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, granted, retry := tc.start.Take(l, tc.at, tc.want)
			require.Equal(t, tc.wantGranted, granted)
			require.InDelta(t, tc.wantLeft, next.Tokens, 1e-9)
			require.InDelta(t, float64(tc.wantRetry), float64(retry), float64(time.Millisecond))
			require.GreaterOrEqual(t, next.Tokens, 0.0, "never negative")
		})
	}
}

// TestTokenBucketNeverGrantsMoreThanRateAllows runs a bucket for a simulated minute of greedy takes and
// checks the total against burst + rate × time.
func TestTokenBucketNeverGrantsMoreThanRateAllows(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	l := auth.Limit{Rate: 7.5, Burst: 15}
	b := auth.Bucket{}
	total := 0
	for ms := 0; ms <= 60_000; ms += 3 {
		var g int
		b, g, _ = b.Take(l, t0.Add(time.Duration(ms)*time.Millisecond), 4)
		total += g
	}
	require.LessOrEqual(t, total, 15+int(math.Floor(7.5*60)))
	require.GreaterOrEqual(t, total, 15+int(math.Floor(7.5*60))-1)
}

func TestLimitValid(t *testing.T) {
	require.True(t, auth.Limit{Rate: 1, Burst: 1}.Valid())
	for _, l := range []auth.Limit{{}, {Rate: 1}, {Burst: 1}, {Rate: -1, Burst: 1}, {Rate: math.Inf(1), Burst: 1}, {Rate: math.NaN(), Burst: 1}} {
		require.False(t, l.Valid(), "%+v", l)
	}
}
