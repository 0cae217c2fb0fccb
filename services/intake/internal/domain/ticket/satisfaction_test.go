package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func requireAlreadyRecorded(t *testing.T, err error) {
	t.Helper()
	e, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apierr.KindFailedPrecondition, e.Kind)
	require.Equal(t, ReasonSatisfactionAlreadyRecorded, e.Reason)
}

func TestSatisfactionOncePerResolution(t *testing.T) {
	t.Parallel()
	rate := func(tk *Ticket) (Change, error) {
		return tk.RecordSatisfaction(SatisfactionUnsatisfied, "too slow", adapter, testNow)
	}
	waive := func(tk *Ticket) (Change, error) { return tk.WaiveSatisfaction(staff, testNow) }
	tests := []struct {
		name    string
		first   func(tk *Ticket) (Change, error)
		second  func(tk *Ticket) (Change, error)
		allowed bool
	}{
		{"rating twice is refused", rate, rate, false},
		{"waiving after a rating is refused", rate, waive, false},
		{"waiving twice is refused", waive, waive, false},
		{"a rating may replace a waiver when the customer turns up", waive, rate, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, StatusResolved)
			_, err := tc.first(tk)
			require.NoError(t, err)
			before := *tk
			ch, err := tc.second(tk)
			if !tc.allowed {
				requireAlreadyRecorded(t, err)
				require.Equal(t, before, *tk)
				return
			}
			require.NoError(t, err)
			requireOneChange(t, tk, before.Version, ch, EventRated)
			require.False(t, tk.Satisfaction.Waived)
		})
	}
}

func TestSatisfactionAgainAfterAReopenedResolution(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusResolved)
	ch, err := tk.RecordSatisfaction(SatisfactionUnsatisfied, "still broken", adapter, testNow)
	require.NoError(t, err)
	require.Equal(t, SatisfactionUnsatisfied, ch.Events[0].Rating)
	require.Equal(t, "still broken", ch.Timeline[0].Text)
	require.Equal(t, 1, tk.Satisfaction.Resolution)

	_, err = tk.Reopen("", true, staff, testNow)
	require.NoError(t, err)
	_, err = tk.Resolve("replaced the unit", staff, testNow)
	require.NoError(t, err)
	ch, err = tk.RecordSatisfaction(SatisfactionSatisfied, "", adapter, testNow)
	require.NoError(t, err)
	require.Equal(t, 2, tk.Satisfaction.Resolution)
	require.Equal(t, SatisfactionSatisfied, tk.Satisfaction.Rating)
	require.Equal(t, 2, ch.Events[0].ResolutionCount)
}

func TestWaiveSatisfaction(t *testing.T) {
	t.Parallel()
	tk := fixture(t, StatusClosed)
	ch, err := tk.WaiveSatisfaction(staff, testNow)
	require.NoError(t, err)
	require.True(t, ch.Events[0].Waived)
	require.Equal(t, SatisfactionUnspecified, ch.Events[0].Rating)
	require.True(t, tk.Satisfaction.Waived)
	require.Equal(t, tk.ResolutionCount, tk.Satisfaction.Resolution)
	require.Equal(t, testNow, tk.Satisfaction.RecordedAt)
}
