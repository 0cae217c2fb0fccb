package calendar

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// at is a wall-clock time in Shanghai.
func at(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, shanghai)
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// china is the default calendar with a National Day arrangement of the kind the State Council publishes
// each year (these dates are the test's, not an official list): 1–7 October 2026 (Thursday to Wednesday)
// off, Sunday 27 September and Saturday 10 October worked as make-up days.
func china(t *testing.T) Calendar {
	t.Helper()
	c, err := ChinaDefault()
	require.NoError(t, err)
	c.Holidays = map[Date]bool{}
	for d := 1; d <= 7; d++ {
		c.Holidays[Date{2026, time.October, d}] = true
	}
	c.Workdays = map[Date][]Interval{date("2026-09-27"): {Hours(9, 0, 18, 0)}, date("2026-10-10"): {Hours(9, 0, 18, 0)}}
	require.NoError(t, c.Validate())
	return c
}

func TestAdd(t *testing.T) {
	t.Parallel()
	cn := china(t)
	lunch := cn
	for d := time.Monday; d <= time.Friday; d++ {
		lunch.Week[d] = []Interval{Hours(9, 0, 12, 0), Hours(13, 30, 18, 0)}
	}
	ny := Calendar{Zone: mustZone("America/New_York")}
	for d := time.Monday; d <= time.Friday; d++ {
		ny.Week[d] = []Interval{Hours(9, 0, 17, 0)}
	}
	tests := []struct {
		name  string
		cal   Calendar
		start time.Time
		n     time.Duration
		want  time.Time
	}{
		// 17:30–18:00 on Friday is 30 minutes; the other 90 run from 09:00 on Monday.
		{"Friday 17:30 plus 2 h is due Monday 10:30", cn, at(2026, 11, 20, 17, 30, 0), 2 * time.Hour, at(2026, 11, 23, 10, 30, 0)},
		{"the same start given in UTC", cn, time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), 2 * time.Hour, at(2026, 11, 23, 10, 30, 0)},
		{"within one working day", cn, at(2026, 11, 23, 10, 0, 0), 3 * time.Hour, at(2026, 11, 23, 13, 0, 0)},
		{"a target that ends at closing time is due at closing time", cn, at(2026, 11, 23, 16, 0, 0), 2 * time.Hour, at(2026, 11, 23, 18, 0, 0)},
		{"before opening the clock starts at 09:00", cn, at(2026, 11, 23, 7, 0, 0), 30 * time.Minute, at(2026, 11, 23, 9, 30, 0)},
		{"after closing the clock starts the next morning", cn, at(2026, 11, 23, 20, 0, 0), time.Hour, at(2026, 11, 24, 10, 0, 0)},
		{"a Saturday start waits for Monday", cn, at(2026, 11, 21, 12, 0, 0), time.Hour, at(2026, 11, 23, 10, 0, 0)},
		{"exact to the second across the night", cn, at(2026, 11, 23, 17, 59, 30), 45 * time.Second, at(2026, 11, 24, 9, 0, 15)},
		{"a full day's worth from opening ends at closing", cn, at(2026, 11, 23, 9, 0, 0), 9 * time.Hour, at(2026, 11, 23, 18, 0, 0)},
		{"five working days from Monday morning end Friday at closing", cn, at(2026, 11, 23, 9, 0, 0), 45 * time.Hour, at(2026, 11, 27, 18, 0, 0)},
		{"one hour more runs into the next Monday", cn, at(2026, 11, 23, 9, 0, 0), 46 * time.Hour, at(2026, 11, 30, 10, 0, 0)},
		// 17:00–18:00 on 30 September, then 1–7 October are off (3 and 4 are a weekend anyway): 3 h more
		// from 09:00 on Thursday 8 October.
		{"across the National Day holiday", cn, at(2026, 9, 30, 17, 0, 0), 4 * time.Hour, at(2026, 10, 8, 12, 0, 0)},
		{"a ticket in the middle of the holiday waits for its end", cn, at(2026, 10, 2, 10, 0, 0), time.Hour, at(2026, 10, 8, 10, 0, 0)},
		// Friday 9 October 17:00–18:00, then Saturday 10 October is a make-up working day.
		{"a make-up Saturday counts", cn, at(2026, 10, 9, 17, 0, 0), 2 * time.Hour, at(2026, 10, 10, 10, 0, 0)},
		{"a make-up Sunday counts", cn, at(2026, 9, 26, 10, 0, 0), time.Hour, at(2026, 9, 27, 10, 0, 0)},
		{"a lunch break is skipped", lunch, at(2026, 11, 23, 11, 30, 0), time.Hour, at(2026, 11, 23, 14, 0, 0)},
		{"a start in the lunch break waits for 13:30", lunch, at(2026, 11, 23, 12, 15, 0), 10 * time.Minute, at(2026, 11, 23, 13, 40, 0)},
		{"zero is the start itself, even on a Sunday", cn, at(2026, 11, 22, 3, 0, 0), 0, at(2026, 11, 22, 3, 0, 0)},
		{"24×7 counts the night", Always(), at(2026, 11, 20, 17, 30, 0), 2 * time.Hour, at(2026, 11, 20, 19, 30, 0)},
		{"24×7 across a holiday", Always(), at(2026, 9, 30, 23, 0, 0), 2 * time.Hour, at(2026, 10, 1, 1, 0, 0)},
		// New York springs forward on Sunday 8 March 2026; working hours are wall-clock hours.
		{"across a daylight-saving change", ny, time.Date(2026, 3, 6, 16, 0, 0, 0, ny.Zone), 2 * time.Hour,
			time.Date(2026, 3, 9, 10, 0, 0, 0, ny.Zone)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.cal.Add(tc.start, tc.n)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want.In(shanghai), got.In(shanghai))
		})
	}
}

func TestElapsed(t *testing.T) {
	t.Parallel()
	cn := china(t)
	tests := []struct {
		name string
		cal  Calendar
		a, b time.Time
		want time.Duration
	}{
		{"Friday 17:30 to Monday 10:30", cn, at(2026, 11, 20, 17, 30, 0), at(2026, 11, 23, 10, 30, 0), 2 * time.Hour},
		{"across the holiday", cn, at(2026, 9, 30, 17, 0, 0), at(2026, 10, 8, 12, 0, 0), 4 * time.Hour},
		{"a whole weekend is nothing", cn, at(2026, 11, 21, 0, 0, 0), at(2026, 11, 23, 0, 0, 0), 0},
		{"the evening is nothing", cn, at(2026, 11, 23, 18, 0, 0), at(2026, 11, 23, 23, 59, 59), 0},
		{"a make-up Saturday is counted", cn, at(2026, 10, 10, 0, 0, 0), at(2026, 10, 11, 0, 0, 0), 9 * time.Hour},
		{"seconds count", cn, at(2026, 11, 23, 17, 59, 30), at(2026, 11, 24, 9, 0, 15), 45 * time.Second},
		{"an end before the start is nothing", cn, at(2026, 11, 23, 12, 0, 0), at(2026, 11, 23, 10, 0, 0), 0},
		{"24×7 is wall-clock time", Always(), at(2026, 11, 21, 0, 0, 0), at(2026, 11, 23, 0, 0, 0), 48 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.cal.Elapsed(tc.a, tc.b))
		})
	}
}

// TestAddThenElapsedRoundTrips: for many starts and targets, the business time from a start to its
// deadline is the target, and one second less would not have been enough.
func TestAddThenElapsedRoundTrips(t *testing.T) {
	t.Parallel()
	cn := china(t)
	r := rand.New(rand.NewPCG(7, 11))
	base := at(2026, 9, 20, 0, 0, 0)
	for range 2000 {
		start := base.Add(time.Duration(r.Int64N(int64(40*24*time.Hour/time.Second))) * time.Second)
		n := time.Duration(1+r.Int64N(int64(60*time.Hour/time.Second))) * time.Second
		due, err := cn.Add(start, n)
		require.NoError(t, err)
		require.Equal(t, n, cn.Elapsed(start, due), "start %s, n %s, due %s", start, n, due)
		require.Less(t, cn.Elapsed(start, due.Add(-time.Second)), n, "start %s, n %s: due %s is later than needed", start, n, due)
	}
}

func TestIsOpenAndNextOpen(t *testing.T) {
	t.Parallel()
	cn := china(t)
	tests := []struct {
		name string
		t    time.Time
		open bool
		next time.Time
	}{
		{"a weekday morning", at(2026, 11, 23, 10, 0, 0), true, at(2026, 11, 23, 10, 0, 0)},
		{"opening time is open", at(2026, 11, 23, 9, 0, 0), true, at(2026, 11, 23, 9, 0, 0)},
		{"closing time is closed", at(2026, 11, 23, 18, 0, 0), false, at(2026, 11, 24, 9, 0, 0)},
		{"Friday night opens Monday", at(2026, 11, 20, 22, 0, 0), false, at(2026, 11, 23, 9, 0, 0)},
		{"the holiday opens on the 8th", at(2026, 10, 1, 10, 0, 0), false, at(2026, 10, 8, 9, 0, 0)},
		{"a make-up Saturday is open", at(2026, 10, 10, 10, 0, 0), true, at(2026, 10, 10, 10, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.open, cn.IsOpen(tc.t))
			next, err := cn.NextOpen(tc.t)
			require.NoError(t, err)
			require.True(t, tc.next.Equal(next), "want %s, got %s", tc.next, next)
		})
	}
}

func TestACalendarThatNeverOpensIsAnError(t *testing.T) {
	t.Parallel()
	_, err := Calendar{Zone: shanghai}.Add(at(2026, 11, 23, 10, 0, 0), time.Hour)
	require.ErrorIs(t, err, ErrNeverOpen)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := china(t)
	with := func(f func(*Calendar)) Calendar {
		c := good
		c.Week = good.Week
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cal  Calendar
		ok   bool
	}{
		{"the default with a holiday arrangement", good, true},
		{"24×7 needs nothing else", Always(), true},
		{"no zone", with(func(c *Calendar) { c.Zone = nil }), false},
		{"an empty interval", with(func(c *Calendar) { c.Week[time.Monday] = []Interval{Hours(9, 0, 9, 0)} }), false},
		{"an interval past midnight", with(func(c *Calendar) { c.Week[time.Monday] = []Interval{{Start: 20 * time.Hour, End: 25 * time.Hour}} }), false},
		{"overlapping intervals", with(func(c *Calendar) { c.Week[time.Monday] = []Interval{Hours(9, 0, 12, 0), Hours(11, 0, 18, 0)} }), false},
		{"intervals out of order", with(func(c *Calendar) { c.Week[time.Monday] = []Interval{Hours(13, 0, 18, 0), Hours(9, 0, 12, 0)} }), false},
		{"a whole day is fine", with(func(c *Calendar) { c.Week[time.Sunday] = []Interval{Hours(0, 0, 24, 0)} }), true},
		{"a make-up day without hours", with(func(c *Calendar) { c.Workdays = map[Date][]Interval{date("2026-10-10"): nil} }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.ok {
				require.NoError(t, tc.cal.Validate())
			} else {
				require.Error(t, tc.cal.Validate())
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2026-10-01")
	require.NoError(t, err)
	require.Equal(t, Date{2026, time.October, 1}, d)
	require.Equal(t, "2026-10-01", d.String())
	_, err = ParseDate("2026-13-01")
	require.Error(t, err)
	_, err = ParseDate("1 Oct")
	require.Error(t, err)
}
