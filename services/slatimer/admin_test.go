package slatimer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/testkit"
)

// badFields lists the fields named by err's BadRequest details.
func badFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// errorInfo returns err's ErrorInfo detail (nil when it has none).
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// requireReason checks err's code and its ErrorInfo reason.
func requireReason(t *testing.T, err error, c codes.Code, reason string) {
	t.Helper()
	requireCode(t, err, c)
	info := errorInfo(err)
	require.NotNil(t, info, "no ErrorInfo in %v", err)
	require.Equal(t, reason, info.GetReason())
}

// requireField checks that err is InvalidArgument naming field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	requireCode(t, err, codes.InvalidArgument)
	require.Contains(t, badFields(err), field, "message: %s", status.Convert(err).Message())
}

// admin is the admin's context.
func admin(t *testing.T) context.Context { return as(t.Context(), adminP) }

// shanghai is the business zone of the calendar tests.
var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// weekdays returns Monday to Friday working hours.
func weekdays(start, end string) []*slav1.WorkingDay {
	var out []*slav1.WorkingDay
	for d := slav1.Weekday_WEEKDAY_MONDAY; d <= slav1.Weekday_WEEKDAY_FRIDAY; d++ {
		out = append(out, &slav1.WorkingDay{Day: d, Hours: []*slav1.TimeRange{{Start: start, End: end}}})
	}
	return out
}

// createCN2026 creates "cn_2026": mainland China's working week with the 2026 National Day holidays and
// their make-up days (Sunday 27 September and Saturday 10 October, listed without hours: Monday's).
func (s *stack) createCN2026(t *testing.T) *slav1.Calendar {
	t.Helper()
	var holidays []string
	for d := 1; d <= 8; d++ {
		holidays = append(holidays, fmt.Sprintf("2026-10-%02d", d))
	}
	resp, err := s.sla.CreateCalendar(admin(t), &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{
		Code: "cn_2026", DisplayName: "中国大陆 2026", TimeZone: "Asia/Shanghai", Week: weekdays("09:00", "18:00"),
		Holidays: holidays, Workdays: []*slav1.MakeUpDay{{Date: "2026-09-27"}, {Date: "2026-10-10"}}}})
	require.NoError(t, err)
	return resp.GetCalendar()
}

// policyCodes lists the codes of ps.
func policyCodes(ps []*slav1.Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.GetCode()
	}
	return out
}

// TestPoliciesAreSeededValidatedAndIdempotent: the eleven built-in policies are there on first start;
// CreatePolicy names the field of bad input, refuses a taken code, and is idempotent under a request id;
// GetPolicy tells an unknown id from a malformed one.
func TestPoliciesAreSeededValidatedAndIdempotent(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)

	list, err := s.sla.ListPolicies(ctx, &slav1.ListPoliciesRequest{})
	require.NoError(t, err)
	want := []string{"chat_first_response", "complaint_l1", "complaint_l2", "complaint_l3", "email", "long_case_progress",
		"phone", "transfer_acceptance", "urgency_critical", "urgency_normal", "urgency_urgent"}
	require.Equal(t, want, policyCodes(list.GetPolicies()), "the eleven built-ins, by code")
	for _, p := range list.GetPolicies() {
		require.True(t, p.GetBuiltin(), p.GetCode())
		require.True(t, p.GetEnabled(), p.GetCode())
		require.Equal(t, builtin(p.GetCode()), p.GetPolicyId(), p.GetCode())
		require.True(t, len(p.GetTargets()) > 0 || p.GetProgress() != nil, "%s sets nothing", p.GetCode())
		require.NotEmpty(t, p.GetEtag(), p.GetCode())
	}

	hour := durationpb.New(time.Hour)
	valid := func() *slav1.Policy {
		return &slav1.Policy{Code: "store_policy", DisplayName: "门店", Enabled: true, Calendar: "24x7",
			Match:   &slav1.PolicyMatch{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_STORE}},
			Targets: []*slav1.PolicyTarget{{Target: resolution, Length: hour}}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(p *slav1.Policy)
		field string
	}{
		{"no targets", func(p *slav1.Policy) { p.Targets = nil }, "policy.targets"},
		{"unknown calendar", func(p *slav1.Policy) { p.Calendar = "no_such_calendar" }, "policy.calendar"},
		{"duplicate target", func(p *slav1.Policy) {
			p.Targets = append(p.Targets, &slav1.PolicyTarget{Target: resolution, Length: durationpb.New(2 * time.Hour)})
		}, "policy.targets[1].target"},
		{"no code", func(p *slav1.Policy) { p.Code = "" }, "policy.code"},
		{"no display name", func(p *slav1.Policy) { p.DisplayName = "" }, "policy.display_name"},
		{"no length", func(p *slav1.Policy) { p.Targets[0].Length = nil }, "policy.targets[0].length"},
		{"bad code", func(p *slav1.Policy) { p.Code = "Store-Policy" }, "policy.code"},
		{"negative before", func(p *slav1.Policy) {
			p.Warnings = []*slav1.Warning{{Point: &slav1.Warning_Before{Before: durationpb.New(-time.Minute)}}}
		}, "policy.warnings[0].before"},
	} {
		p := valid()
		tc.edit(p)
		_, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p})
		requireCode(t, err, codes.InvalidArgument)
		require.Contains(t, badFields(err), tc.field, "%s: %s", tc.name, status.Convert(err).Message())
	}
	// A warning with neither a percent nor a time before is caught by protovalidate (the oneof is required).
	p := valid()
	p.Warnings = []*slav1.Warning{{Point: &slav1.Warning_Percent{Percent: 50}}, {}}
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p})
	requireCode(t, err, codes.InvalidArgument)
	fields := badFields(err)
	require.Len(t, fields, 1)
	require.True(t, strings.HasPrefix(fields[0], "policy.warnings[1]"), "field %q", fields[0])

	// A taken code, built-in or not.
	p = valid()
	p.Code = "email"
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p})
	requireReason(t, err, codes.AlreadyExists, "POLICY_CODE_TAKEN")
	created, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: valid()})
	require.NoError(t, err)
	require.False(t, created.GetPolicy().GetBuiltin())
	require.Equal(t, "1", created.GetPolicy().GetEtag())
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: valid()})
	requireReason(t, err, codes.AlreadyExists, "POLICY_CODE_TAKEN")

	// Idempotent under a request id: the retry returns the same policy; another body under it is refused.
	p = valid()
	p.Code = "store_retry"
	first, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p, RequestId: "create-store-retry"})
	require.NoError(t, err)
	again, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p, RequestId: "create-store-retry"})
	require.NoError(t, err)
	require.True(t, proto.Equal(first.GetPolicy(), again.GetPolicy()), "%v\n%v", first.GetPolicy(), again.GetPolicy())
	other := proto.Clone(p).(*slav1.Policy)
	other.DisplayName = "门店（改）"
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: other, RequestId: "create-store-retry"})
	requireReason(t, err, codes.AlreadyExists, "IDEMPOTENCY_KEY_REUSED")

	// GetPolicy reads it back; defaults fill what it left out (NOTIFY, warnings at 50% and 80%, and
	// china_default when no calendar is given).
	got, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: first.GetPolicy().GetPolicyId()})
	require.NoError(t, err)
	require.True(t, proto.Equal(first.GetPolicy(), got.GetPolicy()))
	require.Equal(t, "24x7", got.GetPolicy().GetCalendar())
	require.Equal(t, eventsv1.SlaBreachAction_SLA_BREACH_ACTION_NOTIFY, got.GetPolicy().GetBreachAction())
	require.Len(t, got.GetPolicy().GetWarnings(), 2)
	p = valid()
	p.Code, p.Calendar = "store_defaults", ""
	def, err := s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: p})
	require.NoError(t, err)
	require.Equal(t, "china_default", def.GetPolicy().GetCalendar())

	list, err = s.sla.ListPolicies(ctx, &slav1.ListPoliciesRequest{})
	require.NoError(t, err)
	codesNow := policyCodes(list.GetPolicies())
	require.Len(t, codesNow, 14)
	require.True(t, slices.IsSorted(codesNow), "%v", codesNow)

	_, err = s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: "0198a3c4-0000-7000-8000-000000000001"})
	requireCode(t, err, codes.NotFound)
	_, err = s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: "not-a-uuid"})
	requireField(t, err, "policy_id")
}

// TestPolicyChangeAppliesToNewTicketsUntilReapply: UpdatePolicy refuses a stale etag; a disabled policy no
// longer applies to tickets created afterwards, while a ticket created before keeps its targets until
// ReapplySla recomputes them (and publishes kefu.sla.applied with recomputed set).
func TestPolicyChangeAppliesToNewTicketsUntilReapply(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)
	chat := ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL}

	before := s.submit(t, chat)
	v := s.ticketSLA(t, before)
	require.Equal(t, []string{builtin("chat_first_response"), builtin("urgency_normal")}, v.GetPolicyIds())
	require.Equal(t, builtin("chat_first_response"), target(t, v, firstResponse).GetPolicyId())

	id := builtin("chat_first_response")
	cur, err := s.sla.GetPolicy(ctx, &slav1.GetPolicyRequest{PolicyId: id})
	require.NoError(t, err)
	stale := cur.GetPolicy().GetEtag()
	renamed, err := s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
		Policy:     &slav1.Policy{PolicyId: id, Etag: stale, DisplayName: "在线客服：5 分钟"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	require.NoError(t, err)
	require.Equal(t, "在线客服：5 分钟", renamed.GetPolicy().GetDisplayName())
	require.True(t, renamed.GetPolicy().GetEnabled(), "only the masked field changes")
	require.NotEqual(t, stale, renamed.GetPolicy().GetEtag())

	_, err = s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{Policy: &slav1.Policy{PolicyId: id, Etag: stale},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	requireReason(t, err, codes.Aborted, "ETAG_MISMATCH")
	_, err = s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{Policy: &slav1.Policy{PolicyId: id},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	requireField(t, err, "policy.etag")

	disabled, err := s.sla.UpdatePolicy(ctx, &slav1.UpdatePolicyRequest{
		Policy:     &slav1.Policy{PolicyId: id, Etag: renamed.GetPolicy().GetEtag(), Enabled: false},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	require.NoError(t, err)
	require.False(t, disabled.GetPolicy().GetEnabled())
	require.True(t, disabled.GetPolicy().GetBuiltin())
	require.Len(t, disabled.GetPolicy().GetTargets(), 1, "the targets stay")

	after := s.submit(t, chat)
	v = s.ticketSLA(t, after)
	require.Equal(t, []string{builtin("urgency_normal")}, v.GetPolicyIds(), "a disabled policy no longer applies")
	require.Equal(t, builtin("urgency_normal"), target(t, v, firstResponse).GetPolicyId())

	v = s.ticketSLA(t, before)
	require.Equal(t, []string{builtin("chat_first_response"), builtin("urgency_normal")}, v.GetPolicyIds(),
		"a ticket created before keeps its policies")
	require.Equal(t, builtin("chat_first_response"), target(t, v, firstResponse).GetPolicyId())

	re, err := s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: before})
	require.NoError(t, err)
	require.Equal(t, []string{builtin("urgency_normal")}, re.GetSla().GetPolicyIds())
	fr := target(t, re.GetSla(), firstResponse)
	require.Equal(t, builtin("urgency_normal"), fr.GetPolicyId())
	require.Equal(t, 24*time.Hour, fr.GetLength().AsDuration())
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, fr.GetState())
	require.Equal(t, re.GetSla().GetPolicyIds(), s.ticketSLA(t, before).GetPolicyIds())
	var applied eventsv1.SlaApplied
	s.awaitEvent(t, before, "applied", &applied, func() bool { return applied.GetRecomputed() })
	require.Equal(t, []string{builtin("urgency_normal")}, applied.GetPolicyIds())
	require.Equal(t, builtin("urgency_normal"), deadlineOf(t, applied.GetDeadlines(), firstResponse).GetPolicyId())

	_, err = s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: "0198a3c4-0000-7000-8000-000000000002"})
	requireCode(t, err, codes.NotFound)
}

// TestCalendarsAPI: the two seeded calendars; 24x7 cannot be changed; a business calendar with holidays and
// make-up days reads back as created; a bad zone and overlapping hours are refused naming the field.
func TestCalendarsAPI(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)

	list, err := s.sla.ListCalendars(ctx, &slav1.ListCalendarsRequest{})
	require.NoError(t, err)
	byCode := map[string]*slav1.Calendar{}
	for _, c := range list.GetCalendars() {
		byCode[c.GetCode()] = c
	}
	require.Len(t, byCode, 2)
	always := byCode["24x7"]
	require.NotNil(t, always)
	require.True(t, always.GetAlwaysOpen())
	require.True(t, always.GetBuiltin())
	china := byCode["china_default"]
	require.NotNil(t, china)
	require.False(t, china.GetAlwaysOpen())
	require.True(t, china.GetBuiltin())
	require.Equal(t, "Asia/Shanghai", china.GetTimeZone())
	require.Empty(t, china.GetHolidays())
	require.Empty(t, china.GetWorkdays())
	require.Len(t, china.GetWeek(), 5)
	for i, d := range weekdays("09:00", "18:00") {
		require.True(t, proto.Equal(d, china.GetWeek()[i]), "%v", china.GetWeek()[i])
	}

	created := s.createCN2026(t)
	require.Equal(t, "cn_2026", created.GetCode())
	require.Equal(t, "Asia/Shanghai", created.GetTimeZone())
	require.False(t, created.GetBuiltin())
	require.False(t, created.GetAlwaysOpen())
	require.NotEmpty(t, created.GetEtag())
	require.Equal(t, []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
		"2026-10-07", "2026-10-08"}, created.GetHolidays())
	monday := []*slav1.TimeRange{{Start: "09:00", End: "18:00"}}
	wantWorkdays := []*slav1.MakeUpDay{{Date: "2026-09-27", Hours: monday}, {Date: "2026-10-10", Hours: monday}}
	require.Len(t, created.GetWorkdays(), 2)
	for i, w := range wantWorkdays {
		require.True(t, proto.Equal(w, created.GetWorkdays()[i]), "make-up days work Monday's hours: %v", created.GetWorkdays()[i])
	}
	for i, d := range weekdays("09:00", "18:00") {
		require.True(t, proto.Equal(d, created.GetWeek()[i]), "%v", created.GetWeek()[i])
	}
	got, err := s.sla.GetCalendar(ctx, &slav1.GetCalendarRequest{Code: "cn_2026"})
	require.NoError(t, err)
	require.True(t, proto.Equal(created, got.GetCalendar()), "created:\n%v\nread back:\n%v", created, got.GetCalendar())
	list, err = s.sla.ListCalendars(ctx, &slav1.ListCalendarsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetCalendars(), 3)

	_, err = s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "cn_2026",
		TimeZone: "Asia/Shanghai", Week: weekdays("09:00", "18:00")}})
	requireReason(t, err, codes.AlreadyExists, "CALENDAR_CODE_TAKEN")
	_, err = s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "mars",
		TimeZone: "Mars/Olympus_Mons", Week: weekdays("09:00", "18:00")}})
	requireField(t, err, "calendar.time_zone")
	_, err = s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "no_zone",
		Week: weekdays("09:00", "18:00")}})
	requireField(t, err, "calendar.time_zone")
	overlapping := weekdays("09:00", "12:00")
	overlapping[0].Hours = append(overlapping[0].Hours, &slav1.TimeRange{Start: "11:00", End: "18:00"})
	_, err = s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "overlap",
		TimeZone: "Asia/Shanghai", Week: overlapping}})
	requireCode(t, err, codes.InvalidArgument)
	fields := badFields(err)
	require.Len(t, fields, 1)
	require.True(t, strings.HasPrefix(fields[0], "calendar"), "field %q", fields[0])
	_, err = s.sla.GetCalendar(ctx, &slav1.GetCalendarRequest{Code: "overlap"})
	requireCode(t, err, codes.NotFound)

	// Idempotent under a request id, as CreatePolicy.
	utc := &slav1.Calendar{Code: "utc_office", TimeZone: "UTC", Week: weekdays("08:00", "17:00")}
	first, err := s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: utc, RequestId: "create-utc-office"})
	require.NoError(t, err)
	again, err := s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: utc, RequestId: "create-utc-office"})
	require.NoError(t, err)
	require.True(t, proto.Equal(first.GetCalendar(), again.GetCalendar()))
	utc.Holidays = []string{"2026-12-25"}
	_, err = s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: utc, RequestId: "create-utc-office"})
	requireReason(t, err, codes.AlreadyExists, "IDEMPOTENCY_KEY_REUSED")
}

// TestUpdateCalendarRefuses24x7: 24x7 counts every second; changing it is FAILED_PRECONDITION with reason
// CALENDAR_BUILTIN (as SlaService documents), and it stays as it was.
func TestUpdateCalendarRefuses24x7(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)
	got, err := s.sla.GetCalendar(ctx, &slav1.GetCalendarRequest{Code: "24x7"})
	require.NoError(t, err)
	always := got.GetCalendar()
	_, err = s.sla.UpdateCalendar(ctx, &slav1.UpdateCalendarRequest{
		Calendar:   &slav1.Calendar{Code: "24x7", Etag: always.GetEtag(), DisplayName: "改不了"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	requireReason(t, err, codes.FailedPrecondition, "CALENDAR_BUILTIN")
	got, err = s.sla.GetCalendar(ctx, &slav1.GetCalendarRequest{Code: "24x7"})
	require.NoError(t, err)
	require.True(t, proto.Equal(always, got.GetCalendar()), "unchanged")
}

// TestAddBusinessTime: due times computed by hand in Asia/Shanghai, across a weekend, a holiday week and a
// make-up Saturday; 24x7 is plain addition.
func TestAddBusinessTime(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)
	s.createCN2026(t)

	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, shanghai) }
	for _, tc := range []struct {
		name     string
		calendar string
		start    time.Time
		d        time.Duration
		end      time.Time
		local    string
	}{
		{"Friday evening to Monday morning", "china_default", at(2026, time.November, 20, 17, 30), 2 * time.Hour,
			at(2026, time.November, 23, 10, 30), "2026-11-23T10:30:00+08:00"},
		{"over the National Day week", "cn_2026", at(2026, time.September, 30, 17, 0), 2 * time.Hour,
			at(2026, time.October, 9, 10, 0), "2026-10-09T10:00:00+08:00"},
		{"on a make-up Saturday", "cn_2026", at(2026, time.October, 10, 9, 0), 2 * time.Hour,
			at(2026, time.October, 10, 11, 0), "2026-10-10T11:00:00+08:00"},
		{"a make-up Sunday works Monday's hours", "cn_2026", at(2026, time.September, 27, 17, 0), 3 * time.Hour,
			at(2026, time.September, 28, 11, 0), "2026-09-28T11:00:00+08:00"},
		{"zero", "cn_2026", at(2026, time.October, 3, 12, 0), 0,
			at(2026, time.October, 3, 12, 0), "2026-10-03T12:00:00+08:00"},
	} {
		resp, err := s.sla.AddBusinessTime(ctx, &slav1.AddBusinessTimeRequest{Code: tc.calendar,
			StartTime: timestamppb.New(tc.start), Duration: durationpb.New(tc.d)})
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.local, resp.GetEndLocal(), tc.name)
		require.True(t, tc.end.Equal(resp.GetEndTime().AsTime()), "%s: end %s, want %s", tc.name, resp.GetEndTime().AsTime(), tc.end)
	}

	start := at(2026, time.November, 20, 17, 30)
	resp, err := s.sla.AddBusinessTime(ctx, &slav1.AddBusinessTimeRequest{Code: "24x7", StartTime: timestamppb.New(start),
		Duration: durationpb.New(90 * time.Minute)})
	require.NoError(t, err)
	require.True(t, start.Add(90*time.Minute).Equal(resp.GetEndTime().AsTime()), "%s", resp.GetEndTime().AsTime())
	local, err := time.Parse(time.RFC3339, resp.GetEndLocal())
	require.NoError(t, err)
	require.True(t, start.Add(90*time.Minute).Equal(local), resp.GetEndLocal())

	_, err = s.sla.AddBusinessTime(ctx, &slav1.AddBusinessTimeRequest{Code: "no_such_calendar", StartTime: timestamppb.New(start),
		Duration: durationpb.New(time.Hour)})
	requireCode(t, err, codes.NotFound)
	_, err = s.sla.AddBusinessTime(ctx, &slav1.AddBusinessTimeRequest{Code: "china_default", StartTime: timestamppb.New(start),
		Duration: durationpb.New(-time.Hour)})
	requireField(t, err, "duration")
	_, err = s.sla.AddBusinessTime(ctx, &slav1.AddBusinessTimeRequest{Code: "china_default", StartTime: timestamppb.New(start)})
	requireField(t, err, "duration")
}

// TestGetBusinessStatus: open or not and the next opening, computed by hand in Asia/Shanghai, across a
// weekend, the National Day holidays and make-up working days; 24x7 is always open; a calendar with no
// working time ahead, an unknown code and a missing instant are refused.
func TestGetBusinessStatus(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.createCN2026(t)

	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, shanghai) }
	for _, tc := range []struct {
		name     string
		calendar string
		at       time.Time
		open     bool
		next     time.Time
		zone     string
	}{
		{"friday 19:00 is closed and opens monday 09:00", "china_default", at(2026, time.November, 20, 19, 0), false,
			at(2026, time.November, 23, 9, 0), "Asia/Shanghai"},
		{"friday 18:00 is closing time, closed", "china_default", at(2026, time.November, 20, 18, 0), false,
			at(2026, time.November, 23, 9, 0), "Asia/Shanghai"},
		{"wednesday 08:00 opens at 09:00 the same day", "china_default", at(2026, time.November, 18, 8, 0), false,
			at(2026, time.November, 18, 9, 0), "Asia/Shanghai"},
		{"wednesday 10:00 is open, at that very instant", "china_default",
			at(2026, time.November, 18, 10, 0).Add(17*time.Minute + 23*time.Second + 500*time.Millisecond), true,
			at(2026, time.November, 18, 10, 0).Add(17*time.Minute + 23*time.Second + 500*time.Millisecond), "Asia/Shanghai"},
		{"the evening before National Day skips the holidays to friday 9 october", "cn_2026", at(2026, time.September, 30, 19, 0), false,
			at(2026, time.October, 9, 9, 0), "Asia/Shanghai"},
		{"a weekday holiday in working hours is closed", "cn_2026", at(2026, time.October, 5, 10, 0), false,
			at(2026, time.October, 9, 9, 0), "Asia/Shanghai"},
		{"a make-up saturday is open", "cn_2026", at(2026, time.October, 10, 10, 0), true,
			at(2026, time.October, 10, 10, 0), "Asia/Shanghai"},
		{"a make-up sunday opens at monday's hour", "cn_2026", at(2026, time.September, 27, 8, 30), false,
			at(2026, time.September, 27, 9, 0), "Asia/Shanghai"},
		{"friday 9 october 19:00 opens on the make-up saturday", "cn_2026", at(2026, time.October, 9, 19, 0), false,
			at(2026, time.October, 10, 9, 0), "Asia/Shanghai"},
		{"24x7 is open at night", "24x7", at(2026, time.November, 21, 3, 0), true,
			at(2026, time.November, 21, 3, 0), "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := s.sla.GetBusinessStatus(admin(t), &slav1.GetBusinessStatusRequest{Code: tc.calendar,
				AtTime: timestamppb.New(tc.at)})
			require.NoError(t, err)
			require.Equal(t, tc.open, resp.GetOpen())
			require.True(t, tc.next.Equal(resp.GetNextOpenTime().AsTime()), "next open %s, want %s",
				resp.GetNextOpenTime().AsTime().In(shanghai), tc.next)
			require.Equal(t, tc.zone, resp.GetTimeZone())
		})
	}

	t.Run("a calendar with no working time ahead is a failed precondition", func(t *testing.T) {
		t.Parallel()
		// Mondays are the only working days, and every Monday of the next three years is a holiday.
		first := time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)
		var holidays []string
		for w := range 160 {
			holidays = append(holidays, first.AddDate(0, 0, 7*w).Format(time.DateOnly))
		}
		_, err := s.sla.CreateCalendar(admin(t), &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{
			Code: "mondays_off", DisplayName: "每个周一都放假", TimeZone: "UTC", Holidays: holidays,
			Week: []*slav1.WorkingDay{{Day: slav1.Weekday_WEEKDAY_MONDAY, Hours: []*slav1.TimeRange{{Start: "09:00", End: "18:00"}}}}}})
		require.NoError(t, err)
		_, err = s.sla.GetBusinessStatus(admin(t), &slav1.GetBusinessStatusRequest{Code: "mondays_off",
			AtTime: timestamppb.New(first.AddDate(0, 0, -4))})
		requireReason(t, err, codes.FailedPrecondition, "CALENDAR_NEVER_OPEN")
	})

	for _, tc := range []struct {
		name  string
		req   *slav1.GetBusinessStatusRequest
		check func(t *testing.T, err error)
	}{
		{"an unknown code is not found",
			&slav1.GetBusinessStatusRequest{Code: "no_such_calendar", AtTime: timestamppb.Now()},
			func(t *testing.T, err error) { requireCode(t, err, codes.NotFound) }},
		{"a missing at_time is refused naming it",
			&slav1.GetBusinessStatusRequest{Code: "china_default"},
			func(t *testing.T, err error) { requireField(t, err, "at_time") }},
		{"an at_time out of range is refused naming it",
			&slav1.GetBusinessStatusRequest{Code: "china_default", AtTime: &timestamppb.Timestamp{Seconds: 1 << 62}},
			func(t *testing.T, err error) { requireField(t, err, "at_time") }},
		{"a missing code is refused naming it",
			&slav1.GetBusinessStatusRequest{AtTime: timestamppb.Now()},
			func(t *testing.T, err error) { requireField(t, err, "code") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.sla.GetBusinessStatus(admin(t), tc.req)
			tc.check(t, err)
		})
	}
}

// TestUpdateCalendarMovesRunningClocks: adding two whole holidays inside a running target's span moves its
// due time later by two days, in the same call.
func TestUpdateCalendarMovesRunningClocks(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)
	var week []*slav1.WorkingDay
	for d := slav1.Weekday_WEEKDAY_MONDAY; d <= slav1.Weekday_WEEKDAY_SUNDAY; d++ {
		week = append(week, &slav1.WorkingDay{Day: d, Hours: []*slav1.TimeRange{{Start: "00:00", End: "24:00"}}})
	}
	cal, err := s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "all_days",
		DisplayName: "每天全天", TimeZone: "UTC", Week: week}})
	require.NoError(t, err)
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: &slav1.Policy{Code: "store_all_days",
		DisplayName: "门店 48 小时", Enabled: true, Calendar: "all_days",
		Match:   &slav1.PolicyMatch{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_STORE}},
		Targets: []*slav1.PolicyTarget{{Target: resolution, Length: durationpb.New(48 * time.Hour)}}}})
	require.NoError(t, err)

	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_STORE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	res := target(t, s.ticketSLA(t, id), resolution)
	require.Equal(t, "all_days", res.GetCalendar())
	started := res.GetStartTime().AsTime()
	due := res.GetDueTime().AsTime()
	require.Equal(t, started.Add(48*time.Hour), due, "every hour of every day counts")

	// The two dates after the start's are holidays: both lie wholly inside the target's 48 hours, so the due
	// time moves by exactly 48 hours, whatever the time of day. (Taking the start's own date would take
	// away only what was left of that day.)
	day := func(n int) string { return started.UTC().AddDate(0, 0, n).Format(time.DateOnly) }
	upd, err := s.sla.UpdateCalendar(ctx, &slav1.UpdateCalendarRequest{
		Calendar:   &slav1.Calendar{Code: "all_days", Etag: cal.GetCalendar().GetEtag(), Holidays: []string{day(1), day(2)}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"holidays"}}})
	require.NoError(t, err)
	require.Equal(t, []string{day(1), day(2)}, upd.GetCalendar().GetHolidays())
	require.Len(t, upd.GetCalendar().GetWeek(), 7, "the week is untouched")
	require.Equal(t, "UTC", upd.GetCalendar().GetTimeZone())

	moved := target(t, s.ticketSLA(t, id), resolution)
	require.Equal(t, due.Add(48*time.Hour), moved.GetDueTime().AsTime(), "two holidays move the due time by two days")
	require.Equal(t, started, moved.GetStartTime().AsTime())
	require.Equal(t, slav1.SlaState_SLA_STATE_RUNNING, moved.GetState())

	// A stale etag is refused, and changes nothing.
	_, err = s.sla.UpdateCalendar(ctx, &slav1.UpdateCalendarRequest{
		Calendar:   &slav1.Calendar{Code: "all_days", Etag: cal.GetCalendar().GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"holidays"}}})
	requireReason(t, err, codes.Aborted, "ETAG_MISMATCH")
	require.Equal(t, due.Add(48*time.Hour), target(t, s.ticketSLA(t, id), resolution).GetDueTime().AsTime())
}

// atRisk calls ListAtRisk as an admin.
func (s *stack) atRisk(t *testing.T, req *slav1.ListAtRiskRequest) *slav1.ListAtRiskResponse {
	t.Helper()
	resp, err := s.sla.ListAtRisk(admin(t), req)
	require.NoError(t, err)
	return resp
}

// line renders a board line for messages and comparisons.
func line(l *slav1.AtRiskTarget) string {
	return fmt.Sprintf("%s/%s/%s", l.GetTicketId(), l.GetStatus().GetTarget(), l.GetStatus().GetState())
}

func lines(ls []*slav1.AtRiskTarget) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = line(l)
	}
	return out
}

// TestListAtRisk: the countdown board lists breached targets first, then running ones by due time; it
// filters by state and group and pages with tokens bound to their filters.
func TestListAtRisk(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.fastPolicy(t, "sms_board", intakev1.Channel_CHANNEL_SMS, map[eventsv1.SlaTarget]time.Duration{firstResponse: time.Second})
	s.fastPolicy(t, "store_board", intakev1.Channel_CHANNEL_STORE, map[eventsv1.SlaTarget]time.Duration{
		firstResponse: time.Hour, resolution: 2 * time.Hour})

	late := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_SMS, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	running := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_STORE, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	var b eventsv1.SlaBreached
	s.awaitEvent(t, late, "breached", &b, nil)
	s.ticketSLA(t, running)

	want := []string{
		fmt.Sprintf("%s/%s/%s", late, firstResponse, slav1.SlaState_SLA_STATE_BREACHED),
		fmt.Sprintf("%s/%s/%s", running, firstResponse, slav1.SlaState_SLA_STATE_RUNNING),
		fmt.Sprintf("%s/%s/%s", running, resolution, slav1.SlaState_SLA_STATE_RUNNING),
	}
	board := s.atRisk(t, &slav1.ListAtRiskRequest{})
	require.Equal(t, want, lines(board.GetTargets()), "breached first, then by due time")
	require.Empty(t, board.GetNextPageToken())
	require.Less(t, board.GetTargets()[0].GetStatus().GetRemaining().AsDuration(), time.Duration(0))
	require.True(t, board.GetTargets()[1].GetStatus().GetDueTime().AsTime().Before(board.GetTargets()[2].GetStatus().GetDueTime().AsTime()))
	require.Equal(t, intakev1.Urgency_URGENCY_NORMAL, board.GetTargets()[1].GetUrgency())

	breached := s.atRisk(t, &slav1.ListAtRiskRequest{State: slav1.SlaState_SLA_STATE_BREACHED})
	require.Equal(t, want[:1], lines(breached.GetTargets()))
	run := s.atRisk(t, &slav1.ListAtRiskRequest{State: slav1.SlaState_SLA_STATE_RUNNING})
	require.Equal(t, want[1:], lines(run.GetTargets()))
	soon := s.atRisk(t, &slav1.ListAtRiskRequest{Within: durationpb.New(90 * time.Minute)})
	require.Equal(t, want[:2], lines(soon.GetTargets()), "breached always, running only when due within")

	// Pages of one line, each token good for the next page of the same listing only.
	var paged []string
	tok := ""
	var first string
	for range len(want) + 1 {
		page := s.atRisk(t, &slav1.ListAtRiskRequest{PageSize: 1, PageToken: tok})
		require.Len(t, page.GetTargets(), 1)
		paged = append(paged, line(page.GetTargets()[0]))
		if first == "" {
			first = page.GetNextPageToken()
		}
		tok = page.GetNextPageToken()
		if tok == "" {
			break
		}
	}
	require.Equal(t, want, paged)
	require.NotEmpty(t, first)
	_, err := s.sla.ListAtRisk(admin(t), &slav1.ListAtRiskRequest{PageSize: 1, PageToken: first,
		State: slav1.SlaState_SLA_STATE_BREACHED})
	requireField(t, err, "page_token")
	_, err = s.sla.ListAtRisk(admin(t), &slav1.ListAtRiskRequest{PageToken: "garbage"})
	requireField(t, err, "page_token")

	// Assigned to the test group, the running ticket is the group's whole board.
	s.work(t, running)
	testkit.EventuallyNoError(t, func() error {
		if got := lines(s.atRisk(t, &slav1.ListAtRiskRequest{GroupId: testGroup}).GetTargets()); !slices.Equal(got, want[1:]) {
			return fmt.Errorf("group board %v, want %v", got, want[1:])
		}
		return nil
	}, wait)
	for _, l := range s.atRisk(t, &slav1.ListAtRiskRequest{GroupId: testGroup}).GetTargets() {
		require.Equal(t, testGroup, l.GetGroupId())
	}
	require.Empty(t, s.atRisk(t, &slav1.ListAtRiskRequest{GroupId: testGroup, State: slav1.SlaState_SLA_STATE_BREACHED}).GetTargets())
	require.Equal(t, want, lines(s.atRisk(t, &slav1.ListAtRiskRequest{}).GetTargets()), "the whole board is unchanged")
	_, err = s.sla.ListAtRisk(admin(t), &slav1.ListAtRiskRequest{GroupId: "not-a-uuid"})
	requireField(t, err, "group_id")
	_, err = s.sla.ListAtRisk(admin(t), &slav1.ListAtRiskRequest{State: slav1.SlaState_SLA_STATE_MET})
	requireField(t, err, "state")
}

// TestTicketSlaErrorsAndReapplyOnAClosedTicket: unknown and malformed ticket ids; a closed ticket's
// targets no longer run, so ReapplySla refuses it.
func TestTicketSlaErrorsAndReapplyOnAClosedTicket(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := admin(t)

	_, err := s.sla.GetTicketSla(ctx, &slav1.GetTicketSlaRequest{TicketId: "0198a3c4-0000-7000-8000-000000000003"})
	requireCode(t, err, codes.NotFound)
	_, err = s.sla.GetTicketSla(ctx, &slav1.GetTicketSlaRequest{TicketId: "42"})
	requireField(t, err, "ticket_id")
	_, err = s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: "42"})
	requireField(t, err, "ticket_id")

	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_WEB_CHAT, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	s.ticketSLA(t, id)
	s.work(t, id)
	_, err = s.intake.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "已处理"})
	require.NoError(t, err)
	_, err = s.intake.CloseTicket(staff(t), &intakev1.CloseTicketRequest{TicketId: id})
	require.NoError(t, err)
	// The close itself changes no target (resolving met them all) and publishes nothing: wait until the
	// service has recorded it.
	testkit.EventuallyNoError(t, func() error {
		var closed bool
		if err := s.slaDB.Pool.QueryRow(t.Context(), `SELECT closed FROM tickets WHERE id = $1`, id).Scan(&closed); err != nil {
			return err
		}
		if !closed {
			return fmt.Errorf("ticket %s not closed at the SLA service yet", id)
		}
		return nil
	}, wait)
	for _, ts := range s.ticketSLA(t, id).GetTargets() {
		require.Contains(t, []slav1.SlaState{slav1.SlaState_SLA_STATE_MET, slav1.SlaState_SLA_STATE_CANCELLED}, ts.GetState(),
			"%s", ts.GetTarget())
	}
	_, err = s.sla.ReapplySla(ctx, &slav1.ReapplySlaRequest{TicketId: id})
	requireReason(t, err, codes.FailedPrecondition, "TICKET_CLOSED")
	require.Empty(t, s.atRisk(t, &slav1.ListAtRiskRequest{}).GetTargets(), "a closed ticket leaves the board")
}

// TestAuthorization: agents read SLA policies, calendars and tickets' targets but change nothing; a call
// without credentials is refused before anything else.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	s := start(t)
	id := s.submit(t, ticket{channel: intakev1.Channel_CHANNEL_EMAIL, typ: intakev1.TicketType_TICKET_TYPE_INQUIRY,
		urgency: intakev1.Urgency_URGENCY_NORMAL})
	s.ticketSLA(t, id)

	agent := as(t.Context(), agentP, "agent")
	list, err := s.sla.ListPolicies(agent, &slav1.ListPoliciesRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetPolicies(), 11)
	v, err := s.sla.GetTicketSla(agent, &slav1.GetTicketSlaRequest{TicketId: id})
	require.NoError(t, err)
	require.Equal(t, id, v.GetSla().GetTicketId())
	_, err = s.sla.ListCalendars(agent, &slav1.ListCalendarsRequest{})
	require.NoError(t, err)
	_, err = s.sla.ListAtRisk(agent, &slav1.ListAtRiskRequest{})
	require.NoError(t, err)

	p := &slav1.Policy{Code: "agent_policy", DisplayName: "x", Calendar: "24x7",
		Targets: []*slav1.PolicyTarget{{Target: resolution, Length: durationpb.New(time.Hour)}}}
	_, err = s.sla.CreatePolicy(agent, &slav1.CreatePolicyRequest{Policy: p})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.sla.CreatePolicy(agent, &slav1.CreatePolicyRequest{})
	requireCode(t, err, codes.PermissionDenied) // checked before validation
	_, err = s.sla.UpdatePolicy(agent, &slav1.UpdatePolicyRequest{Policy: &slav1.Policy{PolicyId: builtin("email"), Etag: "1"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.sla.CreateCalendar(agent, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "agent_cal", TimeZone: "UTC"}})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.sla.ReapplySla(agent, &slav1.ReapplySlaRequest{TicketId: id})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.sla.ReapplySla(as(t.Context(), agentP, "supervisor"), &slav1.ReapplySlaRequest{TicketId: id})
	requireCode(t, err, codes.PermissionDenied)

	_, err = s.sla.ListPolicies(t.Context(), &slav1.ListPoliciesRequest{})
	requireCode(t, err, codes.Unauthenticated)
	_, err = s.sla.GetTicketSla(t.Context(), &slav1.GetTicketSlaRequest{TicketId: "42"})
	requireCode(t, err, codes.Unauthenticated) // checked before validation
	_, err = s.sla.CreatePolicy(t.Context(), &slav1.CreatePolicyRequest{Policy: p})
	requireCode(t, err, codes.Unauthenticated)

	list, err = s.sla.ListPolicies(admin(t), &slav1.ListPoliciesRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetPolicies(), 11, "nothing was created")
}

// TestUnschedulableTargetsAreRefused: a policy whose calendar cannot count its target (300 business days in
// a 45-hour week runs past the calendar's search horizon) and a calendar that works no day are refused
// up front, because every ticket they matched would otherwise get no deadline at all.
func TestUnschedulableTargetsAreRefused(t *testing.T) {
	t.Parallel()
	s := start(t)
	_, err := s.sla.CreatePolicy(as(t.Context(), adminP), &slav1.CreatePolicyRequest{Policy: &slav1.Policy{
		Code: "too_long", DisplayName: "too long", Enabled: true, Calendar: "china_default",
		Targets: []*slav1.PolicyTarget{{Target: resolution, Length: durationpb.New(300 * 24 * time.Hour)}}}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"policy.targets"}, badFields(err))

	_, err = s.sla.CreateCalendar(as(t.Context(), adminP), &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{
		Code: "never", DisplayName: "never", TimeZone: "Asia/Shanghai"}})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"calendar.week"}, badFields(err))
}

// TestCalendarChangeThatStrandsAPolicyIsRefused: cutting a calendar down so far that a policy counting in
// it could never reach its target is FailedPrecondition CALENDAR_IN_USE, and the calendar stays as it was.
func TestCalendarChangeThatStrandsAPolicyIsRefused(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), adminP)
	week := func(days ...slav1.Weekday) []*slav1.WorkingDay {
		var out []*slav1.WorkingDay
		for _, d := range days {
			out = append(out, &slav1.WorkingDay{Day: d, Hours: []*slav1.TimeRange{{Start: "09:00", End: "18:00"}}})
		}
		return out
	}
	c, err := s.sla.CreateCalendar(ctx, &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{Code: "tight", DisplayName: "tight",
		TimeZone: "UTC", Week: week(slav1.Weekday_WEEKDAY_MONDAY, slav1.Weekday_WEEKDAY_TUESDAY, slav1.Weekday_WEEKDAY_WEDNESDAY,
			slav1.Weekday_WEEKDAY_THURSDAY, slav1.Weekday_WEEKDAY_FRIDAY)}})
	require.NoError(t, err)
	_, err = s.sla.CreatePolicy(ctx, &slav1.CreatePolicyRequest{Policy: &slav1.Policy{Code: "tight_resolution", DisplayName: "x",
		Enabled: true, Calendar: "tight", Targets: []*slav1.PolicyTarget{{Target: resolution, Length: durationpb.New(1500 * time.Hour)}}}})
	require.NoError(t, err)
	_, err = s.sla.UpdateCalendar(ctx, &slav1.UpdateCalendarRequest{Calendar: &slav1.Calendar{Code: "tight",
		Etag: c.GetCalendar().GetEtag(), Week: []*slav1.WorkingDay{{Day: slav1.Weekday_WEEKDAY_MONDAY,
			Hours: []*slav1.TimeRange{{Start: "09:00", End: "10:00"}}}}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"week"}}})
	st := requireCode(t, err, codes.FailedPrecondition)
	require.Contains(t, st.Message(), "tight_resolution")
	got, err := s.sla.GetCalendar(ctx, &slav1.GetCalendarRequest{Code: "tight"})
	require.NoError(t, err)
	require.Len(t, got.GetCalendar().GetWeek(), 5, "the calendar did not change")
}
