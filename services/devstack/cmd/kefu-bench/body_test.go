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

// TestSamplesReportMedians checks the report of repeated rounds: medians, per-round ratios, summed counts.
func TestSamplesReportMedians(t *testing.T) {
	var s samples
	for _, v := range []struct{ rate, ratio float64 }{{3000, 60}, {2000, 40}, {4000, 70}} {
		s.add("rate", 32, v.rate, "tickets/s").ratio(v.ratio, "of the floor")
		s.add("p99", 32, v.rate/100, "ms").count(10, 1)
	}
	s.add("rate", 8, 1, "tickets/s")
	s.add("rate", 8, 2, "tickets/s")
	var r report
	s.report(&r)
	require.Equal(t, []measure{
		{What: "rate", Callers: 32, Value: 3000, Unit: "tickets/s", Note: "60% of the floor (rounds: 60%, 40%, 70%)"},
		{What: "p99", Callers: 32, Value: 30, Unit: "ms", Note: "30 events, 3 missing"},
		{What: "rate", Callers: 8, Value: 1.5, Unit: "tickets/s", Note: "rounds: 1.00, 2.00"},
	}, r.Lines)
}
