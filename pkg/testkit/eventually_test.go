package testkit_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
)

// recorder is a testing.TB whose Fatalf records the failure and ends the goroutine, as the real one does,
// so the failure paths of the helpers can be checked without failing this test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a recorder on its own goroutine (Fatalf ends it) and returns the recorded failure.
func run(fn func(tb testing.TB)) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r.failed
}

func TestEventually(t *testing.T) {
	t.Parallel()

	t.Run("a condition that becomes true passes", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		failed := run(func(tb testing.TB) {
			testkit.Eventually(tb, func() bool { return n.Add(1) >= 3 }, 5*time.Second, "never reached 3")
		})
		require.Empty(t, failed)
		require.Equal(t, int32(3), n.Load())
	})

	t.Run("a condition that stays false fails with the message", func(t *testing.T) {
		t.Parallel()
		failed := run(func(tb testing.TB) {
			testkit.Eventually(tb, func() bool { return false }, 30*time.Millisecond, "ticket %s never assigned", "T1")
		})
		require.Contains(t, failed, "ticket T1 never assigned")
	})

	t.Run("a function that stops failing passes", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		failed := run(func(tb testing.TB) {
			testkit.EventuallyNoError(tb, func() error {
				if n.Add(1) < 3 {
					return errors.New("not yet")
				}
				return nil
			}, 5*time.Second)
		})
		require.Empty(t, failed)
	})

	t.Run("a function that keeps failing reports its last error", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		failed := run(func(tb testing.TB) {
			testkit.EventuallyNoError(tb, func() error { return fmt.Errorf("attempt %d", n.Add(1)) }, 30*time.Millisecond)
		})
		require.Contains(t, failed, fmt.Sprintf("attempt %d", n.Load()))
	})
}
