package slatimer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/testkit"
)

const progress = eventsv1.SlaTarget_SLA_TARGET_PROGRESS

// agentID is the test agent's id, as intake's assignment carries it.
var agentID = agentP[len("staff:"):]

// progressPolicy creates a policy for tickets of channel with only a progress rule, around the clock.
func (s *stack) progressPolicy(t *testing.T, code string, channel intakev1.Channel, after, every time.Duration, notify bool) *slav1.Policy {
	t.Helper()
	resp, err := s.sla.CreatePolicy(admin(t), &slav1.CreatePolicyRequest{Policy: &slav1.Policy{Code: code, DisplayName: code,
		Enabled: true, Calendar: "24x7", Match: &slav1.PolicyMatch{Channels: []intakev1.Channel{channel}},
		Progress: &slav1.PolicyProgress{After: durationpb.New(after), Every: durationpb.New(every), NotifyCustomer: notify}}})
	require.NoError(t, err)
	return resp.GetPolicy()
}

// progressEvents decodes ticket's kefu.sla.progress_due events, in sequence order.
func (s *stack) progressEvents(t *testing.T, ticket string) []*eventsv1.SlaProgressDue {
	t.Helper()
	var out []*eventsv1.SlaProgressDue
	for _, e := range s.events(t, ticket) {
		if e.subject != "kefu.sla.progress_due" {
			continue
		}
		m := &eventsv1.SlaProgressDue{}
		require.NoError(t, proto.Unmarshal(e.payload, m))
		out = append(out, m)
	}
	return out
}

// awaitReminders waits until ticket has n progress reminders.
func (s *stack) awaitReminders(t *testing.T, ticket string, n int) []*eventsv1.SlaProgressDue {
	t.Helper()
	var out []*eventsv1.SlaProgressDue
	testkit.EventuallyNoError(t, func() error {
		if out = s.progressEvents(t, ticket); len(out) < n {
			return fmt.Errorf("ticket %s has %d progress reminders, want %d", ticket, len(out), n)
		}
		return nil
	}, wait)
	return out
}

// awaitReminder waits until ticket has progress reminder n of cycle 0 and returns it.
func (s *stack) awaitReminder(t *testing.T, ticket string, n int) *eventsv1.SlaProgressDue {
	t.Helper()
	var out *eventsv1.SlaProgressDue
	testkit.EventuallyNoError(t, func() error {
		for _, r := range s.progressEvents(t, ticket) {
			if r.GetReminder() == int32(n) && r.GetCycle() == 0 {
				out = r
				return nil
			}
		}
		return fmt.Errorf("ticket %s has no progress reminder %d yet", ticket, n)
	}, wait)
	return out
}

// awaitProgress waits until ticket's progress status meets ok and returns the ticket's SLA.
func (s *stack) awaitProgress(t *testing.T, ticket string, ok func(p *slav1.TargetStatus) bool) *slav1.TicketSla {
	t.Helper()
	var v *slav1.TicketSla
	testkit.EventuallyNoError(t, func() error {
		v = s.ticketSLA(t, ticket)
		if p := v.GetProgress(); p == nil || !ok(p) {
			return fmt.Errorf("ticket %s: progress %v", ticket, p)
		}
		return nil
	}, wait)
	return v
}

// reminder is what one kefu.sla.progress_due should say.
type reminder struct {
	n, cycle      int
	at, next      time.Time // next zero: no next reminder
	elapsed       time.Duration
	late          bool
	notify        bool
	assigned      bool
	policy        string
	occurredAtDue bool // fired at its own instant: the fake clock stood there
}

func requireReminder(t *testing.T, want reminder, got *eventsv1.SlaProgressDue) {
	t.Helper()
	require.EqualValues(t, want.n, got.GetReminder(), "reminder number")
	require.EqualValues(t, want.cycle, got.GetCycle(), "cycle of reminder %d", want.n)
	require.True(t, want.at.Equal(got.GetReminderTime().AsTime()), "reminder %d: due %s, want %s", want.n,
		got.GetReminderTime().AsTime(), want.at)
	if want.occurredAtDue {
		require.True(t, want.at.Equal(got.GetMeta().GetOccurredAt().AsTime()), "reminder %d fired at %s, not at its instant %s",
			want.n, got.GetMeta().GetOccurredAt().AsTime(), want.at)
	}
	if want.next.IsZero() {
		require.Nil(t, got.GetNextReminderTime(), "reminder %d is the last", want.n)
	} else {
		require.True(t, want.next.Equal(got.GetNextReminderTime().AsTime()), "reminder %d: next %s, want %s", want.n,
			got.GetNextReminderTime().AsTime(), want.next)
	}
	require.Equal(t, want.elapsed, got.GetElapsed().AsDuration(), "reminder %d: business time open", want.n)
	require.Equal(t, want.late, got.GetLate(), "reminder %d: late", want.n)
	require.Equal(t, want.notify, got.GetNotifyCustomer(), "reminder %d: notify_customer", want.n)
	require.Equal(t, want.policy, got.GetPolicyId())
	require.Equal(t, got.GetMeta().GetAggregateId(), got.GetTicketId())
	require.Equal(t, "slatimer", got.GetMeta().GetSource())
	if want.assigned {
		require.Equal(t, testGroup, got.GetGroupId())
		require.Equal(t, agentID, got.GetAssigneeId())
	}
}

// requireNoProgressIn checks that no applied, paused, resumed or met event of ticket names the progress
// clock: reminders are not promises (analytics counts those events' targets).
func (s *stack) requireNoProgressIn(t *testing.T, ticket string) {
	t.Helper()
	for _, e := range s.events(t, ticket) {
		var targets []eventsv1.SlaTarget
		switch e.subject {
		case "kefu.sla.applied":
			var m eventsv1.SlaApplied
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			for _, d := range m.GetDeadlines() {
				targets = append(targets, d.GetTarget())
			}
		case "kefu.sla.resumed":
			var m eventsv1.SlaResumed
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			for _, d := range m.GetDeadlines() {
				targets = append(targets, d.GetTarget())
			}
		case "kefu.sla.paused":
			var m eventsv1.SlaPaused
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			targets = m.GetTargets()
		case "kefu.sla.met":
			var m eventsv1.SlaMet
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			targets = []eventsv1.SlaTarget{m.GetTarget()}
		case "kefu.sla.warning":
			var m eventsv1.SlaWarning
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			targets = []eventsv1.SlaTarget{m.GetTarget()}
		case "kefu.sla.breached":
			var m eventsv1.SlaBreached
			require.NoError(t, proto.Unmarshal(e.payload, &m))
			targets = []eventsv1.SlaTarget{m.GetTarget()}
		}
		require.NotContains(t, targets, progress, "%s of ticket %s names the progress clock", e.subject, ticket)
	}
}

// TestProgressRemindersFireOnceEachWithTwoReplicas (issue #9, "progress reminders fire once"): two
// replicas share the timers; each reminder of 12 tickets fires exactly once, at its own instant (after,
// after+every, after+2·every), carrying the ticket's group and agent and the rule's notify flag; a rule
// without an interval fires once only.
func TestProgressRemindersFireOnceEachWithTwoReplicas(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	s := startAt(t, clk)
	s.replica(t)
	t0 := clk.Now()
	hourly := s.progressPolicy(t, "sms_progress", intakev1.Channel_CHANNEL_SMS, 2*time.Hour, time.Hour, true)
	once := s.progressPolicy(t, "store_progress", intakev1.Channel_CHANNEL_STORE, 2*time.Hour, 0, false)

	var ids []string
	for range 12 {
		ids = append(ids, s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_SMS, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY}))
	}
	single := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_STORE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	for _, id := range append([]string{single}, ids...) {
		s.work(t, id)
	}
	for _, id := range append([]string{single}, ids...) {
		v := s.awaitProgress(t, id, func(*slav1.TargetStatus) bool { return true })
		testkit.EventuallyNoError(t, func() error {
			if v = s.ticketSLA(t, id); v.GetAssigneeId() != agentID {
				return fmt.Errorf("ticket %s: assignee %q not seen yet", id, v.GetAssigneeId())
			}
			return nil
		}, wait)
		p := v.GetProgress()
		require.Equal(t, progress, p.GetTarget())
		require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, p.GetState())
		require.True(t, t0.Add(2*time.Hour).Equal(p.GetDueTime().AsTime()), "the first reminder is due after 2 h: %s", p.GetDueTime().AsTime())
		require.Equal(t, 2*time.Hour, p.GetRemaining().AsDuration())
		require.Equal(t, 2*time.Hour, p.GetLength().AsDuration())
		require.Zero(t, p.GetRemindersFired())
		for _, ts := range v.GetTargets() {
			require.NotEqual(t, progress, ts.GetTarget(), "reminders are not among the targets")
		}
	}
	v := s.ticketSLA(t, ids[0])
	require.Equal(t, hourly.GetPolicyId(), v.GetProgress().GetPolicyId())
	require.Equal(t, time.Hour, v.GetProgress().GetReminderInterval().AsDuration())
	require.True(t, v.GetProgress().GetNotifyCustomer())
	require.Contains(t, v.GetPolicyIds(), hourly.GetPolicyId())
	for _, l := range s.atRisk(t, &slav1.ListAtRiskRequest{}).GetTargets() {
		require.NotEqual(t, progress, l.GetStatus().GetTarget(), "reminders are not at risk")
	}

	// Time moves to each reminder's instant in turn; each time every ticket gets exactly the next one.
	for n := 1; n <= 3; n++ {
		clk.Set(t0.Add(time.Duration(n+1) * time.Hour))
		for _, id := range ids {
			s.awaitReminders(t, id, n)
		}
	}
	s.awaitReminders(t, single, 1)
	// One more hour, the fourth reminders, so that any duplicate of the third had its chance to be written.
	clk.Set(t0.Add(5 * time.Hour))
	for _, id := range ids {
		s.awaitReminders(t, id, 4)
	}

	for _, id := range ids {
		got := s.progressEvents(t, id)
		require.Len(t, got, 4, "ticket %s: one event per reminder", id)
		for i, r := range got {
			n := i + 1
			at := t0.Add(time.Duration(n+1) * time.Hour)
			requireReminder(t, reminder{n: n, at: at, next: at.Add(time.Hour), elapsed: time.Duration(n+1) * time.Hour,
				notify: true, assigned: true, policy: hourly.GetPolicyId(), occurredAtDue: true}, r)
		}
		s.requireNoProgressIn(t, id)
	}
	got := s.progressEvents(t, single)
	require.Len(t, got, 1, "a rule without an interval reminds once")
	requireReminder(t, reminder{n: 1, at: t0.Add(2 * time.Hour), elapsed: 2 * time.Hour, assigned: true,
		policy: once.GetPolicyId(), occurredAtDue: true}, got[0])
	p := s.ticketSLA(t, single).GetProgress()
	require.EqualValues(t, 1, p.GetRemindersFired())
	require.Nil(t, p.GetDueTime(), "no next reminder")
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, p.GetState(), "running until resolved, never WARNING")
	p = s.ticketSLA(t, ids[0]).GetProgress()
	require.EqualValues(t, 4, p.GetRemindersFired())
	require.Zero(t, p.GetWarningsFired())
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, p.GetState())
	require.True(t, t0.Add(6*time.Hour).Equal(p.GetDueTime().AsTime()))
	requireSequenced(t, s.events(t, ""))
}

// TestProgressRemindersPauseWhileWaitingOnTheCustomer: while the ticket waits on the customer no reminder
// fires, and the schedule moves by the wait. A ticket that did not wait shows that the timers ran meanwhile
// (and that reminders missed at once coalesce into the latest, marked late).
func TestProgressRemindersPauseWhileWaitingOnTheCustomer(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	s := startAt(t, clk)
	t0 := clk.Now()
	pol := s.progressPolicy(t, "wechat_progress", intakev1.Channel_CHANNEL_WECHAT, 2*time.Hour, time.Hour, true)
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WECHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	sentinel := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WECHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	s.work(t, id)
	s.awaitProgress(t, sentinel, func(*slav1.TargetStatus) bool { return true })

	// An hour in, the agent asks the customer something: the reminders pause with an hour left.
	clk.Set(t0.Add(time.Hour))
	_, err := s.intake.SetPendingCustomer(staff(t), &intakev1.SetPendingCustomerRequest{TicketId: id})
	require.NoError(t, err)
	v := s.awaitProgress(t, id, func(p *slav1.TargetStatus) bool { return p.GetState() == slav1.SlaState_SLA_STATE_PAUSED })
	require.Nil(t, v.GetProgress().GetDueTime(), "no reminder is due while waiting")
	require.Equal(t, time.Hour, v.GetProgress().GetRemaining().AsDuration())

	// 3.5 hours in: the sentinel's first two reminders (2 h, 3 h) came due at once and fire as one, the
	// second, late. The timer pass that fired it would have fired the waiting ticket's too.
	clk.Set(t0.Add(3*time.Hour + 30*time.Minute))
	requireReminder(t, reminder{n: 2, at: t0.Add(3 * time.Hour), next: t0.Add(4 * time.Hour), elapsed: 3*time.Hour + 30*time.Minute,
		late: true, notify: true, policy: pol.GetPolicyId()}, s.awaitReminder(t, sentinel, 2))
	require.Len(t, s.progressEvents(t, sentinel), 1, "the missed first reminder coalesced into the second")
	require.Empty(t, s.progressEvents(t, id), "nothing fires while the ticket waits on the customer")

	// The customer answers: the hour left runs from now, so the first reminder is due at 4.5 h, not 2 h.
	_, err = s.intake.AppendCustomerMessage(as(t.Context(), adapterP), &intakev1.AppendCustomerMessageRequest{TicketId: id,
		RequestId: uuid.NewString(), Text: "我的订单号是 123"})
	require.NoError(t, err)
	v = s.awaitProgress(t, id, func(p *slav1.TargetStatus) bool { return p.GetState() == slav1.SlaState_SLA_STATE_RUNNING })
	due := t0.Add(4*time.Hour + 30*time.Minute)
	require.True(t, due.Equal(v.GetProgress().GetDueTime().AsTime()), "due %s, want %s", v.GetProgress().GetDueTime().AsTime(), due)
	clk.Set(due)
	got := s.awaitReminders(t, id, 1)
	require.Len(t, got, 1)
	requireReminder(t, reminder{n: 1, at: due, next: due.Add(time.Hour), elapsed: 2 * time.Hour, notify: true, assigned: true,
		policy: pol.GetPolicyId(), occurredAtDue: true}, got[0])
	s.requireNoProgressIn(t, id)
}

// TestProgressRemindersEndOnResolutionAndRestartOnReopen: resolving ends the reminders (nothing fires
// after), and a reopen starts a new cycle whose reminders count from 1 again, from the reopen.
func TestProgressRemindersEndOnResolutionAndRestartOnReopen(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	s := startAt(t, clk)
	t0 := clk.Now()
	pol := s.progressPolicy(t, "mini_progress", intakev1.Channel_CHANNEL_MINI_PROGRAM, 2*time.Hour, time.Hour, true)
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_MINI_PROGRAM, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	sentinel := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_MINI_PROGRAM, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	s.work(t, id)
	s.awaitProgress(t, sentinel, func(*slav1.TargetStatus) bool { return true })

	clk.Set(t0.Add(2 * time.Hour))
	s.awaitReminders(t, id, 1)
	clk.Set(t0.Add(2*time.Hour + 30*time.Minute))
	_, err := s.intake.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "已处理"})
	require.NoError(t, err)
	v := s.awaitProgress(t, id, func(p *slav1.TargetStatus) bool { return p.GetState() == slav1.SlaState_SLA_STATE_MET })
	require.Nil(t, v.GetProgress().GetDueTime())
	require.EqualValues(t, 1, v.GetProgress().GetRemindersFired())

	// Six hours in: the sentinel's reminder of 6 h fires (proof the timers ran then), the resolved
	// ticket's do not.
	clk.Set(t0.Add(6 * time.Hour))
	s.awaitReminder(t, sentinel, 5)
	require.Len(t, s.progressEvents(t, id), 1, "nothing fires after resolution")

	// Reopened at 6 h: cycle 1, its first reminder two hours later.
	_, err = s.intake.ReopenTicket(staff(t), &intakev1.ReopenTicketRequest{TicketId: id, Reason: "问题未解决"})
	require.NoError(t, err)
	v = s.awaitProgress(t, id, func(p *slav1.TargetStatus) bool { return p.GetCycle() == 1 })
	p := v.GetProgress()
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, p.GetState())
	require.Zero(t, p.GetRemindersFired())
	require.True(t, t0.Add(6*time.Hour).Equal(p.GetStartTime().AsTime()))
	require.True(t, t0.Add(8*time.Hour).Equal(p.GetDueTime().AsTime()))
	clk.Set(t0.Add(8 * time.Hour))
	got := s.awaitReminders(t, id, 2)
	require.Len(t, got, 2)
	requireReminder(t, reminder{n: 1, at: t0.Add(2 * time.Hour), next: t0.Add(3 * time.Hour), elapsed: 2 * time.Hour, notify: true,
		assigned: true, policy: pol.GetPolicyId(), occurredAtDue: true}, got[0])
	requireReminder(t, reminder{n: 1, cycle: 1, at: t0.Add(8 * time.Hour), next: t0.Add(9 * time.Hour), elapsed: 2 * time.Hour,
		notify: true, assigned: true, policy: pol.GetPolicyId(), occurredAtDue: true}, got[1])
	s.requireNoProgressIn(t, id)
	requireSequenced(t, s.events(t, ""))
}

// TestProgressRuleOnPolicies: the progress rule is created, read, changed (update_mask "progress") and
// removed through the API, with bad input naming its field; the built-in long_case_progress gives a
// complaint reminders (not among its targets) while a ticket no rule matches has none; ReapplySla
// re-derives a ticket's reminders from the policies as they stand.
func TestProgressRuleOnPolicies(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)

	lc, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: builtin("long_case_progress")})
	require.NoError(t, err)
	r := lc.GetPolicy().GetProgress()
	require.Equal(t, 24*time.Hour, r.GetAfter().AsDuration())
	require.Equal(t, 24*time.Hour, r.GetEvery().AsDuration())
	require.True(t, r.GetNotifyCustomer())
	require.Equal(t, "china_default", lc.GetPolicy().GetCalendar())
	require.Empty(t, lc.GetPolicy().GetTargets())

	valid := func() *slav1.Policy {
		return &slav1.Policy{Code: "app_progress", DisplayName: "App 进展提醒", Enabled: true, Calendar: "24x7",
			Match:    &slav1.PolicyMatch{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_APP}},
			Progress: &slav1.PolicyProgress{After: durationpb.New(8 * time.Hour), Every: durationpb.New(4 * time.Hour)}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(p *slav1.Policy)
		field string
	}{
		{"no after", func(p *slav1.Policy) { p.Progress.After = nil }, "policy.progress.after"},
		{"zero after", func(p *slav1.Policy) { p.Progress.After = durationpb.New(0) }, "policy.progress.after"},
		{"after over 366 days", func(p *slav1.Policy) { p.Progress.After = durationpb.New(367 * 24 * time.Hour) }, "policy.progress.after"},
		{"every under an hour", func(p *slav1.Policy) { p.Progress.Every = durationpb.New(59 * time.Minute) }, "policy.progress.every"},
		{"progress as a target", func(p *slav1.Policy) {
			p.Targets = []*slav1.PolicyTarget{{Target: progress, Length: durationpb.New(time.Hour)}}
		}, "policy.targets[0].target"},
		{"neither targets nor progress", func(p *slav1.Policy) { p.Progress = nil }, "policy.targets"},
	} {
		p := valid()
		tc.edit(p)
		_, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p})
		requireField(t, err, tc.field)
	}
	created, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: valid()})
	require.NoError(t, err)
	got, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: created.GetPolicy().GetPolicyId()})
	require.NoError(t, err)
	require.True(t, proto.Equal(valid().GetProgress(), got.GetPolicy().GetProgress()), "%v", got.GetPolicy().GetProgress())

	// An app ticket gets reminders after 8 h; a complaint the built-in's after 24 business hours; a web
	// chat inquiry none.
	app := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_APP, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY})
	v := s.awaitProgress(t, app, func(*slav1.TargetStatus) bool { return true })
	require.Equal(t, created.GetPolicy().GetPolicyId(), v.GetProgress().GetPolicyId())
	require.Equal(t, 8*time.Hour, v.GetProgress().GetLength().AsDuration())
	complaint := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_COMPLAINT,
		level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2, urgency: intakev1.Urgency_URGENCY_NORMAL})
	v = s.awaitProgress(t, complaint, func(*slav1.TargetStatus) bool { return true })
	require.Equal(t, builtin("long_case_progress"), v.GetProgress().GetPolicyId())
	require.Equal(t, "china_default", v.GetProgress().GetCalendar())
	require.True(t, v.GetProgress().GetNotifyCustomer())
	require.Contains(t, v.GetPolicyIds(), builtin("long_case_progress"))
	targets := map[eventsv1.SlaTarget]bool{}
	for _, ts := range v.GetTargets() {
		targets[ts.GetTarget()] = true
	}
	require.Equal(t, map[eventsv1.SlaTarget]bool{firstResponse: true, resolution: true}, targets, "reminders are not a target")
	for _, l := range s.atRisk(t, &slav1.ListAtRiskRequest{}).GetTargets() {
		require.NotEqual(t, progress, l.GetStatus().GetTarget(), "reminders are not at risk")
	}
	chat := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	require.Nil(t, s.ticketSLA(t, chat).GetProgress(), "no policy sets progress for it")
	s.requireNoProgressIn(t, complaint)

	// The rule changes to 2 h without an interval; the app ticket keeps its 8 h until re-applied.
	change := func(p *slav1.PolicyProgress) *slav1.Policy {
		cur, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: created.GetPolicy().GetPolicyId()})
		require.NoError(t, err)
		upd, err := s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
			Policy:     &slav1.Policy{PolicyId: cur.GetPolicy().GetPolicyId(), Etag: cur.GetPolicy().GetEtag(), Progress: p},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"progress"}}})
		require.NoError(t, err)
		return upd.GetPolicy()
	}
	upd := change(&slav1.PolicyProgress{After: durationpb.New(2 * time.Hour)})
	require.Equal(t, 2*time.Hour, upd.GetProgress().GetAfter().AsDuration())
	require.Zero(t, upd.GetProgress().GetEvery().AsDuration())
	require.False(t, upd.GetProgress().GetNotifyCustomer())
	require.Equal(t, "App 进展提醒", upd.GetDisplayName(), "only the masked field changed")
	require.Equal(t, 8*time.Hour, s.ticketSLA(t, app).GetProgress().GetLength().AsDuration())
	re, err := s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: app})
	require.NoError(t, err)
	p := re.GetSla().GetProgress()
	require.Equal(t, 2*time.Hour, p.GetLength().AsDuration())
	require.Zero(t, p.GetReminderInterval().AsDuration())
	require.False(t, p.GetNotifyCustomer())
	require.True(t, p.GetStartTime().AsTime().Add(2*time.Hour).Equal(p.GetDueTime().AsTime()), "from the original start")

	// A bad rule on update names its field; removing the rule and re-applying cancels the reminders. The
	// policy then sets nothing, so it is refused: it must keep a target or the rule.
	cur, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: created.GetPolicy().GetPolicyId()})
	require.NoError(t, err)
	_, err = s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
		Policy: &slav1.Policy{PolicyId: cur.GetPolicy().GetPolicyId(), Etag: cur.GetPolicy().GetEtag(),
			Progress: &slav1.PolicyProgress{After: durationpb.New(time.Hour), Every: durationpb.New(time.Minute)}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"progress"}}})
	requireField(t, err, "policy.progress.every")
	_, err = s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
		Policy:     &slav1.Policy{PolicyId: cur.GetPolicy().GetPolicyId(), Etag: cur.GetPolicy().GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"progress"}}})
	requireField(t, err, "policy.targets")
	_, err = s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
		Policy: &slav1.Policy{PolicyId: cur.GetPolicy().GetPolicyId(), Etag: cur.GetPolicy().GetEtag(),
			Targets: []*slav1.PolicyTarget{{Target: resolution, Length: durationpb.New(48 * time.Hour)}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"progress", "targets"}}})
	require.NoError(t, err)
	re, err = s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: app})
	require.NoError(t, err)
	require.Equal(t, slav1.SlaState_SLA_STATE_CANCELLED, re.GetSla().GetProgress().GetState())
}
