package sla

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(t *testing.T) Env {
	ps, cals := defaults(t)
	return Env{Policies: ps, Calendars: cals}
}

// kinds lists the changes' kinds with their first clock's target.
func kinds(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Kind)+":"+string(c.Clocks[0].Target))
	}
	return out
}

func TestTicketOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		facts Facts
		want  []string
		state map[Target]ClockState
	}{
		{"a phone call is answered on the call", Facts{Type: "inquiry", Urgency: "normal", Channel: "phone"},
			[]string{"applied:first_response", "met:first_response"}, map[Target]ClockState{FirstResponse: StateMet}},
		{"an email is acknowledged then answered", Facts{Type: "inquiry", Urgency: "normal", Channel: "email"},
			[]string{"applied:first_response"}, map[Target]ClockState{FirstResponse: StateRunning, NextResponse: StateRunning}},
		{"an L1 complaint responds and resolves, and gets progress reminders", Facts{Type: "complaint", Level: "l1", Urgency: "urgent", Channel: "web_form"},
			[]string{"applied:first_response"}, map[Target]ClockState{FirstResponse: StateRunning, Resolution: StateRunning, Progress: StateRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := Ticket{Facts: tt.facts, Start: at(11, 23, 10, 0)}
			cs, err := tk.Open(env(t))
			require.NoError(t, err)
			require.Equal(t, tt.want, kinds(cs))
			got := map[Target]ClockState{}
			for _, c := range tk.Clocks {
				got[c.Target] = c.State
			}
			require.Equal(t, tt.state, got)
			require.NotEmpty(t, tk.PolicyIDs)
		})
	}
}

func TestTicketLifecycle(t *testing.T) {
	t.Parallel()
	e := env(t)
	// An L2 complaint on Monday 10:00: respond in 30 business minutes, resolve in 24 business hours.
	tk := Ticket{Facts: Facts{Type: "complaint", Level: "l2", Urgency: "normal", Channel: "web_form"}, Start: at(11, 23, 10, 0)}
	_, err := tk.Open(e)
	require.NoError(t, err)

	// 10:20: the first reply meets first response; nothing set next response for this channel.
	require.Equal(t, []string{"met:first_response"}, kinds(tk.Reply(at(11, 23, 10, 20))))
	require.Empty(t, tk.Reply(at(11, 23, 10, 25)), "a target is met once")

	// 11:00–15:00 waiting on the customer: resolution pauses and keeps its time left.
	res, _ := tk.Clock(Resolution)
	dueBefore, _, err := res.Schedule(e)
	require.NoError(t, err)
	require.Equal(t, []string{"paused:resolution"}, kinds(tk.SetPending(true, at(11, 23, 11, 0))))
	require.Nil(t, tk.SetPending(true, at(11, 23, 12, 0)), "already waiting")
	cs := tk.SetPending(false, at(11, 23, 15, 0))
	require.Equal(t, []string{"resumed:resolution"}, kinds(cs))
	dueAfter, _, err := cs[0].Clocks[0].Schedule(e)
	require.NoError(t, err)
	// Wednesday 16:00 + the 4 business hours paused = Thursday 11:00.
	require.True(t, at(11, 25, 16, 0).Equal(dueBefore), "%s", dueBefore.In(shanghai))
	require.True(t, at(11, 26, 11, 0).Equal(dueAfter), "%s", dueAfter.In(shanghai))

	// Reclassified to L1 from the original start: resolution is now 2 h around the clock, the 4 h paused
	// left out, so due at 16:00; its 50% point (11:00) has passed and fires at once, late.
	cs, err = tk.Reclassify(Facts{Type: "complaint", Level: "l1", Urgency: "normal", Channel: "web_form"}, at(11, 23, 15, 1), e)
	require.NoError(t, err)
	require.Equal(t, []string{"applied:resolution"}, kinds(cs))
	require.True(t, cs[0].Recomputed)
	fired, err := tk.FireDue(Resolution, at(11, 23, 15, 2), 2*time.Second, e)
	require.NoError(t, err)
	require.Equal(t, []string{"warning:resolution"}, kinds(fired))
	require.True(t, fired[0].Late)
	require.Equal(t, 1, fired[0].Threshold)
	require.Equal(t, 58*time.Minute, fired[0].Remaining)
	// Down from 15:30 to 16:01: the 80% point (15:36) and the breach (16:00) fire then, in order.
	fired, err = tk.FireDue(Resolution, at(11, 23, 16, 1), 2*time.Second, e)
	require.NoError(t, err)
	require.Equal(t, []string{"warning:resolution", "breached:resolution"}, kinds(fired))
	require.Equal(t, 2, fired[0].Threshold)
	require.True(t, fired[1].Late)
	again, err := tk.FireDue(Resolution, at(11, 23, 16, 3), 2*time.Second, e)
	require.NoError(t, err)
	require.Empty(t, again, "each threshold fires once")

	// Resolved late: met, still breached, and the progress reminders end. Reopened: resolution's next cycle
	// starts afresh.
	require.Equal(t, []string{"met:resolution", "met:progress"}, kinds(tk.Resolve(at(11, 23, 16, 30))))
	res, _ = tk.Clock(Resolution)
	require.Equal(t, StateBreached, res.State)
	cs = tk.Reopen(at(11, 24, 9, 0))
	require.Equal(t, []string{"applied:resolution"}, kinds(cs))
	require.Equal(t, 1, cs[0].Clocks[0].Cycle)
	require.Equal(t, StateRunning, cs[0].Clocks[0].State)

	// Closed: every open clock is cancelled and nothing fires.
	tk.Close(at(11, 24, 10, 0))
	fired, err = tk.FireDue(Resolution, at(11, 30, 0, 0), 2*time.Second, e)
	require.NoError(t, err)
	require.Empty(t, fired)
	require.Nil(t, tk.CustomerMessage(at(11, 30, 0, 0)))
	cs, err = tk.Reclassify(Facts{Type: "complaint", Level: "l3", Urgency: "urgent", Channel: "web_form"}, at(11, 30, 0, 0), e)
	require.NoError(t, err)
	require.Empty(t, cs, "a closed ticket's reclassification changes no clock and publishes nothing")
}

func TestTicketNextResponseCycles(t *testing.T) {
	t.Parallel()
	e := env(t)
	tk := Ticket{Facts: Facts{Type: "inquiry", Urgency: "normal", Channel: "email"}, Start: at(11, 23, 10, 0)}
	_, err := tk.Open(e)
	require.NoError(t, err)
	require.Equal(t, []string{"met:first_response", "met:next_response"}, kinds(tk.Reply(at(11, 23, 10, 30))))
	cs := tk.CustomerMessage(at(11, 23, 11, 0))
	require.Equal(t, []string{"applied:next_response"}, kinds(cs))
	require.Equal(t, 1, cs[0].Clocks[0].Cycle)
	require.Nil(t, tk.CustomerMessage(at(11, 23, 11, 5)), "already waiting on the team")
	require.Equal(t, []string{"met:next_response"}, kinds(tk.Reply(at(11, 23, 12, 0))))
}

func TestTicketTransfers(t *testing.T) {
	t.Parallel()
	e := env(t)
	tk := Ticket{Facts: Facts{Type: "inquiry", Urgency: "normal", Channel: "app"}, Start: at(11, 23, 10, 0)}
	_, err := tk.Open(e)
	require.NoError(t, err)
	// Routing's deadline counts around the clock: 30 minutes from 17:50 is 18:20, after hours.
	cs, err := tk.TransferRequested(at(11, 23, 17, 50), at(11, 23, 18, 20), e)
	require.NoError(t, err)
	require.Equal(t, []string{"applied:transfer_acceptance"}, kinds(cs))
	due, _, err := cs[0].Clocks[0].Schedule(e)
	require.NoError(t, err)
	require.True(t, at(11, 23, 18, 20).Equal(due), "%s", due)
	require.Equal(t, []string{"met:transfer_acceptance"}, kinds(tk.TransferAccepted(at(11, 23, 18, 0))))

	// Without a deadline from routing, the default policy's 2 business hours apply, in the next cycle.
	cs, err = tk.TransferRequested(at(11, 24, 17, 0), time.Time{}, e)
	require.NoError(t, err)
	c := cs[0].Clocks[0]
	require.Equal(t, 1, c.Cycle)
	due, _, err = c.Schedule(e)
	require.NoError(t, err)
	require.True(t, at(11, 25, 10, 0).Equal(due), "%s", due.In(shanghai))
	// Resolving cancels the waiting transfer.
	tk.Resolve(at(11, 24, 17, 30))
	ta, _ := tk.Clock(TransferAcceptance)
	require.Equal(t, StateCancelled, ta.State)
}
