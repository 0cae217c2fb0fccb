package grpcapi

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

var (
	groupID = uuid.MustParse("0190f0aa-0000-7000-8000-000000000001")
	agentID = uuid.MustParse("0190f0aa-0000-7000-8000-000000000002")
	ruleID  = uuid.MustParse("0190f0aa-0000-7000-8000-000000000003")
	t0      = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
)

// requireInvalid checks that err is InvalidArgument naming exactly field with description.
func requireInvalid(t *testing.T, err error, field, description string) {
	t.Helper()
	e, ok := apierr.As(err)
	require.True(t, ok, "want an apierr.Error, got %v", err)
	require.Equal(t, apierr.KindInvalidArgument, e.Kind)
	require.Equal(t, []apierr.FieldViolation{{Field: field, Description: description}}, e.Fields)
}

func requireProto(t *testing.T, want, got proto.Message) {
	t.Helper()
	require.True(t, proto.Equal(want, got), "want %v\ngot  %v", want, got)
}

func TestCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		e      protoreflect.Enum
		prefix string
		want   string
	}{
		{"a ticket type loses its prefix and case", intakev1.TicketType_TICKET_TYPE_COMPLAINT, typePrefix, "complaint"},
		{"a complaint level is l1", intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, levelPrefix, "l1"},
		{"an urgency is critical", intakev1.Urgency_URGENCY_CRITICAL, urgencyPrefix, "critical"},
		{"a two-word channel keeps its underscore", intakev1.Channel_CHANNEL_WEB_CHAT, channelPrefix, "web_chat"},
		{"a strategy matches the domain's constant", routingv1.Strategy_STRATEGY_SKILLS_THEN_LEAST_LOADED, strategyPrefix, string(routing.StrategySkillsThenLeastLoaded)},
		{"a seniority matches the domain's constant", routingv1.Seniority_SENIORITY_LEAD, seniorityPrefix, string(routing.SeniorityLead)},
		{"a presence matches the domain's constant", routingv1.Presence_PRESENCE_AWAY, presencePrefix, string(routing.PresenceAway)},
		{"unspecified is empty so the domain's default applies", routingv1.Strategy_STRATEGY_UNSPECIFIED, strategyPrefix, ""},
		{"an undefined number is its digits, which validation refuses", routingv1.Strategy(99), strategyPrefix, "99"},
		{"an undefined intake number does not panic", intakev1.Channel(-3), channelPrefix, "-3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, code(tc.e, tc.prefix))
		})
	}
}

// roundTrips checks that every defined value of E survives code then enum.
func roundTrips[E interface {
	~int32
	protoreflect.Enum
}](t *testing.T, prefix string) {
	t.Helper()
	var zero E
	values := zero.Descriptor().Values()
	for i := range values.Len() {
		e := E(values.Get(i).Number())
		require.Equal(t, e, protocode.Enum[E](prefix, code(e, prefix)), "value %s", values.Get(i).Name())
	}
}

func TestEnumRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(*testing.T)
	}{
		{"every strategy round-trips", func(t *testing.T) { roundTrips[routingv1.Strategy](t, strategyPrefix) }},
		{"every seniority round-trips", func(t *testing.T) { roundTrips[routingv1.Seniority](t, seniorityPrefix) }},
		{"every presence round-trips", func(t *testing.T) { roundTrips[routingv1.Presence](t, presencePrefix) }},
		{"every escalation policy round-trips", func(t *testing.T) { roundTrips[routingv1.EscalationPolicy](t, escalationPrefix) }},
		{"every ticket type round-trips", func(t *testing.T) { roundTrips[intakev1.TicketType](t, typePrefix) }},
		{"every complaint level round-trips", func(t *testing.T) { roundTrips[intakev1.ComplaintLevel](t, levelPrefix) }},
		{"every urgency round-trips", func(t *testing.T) { roundTrips[intakev1.Urgency](t, urgencyPrefix) }},
		{"every channel round-trips", func(t *testing.T) { roundTrips[intakev1.Channel](t, channelPrefix) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t)
		})
	}
}

func TestEnum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  protoreflect.Enum
		want protoreflect.Enum
	}{
		{"round_robin is STRATEGY_ROUND_ROBIN", protocode.Enum[routingv1.Strategy](strategyPrefix, string(routing.StrategyRoundRobin)), routingv1.Strategy_STRATEGY_ROUND_ROBIN},
		{"junior is SENIORITY_JUNIOR", protocode.Enum[routingv1.Seniority](seniorityPrefix, string(routing.SeniorityJunior)), routingv1.Seniority_SENIORITY_JUNIOR},
		{"offline is PRESENCE_OFFLINE", protocode.Enum[routingv1.Presence](presencePrefix, string(routing.PresenceOffline)), routingv1.Presence_PRESENCE_OFFLINE},
		{"mini_program is CHANNEL_MINI_PROGRAM", protocode.Enum[intakev1.Channel](channelPrefix, "mini_program"), intakev1.Channel_CHANNEL_MINI_PROGRAM},
		{"an empty code is unspecified", protocode.Enum[intakev1.Urgency](urgencyPrefix, ""), intakev1.Urgency_URGENCY_UNSPECIFIED},
		{"an unknown code is unspecified", protocode.Enum[intakev1.TicketType](typePrefix, "praise"), intakev1.TicketType_TICKET_TYPE_UNSPECIFIED},
		{"the unspecified name is not a code", protocode.Enum[routingv1.Strategy](strategyPrefix, "unspecified"), routingv1.Strategy_STRATEGY_UNSPECIFIED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		optional bool
		in       string
		want     uuid.UUID
		wantErr  string // the field violation's description; "" for none
	}{
		{"a required id parses", false, groupID.String(), groupID, ""},
		{"an empty required id is refused", false, "", uuid.Nil, "is required"},
		{"a malformed required id is refused", false, "group-7", uuid.Nil, "must be a UUID"},
		{"an empty optional id is nil", true, "", uuid.Nil, ""},
		{"a malformed optional id is refused", true, "0190f0aa", uuid.Nil, "must be a UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parse := parseID
			if tc.optional {
				parse = optionalID
			}
			got, err := parse("group.group_id", tc.in)
			if tc.wantErr != "" {
				requireInvalid(t, err, "group.group_id", tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUpdatePaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mask       []string
		outputOnly []string
		updatable  []string
		want       []string
		wantErr    string
	}{
		{"updatable paths are kept in order", []string{"strategy", "display_name"}, groupOutputOnly, app.GroupPaths, []string{"strategy", "display_name"}, ""},
		{"output-only paths are dropped", []string{"etag", "display_name", "update_time"}, groupOutputOnly, app.GroupPaths, []string{"display_name"}, ""},
		{"a read-only group code is refused", []string{"display_name", "code"}, groupOutputOnly, app.GroupPaths, nil, "unknown or read-only path code"},
		{"an unknown path is refused", []string{"colour"}, agentOutputOnly, app.AgentPaths, nil, "unknown or read-only path colour"},
		{"presence is output only on an agent", []string{"presence", "capacity"}, agentOutputOnly, app.AgentPaths, []string{"capacity"}, ""},
		{"a condition sub-path is refused: condition is replaced whole", []string{"condition.types"}, ruleOutputOnly, app.RulePaths, nil, "unknown or read-only path condition.types"},
		{"the whole condition is a path", []string{"condition", "enabled"}, ruleOutputOnly, app.RulePaths, []string{"condition", "enabled"}, ""},
		{"only output-only paths name nothing to change", []string{"rule_id", "etag"}, ruleOutputOnly, app.RulePaths, nil, "names no field to change"},
		{"an empty mask names nothing to change", nil, ruleOutputOnly, app.RulePaths, nil, "names no field to change"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := updatePaths(tc.mask, tc.outputOnly, tc.updatable)
			if tc.wantErr != "" {
				requireInvalid(t, err, "update_mask", tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestGroupFromProto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      *routingv1.Group
		want    routing.Group
		wantErr string // field; "" for none
	}{
		{
			name: "every input field converts and output-only ones are ignored",
			in: &routingv1.Group{GroupId: ruleID.String(), Code: "logistics", DisplayName: "物流组", HeadAgentId: agentID.String(),
				Strategy: routingv1.Strategy_STRATEGY_ROUND_ROBIN, TransferAcceptDeadline: durationpb.New(30 * time.Minute),
				Builtin: true, Etag: "7", CreateTime: timestamppb.New(t0)},
			want: routing.Group{Code: "logistics", DisplayName: "物流组", HeadAgentID: agentID,
				Strategy: routing.StrategyRoundRobin, TransferDeadline: 30 * time.Minute},
		},
		{
			name: "unset strategy and deadline stay zero for WithDefaults",
			in:   &routingv1.Group{Code: "after_sales", DisplayName: "售后组"},
			want: routing.Group{Code: "after_sales", DisplayName: "售后组"},
		},
		{name: "a nil group is the zero group", in: nil, want: routing.Group{}},
		{name: "a malformed head is refused by its path", in: &routingv1.Group{HeadAgentId: "boss"}, wantErr: "group.head_agent_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := groupFromProto(tc.in)
			if tc.wantErr != "" {
				requireInvalid(t, err, tc.wantErr, "must be a UUID")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestGroupProto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   routing.Group
		want *routingv1.Group
	}{
		{
			name: "a stored group renders with etag and times",
			in: routing.Group{ID: groupID, Code: "logistics", DisplayName: "物流组", HeadAgentID: agentID,
				Strategy: routing.StrategySkillsThenLeastLoaded, TransferDeadline: 2 * time.Hour, Builtin: true, Version: 3,
				CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)},
			want: &routingv1.Group{GroupId: groupID.String(), Code: "logistics", DisplayName: "物流组", HeadAgentId: agentID.String(),
				Strategy: routingv1.Strategy_STRATEGY_SKILLS_THEN_LEAST_LOADED, TransferAcceptDeadline: durationpb.New(2 * time.Hour),
				Builtin: true, Etag: "3", CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t0.Add(time.Hour))},
		},
		{
			name: "no head, no deadline and zero times are left unset",
			in:   routing.Group{ID: groupID, Code: "general", DisplayName: "综合组", Strategy: routing.StrategyLeastLoaded, Version: 1},
			want: &routingv1.Group{GroupId: groupID.String(), Code: "general", DisplayName: "综合组",
				Strategy: routingv1.Strategy_STRATEGY_LEAST_LOADED, Etag: "1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireProto(t, tc.want, groupProto(tc.in))
		})
	}
}

func TestAgentFromProto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      *routingv1.Agent
		want    routing.Agent
		wantErr string // field; "" for none
	}{
		{
			name: "input fields convert; presence and open tickets are output only",
			in: &routingv1.Agent{AgentId: agentID.String(), DisplayName: "王芳", GroupIds: []string{groupID.String()},
				Skills: []string{"refund"}, Seniority: routingv1.Seniority_SENIORITY_SENIOR, Capacity: 8,
				Presence: routingv1.Presence_PRESENCE_ONLINE, OpenTickets: 4, Etag: "2"},
			want: routing.Agent{ID: agentID, DisplayName: "王芳", GroupIDs: []uuid.UUID{groupID}, Skills: []string{"refund"},
				Seniority: routing.SenioritySenior, Capacity: 8},
		},
		{
			name: "unset seniority and capacity stay zero for WithDefaults",
			in:   &routingv1.Agent{AgentId: agentID.String(), DisplayName: "李雷"},
			want: routing.Agent{ID: agentID, DisplayName: "李雷"},
		},
		{name: "a malformed agent id is refused", in: &routingv1.Agent{AgentId: "staff-1"}, wantErr: "agent.agent_id"},
		{
			name:    "a malformed group id is refused by its index",
			in:      &routingv1.Agent{AgentId: agentID.String(), GroupIds: []string{groupID.String(), "logistics"}},
			wantErr: "agent.group_ids[1]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := agentFromProto(tc.in)
			if tc.wantErr != "" {
				requireInvalid(t, err, tc.wantErr, "must be a UUID")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestAgentProto(t *testing.T) {
	t.Parallel()
	v := store.AgentView{Open: 3, Agent: routing.Agent{ID: agentID, DisplayName: "王芳", GroupIDs: []uuid.UUID{groupID},
		Skills: []string{"refund", "english"}, Seniority: routing.SeniorityLead, Capacity: 5, Presence: routing.PresenceOnline,
		Version: 9, CreatedAt: t0, UpdatedAt: t0}}
	want := &routingv1.Agent{AgentId: agentID.String(), DisplayName: "王芳", GroupIds: []string{groupID.String()},
		Skills: []string{"refund", "english"}, Seniority: routingv1.Seniority_SENIORITY_LEAD, Capacity: 5,
		Presence: routingv1.Presence_PRESENCE_ONLINE, OpenTickets: 3, Etag: "9",
		CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t0)}
	requireProto(t, want, agentProto(v))
}

func TestRuleConversion(t *testing.T) {
	t.Parallel()
	full := &routingv1.RuleCondition{
		Types:         []intakev1.TicketType{intakev1.TicketType_TICKET_TYPE_COMPLAINT},
		Subcategories: []string{"logistics_status"},
		Levels:        []intakev1.ComplaintLevel{intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2},
		Urgencies:     []intakev1.Urgency{intakev1.Urgency_URGENCY_CRITICAL},
		Channels:      []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_PHONE},
		Tiers:         []string{"vip"},
		Keywords:      []string{"快递", "refund"},
	}
	fullDomain := routing.Condition{Types: []string{"complaint"}, Subcategories: []string{"logistics_status"},
		Levels: []string{"l1", "l2"}, Urgencies: []string{"critical"}, Channels: []string{"web_chat", "phone"},
		Tiers: []string{"vip"}, Keywords: []string{"快递", "refund"}}
	tests := []struct {
		name string
		in   *routingv1.RoutingRule
		want routing.Rule
	}{
		{
			name: "every list of the condition converts to intake's codes",
			in: &routingv1.RoutingRule{RuleId: ruleID.String(), Position: 10, DisplayName: "投诉", Condition: full,
				TargetGroupId: groupID.String(), RequiredSkills: []string{"complaints"}, Enabled: true, Builtin: true, Etag: "4"},
			want: routing.Rule{Position: 10, DisplayName: "投诉", Condition: fullDomain, TargetGroupID: groupID,
				RequiredSkills: []string{"complaints"}, Enabled: true},
		},
		{
			name: "a missing condition is the empty one, matching every ticket",
			in:   &routingv1.RoutingRule{TargetGroupId: groupID.String()},
			want: routing.Rule{TargetGroupID: groupID},
		},
		{
			name: "an unspecified entry becomes an empty code for validation to refuse",
			in: &routingv1.RoutingRule{TargetGroupId: groupID.String(), Condition: &routingv1.RuleCondition{
				Types: []intakev1.TicketType{intakev1.TicketType_TICKET_TYPE_UNSPECIFIED}}},
			want: routing.Rule{TargetGroupID: groupID, Condition: routing.Condition{Types: []string{""}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ruleFromProto(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("a stored rule renders back to the same condition", func(t *testing.T) {
		t.Parallel()
		r := routing.Rule{ID: ruleID, Position: 10, DisplayName: "投诉", Condition: fullDomain, TargetGroupID: groupID,
			RequiredSkills: []string{"complaints"}, Enabled: true, Builtin: true, Version: 4, CreatedAt: t0}
		want := &routingv1.RoutingRule{RuleId: ruleID.String(), Position: 10, DisplayName: "投诉", Condition: full,
			TargetGroupId: groupID.String(), RequiredSkills: []string{"complaints"}, Enabled: true, Builtin: true, Etag: "4",
			CreateTime: timestamppb.New(t0)}
		requireProto(t, want, ruleProto(r))
	})
	t.Run("a malformed target group is refused by its path", func(t *testing.T) {
		t.Parallel()
		_, err := ruleFromProto(&routingv1.RoutingRule{TargetGroupId: "logistics"})
		requireInvalid(t, err, "rule.target_group_id", "must be a UUID")
	})
}

func TestFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   *routingv1.TestRoutingRequest
		want routing.Facts
	}{
		{
			name: "every attribute becomes intake's code",
			in: &routingv1.TestRoutingRequest{Type: intakev1.TicketType_TICKET_TYPE_COMPLAINT, Subcategory: "delivery_delay",
				Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1, Urgency: intakev1.Urgency_URGENCY_URGENT,
				Channel: intakev1.Channel_CHANNEL_WECHAT, Tier: "vip", Text: "快递三天没到"},
			want: routing.Facts{Type: "complaint", Subcategory: "delivery_delay", Level: "l1", Urgency: "urgent",
				Channel: "wechat", Tier: "vip", Text: "快递三天没到"},
		},
		{name: "an empty request is an unclassified ticket", in: &routingv1.TestRoutingRequest{}, want: routing.Facts{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, facts(tc.in))
		})
	}
}

func TestPriorityProto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   int
		want intakev1.Priority
	}{
		{"1 is P1", 1, intakev1.Priority_PRIORITY_P1},
		{"4 is P4", 4, intakev1.Priority_PRIORITY_P4},
		{"0 is unspecified", 0, intakev1.Priority_PRIORITY_UNSPECIFIED},
		{"5 is out of range, so unspecified", 5, intakev1.Priority_PRIORITY_UNSPECIFIED},
		{"a negative number is unspecified", -1, intakev1.Priority_PRIORITY_UNSPECIFIED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, priorityProto(tc.in))
		})
	}
}

func TestAgentLoadEligible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		presence routing.Presence
		open     int
		capacity int
		want     bool
	}{
		{"online under capacity is eligible", routing.PresenceOnline, 2, 5, true},
		{"online at capacity is not", routing.PresenceOnline, 5, 5, false},
		{"away under capacity is not", routing.PresenceAway, 0, 5, false},
		{"offline is not", routing.PresenceOffline, 0, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := agentLoadProto(store.AgentView{Open: tc.open, Agent: routing.Agent{ID: agentID, Presence: tc.presence,
				Capacity: tc.capacity, Seniority: routing.SeniorityJunior}})
			require.Equal(t, tc.want, got.GetEligible())
			require.Equal(t, int32(tc.open), got.GetOpenTickets())
		})
	}
}

func TestQueueProto(t *testing.T) {
	t.Parallel()
	ticket := uuid.MustParse("0190f0aa-0000-7000-8000-000000000004")
	v := app.QueueView{
		Group:  routing.Group{ID: groupID, Code: "logistics", DisplayName: "物流组", Strategy: routing.StrategyLeastLoaded, Version: 1},
		Depth:  2,
		Oldest: 90 * time.Second,
		Tickets: []store.TicketRow{
			{ID: ticket, Priority: 1, SLADue: t0.Add(time.Hour), EnqueuedAt: t0},
			{ID: ruleID, Priority: 4, EnqueuedAt: t0.Add(time.Minute)},
		},
		Agents: []store.AgentView{{Open: 1, Agent: routing.Agent{ID: agentID, DisplayName: "王芳", Presence: routing.PresenceOnline,
			Capacity: 5, Seniority: routing.SenioritySenior}}},
	}
	want := &routingv1.GetQueueResponse{
		Group: &routingv1.Group{GroupId: groupID.String(), Code: "logistics", DisplayName: "物流组",
			Strategy: routingv1.Strategy_STRATEGY_LEAST_LOADED, Etag: "1"},
		Depth: 2, OldestWait: durationpb.New(90 * time.Second),
		Tickets: []*routingv1.QueuedTicket{
			{TicketId: ticket.String(), Priority: intakev1.Priority_PRIORITY_P1, SlaDueTime: timestamppb.New(t0.Add(time.Hour)),
				EnqueueTime: timestamppb.New(t0)},
			{TicketId: ruleID.String(), Priority: intakev1.Priority_PRIORITY_P4, EnqueueTime: timestamppb.New(t0.Add(time.Minute))},
		},
		Agents: []*routingv1.AgentLoad{{AgentId: agentID.String(), DisplayName: "王芳", Presence: routingv1.Presence_PRESENCE_ONLINE,
			OpenTickets: 1, Capacity: 5, Seniority: routingv1.Seniority_SENIORITY_SENIOR, Eligible: true}},
	}
	requireProto(t, want, queueProto(v))
}

// TestServerRefusesBadIDs checks the handlers' own input checks; each fails before the app is used, so a
// server without one is enough, and none may panic.
func TestServerRefusesBadIDs(t *testing.T) {
	t.Parallel()
	s := New(nil)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	tests := []struct {
		name  string
		call  func() error
		field string
		desc  string
	}{
		{"get group without an id", func() error { _, err := s.GetGroup(t.Context(), &routingv1.GetGroupRequest{}); return err },
			"group_id", "is required"},
		{"get agent with a bad id", func() error {
			_, err := s.GetAgent(t.Context(), &routingv1.GetAgentRequest{AgentId: "x"})
			return err
		}, "agent_id", "must be a UUID"},
		{"list agents of a bad group", func() error {
			_, err := s.ListAgents(t.Context(), &routingv1.ListAgentsRequest{GroupId: "x"})
			return err
		}, "group_id", "must be a UUID"},
		{"create an agent without an id", func() error {
			_, err := s.CreateAgent(t.Context(), &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{DisplayName: "王芳"}})
			return err
		}, "agent.agent_id", "is required"},
		{"create a rule without a target", func() error {
			_, err := s.CreateRoutingRule(t.Context(), &routingv1.CreateRoutingRuleRequest{})
			return err
		}, "rule.target_group_id", "is required"},
		{"update a group without an id", func() error {
			_, err := s.UpdateGroup(t.Context(), &routingv1.UpdateGroupRequest{})
			return err
		}, "group.group_id", "is required"},
		{"update a group without an etag", func() error {
			_, err := s.UpdateGroup(t.Context(), &routingv1.UpdateGroupRequest{Group: &routingv1.Group{GroupId: groupID.String()},
				UpdateMask: mask("display_name")})
			return err
		}, "group.etag", "is required: read the group and pass its etag"},
		{"update an agent's presence through the mask", func() error {
			_, err := s.UpdateAgent(t.Context(), &routingv1.UpdateAgentRequest{
				Agent: &routingv1.Agent{AgentId: agentID.String(), Etag: "1"}, UpdateMask: mask("presence")})
			return err
		}, "update_mask", "names no field to change"},
		{"update a rule without an etag", func() error {
			_, err := s.UpdateRoutingRule(t.Context(), &routingv1.UpdateRoutingRuleRequest{
				Rule: &routingv1.RoutingRule{RuleId: ruleID.String()}, UpdateMask: mask("enabled")})
			return err
		}, "rule.etag", "is required: read the rule and pass its etag"},
		{"update a rule through an unknown path", func() error {
			_, err := s.UpdateRoutingRule(t.Context(), &routingv1.UpdateRoutingRuleRequest{
				Rule: &routingv1.RoutingRule{RuleId: ruleID.String(), Etag: "1"}, UpdateMask: mask("target_group_id", "priority")})
			return err
		}, "update_mask", "unknown or read-only path priority"},
		{"set presence of a bad id", func() error {
			_, err := s.SetPresence(t.Context(), &routingv1.SetPresenceRequest{AgentId: "me"})
			return err
		}, "agent_id", "must be a UUID"},
		{"delete a rule without an id", func() error {
			_, err := s.DeleteRoutingRule(t.Context(), &routingv1.DeleteRoutingRuleRequest{})
			return err
		}, "rule_id", "is required"},
		{"queue of a bad group", func() error {
			_, err := s.GetQueue(t.Context(), &routingv1.GetQueueRequest{GroupId: "logistics"})
			return err
		}, "group_id", "must be a UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireInvalid(t, tc.call(), tc.field, tc.desc)
		})
	}
}
