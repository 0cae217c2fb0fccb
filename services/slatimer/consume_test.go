package slatimer_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
)

// TestTheConsumerNeedsOneConnectionPerTransaction: on the smallest pool its consumer workers allow
// (db-max-conns 8 for 8 workers), a burst of tickets is applied in full. Each consuming transaction reads
// the policies and calendars through itself: when it took a second connection for them, eight
// transactions at once held the whole pool and waited for a ninth, and the consumer (and every RPC) stood
// still.
func TestTheConsumerNeedsOneConnectionPerTransaction(t *testing.T) {
	t.Parallel()
	s := startStoppable(t)
	s.stop()
	s.cfg.DBMaxConns, s.cfg.ConsumerWorkers = 8, 8
	s.sla = s.replica(t)

	const tickets = 400
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range jobs {
				s.submit(t, ticket{})
			}
		})
	}
	for i := range tickets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	testkit.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.slaDB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM tickets`).Scan(&n))
		return n == tickets
	}, wait, "all %d tickets have clocks", tickets)
}
