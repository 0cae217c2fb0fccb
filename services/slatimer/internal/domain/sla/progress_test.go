package sla

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/slatimer/internal/domain/calendar"
)

// progressClock is a Progress clock of after and every from start.
func progressClock(after, every time.Duration, start time.Time) Clock {
	return NewClock(Deadline{Target: Progress, Length: after, Every: every}, start)
}

// reminders drains up to limit reminders of c in order, each fired at its own instant, and returns their
// instants (numbered by their Index).
func reminders(t *testing.T, c Clock, cal calendar.Calendar, limit int) []time.Time {
	t.Helper()
	var out []time.Time
	for range limit {
		tm, ok, err := c.Next(cal)
		require.NoError(t, err)
		if !ok {
			break
		}
		require.Equal(t, len(out), tm.Index, "reminders are numbered in order")
		out = append(out, tm.At)
		c.Fire(tm, tm.At)
	}
	return out
}

func TestProgressReminderInstants(t *testing.T) {
	t.Parallel()
	h := time.Hour
	tests := []struct {
		name         string
		cal          calendar.Calendar
		after, every time.Duration
		start        time.Time
		pauses       []Span
		want         []time.Time
	}{
		{"around the clock: after 2 h, then every hour", calendar.Always(), 2 * h, h, at(11, 23, 10, 0), nil,
			[]time.Time{at(11, 23, 12, 0), at(11, 23, 13, 0), at(11, 23, 14, 0)}},
		{"without an interval there is one reminder only", calendar.Always(), 2 * h, 0, at(11, 23, 10, 0), nil,
			[]time.Time{at(11, 23, 12, 0)}},
		// 24 business hours from Friday 17:30 end Wednesday 14:30 (0.5 h Friday, 9 h Monday and Tuesday,
		// 5.5 h Wednesday); each 9 business hours after that is the next working day at the same time.
		{"in business time: Friday 17:30 plus 24 h is Wednesday 14:30, then a working day each", china(t), 24 * h, 9 * h,
			at(11, 20, 17, 30), nil, []time.Time{at(11, 25, 14, 30), at(11, 26, 14, 30), at(11, 27, 14, 30), at(11, 30, 14, 30)}},
		{"an hour waiting on the customer moves every reminder by an hour", calendar.Always(), 2 * h, h, at(11, 23, 10, 0),
			[]Span{{at(11, 23, 10, 30), at(11, 23, 11, 30)}}, []time.Time{at(11, 23, 13, 0), at(11, 23, 14, 0), at(11, 23, 15, 0)}},
		{"a wait over a reminder's instant holds it until the customer answers", calendar.Always(), 2 * h, h, at(11, 23, 10, 0),
			[]Span{{at(11, 23, 11, 0), at(11, 23, 13, 0)}}, []time.Time{at(11, 23, 14, 0), at(11, 23, 15, 0)}},
		{"a wait out of working hours does not move them", china(t), 2 * h, 9 * h, at(11, 23, 17, 0),
			[]Span{{at(11, 23, 19, 0), at(11, 24, 8, 0)}}, []time.Time{at(11, 24, 10, 0), at(11, 25, 10, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := progressClock(tc.after, tc.every, tc.start)
			for _, p := range tc.pauses {
				c.Pause(p.From)
				c.Resume(p.To)
			}
			got := reminders(t, c, tc.cal, len(tc.want)+1)
			if tc.every > 0 {
				got = got[:len(tc.want)] // an interval never ends: compare the first ones
			}
			require.Len(t, got, len(tc.want))
			for i := range tc.want {
				require.True(t, tc.want[i].Equal(got[i]), "reminder %d: want %s, got %s", i+1, tc.want[i].In(shanghai), got[i].In(shanghai))
			}
		})
	}
}

func TestProgressClockNeverWarnsNorBreaches(t *testing.T) {
	t.Parallel()
	cal := calendar.Always()
	c := progressClock(2*time.Hour, time.Hour, at(11, 23, 10, 0))
	c.Warnings = DefaultWarnings() // even with warnings set, a progress clock's timers are its reminders
	for _, tm := range []time.Time{at(11, 23, 12, 0), at(11, 23, 13, 0)} {
		next, ok, err := c.Next(cal)
		require.NoError(t, err)
		require.True(t, ok)
		require.False(t, next.IsBreach())
		require.True(t, tm.Equal(next.At))
		c.Fire(next, next.At)
		require.Equal(t, StateRunning, c.State)
	}
	require.Equal(t, 30*time.Minute, c.Remaining(cal, at(11, 23, 13, 30)), "until the next reminder")
	c.Pause(at(11, 23, 13, 30))
	_, ok, err := c.Next(cal)
	require.NoError(t, err)
	require.False(t, ok, "nothing fires while the ticket waits on the customer")
	require.Equal(t, 30*time.Minute, c.Remaining(cal, at(11, 23, 20, 0)), "the time left is kept while paused")
	c.Meet(at(11, 23, 14, 0))
	_, ok, err = c.Next(cal)
	require.NoError(t, err)
	require.False(t, ok, "nothing fires once resolved")
	require.Zero(t, c.Remaining(cal, at(11, 23, 20, 0)))
}

// progressEnv is one progress-only policy (after 2 h, every hour, around the clock, telling the customer)
// for web-form tickets, beside the defaults.
func progressEnv(t *testing.T) Env {
	t.Helper()
	e := env(t)
	e.Policies = append(e.Policies, Policy{ID: idOf("form_progress"), Code: "form_progress", Enabled: true,
		Match: Match{Channels: []string{"web_form"}}, Calendar: CalendarAlways, Targets: map[Target]time.Duration{},
		Progress: &ProgressRule{After: 2 * time.Hour, Every: time.Hour, NotifyCustomer: true}, Breach: BreachNotify})
	return e
}

func TestTicketProgressReminders(t *testing.T) {
	t.Parallel()
	e := progressEnv(t)
	late := 2 * time.Second
	tk := Ticket{Facts: Facts{Type: "inquiry", Urgency: "normal", Channel: "web_form"}, Start: at(11, 23, 10, 0)}
	_, err := tk.Open(e)
	require.NoError(t, err)
	require.Contains(t, tk.PolicyIDs, idOf("form_progress"), "a progress-only policy applied")
	p, ok := tk.Clock(Progress)
	require.True(t, ok)
	require.True(t, p.NotifyCustomer)
	due, next, err := p.Schedule(e)
	require.NoError(t, err)
	require.True(t, at(11, 23, 12, 0).Equal(due), "the next reminder is the progress clock's due time")
	require.True(t, due.Equal(next))

	fire := func(now time.Time) []Change {
		t.Helper()
		cs, err := tk.FireDue(Progress, now, late, e)
		require.NoError(t, err)
		return cs
	}
	require.Empty(t, fire(at(11, 23, 11, 59)), "not before its instant")
	cs := fire(at(11, 23, 12, 0))
	require.Equal(t, []string{"progress_due:progress"}, kinds(cs))
	require.Equal(t, 1, cs[0].Threshold)
	require.False(t, cs[0].Late)
	require.True(t, at(11, 23, 12, 0).Equal(cs[0].At))
	require.Equal(t, 2*time.Hour, cs[0].Elapsed)
	require.Empty(t, fire(at(11, 23, 12, 0)), "each reminder fires once")

	// Down from 12:30 to 15:30: reminders 2, 3 and 4 (13:00, 14:00, 15:00) came due; only the latest fires,
	// late, so the customer gets one message; the fifth is at 16:00.
	cs = fire(at(11, 23, 15, 30))
	require.Len(t, cs, 1)
	require.Equal(t, 4, cs[0].Threshold)
	require.True(t, cs[0].Late)
	require.True(t, at(11, 23, 15, 0).Equal(cs[0].At))
	require.Equal(t, 5*time.Hour+30*time.Minute, cs[0].Elapsed)
	require.Equal(t, 4, cs[0].Clocks[0].Warned)
	_, next, err = cs[0].Clocks[0].Schedule(e)
	require.NoError(t, err)
	require.True(t, at(11, 23, 16, 0).Equal(next))

	// Waiting on the customer 15:45–17:45: nothing fires meanwhile, then the fifth comes two hours late.
	require.Equal(t, []string{"paused:first_response"}, kinds(tk.SetPending(true, at(11, 23, 15, 45))))
	require.Empty(t, fire(at(11, 23, 17, 0)))
	tk.SetPending(false, at(11, 23, 17, 45))
	require.Empty(t, fire(at(11, 23, 17, 59)))
	cs = fire(at(11, 23, 18, 0))
	require.Equal(t, 5, cs[0].Threshold)
	require.False(t, cs[0].Late)

	// Resolved: the reminders end (met), nothing fires after. Reopened at 21:00: a new cycle, counting from 1.
	require.Contains(t, kinds(tk.Resolve(at(11, 23, 18, 30))), "met:progress")
	require.Empty(t, fire(at(11, 23, 20, 59)))
	cs = tk.Reopen(at(11, 23, 21, 0))
	require.Len(t, cs, 1)
	require.Equal(t, ChangeApplied, cs[0].Kind)
	p, _ = tk.Clock(Progress)
	require.Equal(t, 1, p.Cycle)
	require.Equal(t, StateRunning, p.State)
	cs = fire(at(11, 23, 23, 0))
	require.Equal(t, 1, cs[0].Threshold)
	require.Equal(t, 1, cs[0].Clocks[0].Cycle)

	// Closed: cancelled, nothing fires.
	tk.Close(at(11, 24, 0, 0))
	p, _ = tk.Clock(Progress)
	require.Equal(t, StateCancelled, p.State)
	require.Empty(t, fire(at(11, 25, 0, 0)))
}

func TestTicketProgressReclassification(t *testing.T) {
	t.Parallel()
	e := progressEnv(t)
	tests := []struct {
		name     string
		from, to Facts
		resolved bool
		want     ClockState // "" for no progress clock
	}{
		{"a ticket matching a progress rule gets its reminders from the original start",
			Facts{Type: "inquiry", Urgency: "normal", Channel: "email"}, Facts{Type: "complaint", Level: "l2", Urgency: "normal", Channel: "email"},
			false, StateRunning},
		{"a ticket no longer matching one has them cancelled",
			Facts{Type: "complaint", Level: "l2", Urgency: "normal", Channel: "email"}, Facts{Type: "inquiry", Urgency: "normal", Channel: "email"},
			false, StateCancelled},
		{"a resolved ticket gets none",
			Facts{Type: "inquiry", Urgency: "normal", Channel: "email"}, Facts{Type: "complaint", Level: "l2", Urgency: "normal", Channel: "email"},
			true, ""},
		{"a ticket without a progress rule before or after has none",
			Facts{Type: "inquiry", Urgency: "normal", Channel: "email"}, Facts{Type: "inquiry", Urgency: "urgent", Channel: "email"},
			false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := Ticket{Facts: tc.from, Start: at(11, 23, 10, 0)}
			_, err := tk.Open(e)
			require.NoError(t, err)
			if tc.resolved {
				tk.Resolve(at(11, 23, 11, 0))
			}
			_, err = tk.Reclassify(tc.to, at(11, 23, 12, 0), e)
			require.NoError(t, err)
			p, ok := tk.Clock(Progress)
			if tc.want == "" {
				require.False(t, ok, "%+v", p)
				return
			}
			require.True(t, ok)
			require.Equal(t, tc.want, p.State)
			require.True(t, at(11, 23, 10, 0).Equal(p.Start))
		})
	}
}

func TestApplyProgress(t *testing.T) {
	t.Parallel()
	_, cals := defaults(t)
	h := time.Hour
	rule := func(code, cal string, after, every time.Duration, notify bool) Policy {
		return Policy{ID: idOf(code), Code: code, Enabled: true, Calendar: cal, Targets: map[Target]time.Duration{FirstResponse: 30 * 24 * h},
			Progress: &ProgressRule{After: after, Every: every, NotifyCustomer: notify}}
	}
	tests := []struct {
		name     string
		policies []Policy
		start    time.Time
		want     string // the winning policy's code; "" for no progress
		every    time.Duration
		notify   bool
	}{
		{"the earliest first reminder wins, with its interval and flag",
			[]Policy{rule("a", CalendarAlways, 48*h, 24*h, true), rule("b", CalendarAlways, 24*h, 12*h, false)},
			at(11, 23, 10, 0), "b", 12 * h, false},
		// Friday 17:30: 9 business hours end Monday 17:30; 24 hours around the clock end Saturday 17:30.
		{"lengths in different calendars compare by instant",
			[]Policy{rule("a", DefaultCalendar, 9*h, 9*h, true), rule("b", CalendarAlways, 24*h, 24*h, false)},
			at(11, 20, 17, 30), "b", 24 * h, false},
		{"a policy without a rule sets no progress", []Policy{pol("c", 2*h)}, at(11, 23, 10, 0), "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, applied, err := Apply(tc.policies, Facts{}, tc.start, cals, ticketTargets...)
			require.NoError(t, err)
			require.Len(t, applied, len(tc.policies), "every policy set a target")
			var got *Deadline
			for i := range ds {
				if ds[i].Target == Progress {
					got = &ds[i]
				}
			}
			if tc.want == "" {
				require.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			require.Equal(t, idOf(tc.want), got.PolicyID)
			require.Equal(t, tc.every, got.Every)
			require.Equal(t, tc.notify, got.NotifyCustomer)
			require.Empty(t, got.Warnings, "reminders never warn")
		})
	}
}

func pol(code string, first time.Duration) Policy {
	return Policy{ID: idOf(code), Code: code, Enabled: true, Calendar: CalendarAlways, Targets: map[Target]time.Duration{FirstResponse: first}}
}

func TestDefaultProgressRule(t *testing.T) {
	t.Parallel()
	ps, cals := defaults(t)
	tests := []struct {
		name  string
		facts Facts
		want  bool
	}{
		{"an L3 complaint gets progress reminders", Facts{Type: "complaint", Level: "l3", Urgency: "normal", Channel: "web_form"}, true},
		{"an L1 complaint too", Facts{Type: "complaint", Level: "l1", Urgency: "critical", Channel: "phone"}, true},
		{"an inquiry does not", Facts{Type: "inquiry", Urgency: "normal", Channel: "email"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds, applied, err := Apply(ps, tc.facts, at(11, 20, 17, 30), cals, Progress)
			require.NoError(t, err)
			if !tc.want {
				require.Empty(t, ds)
				require.Empty(t, applied)
				return
			}
			require.Len(t, ds, 1)
			d := ds[0]
			require.Equal(t, []uuid.UUID{idOf("long_case_progress")}, applied)
			require.Equal(t, DefaultCalendar, d.Calendar)
			require.Equal(t, 24*time.Hour, d.Length)
			require.Equal(t, 24*time.Hour, d.Every)
			require.True(t, d.NotifyCustomer)
			require.True(t, at(11, 25, 14, 30).Equal(d.Due), "24 business hours from Friday 17:30: %s", d.Due.In(shanghai))
		})
	}
}

func TestPolicyValidateProgress(t *testing.T) {
	t.Parallel()
	exists := func(string) bool { return true }
	base := func(r *ProgressRule) Policy {
		return Policy{Code: "p", Name: "p", Calendar: CalendarAlways, Breach: BreachNotify, Targets: map[Target]time.Duration{},
			Progress: r}
	}
	tests := []struct {
		name  string
		rule  *ProgressRule
		field string // "" when valid
	}{
		{"a rule alone is a valid policy", &ProgressRule{After: time.Hour}, ""},
		{"no rule and no target is not", nil, "policy.targets"},
		{"after must be positive", &ProgressRule{After: 0}, "policy.progress.after"},
		{"after at most 366 days", &ProgressRule{After: MaxTargetLength + time.Second}, "policy.progress.after"},
		{"every under an hour would flood the customer", &ProgressRule{After: time.Hour, Every: 30 * time.Minute}, "policy.progress.every"},
		{"every may not be negative", &ProgressRule{After: time.Hour, Every: -time.Hour}, "policy.progress.every"},
		{"every at most 366 days", &ProgressRule{After: time.Hour, Every: MaxTargetLength + time.Hour}, "policy.progress.every"},
		{"hourly is the most often", &ProgressRule{After: time.Hour, Every: time.Hour}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := base(tc.rule).Validate("policy", exists)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var e *apierr.Error
			require.ErrorAs(t, err, &e)
			require.Len(t, e.Fields, 1, "%v", err)
			require.Equal(t, tc.field, e.Fields[0].Field, "%v", err)
		})
	}
}
