package peers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMemoAsksOncePerKeyUntilItExpires: a remembered answer is reused until ttl has passed, a failure is
// not remembered, and the kept entries stay bounded.
func TestMemoAsksOncePerKeyUntilItExpires(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	m := newMemo[string, string](time.Minute, func() time.Time { return now })
	asked := map[string]int{}
	fail := false
	fetch := func(key string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			asked[key]++
			if fail {
				return "", errors.New("unavailable")
			}
			return fmt.Sprintf("%s#%d", key, asked[key]), nil
		}
	}
	get := func(key string) (string, error) { return m.get(t.Context(), key, fetch(key)) }

	for _, step := range []struct {
		advance time.Duration
		fail    bool
		key     string
		want    string
		wantErr bool
	}{
		{key: "a", want: "a#1"},
		{key: "a", want: "a#1"},                            // remembered
		{key: "b", want: "b#1"},                            // another key is asked for
		{advance: 59 * time.Second, key: "a", want: "a#1"}, // still within the minute
		{advance: time.Second, key: "a", want: "a#2"},      // expired: asked again
		{advance: time.Minute, fail: true, key: "b", wantErr: true},
		{key: "b", want: "b#3"}, // the failure was not remembered
	} {
		now = now.Add(step.advance)
		fail = step.fail
		got, err := get(step.key)
		if step.wantErr {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, step.want, got)
	}

	for i := range memoMax + 10 {
		_, err := get(fmt.Sprint("k", i))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(m.m), memoMax)
}

// TestBusinessStatusKeyIsTheMinute: every instant of a minute shares one answer (working time starts and
// ends on whole minutes), the next minute does not.
func TestBusinessStatusKeyIsTheMinute(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	key := func(at time.Time) statusKey { return statusKeyOf("default", at) }
	start := time.Date(2026, 12, 8, 17, 59, 0, 0, shanghai)
	require.Equal(t, key(start), key(start.Add(59*time.Second+999*time.Millisecond)))
	require.NotEqual(t, key(start), key(start.Add(time.Minute)))
	require.NotEqual(t, key(start), statusKeyOf("other", start))
}
