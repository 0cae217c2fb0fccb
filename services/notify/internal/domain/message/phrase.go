package message

import (
	"fmt"
	"time"
)

// zhWeekdays is indexed by time.Weekday (Sunday first).
var zhWeekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// ReplyPhrase says when an after-hours customer can expect a reply: before next, the time working hours
// begin, as seen in loc (the business zone; nil means UTC). The phrase is relative to now's calendar day in
// loc, so "tomorrow" is right across midnight, month and year ends:
//
//	same day       今天9:00前            before 9:00 today
//	next day       次日9:00前            before 9:00 tomorrow
//	any other day  12月8日(周一)9:00前   before 9:00 on Monday 8 December
//
// Hours have no leading zero and minutes always two digits (9:30). lang LangZh gives Chinese; anything
// else English. A next on a day before now's is a caller error and is written out in full, which is at
// least not a false "today".
func ReplyPhrase(now, next time.Time, loc *time.Location, lang string) string {
	if loc == nil {
		loc = time.UTC
	}
	now, next = now.In(loc), next.In(loc)
	clock := fmt.Sprintf("%d:%02d", next.Hour(), next.Minute())
	zh := lang == LangZh
	switch days := calendarDays(now, next); {
	case days == 0 && zh:
		return "今天" + clock + "前"
	case days == 0:
		return "before " + clock + " today"
	case days == 1 && zh:
		return "次日" + clock + "前"
	case days == 1:
		return "before " + clock + " tomorrow"
	case zh:
		return fmt.Sprintf("%d月%d日(%s)%s前", int(next.Month()), next.Day(), zhWeekdays[next.Weekday()], clock)
	default:
		return fmt.Sprintf("before %s on %s %d %s", clock, next.Weekday(), next.Day(), next.Month())
	}
}

// calendarDays counts the calendar days from a's date to b's, ignoring the time of day. Both dates are
// moved to UTC midnight first, so a daylight-saving day of 23 or 25 hours still counts as one.
func calendarDays(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}
