package ratelimit

// SetSweepMin lowers how many local entries l keeps before it first sweeps out idle ones, so a test reaches
// a sweep with a few hundred keys. Call it before l is used.
func SetSweepMin(l *Limiter, n int) {
	l.sweepMin = int64(n)
	l.sweepAt.Store(int64(n))
}

// Entries reports how many keys l holds local state for.
func Entries(l *Limiter) int { return int(l.entries.Load()) }
