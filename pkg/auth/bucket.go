package auth

import (
	"math"
	"time"
)

// Bucket is a token bucket's state: Tokens available as of At. Rate limits are per principal and shared by
// every replica, so the state lives in a shared store; replicas lease tokens from it in blocks and spend
// them locally, so a request does not pay a round trip to the store. This is the arithmetic both use.
type Bucket struct {
	Tokens float64
	At     time.Time
}

// Limit is a bucket's shape: Rate tokens a second, at most Burst held.
type Limit struct {
	Rate  float64
	Burst int
}

// Valid reports whether l can ever grant a token.
func (l Limit) Valid() bool {
	return l.Rate > 0 && l.Burst >= 1 && !math.IsInf(l.Rate, 0) && !math.IsNaN(l.Rate)
}

// Refill returns b as of now: tokens accrued at l.Rate since b.At, capped at l.Burst. A clock that went
// backwards accrues nothing (and keeps b.At, so the time is not counted twice when it catches up).
func (b Bucket) Refill(l Limit, now time.Time) Bucket {
	if now.Before(b.At) {
		return b
	}
	b.Tokens = math.Min(float64(l.Burst), b.Tokens+now.Sub(b.At).Seconds()*l.Rate)
	b.At = now
	return b
}

// Take refills b to now and takes up to want whole tokens. It returns the new state, how many it granted,
// and, when it granted fewer than want, how long until the next whole token (what Retry-After says).
func (b Bucket) Take(l Limit, now time.Time, want int) (next Bucket, granted int, retryAfter time.Duration) {
	b = b.Refill(l, now)
	if want <= 0 {
		return b, 0, 0
	}
	granted = min(want, int(math.Floor(b.Tokens)))
	b.Tokens -= float64(granted)
	if granted < want {
		missing := 1 - (b.Tokens - math.Floor(b.Tokens))
		retryAfter = time.Duration(math.Ceil(missing / l.Rate * float64(time.Second)))
	}
	return b, granted, retryAfter
}
