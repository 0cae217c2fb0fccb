// Package calendar is business-time arithmetic for SLA targets (issue #7), exact to the second: weekly
// working hours in a time zone, holidays and make-up working days (调休) per date. A deadline is a start
// plus N business seconds, skipping evenings, weekends and holidays and counting make-up days; elapsed
// business time is the working time between two instants. It does no I/O.
package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Interval is a span of working hours within one day: offsets from the local midnight, Start < End <= 24h.
type Interval struct {
	Start, End time.Duration
}

// Hours returns the interval from h1:m1 to h2:m2.
func Hours(h1, m1, h2, m2 int) Interval {
	return Interval{Start: time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute,
		End: time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute}
}

// Date is a calendar date in the calendar's zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns t's date in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// String renders "2006-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// next returns the following date.
func (d Date) next() Date {
	t := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

func (d Date) weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
}

// Calendar says when the team works.
type Calendar struct {
	// AlwaysOpen counts every second (24×7); the rest is ignored.
	AlwaysOpen bool
	// Zone is where the hours are read.
	Zone *time.Location
	// Week holds each weekday's working hours (indexed by time.Weekday), sorted and not overlapping.
	Week [7][]Interval
	// Holidays are closed all day, whatever their weekday.
	Holidays map[Date]bool
	// Workdays are make-up working days (调休): they work these hours whatever their weekday, before the
	// holiday check.
	Workdays map[Date][]Interval
}

// MaxSearch bounds how far ahead Add looks for working time: a calendar that never works again within
// it is an error, not an endless loop.
const MaxSearch = 3 * 366

// ErrNeverOpen is returned by Add when the calendar has no working time left within MaxSearch days.
var ErrNeverOpen = errors.New("calendar has no working time ahead")

// Always is the 24×7 calendar.
func Always() Calendar { return Calendar{AlwaysOpen: true, Zone: time.UTC} }

// ChinaDefault is the default calendar for mainland China: 09:00–18:00 Monday to Friday, Asia/Shanghai,
// with no holidays until an admin fills in the year's official dates and make-up days.
func ChinaDefault() (Calendar, error) {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return Calendar{}, fmt.Errorf("load Asia/Shanghai: %w", err)
	}
	c := Calendar{Zone: zone}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Week[d] = []Interval{Hours(9, 0, 18, 0)}
	}
	return c, nil
}

// Validate checks the zone and that every day's intervals lie within the day, are not empty, and are
// sorted without overlap.
func (c Calendar) Validate() error {
	if c.AlwaysOpen {
		return nil
	}
	if c.Zone == nil {
		return errors.New("calendar: zone is required")
	}
	for d, ivs := range c.Week {
		if err := validIntervals(ivs); err != nil {
			return fmt.Errorf("calendar: %s: %w", time.Weekday(d), err)
		}
	}
	for date, ivs := range c.Workdays {
		if len(ivs) == 0 {
			return fmt.Errorf("calendar: make-up day %s: has no working hours", date)
		}
		if err := validIntervals(ivs); err != nil {
			return fmt.Errorf("calendar: make-up day %s: %w", date, err)
		}
	}
	return nil
}

func validIntervals(ivs []Interval) error {
	for i, iv := range ivs {
		if iv.Start < 0 || iv.End > 24*time.Hour || iv.Start >= iv.End {
			return fmt.Errorf("hours %s–%s: want a start before the end, within the day", clock(iv.Start), clock(iv.End))
		}
		if i > 0 && iv.Start < ivs[i-1].End {
			return fmt.Errorf("hours %s–%s overlap or come before the previous ones", clock(iv.Start), clock(iv.End))
		}
	}
	return nil
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// hoursOn returns the working hours of date: a make-up day's, none on a holiday, else its weekday's.
func (c Calendar) hoursOn(d Date) []Interval {
	if ivs, ok := c.Workdays[d]; ok {
		return ivs
	}
	if c.Holidays[d] {
		return nil
	}
	return c.Week[d.weekday()]
}

// span returns interval iv of date d as instants. Wall-clock times go through time.Date, so a zone with
// daylight saving gets the hours as the clock on the wall shows them.
func (c Calendar) span(d Date, iv Interval) (from, to time.Time) {
	at := func(off time.Duration) time.Time {
		s := int(off / time.Second)
		return time.Date(d.Year, d.Month, d.Day, s/3600, s%3600/60, s%60, 0, c.Zone)
	}
	return at(iv.Start), at(iv.End)
}

// Add returns the instant at which n of business time will have passed since start: start itself when n
// is zero or less. Working time ends at an interval's end, so a target that uses up a day exactly is due at
// that day's closing time, not the next opening.
func (c Calendar) Add(start time.Time, n time.Duration) (time.Time, error) {
	if n <= 0 || c.AlwaysOpen {
		return start.Add(max(n, 0)), nil
	}
	d := DateOf(start, c.Zone)
	for range MaxSearch {
		for _, iv := range c.hoursOn(d) {
			from, to := c.span(d, iv)
			if !to.After(start) {
				continue
			}
			from = later(from, start)
			if avail := to.Sub(from); n <= avail {
				return from.Add(n), nil
			} else {
				n -= avail
			}
		}
		d = d.next()
	}
	return time.Time{}, ErrNeverOpen
}

// Elapsed returns the business time between a and b (zero when b is not after a).
func (c Calendar) Elapsed(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.AlwaysOpen {
		return b.Sub(a)
	}
	var total time.Duration
	last := DateOf(b, c.Zone)
	for d := DateOf(a, c.Zone); ; d = d.next() {
		for _, iv := range c.hoursOn(d) {
			from, to := c.span(d, iv)
			from, to = later(from, a), earlier(to, b)
			if to.After(from) {
				total += to.Sub(from)
			}
		}
		if d == last {
			return total
		}
	}
}

// IsOpen reports whether t falls in working time.
func (c Calendar) IsOpen(t time.Time) bool {
	if c.AlwaysOpen {
		return true
	}
	d := DateOf(t, c.Zone)
	return slices.ContainsFunc(c.hoursOn(d), func(iv Interval) bool {
		from, to := c.span(d, iv)
		return !t.Before(from) && t.Before(to)
	})
}

// NextOpen returns the first instant at or after t that is working time.
func (c Calendar) NextOpen(t time.Time) (time.Time, error) {
	if c.IsOpen(t) {
		return t, nil
	}
	// The start of the first working second ahead: one second of business time ends one second after it.
	end, err := c.Add(t, time.Second)
	if err != nil {
		return time.Time{}, err
	}
	return end.Add(-time.Second), nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
