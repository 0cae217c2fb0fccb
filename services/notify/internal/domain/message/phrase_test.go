package message

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones must load on a machine without a zoneinfo database, as in production

	"github.com/stretchr/testify/require"
)

func TestReplyPhrase(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}

	tests := []struct {
		name string
		now  time.Time
		next time.Time
		loc  *time.Location
		lang string
		want string
	}{
		{"early morning before opening is today in chinese", at(shanghai, 2025, 12, 5, 6, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "zh-CN", "今天9:00前"},
		{"early morning before opening is today in english", at(shanghai, 2025, 12, 5, 6, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "en", "before 9:00 today"},
		{"evening before a working day is tomorrow in chinese", at(shanghai, 2025, 12, 4, 20, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "zh-CN", "次日9:00前"},
		{"evening before a working day is tomorrow in english", at(shanghai, 2025, 12, 4, 20, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "en", "before 9:00 tomorrow"},
		{"one minute before midnight is still tomorrow", at(shanghai, 2025, 12, 4, 23, 59), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "zh-CN", "次日9:00前"},
		{"one minute after midnight is today", at(shanghai, 2025, 12, 5, 0, 1), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "en", "before 9:00 today"},
		{"friday evening to monday is written out in chinese", at(shanghai, 2025, 12, 5, 18, 30), at(shanghai, 2025, 12, 8, 9, 0), shanghai, "zh-CN", "12月8日(周一)9:00前"},
		{"friday evening to monday is written out in english", at(shanghai, 2025, 12, 5, 18, 30), at(shanghai, 2025, 12, 8, 9, 0), shanghai, "en", "before 9:00 on Monday 8 December"},
		{"the last day of a month to the first of the next is tomorrow", at(shanghai, 2025, 11, 30, 21, 0), at(shanghai, 2025, 12, 1, 9, 0), shanghai, "zh-CN", "次日9:00前"},
		{"new year's eve to new year's day is tomorrow", at(shanghai, 2025, 12, 31, 21, 0), at(shanghai, 2026, 1, 1, 9, 0), shanghai, "en", "before 9:00 tomorrow"},
		{"february's end in a leap year to march is written out", at(shanghai, 2028, 2, 28, 21, 0), at(shanghai, 2028, 3, 1, 9, 0), shanghai, "zh-CN", "3月1日(周三)9:00前"},
		{"a holiday week is written out with the weekday in english", at(shanghai, 2025, 9, 30, 18, 0), at(shanghai, 2025, 10, 9, 9, 0), shanghai, "en", "before 9:00 on Thursday 9 October"},
		{"minutes are two digits and hours have no leading zero", at(shanghai, 2025, 12, 4, 20, 0), at(shanghai, 2025, 12, 5, 9, 5), shanghai, "zh-CN", "次日9:05前"},
		{"half past nine is 9:30", at(shanghai, 2025, 12, 5, 7, 0), at(shanghai, 2025, 12, 5, 9, 30), shanghai, "en", "before 9:30 today"},
		{"an afternoon opening keeps two digit hours", at(shanghai, 2025, 12, 5, 12, 0), at(shanghai, 2025, 12, 5, 13, 30), shanghai, "zh-CN", "今天13:30前"},
		{
			"days are counted in the business zone, not in UTC",
			// 23:30 UTC on the 4th is 07:30 on the 5th in Shanghai: the opening at 09:00 is today.
			time.Date(2025, 12, 4, 23, 30, 0, 0, time.UTC), time.Date(2025, 12, 5, 1, 0, 0, 0, time.UTC), shanghai, "zh-CN", "今天9:00前",
		},
		{
			"the clock is read in the business zone too",
			time.Date(2025, 12, 4, 12, 0, 0, 0, time.UTC), time.Date(2025, 12, 5, 1, 0, 0, 0, time.UTC), shanghai, "en", "before 9:00 tomorrow",
		},
		{"a short daylight saving night is still one day", at(newYork, 2025, 3, 8, 20, 0), at(newYork, 2025, 3, 9, 9, 0), newYork, "en", "before 9:00 tomorrow"},
		{"a long daylight saving night is still one day", at(newYork, 2025, 11, 1, 23, 30), at(newYork, 2025, 11, 2, 9, 0), newYork, "en", "before 9:00 tomorrow"},
		{"a nil location means UTC", time.Date(2025, 12, 4, 20, 0, 0, 0, time.UTC), time.Date(2025, 12, 5, 9, 0, 0, 0, time.UTC), nil, "en", "before 9:00 tomorrow"},
		{"an unknown language is english", at(shanghai, 2025, 12, 4, 20, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "fr", "before 9:00 tomorrow"},
		{"bare zh is not zh-CN and gives english", at(shanghai, 2025, 12, 4, 20, 0), at(shanghai, 2025, 12, 5, 9, 0), shanghai, "zh", "before 9:00 tomorrow"},
		{"a next on an earlier day is written out rather than called today", at(shanghai, 2025, 12, 5, 20, 0), at(shanghai, 2025, 12, 4, 9, 0), shanghai, "zh-CN", "12月4日(周四)9:00前"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, ReplyPhrase(tc.now, tc.next, tc.loc, tc.lang))
		})
	}
}
