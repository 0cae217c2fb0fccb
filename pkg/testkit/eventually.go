package testkit

import (
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often Eventually re-checks: short enough that waiting adds little to a test, long
// enough not to starve the code under test on two cores.
const pollInterval = 10 * time.Millisecond

// Eventually waits until cond returns true, checking at once and then every 10 ms, and fails the test with
// msg (formatted with args) if it is still false after timeout. Use it instead of sleeping. Call it from
// the test's goroutine (it may call t.Fatalf).
func Eventually(t testing.TB, cond func() bool, timeout time.Duration, msg string, args ...any) {
	t.Helper()
	if poll(timeout, cond) {
		return
	}
	t.Fatalf("not true after %s: %s", timeout, fmt.Sprintf(msg, args...))
}

// EventuallyNoError waits until fn returns nil, checking at once and then every 10 ms, and fails the test
// with fn's last error if it still fails after timeout.
func EventuallyNoError(t testing.TB, fn func() error, timeout time.Duration) {
	t.Helper()
	var last error
	if poll(timeout, func() bool { last = fn(); return last == nil }) {
		return
	}
	t.Fatalf("still failing after %s: %v", timeout, last)
}

func poll(timeout time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			// One last look, so a condition that became true during the final interval still counts.
			return cond()
		case <-tick.C:
			if cond() {
				return true
			}
		}
	}
}
