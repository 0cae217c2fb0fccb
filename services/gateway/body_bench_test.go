package gateway

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// The JSON codec's share of a REST call (see docs/benchmarks.md, "REST"): encoding the ticket a submit
// returns and decoding the request a channel adapter sends, through the marshaler every route uses.
// Run: go test -run '^$' -bench . kefu.dev/services/gateway

func benchTicketResponse() *intakev1.SubmitTicketResponse {
	at := timestamppb.New(time.Date(2026, 11, 23, 8, 0, 0, 123000000, time.UTC))
	return &intakev1.SubmitTicketResponse{Ticket: &intakev1.Ticket{
		TicketId: "0192f5a0-0000-7000-8000-000000000001", Number: "GD202611230001",
		Status: intakev1.TicketStatus_TICKET_STATUS_NEW, Channel: intakev1.Channel_CHANNEL_WEB_CHAT,
		Type: intakev1.TicketType_TICKET_TYPE_INQUIRY, Subcategory: "logistics_status",
		ClassificationSource: intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE,
		ClassificationRuleId: "0192f5a0-0000-7000-8000-0000000000r1",
		Urgency:              intakev1.Urgency_URGENCY_NORMAL, Priority: intakev1.Priority_PRIORITY_P4,
		Description: "我的快递三天了还没到，订单号 SO20261123001，请帮忙查一下物流。",
		CustomerId:  "0192f5a0-0000-7000-8000-00000000c001", OrderNumber: "SO20261123001",
		Contact:      &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "138****0000", Consent: true, ConsentPurpose: "service_follow_up"},
		Submitter:    &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_ADAPTER, Id: "web-chat"},
		ReceivedTime: at, CreateTime: at, UpdateTime: at,
	}}
}

func BenchmarkEncodeSubmitResponse(b *testing.B) {
	m := newMarshaler()
	resp := benchTicketResponse()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSubmitRequest(b *testing.B) {
	m := newMarshaler()
	body := []byte(`{"idempotencyKey":"bench-1","channel":"CHANNEL_WEB_CHAT","receivedTime":"2026-11-23T08:00:00Z",
		"contact":{"kind":"CONTACT_KIND_PHONE","value":"13800000000","consent":true,"consentPurpose":"service_follow_up"},
		"customerId":"0192f5a0-0000-7000-8000-00000000c001","orderNumber":"SO20261123001",
		"description":"我的快递三天了还没到，订单号 SO20261123001，请帮忙查一下物流。"}`)
	b.ReportAllocs()
	for b.Loop() {
		var req intakev1.SubmitTicketRequest
		if err := m.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
			b.Fatal(err)
		}
	}
}
