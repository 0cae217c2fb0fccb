package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// TestRESTBodyIsTheSubmitRequest checks that the spliced body decodes to the same request the gRPC phase
// sends, with this call's key and time.
func TestRESTBodyIsTheSubmitRequest(t *testing.T) {
	b, err := newRESTBody()
	require.NoError(t, err)
	at := time.Date(2026, 11, 23, 8, 9, 10, 123456789, time.FixedZone("CST", 8*3600))
	var got intakev1.SubmitTicketRequest
	require.NoError(t, protojson.Unmarshal(b.build("key-42", at), &got))
	want := submitRequest("key-42")
	require.Equal(t, "key-42", got.GetIdempotencyKey())
	require.True(t, got.GetReceivedTime().AsTime().Equal(at))
	got.ReceivedTime, want.ReceivedTime = nil, nil
	require.Equal(t, protojson.Format(want), protojson.Format(&got))
}

func TestJSONStringField(t *testing.T) {
	for _, tc := range []struct {
		doc, want string
		ok        bool
	}{
		{doc: `{"ticket":{"ticketId":"0192-a","number":"GD1"}}`, want: "0192-a", ok: true},
		{doc: `{"ticket": {"ticketId" :  "0192-b"}}`, want: "0192-b", ok: true},
		{doc: `{"ticket":{"number":"GD1"}}`},
		{doc: `{"ticketId":42}`},
		{doc: `{"ticketId":"unterminated`},
	} {
		got, ok := jsonStringField([]byte(tc.doc), "ticketId")
		require.Equal(t, tc.ok, ok, tc.doc)
		require.Equal(t, tc.want, got, tc.doc)
	}
}
