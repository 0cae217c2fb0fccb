package sla

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/services/slatimer/internal/domain/calendar"
)

var shanghai = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return z
}()

func at(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, shanghai) }

// defaults returns the seeded policies with ids derived from their codes, and their calendars.
func defaults(t *testing.T) ([]Policy, Calendars) {
	t.Helper()
	ps := DefaultPolicies()
	for i := range ps {
		ps[i].ID = idOf(ps[i].Code)
	}
	china, err := calendar.ChinaDefault()
	require.NoError(t, err)
	return ps, func(code string) (calendar.Calendar, bool) {
		switch code {
		case CalendarAlways:
			return calendar.Always(), true
		case DefaultCalendar:
			return china, true
		}
		return calendar.Calendar{}, false
	}
}

func idOf(code string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(code)) }

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	ps, cals := defaults(t)
	type want struct {
		target Target
		due    time.Time
		policy string
	}
	tests := []struct {
		name    string
		facts   Facts
		start   time.Time
		want    []want
		applied []string
	}{
		// 24 business hours from Friday 17:30: 0.5 h on Friday, then 9 h on each of Monday and Tuesday,
		// then 5.5 h on Wednesday.
		{"a normal inquiry by form: 24 business hours", Facts{Type: "inquiry", Urgency: "normal", Channel: "web_form"},
			at(11, 20, 17, 30), []want{{FirstResponse, at(11, 25, 14, 30), "urgency_normal"}}, []string{"urgency_normal"}},
		{"an urgent one: 2 business hours", Facts{Type: "inquiry", Urgency: "urgent", Channel: "web_form"},
			at(11, 20, 17, 30), []want{{FirstResponse, at(11, 23, 10, 30), "urgency_urgent"}}, []string{"urgency_urgent"}},
		{"a critical one counts around the clock", Facts{Type: "inquiry", Urgency: "critical", Channel: "web_form"},
			at(11, 21, 23, 50), []want{{FirstResponse, at(11, 22, 0, 20), "urgency_critical"}}, []string{"urgency_critical"}},
		{"web chat: 5 minutes beats the urgency's 24 hours", Facts{Type: "inquiry", Urgency: "normal", Channel: "web_chat"},
			at(11, 23, 10, 0), []want{{FirstResponse, at(11, 23, 10, 5), "chat_first_response"}},
			[]string{"chat_first_response", "urgency_normal"}},
		// At 22:00 on a Friday the chat's 5 business minutes fall due on Monday; the L1 complaint's 15
		// minutes around the clock come first.
		{"an L1 complaint at night: the 24x7 target is the strictest", Facts{Type: "complaint", Level: "l1", Urgency: "normal", Channel: "web_chat"},
			at(11, 20, 22, 0), []want{{FirstResponse, at(11, 20, 22, 15), "complaint_l1"}, {Resolution, at(11, 21, 0, 0), "complaint_l1"}},
			[]string{"chat_first_response", "complaint_l1", "urgency_normal"}},
		{"the same complaint in office hours: the chat's 5 minutes win", Facts{Type: "complaint", Level: "l1", Urgency: "normal", Channel: "web_chat"},
			at(11, 23, 10, 0), []want{{FirstResponse, at(11, 23, 10, 5), "chat_first_response"}, {Resolution, at(11, 23, 12, 0), "complaint_l1"}},
			[]string{"chat_first_response", "complaint_l1", "urgency_normal"}},
		{"an L2 complaint by form", Facts{Type: "complaint", Level: "l2", Urgency: "normal", Channel: "web_form"},
			at(11, 23, 10, 0), []want{{FirstResponse, at(11, 23, 10, 30), "complaint_l2"}, {Resolution, at(11, 25, 16, 0), "complaint_l2"}},
			[]string{"complaint_l2", "urgency_normal"}},
		{"an L3 complaint by form", Facts{Type: "complaint", Level: "l3", Urgency: "normal", Channel: "web_form"},
			at(11, 23, 10, 0), []want{{FirstResponse, at(11, 23, 11, 0), "complaint_l3"}, {Resolution, at(11, 30, 13, 0), "complaint_l3"}},
			[]string{"complaint_l3", "urgency_normal"}},
		// Saturday: the email's hour falls due Monday 10:00; its 48 business hours run Monday 09:00 to
		// Friday 18:00 (45 h) and 3 h of the Monday after.
		{"an email on Saturday", Facts{Type: "inquiry", Urgency: "normal", Channel: "email"},
			at(11, 21, 10, 0), []want{{FirstResponse, at(11, 23, 10, 0), "email"}, {NextResponse, at(11, 30, 12, 0), "email"}},
			[]string{"email", "urgency_normal"}},
		{"a phone call is answered on the call", Facts{Type: "inquiry", Urgency: "normal", Channel: "phone"},
			at(11, 21, 10, 0), []want{{FirstResponse, at(11, 21, 10, 0), "phone"}}, []string{"phone", "urgency_normal"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, applied, err := Apply(ps, tc.facts, tc.start, cals, FirstResponse, NextResponse, Resolution)
			require.NoError(t, err)
			var gotWant []want
			for _, d := range got {
				gotWant = append(gotWant, want{d.Target, d.Due.In(shanghai), codeOf(ps, d.PolicyID)})
			}
			for i := range tc.want {
				tc.want[i].due = tc.want[i].due.In(shanghai)
			}
			require.Equal(t, tc.want, gotWant)
			var codes []string
			for _, id := range applied {
				codes = append(codes, codeOf(ps, id))
			}
			require.Equal(t, tc.applied, codes)
		})
	}
}

func codeOf(ps []Policy, id uuid.UUID) string {
	for _, p := range ps {
		if p.ID == id {
			return p.Code
		}
	}
	return fmt.Sprintf("unknown %s", id)
}

func TestApplyTransferAcceptance(t *testing.T) {
	t.Parallel()
	ps, cals := defaults(t)
	got, applied, err := Apply(ps, Facts{Type: "inquiry", Urgency: "normal", Channel: "web_chat"}, at(11, 20, 17, 30), cals, TransferAcceptance)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, at(11, 23, 10, 30).Equal(got[0].Due), "2 business hours from Friday 17:30: %s", got[0].Due)
	require.Equal(t, []uuid.UUID{idOf("transfer_acceptance")}, applied, "only the policy that set the asked target applied")
}

func TestApplyRules(t *testing.T) {
	t.Parallel()
	_, cals := defaults(t)
	pol := func(code string, enabled bool, cal string, first time.Duration) Policy {
		return Policy{ID: idOf(code), Code: code, Enabled: enabled, Calendar: cal, Targets: map[Target]time.Duration{FirstResponse: first}}
	}
	start := at(11, 23, 10, 0)
	t.Run("a disabled policy does not apply", func(t *testing.T) {
		t.Parallel()
		got, applied, err := Apply([]Policy{pol("a", false, CalendarAlways, time.Minute), pol("b", true, CalendarAlways, time.Hour)},
			Facts{}, start, cals, FirstResponse)
		require.NoError(t, err)
		require.Equal(t, idOf("b"), got[0].PolicyID)
		require.Equal(t, []uuid.UUID{idOf("b")}, applied)
	})
	t.Run("equal due times go to the shorter length, then the lower code", func(t *testing.T) {
		t.Parallel()
		// In office hours an hour is an hour in both calendars; 24x7 and business tie.
		got, _, err := Apply([]Policy{pol("z", true, CalendarAlways, time.Hour), pol("y", true, DefaultCalendar, time.Hour)},
			Facts{}, start, cals, FirstResponse)
		require.NoError(t, err)
		require.Equal(t, idOf("y"), got[0].PolicyID)
	})
	t.Run("an unknown calendar is an error", func(t *testing.T) {
		t.Parallel()
		_, _, err := Apply([]Policy{pol("a", true, "mars", time.Hour)}, Facts{}, start, cals, FirstResponse)
		require.ErrorContains(t, err, `unknown calendar "mars"`)
	})
	t.Run("no policy, no deadline", func(t *testing.T) {
		t.Parallel()
		got, applied, err := Apply(nil, Facts{}, start, cals, FirstResponse)
		require.NoError(t, err)
		require.Empty(t, got)
		require.Empty(t, applied)
	})
}

func TestMatch(t *testing.T) {
	t.Parallel()
	f := Facts{Type: "complaint", Level: "l2", Urgency: "urgent", Channel: "email", Tier: "vip"}
	tests := []struct {
		name string
		m    Match
		want bool
	}{
		{"an empty match applies to every ticket", Match{}, true},
		{"every listed value matches", Match{Types: []string{"complaint"}, Levels: []string{"l1", "l2"}, Tiers: []string{"vip"}}, true},
		{"one field off is no match", Match{Types: []string{"complaint"}, Levels: []string{"l1"}}, false},
		{"the channel counts", Match{Channels: []string{"phone"}}, false},
		{"the urgency counts", Match{Urgencies: []string{"urgent"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.m.Matches(f))
		})
	}
}

// TestApplySkipsATargetItsCalendarCannotCount: a calendar that no longer has the working time a target
// needs (one make-up day left, a 10-hour target) drops that policy's target instead of the ticket's whole
// SLA; the other matching policies still set it.
func TestApplySkipsATargetItsCalendarCannotCount(t *testing.T) {
	t.Parallel()
	short := calendar.Calendar{Zone: time.UTC, Workdays: map[calendar.Date][]calendar.Interval{
		{Year: 2026, Month: 11, Day: 24}: {calendar.Hours(9, 0, 18, 0)}}}
	cals := func(code string) (calendar.Calendar, bool) {
		if code == "short" {
			return short, true
		}
		return calendar.Always(), true
	}
	ps := []Policy{
		{ID: idOf("a"), Code: "a", Enabled: true, Calendar: "short", Targets: map[Target]time.Duration{Resolution: 10 * time.Hour}},
		{ID: idOf("b"), Code: "b", Enabled: true, Calendar: CalendarAlways, Targets: map[Target]time.Duration{Resolution: 48 * time.Hour}},
	}
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ds, _, err := Apply(ps, Facts{}, start, cals, Resolution)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, idOf("b"), ds[0].PolicyID)
	require.True(t, start.Add(48*time.Hour).Equal(ds[0].Due))
}
