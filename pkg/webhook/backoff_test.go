package webhook

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{"the first retry with no jitter waits half the base", 1, 0, 5 * time.Second},
		{"the first retry with jitter near one waits almost the base", 1, 0.999, 9995 * time.Millisecond},
		{"the first retry with jitter one half waits three quarters of the base", 1, 0.5, 7500 * time.Millisecond},
		{"the second retry doubles", 2, 0, 10 * time.Second},
		{"the third retry doubles again", 3, 0, 20 * time.Second},
		{"the ninth retry is 42m40s before jitter", 9, 0.999, 2558720 * time.Millisecond},
		{"the tenth retry is capped at an hour", 10, 0, 30 * time.Minute},
		{"the cap holds with jitter near one", 10, 0.999, 3598200 * time.Millisecond},
		{"a huge attempt number stays at the cap", math.MaxInt, 0, 30 * time.Minute},
		{"attempt zero counts as the first", 0, 0, 5 * time.Second},
		{"a negative attempt counts as the first", -7, 0, 5 * time.Second},
		{"negative jitter counts as zero", 1, -1, 5 * time.Second},
		{"NaN jitter counts as zero", 1, math.NaN(), 5 * time.Second},
		{"jitter of one stays below the full delay", 10, 1, time.Hour - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Backoff(tc.attempt, tc.jitter))
		})
	}
}

func TestBackoffGrowsCapsAndStaysInBounds(t *testing.T) {
	t.Parallel()
	for _, jitter := range []float64{0, 0.999} {
		prev := time.Duration(0)
		for attempt := 1; attempt <= 100; attempt++ {
			got := Backoff(attempt, jitter)
			d := BackoffBase * time.Duration(1<<min(attempt-1, 20))
			d = min(d, BackoffMax)
			require.GreaterOrEqual(t, got, d/2, "attempt %d jitter %v", attempt, jitter)
			require.LessOrEqual(t, got, d, "attempt %d jitter %v", attempt, jitter)
			require.GreaterOrEqual(t, got, prev, "attempt %d jitter %v never shrinks", attempt, jitter)
			require.LessOrEqual(t, got, BackoffMax, "attempt %d jitter %v", attempt, jitter)
			prev = got
		}
	}
}
