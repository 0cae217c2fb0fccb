package outbox

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
)

// NewEvent encodes body, a kefu.events.v1 message, with meta as its field 1 (the convention every event
// message follows) into a Message on subject. It fills meta.type from body's full name; meta's event id,
// aggregate id and sequence become the message's.
func NewEvent(subject string, body proto.Message, meta *eventsv1.EventMeta) (Message, error) {
	rm := body.ProtoReflect()
	typ := string(rm.Descriptor().FullName())
	f := rm.Descriptor().Fields().ByNumber(1)
	if f == nil || f.Message() == nil || f.Message().FullName() != meta.ProtoReflect().Descriptor().FullName() {
		return Message{}, fmt.Errorf("%s: field 1 is not kefu.events.v1.EventMeta", typ)
	}
	meta.Type = typ
	rm.Set(f, protoreflect.ValueOfMessage(meta.ProtoReflect()))
	payload, err := proto.Marshal(body)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	return Message{
		EventID: meta.EventId, Subject: subject, AggregateID: meta.AggregateId, AggregateSeq: meta.AggregateSeq,
		Type: typ, Payload: payload,
	}, nil
}
