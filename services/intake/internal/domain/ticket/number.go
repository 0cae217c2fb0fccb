package ticket

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// numberPrefix starts every ticket number ("工单", work order).
const numberPrefix = "GD"

// FormatNumber renders a ticket number: "GD" + yyyyMMdd of day + serial, zero-padded to four digits and
// widening past 9999 (GD202310260001, GD2023102610000). day must already be in the business time zone (see
// BusinessDay); serial comes from a per-day sequence, starts at 1, and may have gaps.
func FormatNumber(day time.Time, serial int64) string {
	return fmt.Sprintf("%s%s%04d", numberPrefix, day.Format("20060102"), serial)
}

// ParseNumber splits a ticket number into its day ("20231026") and serial. It accepts only what
// FormatNumber produces: a real date, a serial of at least one, four digits or more with no padding beyond
// four, so every number has exactly one spelling.
func ParseNumber(s string) (day string, serial int64, ok bool) {
	rest, found := strings.CutPrefix(s, numberPrefix)
	if !found || len(rest) < 8+4 {
		return "", 0, false
	}
	day, digits := rest[:8], rest[8:]
	if _, err := time.Parse("20060102", day); err != nil {
		return "", 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", 0, false
		}
	}
	if len(digits) > 4 && digits[0] == '0' {
		return "", 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return day, n, true
}

// BusinessDay returns midnight of t's calendar day in loc (the business time zone, default Asia/Shanghai).
// Numbers use the business day, not the UTC one: 2023-10-25T16:30Z is already 2023-10-26 in Shanghai.
func BusinessDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
