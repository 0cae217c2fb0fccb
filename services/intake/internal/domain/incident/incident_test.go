package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

var (
	shanghai = time.FixedZone("CST", 8*3600)
	t0       = time.Date(2026, 12, 7, 10, 0, 0, 0, shanghai)
)

func TestScopeMatches(t *testing.T) {
	t.Parallel()
	pay := Scope{Channels: []string{"app", "web_chat"}, Keywords: []string{"支付", "Payment"}, Start: t0}
	tests := []struct {
		name  string
		scope Scope
		facts Facts
		want  bool
	}{
		{"an app ticket about payment in the window matches", pay, Facts{Channel: "app", Text: "支付失败了", ReceivedAt: t0.Add(time.Minute)}, true},
		{"keywords ignore case", pay, Facts{Channel: "web_chat", Text: "PAYMENT declined", ReceivedAt: t0}, true},
		{"another channel does not match", pay, Facts{Channel: "phone", Text: "支付失败", ReceivedAt: t0}, false},
		{"no keyword does not match", pay, Facts{Channel: "app", Text: "想改地址", ReceivedAt: t0}, false},
		{"before the window does not match", pay, Facts{Channel: "app", Text: "支付失败", ReceivedAt: t0.Add(-time.Second)}, false},
		{"at the window's end does not match", Scope{Subcategories: []string{"logistics"}, End: t0},
			Facts{Subcategory: "logistics", ReceivedAt: t0}, false},
		{"a subcategory scope matches its subcategory", Scope{Subcategories: []string{"logistics"}},
			Facts{Subcategory: "logistics", ReceivedAt: t0}, true},
		{"a subcategory scope ignores others", Scope{Subcategories: []string{"logistics"}},
			Facts{Subcategory: "refund", ReceivedAt: t0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.scope.Matches(tc.facts))
		})
	}
}

func field(t *testing.T, err error) string {
	t.Helper()
	e, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.NotEmpty(t, e.Fields)
	return e.Fields[0].Field
}

func valid() Incident {
	return Incident{Kind: KindSystemFailure, Severity: Sev1, Title: "支付网关故障", TeamGroupID: uuid.New(), CommanderID: "c-1",
		Scope: Scope{Keywords: []string{"支付"}}, Status: Active, Number: "INC20261207001"}
}

func TestIncidentValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Incident)
		field  string
	}{
		{"an empty scope would take every ticket", func(i *Incident) { i.Scope = Scope{} }, "incident.scope"},
		{"a blank keyword", func(i *Incident) { i.Scope.Keywords = []string{" "} }, "incident.scope.keywords[0]"},
		{"a window ending before it starts", func(i *Incident) { i.Scope.Start, i.Scope.End = t0, t0.Add(-time.Hour) }, "incident.scope.end_time"},
		{"no team", func(i *Incident) { i.TeamGroupID = uuid.Nil }, "incident.team_group_id"},
		{"no commander", func(i *Incident) { i.CommanderID = "" }, "incident.commander_id"},
		{"an unknown kind", func(i *Incident) { i.Kind = "flood" }, "incident.kind"},
		{"an unknown severity", func(i *Incident) { i.Severity = "sev9" }, "incident.severity"},
	}
	require.NoError(t, valid().Validate())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			i := valid()
			tc.change(&i)
			require.Equal(t, tc.field, field(t, i.Validate()))
		})
	}
}

func TestSeverityRaisesUrgency(t *testing.T) {
	t.Parallel()
	require.Equal(t, "critical", Sev1.MinUrgency())
	require.Equal(t, "urgent", Sev2.MinUrgency())
	require.Equal(t, "urgent", Sev3.MinUrgency())
}

func TestCloseOnlyOnce(t *testing.T) {
	t.Parallel()
	i := valid()
	require.Equal(t, "cause", field(t, i.Close(" ", nil, t0)))
	require.NoError(t, i.Close("证书过期", []string{"监控证书有效期"}, t0))
	require.Equal(t, Closed, i.Status)
	err := i.Close("again", nil, t0)
	e, ok := apierr.As(err)
	require.True(t, ok)
	require.Equal(t, ReasonClosed, e.Reason)
	require.Equal(t, apierr.KindFailedPrecondition, e.Kind)
}

func TestCompensationNeedsASecondPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		by      string
		approve bool
		state   CompensationState
		reason  string
	}{
		{"a supervisor approves", "sup-1", true, Approved, ""},
		{"a supervisor rejects", "sup-1", false, Rejected, ""},
		{"the proposer cannot approve their own", "agent-1", true, Proposed, ReasonSelfApproval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Compensation{State: Proposed, ProposedBy: "agent-1"}
			err := c.Decide(tc.approve, tc.by, "", t0)
			require.Equal(t, tc.state, c.State)
			if tc.reason == "" {
				require.NoError(t, err)
				require.Equal(t, tc.by, c.DecidedBy)
				e, _ := apierr.As(c.Decide(true, "sup-2", "", t0))
				require.Equal(t, ReasonDecided, e.Reason, "a decision is final")
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok)
			require.Equal(t, tc.reason, e.Reason)
		})
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	require.Equal(t, "INC20261207001", FormatNumber(t0, 1))
	require.Equal(t, "INC202612071234", FormatNumber(t0, 1234))
}

func TestPostmortemHasEverySection(t *testing.T) {
	t.Parallel()
	i := valid()
	i.DeclaredAt, i.DeclaredBy = t0, "staff:sup-1"
	require.NoError(t, i.Close("支付网关证书过期 | 续期失败", []string{"证书到期前 30 天告警", "演练切换"}, t0.Add(3*time.Hour+20*time.Minute)))
	md := Postmortem(i, Impact{Tickets: 1000, Customers: 980, Channels: map[string]int64{"app": 700, "web_chat": 300}, Breaches: 12,
		Resolved: 990, Open: 10},
		[]Action{{At: t0, Actor: "staff:sup-1", Kind: "declared"}, {At: t0.Add(time.Hour), Actor: "staff:sup-1", Kind: "announced", Text: "1000 tickets"}},
		[]Compensation{{TicketID: uuid.New(), Kind: "coupon", Amount: 2000, Currency: "CNY", State: Approved, ProposedBy: "a", DecidedBy: "s"}},
		shanghai, t0)
	for _, want := range []string{"# Post-mortem INC20261207001: 支付网关故障", "- Severity: SEV1", "- Duration: 3 h 20 min",
		"## Cause\n\n支付网关证书过期 | 续期失败", "| tickets | 1000 |", "| customers | 980 |", "| SLA breaches | 12 |",
		"| app | 700 |\n| web_chat | 300 |", "## Timeline", "2026-12-07 11:00 staff:sup-1 — announced: 1000 tickets",
		"## Compensations", "| 2000 CNY | approved |", "- [ ] 证书到期前 30 天告警", "- [ ] 演练切换"} {
		require.Contains(t, md, want)
	}
	require.False(t, strings.Contains(md, "\n\n\n"), "no stray blank lines")
}
