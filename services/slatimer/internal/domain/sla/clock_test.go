package sla

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/services/slatimer/internal/domain/calendar"
)

func china(t *testing.T) calendar.Calendar {
	t.Helper()
	c, err := calendar.ChinaDefault()
	require.NoError(t, err)
	return c
}

func clockOf(length time.Duration, start time.Time, warnings ...Warning) Clock {
	return NewClock(Deadline{Target: Resolution, Length: length, Warnings: warnings}, start)
}

// timers drains the clock's timers in order, firing each at its own instant.
func timers(t *testing.T, c Clock, cal calendar.Calendar) []Timer {
	t.Helper()
	var out []Timer
	for range 10 {
		tm, ok, err := c.Next(cal)
		require.NoError(t, err)
		if !ok {
			return out
		}
		out = append(out, tm)
		c.Fire(tm, tm.At)
	}
	t.Fatal("a clock never stopped firing")
	return nil
}

func requireTimers(t *testing.T, want, got []Timer) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Index, got[i].Index, "timer %d", i)
		require.True(t, want[i].At.Equal(got[i].At), "timer %d: want %s, got %s", i, want[i].At, got[i].At.In(shanghai))
	}
}

func TestClockFiresWarningsThenTheBreachInBusinessTime(t *testing.T) {
	t.Parallel()
	cal := china(t)
	// 2 business hours from Friday 17:30 fall due Monday 10:30; 50% is reached at 09:30, 80% (96 min) at
	// 10:06.
	c := clockOf(2*time.Hour, at(11, 20, 17, 30), Warning{Percent: 80}, Warning{Percent: 50})
	requireTimers(t, []Timer{{0, at(11, 23, 9, 30)}, {1, at(11, 23, 10, 6)}, {-1, at(11, 23, 10, 30)}}, timers(t, c, cal))
}

func TestClockWarningBeforeTheDueTime(t *testing.T) {
	t.Parallel()
	c := clockOf(2*time.Hour, at(11, 23, 10, 0), Warning{Before: 10 * time.Minute}, Warning{Percent: 100}, Warning{Before: 3 * time.Hour})
	// 100% is the breach itself and 3 h before a 2 h target is before it started: both are skipped.
	requireTimers(t, []Timer{{1, at(11, 23, 11, 50)}, {-1, at(11, 23, 12, 0)}}, timers(t, c, calendar.Always()))
}

func TestClockPauseKeepsTheTimeLeft(t *testing.T) {
	t.Parallel()
	cal := calendar.Always()
	c := clockOf(2*time.Hour, at(11, 23, 10, 0))
	c.Pause(at(11, 23, 10, 30))
	_, ok, err := c.Due(cal)
	require.NoError(t, err)
	require.False(t, ok, "a paused clock has no due time")
	_, ok, err = c.Next(cal)
	require.NoError(t, err)
	require.False(t, ok, "a paused clock fires nothing")
	require.Equal(t, 90*time.Minute, c.Remaining(cal, at(11, 23, 11, 45)), "time waiting on the customer does not count")
	c.Pause(at(11, 23, 11, 0)) // no effect
	c.Resume(at(11, 23, 12, 0))
	due, ok, err := c.Due(cal)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, at(11, 23, 13, 30).Equal(due), "90 minutes left from 12:00: %s", due)
	require.Equal(t, time.Hour, c.Remaining(cal, at(11, 23, 12, 30)))
}

func TestClockPauseInBusinessTime(t *testing.T) {
	t.Parallel()
	cal := china(t)
	// 15 business minutes spent by Friday 17:45; paused over the weekend; resumed Saturday 10:00 (not
	// working time): the 1 h 45 left run from Monday 09:00.
	c := clockOf(2*time.Hour, at(11, 20, 17, 30))
	c.Pause(at(11, 20, 17, 45))
	c.Resume(at(11, 21, 10, 0))
	due, ok, err := c.Due(cal)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, at(11, 23, 10, 45).Equal(due), "%s", due.In(shanghai))
	// Two pauses add up.
	c.Pause(at(11, 23, 9, 15))
	c.Resume(at(11, 23, 9, 45))
	due, _, err = c.Due(cal)
	require.NoError(t, err)
	require.True(t, at(11, 23, 11, 15).Equal(due), "%s", due.In(shanghai))
}

func TestClockMeetAndCancel(t *testing.T) {
	t.Parallel()
	cal := calendar.Always()
	c := clockOf(time.Hour, at(11, 23, 10, 0), Warning{Percent: 50})
	c.Meet(at(11, 23, 10, 20))
	require.Equal(t, StateMet, c.State)
	require.Empty(t, timers(t, c, cal), "a met target never warns nor breaches")

	late := clockOf(time.Hour, at(11, 23, 10, 0))
	tm, _, err := late.Next(cal)
	require.NoError(t, err)
	late.Fire(tm, tm.At)
	late.Meet(at(11, 23, 11, 30))
	require.Equal(t, StateBreached, late.State, "met late stays breached")
	require.True(t, at(11, 23, 11, 30).Equal(late.MetAt))

	closed := clockOf(time.Hour, at(11, 23, 10, 0))
	closed.Cancel(at(11, 23, 10, 30))
	require.Equal(t, StateCancelled, closed.State)
	require.True(t, at(11, 23, 10, 30).Equal(closed.CancelledAt), "a cancelled clock keeps when it stopped")
	require.Empty(t, timers(t, closed, cal), "a closed ticket's target fires nothing")

	zero := clockOf(0, at(11, 23, 10, 0))
	require.Empty(t, timers(t, zero, cal), "a zero-length target (a phone call) is met, not timed")
}

func TestClockRestartAndReapply(t *testing.T) {
	t.Parallel()
	cal := china(t)
	c := clockOf(2*time.Hour, at(11, 23, 10, 0), Warning{Percent: 50})
	for _, tm := range timers(t, c, cal) {
		c.Fire(tm, tm.At)
	}
	require.Equal(t, StateBreached, c.State)
	c.Restart(at(11, 24, 9, 0)) // reopened
	require.Equal(t, 1, c.Cycle)
	requireTimers(t, []Timer{{0, at(11, 24, 10, 0)}, {-1, at(11, 24, 11, 0)}}, timers(t, c, cal))

	// A normal ticket (24 business hours) reclassified urgent (2 h) an hour in: due two hours after the
	// original start, not after the change.
	r := NewClock(Deadline{Target: FirstResponse, Length: 24 * time.Hour}, at(11, 23, 10, 0))
	require.NoError(t, r.Reapply(Deadline{Target: FirstResponse, Length: 2 * time.Hour}))
	due, _, err := r.Due(cal)
	require.NoError(t, err)
	require.True(t, at(11, 23, 12, 0).Equal(due), "%s", due.In(shanghai))
	require.Error(t, r.Reapply(Deadline{Target: Resolution}), "a deadline of another target")
}
