package message

// Kind is what a message is for; each kind has its own set of template variables.
type Kind string

// Kinds.
const (
	// KindAcknowledgement confirms a new ticket, with the expected reply time after hours.
	KindAcknowledgement Kind = "acknowledgement"
	// KindAgentReply carries an agent's reply.
	KindAgentReply Kind = "agent_reply"
	// KindProgressUpdate tells the customer the ticket is being worked on.
	KindProgressUpdate Kind = "progress_update"
	// KindAnnouncement carries a message written for many customers at once.
	KindAnnouncement Kind = "announcement"
)

// Template is the body of one kind of message on one channel in one language.
type Template struct {
	Kind Kind
	// Channel is the channel the body is written for; "" means every channel without its own.
	Channel  Channel
	Language string
	Body     string
}

// Variables returns the variable names a template of kind k may use, or nil for an unknown kind. The app
// fills exactly these when it renders; Check with them before a template is saved.
func Variables(k Kind) []string {
	switch k {
	case KindAcknowledgement:
		return []string{"ticket_number", "expected_reply", "after_hours", "agent_name", "subject"}
	case KindAgentReply:
		return []string{"ticket_number", "body", "agent_name"}
	case KindProgressUpdate:
		return []string{"ticket_number", "agent_name", "subject"}
	case KindAnnouncement:
		return []string{"ticket_number", "body"}
	}
	return nil
}

// Defaults returns the built-in templates, used where an admin has not saved one. Every kind has a
// channel-independent body in both languages. The SMS acknowledgement is shorter: rendered with a ticket
// number and the longest expected-reply phrase it fits one SMS segment (70 characters in Chinese, 160 in
// English), because a split message costs double and may arrive out of order. The e-mail reply repeats the
// ticket number because e-mail is read out of context, days later, often in a thread of several tickets.
func Defaults() []Template {
	return []Template{
		{Kind: KindAcknowledgement, Language: LangZh, Body: "您好，您的工单已受理，工单号{{ticket_number}}。" +
			"{{#after_hours}}现在是非工作时间，客服将于{{expected_reply}}回复您。{{/after_hours}}" +
			"{{^after_hours}}我们会尽快回复您。{{/after_hours}}"},
		{Kind: KindAcknowledgement, Language: LangEn, Body: "Hello, we have received your request. " +
			"Your ticket number is {{ticket_number}}. " +
			"{{#after_hours}}We are outside working hours now; an agent will reply {{expected_reply}}.{{/after_hours}}" +
			"{{^after_hours}}We will reply as soon as we can.{{/after_hours}}"},
		{Kind: KindAcknowledgement, Channel: ChannelSMS, Language: LangZh, Body: "您的工单{{ticket_number}}已受理，" +
			"{{#after_hours}}客服将于{{expected_reply}}回复。{{/after_hours}}" +
			"{{^after_hours}}我们会尽快回复。{{/after_hours}}"},
		{Kind: KindAcknowledgement, Channel: ChannelSMS, Language: LangEn, Body: "Ticket {{ticket_number}} received. " +
			"{{#after_hours}}We will reply {{expected_reply}}.{{/after_hours}}" +
			"{{^after_hours}}We will reply soon.{{/after_hours}}"},

		{Kind: KindAgentReply, Language: LangZh, Body: "{{body}}"},
		{Kind: KindAgentReply, Language: LangEn, Body: "{{body}}"},
		{Kind: KindAgentReply, Channel: ChannelEmail, Language: LangZh, Body: "{{body}}\n\n工单号 {{ticket_number}}"},
		{Kind: KindAgentReply, Channel: ChannelEmail, Language: LangEn, Body: "{{body}}\n\nTicket {{ticket_number}}"},

		{Kind: KindProgressUpdate, Language: LangZh, Body: "您的工单{{ticket_number}}正在处理中，" +
			"{{#agent_name}}客服{{agent_name}}正在跟进，{{/agent_name}}有进展我们会第一时间通知您。"},
		{Kind: KindProgressUpdate, Language: LangEn, Body: "Your ticket {{ticket_number}} is being worked on" +
			"{{#agent_name}} by {{agent_name}}{{/agent_name}}. We will let you know as soon as there is news."},

		{Kind: KindAnnouncement, Language: LangZh, Body: "{{body}}"},
		{Kind: KindAnnouncement, Language: LangEn, Body: "{{body}}"},
	}
}

// TemplateFor picks the template for a message from all (the admins' templates followed by Defaults, say,
// so a saved one wins over a built-in one for the same key, as the first match is taken). It tries, in
// order: the exact kind, channel and language; the kind's every-channel template in the language; then the
// same two in the other language (LangEn and LangZh fall back to each other; any other language tries
// LangEn, then LangZh), because a message in the wrong language is better than none.
func TemplateFor(all []Template, k Kind, ch Channel, lang string) (Template, bool) {
	langs := []string{lang}
	if lang != LangEn {
		langs = append(langs, LangEn)
	}
	if lang != LangZh {
		langs = append(langs, LangZh)
	}
	for _, l := range langs {
		for _, c := range []Channel{ch, ""} {
			for _, t := range all {
				if t.Kind == k && t.Channel == c && t.Language == l {
					return t, true
				}
			}
		}
	}
	return Template{}, false
}
