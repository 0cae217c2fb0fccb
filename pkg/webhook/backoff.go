package webhook

import (
	"math"
	"time"
)

// Retry schedule: the first retry waits about BackoffBase, each later one twice as long, up to BackoffMax.
// With a 1 h ceiling, a day of retries is about 30 attempts, so a receiver that is down overnight still
// gets its deliveries in the morning without being hammered meanwhile.
const (
	BackoffBase = 10 * time.Second
	BackoffMax  = time.Hour
)

// Backoff returns the delay before retry number attempt (1 is the retry after the first failed attempt):
// d = BackoffBase·2^(attempt-1), capped at BackoffMax, then spread over [d/2, d] by jitter, which the caller
// draws uniformly from [0, 1). Spreading keeps receivers that failed together from being retried together.
// The result is deterministic given jitter. Attempts below 1 count as 1, jitter outside [0, 1) (or NaN) is
// clamped, and huge attempt numbers do not overflow.
func Backoff(attempt int, jitter float64) time.Duration {
	// Doubling stops as soon as the cap is reached, so the loop runs at most a few times and cannot
	// overflow, whatever attempt is.
	d := BackoffBase
	for i := 1; i < attempt && d < BackoffMax; i++ {
		d *= 2
	}
	d = min(d, BackoffMax)
	switch {
	case math.IsNaN(jitter) || jitter < 0:
		jitter = 0
	case jitter >= 1:
		jitter = math.Nextafter(1, 0)
	}
	half := d / 2
	return half + time.Duration(jitter*float64(d-half))
}
