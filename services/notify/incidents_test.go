package notify_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
)

// TestAnIncidentAnnouncesToEveryCustomerOnce: an incident links 1,000 matching tickets (1,000 customers,
// 20 of whom wrote twice) and its announcement reaches each customer exactly once, on the OUTBOUND stream
// too, even when the announcement event comes again; its internal discussion reaches no message.
func TestAnIncidentAnnouncesToEveryCustomerOnce(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	const customers, repeats = 1000, 20
	phoneOf := func(i int) string { return fmt.Sprintf("139%08d", i) }
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_APP, Contact: phone(phoneOf(i % customers)),
					Description: fmt.Sprintf("支付失败，订单 %d 扣款了", i)})
			}
		})
	}
	for i := range customers + repeats {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_APP, Description: "想改地址"}) // outside the scope

	admin := as(t.Context(), adminP)
	d, err := s.incidents.DeclareIncident(admin, &intakev1.DeclareIncidentRequest{IdempotencyKey: uuid.NewString(), LinkExisting: true,
		Incident: &intakev1.Incident{Kind: intakev1.IncidentKind_INCIDENT_KIND_SYSTEM_FAILURE,
			Severity: intakev1.IncidentSeverity_INCIDENT_SEVERITY_SEV1, Title: "支付故障",
			Scope:       &intakev1.IncidentScope{Keywords: []string{"支付"}},
			TeamGroupId: uuid.NewString(), CommanderId: "sup-1"}})
	require.NoError(t, err)
	require.Equal(t, int64(customers+repeats), d.GetLinked())
	require.Equal(t, int64(customers), d.GetIncident().GetCustomers())
	incidentID := d.GetIncident().GetIncidentId()
	_, err = s.incidents.AddIncidentNote(admin, &intakev1.AddIncidentNoteRequest{IncidentId: incidentID, Text: "内部讨论 DISCUSS-91 不得外发"})
	require.NoError(t, err)

	const text = "支付功能已恢复，给您带来不便深表歉意。"
	ann, err := s.incidents.Announce(admin, &intakev1.AnnounceRequest{IncidentId: incidentID, IdempotencyKey: uuid.NewString(), Text: text})
	require.NoError(t, err)
	annID := ann.GetAnnouncement().GetAnnouncementId()
	delivery := func() *notifyv1.GetAnnouncementDeliveryResponse {
		resp, err := s.notify.GetAnnouncementDelivery(admin, &notifyv1.GetAnnouncementDeliveryRequest{AnnouncementId: annID})
		require.NoError(t, err)
		return resp
	}
	testkit.Eventually(t, func() bool { return delivery().GetMessages() == customers }, wait, "one message per customer")

	// The same announcement event again (a duplicate publish): nothing more goes out.
	var stored eventsv1.IncidentAnnounced
	for _, e := range streamEvents(t, s, "kefu.incident.announced") {
		require.NoError(t, proto.Unmarshal(e.Data(), &stored))
	}
	require.Equal(t, annID, stored.GetAnnouncementId())
	stored.Meta.EventId = uuid.NewString()
	_, js := testkit.JetStream(t, s.nats.ClientURL(), logging.Discard())
	m := nats.NewMsg("kefu.incident.announced")
	m.Data, err = proto.Marshal(&stored)
	require.NoError(t, err)
	m.Header.Set(events.HeaderMsgID, stored.GetMeta().GetEventId())
	m.Header.Set(events.HeaderType, "kefu.events.v1.IncidentAnnounced")
	m.Header.Set(events.HeaderAggregateID, incidentID)
	m.Header.Set(events.HeaderSeq, fmt.Sprint(stored.GetMeta().GetAggregateSeq()))
	_, err = js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
	testkit.Eventually(t, func() bool {
		info, err := js.Consumer(t.Context(), events.StreamName, "notify-incidents")
		require.NoError(t, err)
		ci, err := info.Info(t.Context())
		require.NoError(t, err)
		return ci.NumPending == 0 && ci.NumAckPending == 0
	}, wait, "the duplicate was handled")
	got := delivery()
	require.Equal(t, int64(customers), got.GetMessages(), "exactly once per customer")
	require.Equal(t, int64(customers), got.GetQueued())

	envs := s.outbound(t, "outbound.app", customers+customers+repeats+1)
	perCustomer := map[string]int{}
	for _, e := range envs {
		msg := e.GetMessage()
		require.NotContains(t, msg.GetBody(), "DISCUSS-91", "the incident's discussion never reaches a customer")
		if msg.GetAnnouncementId() != annID {
			continue
		}
		require.Equal(t, notifyv1.MessageKind_MESSAGE_KIND_ANNOUNCEMENT, msg.GetKind())
		require.Equal(t, text, msg.GetBody())
		perCustomer[msg.GetCustomerId()]++
	}
	require.Len(t, perCustomer, customers, "every customer on the stream")
	for c, n := range perCustomer {
		require.Equal(t, 1, n, "customer %s got the announcement %d times", c, n)
	}
}

// streamEvents returns the KEFU stream's messages on subject (waiting for at least one).
func streamEvents(t *testing.T, s *stack, subject string) []jetstream.Msg {
	t.Helper()
	return s.read(t, events.StreamName, subject, 1)
}
