package facts

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestTicketBinaryRoundTrips: every field survives the encoding, in every state of a ticket's life.
func TestTicketBinaryRoundTrips(t *testing.T) {
	var tk Ticket
	tk.ID = uuid.MustParse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	states := []Ticket{{}, tk}
	for _, e := range script() {
		tk = tk.Clone()
		tk.Apply(e)
		states = append(states, tk)
	}
	full := tk.Clone()
	full.Topics = []string{"delivery_delay", "refund"}
	full.ResolutionBusiness = Measured{true, 0}
	full.Assignments = append(full.Assignments, Assignment{Seq: 99, At: time.Unix(0, 1).UTC()})
	full.Applied[SourceRouting].Add(7)
	require.NotEmpty(t, full.Applied[SourceRouting].Above)
	require.NotZero(t, full.Applied[SourceIntake].Floor)
	states = append(states, full)
	require.NotEmpty(t, full.SLA)
	require.NotZero(t, full.AcceptWait)
	for i, want := range states {
		b, err := want.MarshalBinary()
		require.NoError(t, err)
		var got Ticket
		require.NoError(t, got.UnmarshalBinary(b), "state %d", i)
		if len(want.SLA) == 0 {
			want.SLA = nil
		}
		require.Equal(t, want, got, "state %d", i)
	}
	var zero Ticket
	require.NoError(t, zero.UnmarshalBinary(nil))
	require.Equal(t, Ticket{}, zero, "no data is the ticket never seen")
}

// TestTicketBinaryRefusesBadData: data cut anywhere, padded, or of another layout is an error, never a
// panic or a half-read ticket taken for whole.
func TestTicketBinaryRefusesBadData(t *testing.T) {
	tk, _ := fold(script())
	tk.Topics = []string{"delivery_delay"}
	b, err := tk.MarshalBinary()
	require.NoError(t, err)
	for n := 1; n < len(b); n++ {
		var got Ticket
		require.Error(t, got.UnmarshalBinary(b[:n]), "cut at %d of %d bytes", n, len(b))
	}
	var got Ticket
	require.ErrorContains(t, got.UnmarshalBinary(append(b, 0)), "left over")
	other := append([]byte{codecVersion + 1}, b[1:]...)
	require.ErrorContains(t, got.UnmarshalBinary(other), "layout")
	huge := append([]byte(nil), b[:1+16+1]...)
	huge = append(huge, 1, 0xff, 0xff, 0xff, 0xff, 0x0f) // a time flag, then a string length of 4 GiB
	require.Error(t, got.UnmarshalBinary(huge))
}
