package outbox_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/outbox"
)

func TestNewEventPutsTheMetaInFieldOne(t *testing.T) {
	t.Parallel()
	meta := &eventsv1.EventMeta{EventId: "0192f5a0-0000-7000-8000-000000000001", AggregateId: "c-1", AggregateSeq: 3, Source: "customer"}
	m, err := outbox.NewEvent("kefu.customer.erased", &eventsv1.CustomerErased{EraseCustomerWords: true}, meta)
	require.NoError(t, err)
	require.Equal(t, "kefu.events.v1.CustomerErased", m.Type)
	require.Equal(t, meta.GetEventId(), m.EventID)
	require.Equal(t, "c-1", m.AggregateID)
	require.EqualValues(t, 3, m.AggregateSeq)
	require.Equal(t, "kefu.customer.erased", m.Subject)
	var head eventsv1.EventHead
	require.NoError(t, proto.Unmarshal(m.Payload, &head))
	require.Equal(t, "kefu.events.v1.CustomerErased", head.GetMeta().GetType(), "the meta names the type")
	var body eventsv1.CustomerErased
	require.NoError(t, proto.Unmarshal(m.Payload, &body))
	require.True(t, body.GetEraseCustomerWords())
}

func TestNewEventRefusesAMessageWithoutMeta(t *testing.T) {
	t.Parallel()
	_, err := outbox.NewEvent("kefu.x.y", &eventsv1.EventMeta{}, &eventsv1.EventMeta{})
	require.Error(t, err)
}
