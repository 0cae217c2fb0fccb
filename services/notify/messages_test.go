package notify_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/notify"
)

// mondayMorning is 10:00 on Monday 23 November 2026 in Shanghai: working time in china_default.
var mondayMorning = time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai)

func phone(v string) *intakev1.Contact {
	return &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: v, Consent: true, ConsentPurpose: "service_follow_up"}
}

// TestAcknowledgementOnEveryChannel: a ticket from each channel gets one acknowledgement with its number,
// on its own channel (a store visit by SMS to the consented phone), addressed in full on the OUTBOUND
// stream and masked in the API.
func TestAcknowledgementOnEveryChannel(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	email := &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "li.lei@example.com", Consent: true,
		ConsentPurpose: "service_follow_up"}
	wechat := &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_WECHAT, Value: "wx_lilei2026", Consent: true,
		ConsentPurpose: "service_follow_up"}
	tests := []struct {
		channel     intakev1.Channel
		contact     *intakev1.Contact
		wantChannel intakev1.Channel
		wantAddress string // in full, on the stream
		wantMasked  string
		subject     string
	}{
		{intakev1.Channel_CHANNEL_PHONE, phone("13800138001"), intakev1.Channel_CHANNEL_PHONE, "13800138001", "138****8001", "outbound.phone"},
		{intakev1.Channel_CHANNEL_SMS, phone("13800138002"), intakev1.Channel_CHANNEL_SMS, "13800138002", "138****8002", "outbound.sms"},
		{intakev1.Channel_CHANNEL_EMAIL, email, intakev1.Channel_CHANNEL_EMAIL, "li.lei@example.com", "", "outbound.email"},
		{intakev1.Channel_CHANNEL_WECHAT, wechat, intakev1.Channel_CHANNEL_WECHAT, "wx_lilei2026", "", "outbound.wechat"},
		{intakev1.Channel_CHANNEL_WEB_CHAT, nil, intakev1.Channel_CHANNEL_WEB_CHAT, "", "", "outbound.web_chat"},
		{intakev1.Channel_CHANNEL_APP, nil, intakev1.Channel_CHANNEL_APP, "", "", "outbound.app"},
		{intakev1.Channel_CHANNEL_MINI_PROGRAM, nil, intakev1.Channel_CHANNEL_MINI_PROGRAM, "", "", "outbound.mini_program"},
		{intakev1.Channel_CHANNEL_SOCIAL, nil, intakev1.Channel_CHANNEL_SOCIAL, "", "", "outbound.social"},
		{intakev1.Channel_CHANNEL_STORE, phone("13800138009"), intakev1.Channel_CHANNEL_SMS, "13800138009", "138****8009", "outbound.sms"},
	}
	tickets := make([]*intakev1.Ticket, len(tests))
	for i, tc := range tests {
		tickets[i] = s.submit(t, &intakev1.SubmitTicketRequest{Channel: tc.channel, Contact: tc.contact,
			Description: "我的订单一直没有发货，请帮忙查一下"})
	}
	for i, tc := range tests {
		t.Run(tc.channel.String(), func(t *testing.T) {
			tk := tickets[i]
			m := s.messages(t, tk.GetTicketId(), 1)[0]
			require.Equal(t, notifyv1.MessageKind_MESSAGE_KIND_ACKNOWLEDGEMENT, m.GetKind())
			require.Equal(t, tc.wantChannel, m.GetChannel())
			require.Equal(t, notifyv1.DeliveryState_DELIVERY_STATE_QUEUED, m.GetState())
			require.Equal(t, "zh-CN", m.GetLanguage())
			require.Contains(t, m.GetBody(), tk.GetNumber())
			require.Contains(t, m.GetBody(), "尽快回复", "working hours: no after-hours promise")
			if tc.wantAddress != "" {
				require.NotEqual(t, tc.wantAddress, m.GetAddress(), "the API masks the address")
			}
			if tc.wantMasked != "" {
				require.Equal(t, tc.wantMasked, m.GetAddress())
			}
			var found bool
			for _, env := range s.outbound(t, tc.subject, 1) {
				if env.GetMessage().GetMessageId() == m.GetMessageId() {
					found = true
					require.Equal(t, tc.wantAddress, env.GetMessage().GetAddress(), "the adapter gets the address in full")
					require.Equal(t, m.GetBody(), env.GetMessage().GetBody())
					require.Equal(t, tk.GetNumber(), env.GetMessage().GetTicketNumber())
				}
			}
			require.True(t, found, "message %s is on %s", m.GetMessageId(), tc.subject)
		})
	}
}

// TestAfterHoursAcknowledgementSaysWhenAPersonWillReply: outside working hours the acknowledgement names
// the next opening of the calendar: Friday evening → Monday 9:00, the evening before the National Day
// holidays → the first working day after them, a weekday evening → tomorrow; in the customer's language.
func TestAfterHoursAcknowledgementSaysWhenAPersonWillReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		at       time.Time
		text     string
		calendar string
		want     string
	}{
		{"friday evening in chinese is monday", time.Date(2026, 11, 20, 19, 0, 0, 0, shanghai), "快递丢了", "china_default",
			"客服将于11月23日(周一)9:00前回复您"},
		{"friday evening in english is monday", time.Date(2026, 11, 20, 19, 0, 0, 0, shanghai), "My parcel is lost", "china_default",
			"an agent will reply before 9:00 on Monday 23 November"},
		{"a thursday evening is tomorrow", time.Date(2026, 11, 19, 20, 30, 0, 0, shanghai), "快递丢了", "china_default",
			"客服将于次日9:00前回复您"},
		{"the eve of the holidays skips them", time.Date(2026, 9, 30, 19, 0, 0, 0, shanghai), "快递丢了", "cn_2026",
			"客服将于10月9日(周五)9:00前回复您"},
		{"early on a make-up sunday is today", time.Date(2026, 9, 27, 7, 0, 0, 0, shanghai), "快递丢了", "cn_2026",
			"客服将于今天9:00前回复您"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tc.at, func(c *notify.Config) { c.Calendar = tc.calendar })
			if tc.calendar == "cn_2026" {
				createCN2026(t, s)
			}
			tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: tc.text})
			m := s.messages(t, tk.GetTicketId(), 1)[0]
			require.Contains(t, m.GetBody(), tc.want)
			require.Contains(t, m.GetBody(), tk.GetNumber())
		})
	}
}

// createCN2026 creates "cn_2026": the working week with the 2026 National Day holidays (1–8 October) and
// their make-up days (Sunday 27 September, Saturday 10 October).
func createCN2026(t *testing.T, s *stack) {
	t.Helper()
	var holidays []string
	for d := 1; d <= 8; d++ {
		holidays = append(holidays, fmt.Sprintf("2026-10-%02d", d))
	}
	var week []*slav1.WorkingDay
	for d := slav1.Weekday_WEEKDAY_MONDAY; d <= slav1.Weekday_WEEKDAY_FRIDAY; d++ {
		week = append(week, &slav1.WorkingDay{Day: d, Hours: []*slav1.TimeRange{{Start: "09:00", End: "18:00"}}})
	}
	_, err := s.sla.CreateCalendar(as(t.Context(), adminP), &slav1.CreateCalendarRequest{Calendar: &slav1.Calendar{
		Code: "cn_2026", DisplayName: "中国大陆 2026", TimeZone: "Asia/Shanghai", Week: week,
		Holidays: holidays, Workdays: []*slav1.MakeUpDay{{Date: "2026-09-27"}, {Date: "2026-10-10"}}}})
	require.NoError(t, err)
}

// TestWithdrawnConsentIsNeverUsed: the preferred channel is used while its contact's consent stands; once
// withdrawn, the message goes on the ticket's channel; a ticket whose only contact was withdrawn gets a
// failed message (NO_USABLE_CONTACT) that never reaches an adapter.
func TestWithdrawnConsentIsNeverUsed(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	ctx := as(t.Context(), adminP)
	consent := []*customerv1.Consent{{Purpose: "service_follow_up", Channel: intakev1.Channel_CHANNEL_WEB_CHAT}}
	prov := &customerv1.Provenance{Source: customerv1.Source_SOURCE_CUSTOMER_PROVIDED}
	newCustomer := func(contacts ...*customerv1.ContactPoint) *customerv1.Customer {
		resp, err := s.customer.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{IdempotencyKey: uuid.NewString(),
			Customer: &customerv1.Customer{Kind: customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL,
				Individual:       &customerv1.Individual{Name: "韩梅梅", Provenance: prov},
				PreferredChannel: intakev1.Channel_CHANNEL_EMAIL, Contacts: contacts}})
		require.NoError(t, err)
		return resp.GetCustomer()
	}
	emailContact := func(v string) *customerv1.ContactPoint {
		return &customerv1.ContactPoint{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: v, Provenance: prov, Consents: consent}
	}
	withdraw := func(c *customerv1.Customer) {
		for _, cp := range c.GetContacts() {
			_, err := s.customer.WithdrawConsent(ctx, &customerv1.WithdrawConsentRequest{CustomerId: c.GetCustomerId(),
				ContactId: cp.GetContactId(), Purpose: "service_follow_up"})
			require.NoError(t, err)
		}
	}

	// Consent stands: the preferred channel, email.
	kept := newCustomer(emailContact("kept@example.com"))
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, CustomerId: kept.GetCustomerId(),
		Description: "发票开错了"})
	m := s.messages(t, tk.GetTicketId(), 1)[0]
	require.Equal(t, intakev1.Channel_CHANNEL_EMAIL, m.GetChannel())
	env := s.outbound(t, "outbound.email", 1)
	require.Equal(t, "kept@example.com", env[0].GetMessage().GetAddress())

	// Withdrawn: the ticket's own channel, web chat.
	gone := newCustomer(emailContact("gone@example.com"))
	withdraw(gone)
	tk = s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, CustomerId: gone.GetCustomerId(),
		Description: "发票开错了"})
	m = s.messages(t, tk.GetTicketId(), 1)[0]
	require.Equal(t, intakev1.Channel_CHANNEL_WEB_CHAT, m.GetChannel())
	require.Empty(t, m.GetAddress())

	// The only phone withdrawn, on an SMS ticket: failed, and never on the stream.
	phoneOnly := newCustomer(&customerv1.ContactPoint{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13900139000",
		Provenance: prov, Consents: consent})
	withdraw(phoneOnly)
	tk = s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_SMS, CustomerId: phoneOnly.GetCustomerId(),
		Description: "退款没到账"})
	m = s.messages(t, tk.GetTicketId(), 1)[0]
	require.Equal(t, notifyv1.DeliveryState_DELIVERY_STATE_FAILED, m.GetState())
	require.Equal(t, "NO_USABLE_CONTACT", m.GetFailureReason())
	require.Empty(t, m.GetAddress())
	for _, e := range s.outbound(t, "outbound.>", 1) {
		require.NotEqual(t, tk.GetTicketId(), e.GetMessage().GetTicketId(), "a failed message is never published")
		require.NotContains(t, e.GetMessage().GetAddress(), "13900139000", "a withdrawn contact is never used")
		require.NotContains(t, e.GetMessage().GetAddress(), "gone@example.com", "a withdrawn contact is never used")
	}
}

// TestAgentRepliesGoOutAndInternalNotesNever: an agent's reply becomes a message with the agent's words;
// an internal note's text reaches no message, no OUTBOUND envelope and no webhook body (event or outbound).
func TestAgentRepliesGoOutAndInternalNotesNever(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	events := newReceiver(t, s.clock.Now)
	s.subscribe(t, events, nil, "kefu.>")
	outbound := newReceiver(t, s.clock.Now)
	s.subscribe(t, outbound, nil, "outbound.>")
	ctx := as(t.Context(), adminP)
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: "耳机左边没声音"})
	const secret = "内部备注：疑似批次质量问题 NOTE-7f3a"
	_, err := s.intake.AddNote(ctx, &intakev1.AddNoteRequest{TicketId: tk.GetTicketId(), RequestId: uuid.NewString(), Text: secret})
	require.NoError(t, err)
	const reply = "您好，已为您安排换货，新耳机明天发出。"
	_, err = s.intake.AssignTicket(ctx, &intakev1.AssignTicketRequest{TicketId: tk.GetTicketId(), RequestId: uuid.NewString(),
		GroupId: uuid.NewString(), AssigneeId: uuid.NewString()})
	require.NoError(t, err)
	_, err = s.intake.AddReply(ctx, &intakev1.AddReplyRequest{TicketId: tk.GetTicketId(), RequestId: uuid.NewString(), Text: reply})
	require.NoError(t, err)

	ms := s.messages(t, tk.GetTicketId(), 2)
	require.Equal(t, notifyv1.MessageKind_MESSAGE_KIND_AGENT_REPLY, ms[0].GetKind())
	require.Equal(t, reply, ms[0].GetBody())
	require.NotEmpty(t, ms[0].GetEntryId())
	testkit.Eventually(t, func() bool { return len(outbound.taken()) >= 2 }, wait, "both messages reach the outbound webhook")
	testkit.Eventually(t, func() bool {
		for _, d := range events.taken() {
			if d.Subject == "kefu.ticket.replied" {
				return true
			}
		}
		return false
	}, wait, "the replied event reaches the event webhook")
	for _, m := range ms {
		require.NotContains(t, m.GetBody(), "NOTE-7f3a")
	}
	for _, e := range s.outbound(t, "outbound.>", 2) {
		require.NotContains(t, e.GetMessage().GetBody(), "NOTE-7f3a")
	}
	sawNote := false
	for _, d := range append(events.taken(), outbound.taken()...) {
		require.NotContains(t, string(d.Raw), "NOTE-7f3a", "%s carries the note's text", d.Subject)
		sawNote = sawNote || d.Subject == "kefu.ticket.note_added"
	}
	for _, d := range events.taken() {
		require.NotContains(t, string(d.Raw), "新耳机明天发出", "an event webhook never carries message text (%s)", d.Subject)
		require.NotContains(t, string(d.Raw), "耳机左边没声音", "an event webhook never carries the customer's words (%s)", d.Subject)
	}
	require.True(t, sawNote, "the note's event (ids only) reached the event webhook")
	var replied bool
	for _, d := range outbound.taken() {
		if strings.Contains(string(d.Raw), "新耳机明天发出") {
			replied = true
		}
	}
	require.True(t, replied, "the outbound webhook carries the reply's text")
	_, bad := events.requests()
	require.Zero(t, bad, "every delivery's signature verifies")
}

// TestReportDeliveryMovesForwardOnly: adapters report sent and delivered; a report after the message
// finished is FAILED_PRECONDITION naming its state; another channel's adapter sees NOT_FOUND.
func TestReportDeliveryMovesForwardOnly(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: "改地址"})
	m := s.messages(t, tk.GetTicketId(), 1)[0]
	ctx := as(t.Context(), adapterP)
	resp, err := s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: m.GetMessageId(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_SENT, ProviderMessageId: "chat-991"})
	require.NoError(t, err)
	require.Equal(t, notifyv1.DeliveryState_DELIVERY_STATE_SENT, resp.GetMessage().GetState())
	require.Equal(t, "chat-991", resp.GetMessage().GetProviderMessageId())
	resp, err = s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: m.GetMessageId(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_DELIVERED})
	require.NoError(t, err)
	require.Equal(t, notifyv1.DeliveryState_DELIVERY_STATE_DELIVERED, resp.GetMessage().GetState())
	require.NotNil(t, resp.GetMessage().GetFinishTime())

	_, err = s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: m.GetMessageId(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_FAILED, FailureReason: "bounced"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "delivered")
	_, err = s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: m.GetMessageId(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_QUEUED})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	// An SMS message: this adapter's key speaks for web_chat, email and sms in notify, not phone.
	tk = s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_PHONE, Contact: phone("13700137000"),
		Description: "来电咨询"})
	m = s.messages(t, tk.GetTicketId(), 1)[0]
	_, err = s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: m.GetMessageId(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_SENT})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = s.notify.ReportDelivery(ctx, &notifyv1.ReportDeliveryRequest{MessageId: uuid.NewString(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_SENT})
	require.Equal(t, codes.NotFound, status.Code(err))
}

// TestTemplatesAreCheckedAndUsed: an admin's template replaces the default for its kind, channel and
// language; a variable the kind does not offer is INVALID_ARGUMENT naming template.body; agents may not
// change templates.
func TestTemplatesAreCheckedAndUsed(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	ctx := as(t.Context(), adminP)
	list, err := s.notify.ListTemplates(ctx, &notifyv1.ListTemplatesRequest{Kind: notifyv1.MessageKind_MESSAGE_KIND_ACKNOWLEDGEMENT})
	require.NoError(t, err)
	require.NotEmpty(t, list.GetTemplates())
	for _, tpl := range list.GetTemplates() {
		require.True(t, tpl.GetBuiltin())
	}

	bad := &notifyv1.Template{Kind: notifyv1.MessageKind_MESSAGE_KIND_ACKNOWLEDGEMENT, Language: "en",
		Body: "Hello {{customer_name}}, ticket {{ticket_number}}"}
	_, err = s.notify.SetTemplate(ctx, &notifyv1.SetTemplateRequest{Template: bad})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "template.body")
	_, err = s.notify.SetTemplate(as(t.Context(), agentP, "agent"), &notifyv1.SetTemplateRequest{Template: bad})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	good := &notifyv1.Template{Kind: notifyv1.MessageKind_MESSAGE_KIND_ACKNOWLEDGEMENT, Language: "en",
		Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Body: "Thanks! Your ticket is {{ticket_number}}.{{^after_hours}} We are on it.{{/after_hours}}"}
	set, err := s.notify.SetTemplate(ctx, &notifyv1.SetTemplateRequest{Template: good})
	require.NoError(t, err)
	require.False(t, set.GetTemplate().GetBuiltin())
	require.Equal(t, adminP, set.GetTemplate().GetUpdateActor())

	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: "Where is my refund?"})
	m := s.messages(t, tk.GetTicketId(), 1)[0]
	require.Equal(t, "Thanks! Your ticket is "+tk.GetNumber()+". We are on it.", m.GetBody())
}

// TestErasureRemovesAddressesAndTexts: when the customer service erases a customer, notify blanks the
// address and text of their messages, and a delivery of them still waiting never goes out.
func TestErasureRemovesAddressesAndTexts(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	ctx := as(t.Context(), adminP)
	r := newReceiver(t, s.clock.Now)
	resp, err := s.notify.CreateWebhook(ctx, &notifyv1.CreateWebhookRequest{IdempotencyKey: uuid.NewString(),
		Webhook: &notifyv1.Webhook{Url: r.srv.URL, Subjects: []string{"outbound.>"}, State: notifyv1.WebhookState_WEBHOOK_STATE_PAUSED}})
	require.NoError(t, err)
	hook := resp.GetWebhook()
	r.set(hook.GetSecret(), nil)
	prov := &customerv1.Provenance{Source: customerv1.Source_SOURCE_CUSTOMER_PROVIDED}
	c, err := s.customer.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{IdempotencyKey: uuid.NewString(),
		Customer: &customerv1.Customer{Kind: customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL,
			Individual: &customerv1.Individual{Name: "李雷", Provenance: prov}, PreferredChannel: intakev1.Channel_CHANNEL_EMAIL,
			Contacts: []*customerv1.ContactPoint{{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "erase.me@example.com",
				Provenance: prov, Consents: []*customerv1.Consent{{Purpose: "service_follow_up", Channel: intakev1.Channel_CHANNEL_EMAIL}}}}}})
	require.NoError(t, err)
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, CustomerId: c.GetCustomer().GetCustomerId(),
		Description: "请删除我的个人信息"})
	m := s.messages(t, tk.GetTicketId(), 1)[0]
	require.Equal(t, intakev1.Channel_CHANNEL_EMAIL, m.GetChannel())
	require.Len(t, s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING), 1)

	_, err = s.customer.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{CustomerId: c.GetCustomer().GetCustomerId(),
		Reason: "erasure request PR-7"})
	require.NoError(t, err)
	testkit.Eventually(t, func() bool {
		m = s.messages(t, tk.GetTicketId(), 1)[0]
		return m.GetBody() == "[erased]"
	}, wait, "the message's text is erased")
	require.Empty(t, m.GetAddress())
	dead := s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD)
	require.Len(t, dead, 1)
	require.Equal(t, "erased", dead[0].GetLastError())

	hook.State, hook.Secret = notifyv1.WebhookState_WEBHOOK_STATE_ACTIVE, ""
	_, err = s.notify.UpdateWebhook(ctx, &notifyv1.UpdateWebhookRequest{Webhook: hook})
	require.NoError(t, err)
	_, err = s.notify.RedeliverWebhookDelivery(ctx, &notifyv1.RedeliverWebhookDeliveryRequest{WebhookId: hook.GetWebhookId(),
		DeliveryId: dead[0].GetDeliveryId()})
	require.NoError(t, err)
	testkit.Eventually(t, func() bool { return len(r.taken()) == 1 }, wait, "the redelivery arrives")
	require.NotContains(t, string(r.taken()[0].Raw), "erase.me@example.com", "a redelivery after erasure carries nothing personal")
}

// TestProgressRemindersTellTheCustomerOnce: slatimer's kefu.sla.progress_due with notify_customer becomes
// one status message per reminder (a duplicate event adds none); without it, the reminder is the agent's
// only and the customer hears nothing.
func TestProgressRemindersTellTheCustomerOnce(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: "投诉：退款一直没到账"})
	s.messages(t, tk.GetTicketId(), 1) // the acknowledgement
	_, js := testkit.JetStream(t, s.nats.ClientURL(), logging.Discard())
	publish := func(reminder int32, notifyCustomer bool) {
		ev := &eventsv1.SlaProgressDue{Meta: &eventsv1.EventMeta{EventId: uuid.NewString(), Type: "kefu.events.v1.SlaProgressDue",
			Source: "slatimer", AggregateId: tk.GetTicketId(), AggregateSeq: int64(reminder), OccurredAt: timestamppb.Now()},
			TicketId: tk.GetTicketId(), Reminder: reminder, Cycle: 1, NotifyCustomer: notifyCustomer}
		m := nats.NewMsg("kefu.sla.progress_due")
		var err error
		m.Data, err = proto.Marshal(ev)
		require.NoError(t, err)
		m.Header.Set(events.HeaderMsgID, ev.GetMeta().GetEventId())
		m.Header.Set(events.HeaderType, "kefu.events.v1.SlaProgressDue")
		m.Header.Set(events.HeaderAggregateID, tk.GetTicketId())
		m.Header.Set(events.HeaderSeq, fmt.Sprint(reminder))
		_, err = js.PublishMsg(t.Context(), m)
		require.NoError(t, err)
	}
	publish(1, true)
	publish(1, true) // the same reminder again (another event id): no second message
	publish(2, false)
	publish(3, true)
	ms := s.messages(t, tk.GetTicketId(), 3)
	var updates []*notifyv1.OutboundMessage
	for _, m := range ms {
		if m.GetKind() == notifyv1.MessageKind_MESSAGE_KIND_PROGRESS_UPDATE {
			updates = append(updates, m)
		}
	}
	require.Len(t, updates, 2, "reminders 1 and 3 told the customer, once each")
	require.Contains(t, updates[0].GetBody(), tk.GetNumber())
	require.Contains(t, updates[0].GetBody(), "正在处理中")
}

// TestMessagesAreScopedLikeTheirTicket: an agent sees a ticket's messages only while the ticket is in
// their scope (assigned to them or queued in their groups); otherwise it is NOT_FOUND, as at intake.
func TestMessagesAreScopedLikeTheirTicket(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_WEB_CHAT, Description: "改地址"})
	s.messages(t, tk.GetTicketId(), 1)
	agentID := "00000000-0000-4000-8000-0000000000b7"
	agent := as(t.Context(), "staff:"+agentID, "agent")
	_, err := s.notify.ListMessages(agent, &notifyv1.ListMessagesRequest{TicketId: tk.GetTicketId()})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = s.intake.AssignTicket(as(t.Context(), adminP), &intakev1.AssignTicketRequest{TicketId: tk.GetTicketId(),
		RequestId: uuid.NewString(), GroupId: uuid.NewString(), AssigneeId: agentID})
	require.NoError(t, err)
	resp, err := s.notify.ListMessages(agent, &notifyv1.ListMessagesRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	require.Len(t, resp.GetMessages(), 1)
	_, err = s.notify.ListMessages(agent, &notifyv1.ListMessagesRequest{TicketId: uuid.NewString()})
	require.Equal(t, codes.NotFound, status.Code(err))
}
