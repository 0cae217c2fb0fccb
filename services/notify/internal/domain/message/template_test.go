package message

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestDefaultsPassCheck(t *testing.T) {
	t.Parallel()
	for _, tmpl := range Defaults() {
		vars := Variables(tmpl.Kind)
		require.NotNil(t, vars, "%s has variables", tmpl.Kind)
		require.NoError(t, Check(tmpl.Body, vars), "%s/%s/%s", tmpl.Kind, tmpl.Channel, tmpl.Language)
		require.True(t, tmpl.Channel == "" || tmpl.Channel.Deliverable(), "%s/%s", tmpl.Kind, tmpl.Channel)
	}
}

func TestDefaultsCoverEveryKindInBothLanguages(t *testing.T) {
	t.Parallel()
	all := Defaults()
	for _, k := range []Kind{KindAcknowledgement, KindAgentReply, KindProgressUpdate, KindAnnouncement} {
		for _, lang := range []string{LangZh, LangEn} {
			got, ok := TemplateFor(all, k, ChannelWeChat, lang)
			require.True(t, ok, "%s %s", k, lang)
			require.Equal(t, lang, got.Language, "%s %s is not a fallback", k, lang)
		}
	}
	seen := map[Template]bool{}
	for _, tmpl := range all {
		key := Template{Kind: tmpl.Kind, Channel: tmpl.Channel, Language: tmpl.Language}
		require.False(t, seen[key], "%s/%s/%s appears once", tmpl.Kind, tmpl.Channel, tmpl.Language)
		seen[key] = true
	}
}

func TestDefaultsRender(t *testing.T) {
	t.Parallel()
	all := Defaults()
	render := func(k Kind, ch Channel, lang string, vars map[string]string) string {
		tmpl, ok := TemplateFor(all, k, ch, lang)
		require.True(t, ok)
		return Render(tmpl.Body, vars)
	}
	afterHours := map[string]string{"ticket_number": "GD202512050001", "after_hours": "true", "expected_reply": "次日9:00前"}
	inHours := map[string]string{"ticket_number": "GD202512050001"}

	tests := []struct {
		name string
		got  string
		want string
	}{
		{
			"the chinese acknowledgement after hours names the reply time",
			render(KindAcknowledgement, ChannelWeChat, LangZh, afterHours),
			"您好，您的工单已受理，工单号GD202512050001。现在是非工作时间，客服将于次日9:00前回复您。",
		},
		{
			"the chinese acknowledgement in working hours promises a prompt reply",
			render(KindAcknowledgement, ChannelWeChat, LangZh, inHours),
			"您好，您的工单已受理，工单号GD202512050001。我们会尽快回复您。",
		},
		{
			"the english acknowledgement after hours names the reply time",
			render(KindAcknowledgement, ChannelEmail, LangEn, map[string]string{"ticket_number": "GD1", "after_hours": "1", "expected_reply": "before 9:00 tomorrow"}),
			"Hello, we have received your request. Your ticket number is GD1. We are outside working hours now; an agent will reply before 9:00 tomorrow.",
		},
		{
			"the sms acknowledgement is the short one",
			render(KindAcknowledgement, ChannelSMS, LangZh, inHours),
			"您的工单GD202512050001已受理，我们会尽快回复。",
		},
		{
			"an e-mail reply carries the ticket number",
			render(KindAgentReply, ChannelEmail, LangZh, map[string]string{"ticket_number": "GD1", "body": "已为您退款。"}),
			"已为您退款。\n\n工单号 GD1",
		},
		{
			"a chat reply is the agent's text alone",
			render(KindAgentReply, ChannelWebChat, LangEn, map[string]string{"ticket_number": "GD1", "body": "Refunded."}),
			"Refunded.",
		},
		{
			"a progress update names the agent when there is one",
			render(KindProgressUpdate, ChannelApp, LangEn, map[string]string{"ticket_number": "GD1", "agent_name": "Wang"}),
			"Your ticket GD1 is being worked on by Wang. We will let you know as soon as there is news.",
		},
		{
			"a progress update without an agent reads well in chinese",
			render(KindProgressUpdate, ChannelApp, LangZh, map[string]string{"ticket_number": "GD1"}),
			"您的工单GD1正在处理中，有进展我们会第一时间通知您。",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.got)
		})
	}
}

// TestSMSAcknowledgementFitsOneSegment renders the SMS acknowledgements with the longest values they can
// get: a ticket number and the longest expected-reply phrase (a two-digit month and day, a late opening).
// One segment is 70 characters in UCS-2 (Chinese) and 160 in GSM-7 (English).
func TestSMSAcknowledgementFitsOneSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lang  string
		reply string
		limit int
	}{
		{"the chinese sms fits 70 characters", LangZh, "12月31日(周三)13:30前", 70},
		{"the english sms fits 160 characters", LangEn, "before 13:30 on Wednesday 31 December", 160},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl, ok := TemplateFor(Defaults(), KindAcknowledgement, ChannelSMS, tc.lang)
			require.True(t, ok)
			require.Equal(t, ChannelSMS, tmpl.Channel)
			for _, afterHours := range []string{"", "1"} {
				got := Render(tmpl.Body, map[string]string{
					"ticket_number": "GD202512310001", "after_hours": afterHours, "expected_reply": tc.reply,
				})
				require.LessOrEqual(t, utf8.RuneCountInString(got), tc.limit, got)
			}
		})
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind Kind
		want []string
	}{
		{"an acknowledgement may name the reply time", KindAcknowledgement, []string{"ticket_number", "expected_reply", "after_hours", "agent_name", "subject"}},
		{"an agent reply carries the body", KindAgentReply, []string{"ticket_number", "body", "agent_name"}},
		{"a progress update has no body", KindProgressUpdate, []string{"ticket_number", "agent_name", "subject"}},
		{"an announcement carries the body", KindAnnouncement, []string{"ticket_number", "body"}},
		{"an unknown kind has none", Kind("survey"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Variables(tc.kind))
		})
	}
}

func TestVariablesReturnsAFreshSlice(t *testing.T) {
	t.Parallel()
	v := Variables(KindAgentReply)
	v[0] = "changed"
	require.Equal(t, "ticket_number", Variables(KindAgentReply)[0])
}

func TestTemplateFor(t *testing.T) {
	t.Parallel()
	all := []Template{
		{Kind: KindAcknowledgement, Channel: ChannelSMS, Language: LangZh, Body: "sms zh"},
		{Kind: KindAcknowledgement, Channel: "", Language: LangZh, Body: "any zh"},
		{Kind: KindAcknowledgement, Channel: "", Language: LangEn, Body: "any en"},
		{Kind: KindAgentReply, Channel: ChannelEmail, Language: LangEn, Body: "email en"},
		{Kind: KindAgentReply, Channel: "", Language: LangEn, Body: "any en first"},
		{Kind: KindAgentReply, Channel: "", Language: LangEn, Body: "any en second"},
		{Kind: KindProgressUpdate, Channel: ChannelEmail, Language: LangZh, Body: "progress email zh"},
	}
	tests := []struct {
		name   string
		kind   Kind
		ch     Channel
		lang   string
		want   string
		wantOK bool
	}{
		{"an exact match wins", KindAcknowledgement, ChannelSMS, LangZh, "sms zh", true},
		{"a channel without its own template gets the every-channel one", KindAcknowledgement, ChannelEmail, LangZh, "any zh", true},
		{"the every-channel template in the language beats the channel's in the other language", KindAcknowledgement, ChannelSMS, LangEn, "any en", true},
		{"english falls back to chinese", KindProgressUpdate, ChannelEmail, LangEn, "progress email zh", true},
		{"chinese falls back to english, the channel's first", KindAgentReply, ChannelEmail, LangZh, "email en", true},
		{"chinese falls back to the english every-channel template", KindAgentReply, ChannelSMS, LangZh, "any en first", true},
		{"another language tries english first", KindAcknowledgement, ChannelApp, "fr", "any en", true},
		{"of two templates for one key the first wins", KindAgentReply, ChannelApp, LangEn, "any en first", true},
		{"a channel-specific template is not used for another channel", KindProgressUpdate, ChannelSMS, LangZh, "", false},
		{"a kind without templates finds none", KindAnnouncement, ChannelSMS, LangZh, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := TemplateFor(all, tc.kind, tc.ch, tc.lang)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got.Body)
		})
	}
}

func TestTemplateForPrefersSavedOverDefaults(t *testing.T) {
	t.Parallel()
	saved := Template{Kind: KindAcknowledgement, Language: LangZh, Body: "自定义{{ticket_number}}"}
	got, ok := TemplateFor(append([]Template{saved}, Defaults()...), KindAcknowledgement, ChannelWeChat, LangZh)
	require.True(t, ok)
	require.Equal(t, saved, got)
}
