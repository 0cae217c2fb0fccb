package app

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	_ "kefu.dev/pkg/api/kefu/events/v1" // registers the event types webhook payloads render
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	"kefu.dev/pkg/mask"
	"kefu.dev/pkg/protocode"
	"kefu.dev/pkg/webhook"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// OutboundPrefix starts every subject of the OUTBOUND stream.
const OutboundPrefix = "outbound."

// OutboundSubject is the subject a message on ch goes out on: outbound.<channel token>.
func OutboundSubject(ch message.Channel) string { return OutboundPrefix + string(ch) }

// matching returns the subscriptions of hooks that receive subject.
func matching(hooks []store.WebhookRow, subject string) []store.WebhookRow {
	var out []store.WebhookRow
	for _, h := range hooks {
		if h.Matches(subject, webhook.Match) {
			out = append(out, h)
		}
	}
	return out
}

// envelope is the JSON body of every webhook delivery: the event's or message's id, its subject, the proto
// type of data, and data itself in the proto's JSON form.
type envelope struct {
	ID      string          `json:"id"`
	Subject string          `json:"subject"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

var jsonOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false}

// outboundPayload is an outbound message's webhook body, with the address in full.
func outboundPayload(m store.Message) ([]byte, error) {
	env := &notifyv1.OutboundEnvelope{Message: MessageProto(m, true), QueueTime: timestamppb.New(m.CreatedAt),
		ChannelToken: string(m.Channel)}
	data, err := jsonOptions.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode outbound message: %w", err)
	}
	return json.Marshal(envelope{ID: m.ID.String(), Subject: OutboundSubject(m.Channel),
		Type: string(env.ProtoReflect().Descriptor().FullName()), Time: m.CreatedAt, Data: data})
}

// eventPayload is a ticket event's webhook body. An event type this build does not know (a newer
// publisher) still goes out, its data as the base64 of the proto bytes.
func eventPayload(id, subject, typ string, data []byte, occurred time.Time) ([]byte, error) {
	var raw json.RawMessage
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ)); err == nil {
		m := mt.New().Interface()
		if err := proto.Unmarshal(data, m); err != nil {
			return nil, fmt.Errorf("decode %s: %w", typ, err)
		}
		if raw, err = jsonOptions.Marshal(m); err != nil {
			return nil, fmt.Errorf("encode %s: %w", typ, err)
		}
	} else if raw, err = json.Marshal(map[string][]byte{"proto_base64": data}); err != nil {
		return nil, err
	}
	return json.Marshal(envelope{ID: id, Subject: subject, Type: typ, Time: occurred, Data: raw})
}

// MessageProto renders a message for the API (address masked) or for adapters (reveal: in full).
func MessageProto(m store.Message, reveal bool) *notifyv1.OutboundMessage {
	addr := m.Address
	if !reveal {
		addr = maskAddress(m.ContactKind, addr)
	}
	out := &notifyv1.OutboundMessage{
		MessageId: m.ID.String(), Kind: protocode.Enum[notifyv1.MessageKind]("MESSAGE_KIND_", string(m.Kind)),
		TicketId: m.TicketID.String(), TicketNumber: m.TicketNumber,
		Channel:     protocode.Enum[intakev1.Channel]("CHANNEL_", string(m.Channel)),
		ContactKind: protocode.Enum[intakev1.ContactKind]("CONTACT_KIND_", string(m.ContactKind)),
		Address:     addr, Language: m.Language, Body: m.Body,
		State:         protocode.Enum[notifyv1.DeliveryState]("DELIVERY_STATE_", string(m.State)),
		FailureReason: m.FailureReason, ProviderMessageId: m.ProviderMessageID, EntryId: m.EntryID,
		CreateTime: timestamppb.New(m.CreatedAt), SendTime: stamp(m.SentAt), FinishTime: stamp(m.FinishedAt),
	}
	if m.CustomerID != uuid.Nil {
		out.CustomerId = m.CustomerID.String()
	}
	if m.AnnouncementID != uuid.Nil {
		out.AnnouncementId = m.AnnouncementID.String()
	}
	return out
}

func maskAddress(k message.ContactKind, v string) string {
	switch k {
	case message.ContactPhone:
		return mask.Phone(v)
	case message.ContactEmail:
		return mask.Email(v)
	case message.ContactWeChat:
		return mask.WeChat(v)
	}
	return v
}

func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
